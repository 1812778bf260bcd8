"""A signed-in person's own account: who they are, and changing their password.

A change ends every session of theirs (another browser, a forgotten tab) and gives this browser
a fresh one, so whoever else held a session of theirs is out at once.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kb.accounts.principal import Principal
from kb.accounts.users import change_own_password, get_user, set_locale
from kb.assist.script import SCRIPTS
from kb.context import KnowledgeBase
from kb.errors import Forbidden, Invalid
from kb.types import Language
from web import i18n
from web.auth import PrincipalDep, local_path, request_address
from web.deps import KBDep
from web.pages.assist import SCRIPT_COOKIE
from web.pages.forms import Errors, form_errors
from web.pages.login import set_session_cookie
from web.rendering import RendererDep

router = APIRouter(include_in_schema=False)


@router.get("/account", name="account")
def account_page(
    request: Request, kb: KBDep, principal: PrincipalDep, render: RendererDep
) -> Response:
    return render.page(request, "account.html", _context(kb, principal), block="password")


@router.post("/account/password", name="account_password")
def change_password(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    repeat_password: Annotated[str, Form()] = "",
) -> Response:
    """Check the current password, set the new one, end the other sessions, keep this browser
    signed in with a new session."""
    _person(principal)

    def refused(exc: Invalid) -> dict[str, Any]:
        return _context(kb, principal, errors={exc.field or "new_password": exc.message})

    with form_errors("account.html", "password", refused):
        if new_password != repeat_password:
            raise Invalid("the two new passwords differ", field="repeat_password")
        grant = change_own_password(
            kb,
            email=principal.name,
            current=current_password,
            new=new_password,
            address=request_address(request),
        )
    request.state.session = grant.session  # the page's CSRF token is the new session's
    context = _context(kb, principal, done=True)
    response = render.page(request, "account.html", context, block="password")
    set_session_cookie(response, kb.settings, grant.token)
    return response


@router.post("/account/language", name="account_language")
def change_language(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    locale: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/account",
) -> Response:
    """Save the UI language with the account (empty: the browser's again) and go back."""
    # set_locale refuses (422) a language the form did not offer.
    wanted = cast(Language | None, locale or None)
    chosen = set_locale(kb, email=_person(principal).name, locale=wanted).locale
    root = request.scope.get("root_path", "")
    response = RedirectResponse(root + local_path(next, "/account"), status_code=303)
    remember_language(response, chosen)
    return response


def remember_language(response: Response, locale: Language | None) -> None:
    """The cookie that keeps a choice where no account does (the login page), and the panel's
    content script that goes with it: a 繁體 UI shows answers in Traditional by default."""
    if locale is None:
        response.delete_cookie(i18n.COOKIE, path="/")
        return
    response.set_cookie(i18n.COOKIE, locale, max_age=365 * 86400, path="/", samesite="lax")
    if locale in SCRIPTS:
        response.set_cookie(
            SCRIPT_COOKIE, locale, max_age=365 * 86400, path="/assist", samesite="lax"
        )


def _person(principal: Principal) -> Principal:
    # The panel inside a CRM (an embed token) is an agent too, but has no account of its own.
    if principal.kind != "user":
        raise Forbidden("this page is for people signed in with their own account")
    return principal


def _context(
    kb: KnowledgeBase, principal: Principal, *, errors: Errors | None = None, done: bool = False
) -> dict[str, Any]:
    return {
        "user": get_user(kb, email=_person(principal).name),
        "errors": errors or {},
        "done": done,
    }
