"""Signing in and out: ``/login`` (the form, public, tied to a pre-session against login CSRF)
and ``/logout`` (CSRF-checked)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kb.accounts.login_token import (
    DEVICE_DAYS,
    PRE_SESSION_HOURS,
    device_token,
    login_form_token,
    login_token_valid,
    new_pre_session,
)
from kb.accounts.sessions import login, logout
from kb.errors import N_, Message, TooManyAttempts, Unauthenticated
from kb.models import utcnow
from kb.settings import Settings
from kb.types import LANGUAGES
from web import i18n
from web.auth import CSRF_FIELD, SESSION_COOKIE, local_path, request_address, requires_role
from web.deps import KBDep
from web.rendering import RendererDep

router = APIRouter(include_in_schema=False)

PRE_SESSION_COOKIE = "assistkb_login"
DEVICE_COOKIE = "assistkb_device"  # this browser signed in to that account before
_EXPIRED_FORM = N_("登录页已过期或来自其他网站，请重新输入邮箱和密码。")


@router.get("/login", name="login")
def login_form(request: Request, kb: KBDep, render: RendererDep, next: str = "/") -> Response:
    """The sign-in form; ``next`` is where to go afterwards (a path on this site only)."""
    response = _form(request, kb.settings, render, next=local_path(next))
    if (lang := request.query_params.get(i18n.QUERY)) in LANGUAGES:  # kept for the post
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, path="/", samesite="lax")
    return response


@router.post("/login", name="login_submit")
def login_submit(
    request: Request,
    kb: KBDep,
    render: RendererDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Start a session and go to ``next``; a wrong or throttled attempt shows the form again.

    A post without the form's pre-session token (another site's form, a stale tab) is 403 and
    checks nothing: no password is tried and no failure counted."""
    target = local_path(next)
    pre_session = request.cookies.get(PRE_SESSION_COOKIE)
    cross_site = request.headers.get("sec-fetch-site") == "cross-site"
    if cross_site or not login_token_valid(kb.settings, pre_session, csrf_token):
        return _form(request, kb.settings, render, next=target, email=email,
                     error=_EXPIRED_FORM, status=403, fresh=True)  # fmt: skip
    try:
        grant = login(
            kb,
            email=email,
            password=password,
            address=request_address(request),
            device=request.cookies.get(DEVICE_COOKIE),
        )
    except TooManyAttempts as exc:
        message = Message("登录失败次数过多，请 {seconds} 秒后再试。", seconds=exc.retry_after)
        headers = {"Retry-After": str(exc.retry_after)}
        return _form(request, kb.settings, render, next=target, email=email, error=message,
                     status=429, headers=headers)  # fmt: skip
    except Unauthenticated:
        message = N_("邮箱或密码不正确。")
        return _form(request, kb.settings, render, next=target, email=email, error=message,
                     status=401)  # fmt: skip
    root = request.scope.get("root_path", "")
    response = RedirectResponse(root + target, status_code=303)
    set_session_cookie(response, kb.settings, grant.token)
    # Its later attempts from this browser skip the per-address cap (kb.accounts.throttle).
    response.set_cookie(
        DEVICE_COOKIE, device_token(kb.settings, grant.session.user.email, utcnow()),
        max_age=DEVICE_DAYS * 86400, path=_form_path(request), secure=kb.settings.secure_cookies,
        httponly=True, samesite="strict",
    )  # fmt: skip
    # Signed in: the pre-session has done its work (and a new form gets a new one).
    response.delete_cookie(
        PRE_SESSION_COOKIE, path=_form_path(request), secure=kb.settings.secure_cookies,
        httponly=True, samesite="strict",
    )  # fmt: skip
    return response


@router.post("/logout", name="logout", dependencies=[requires_role("agent")])
def logout_submit(request: Request, kb: KBDep) -> Response:
    """End the session on the server (not only the cookie) and go back to the form."""
    logout(kb, token=request.cookies.get(SESSION_COOKIE))
    root = request.scope.get("root_path", "")
    response = RedirectResponse(f"{root}/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=kb.settings.secure_cookies, httponly=True, samesite="lax"
    )
    if request.headers.get("hx-request") == "true":
        response.headers["HX-Redirect"] = f"{root}/login"
    return response


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure unless in development."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_hours * 3600),
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def _form(
    request: Request,
    settings: Settings,
    render: RendererDep,
    *,
    next: str,
    email: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    fresh: bool = False,
) -> Response:
    """The form with its pre-session token; the cookie is (re)set when it is new."""
    kept = None if fresh else request.cookies.get(PRE_SESSION_COOKIE)
    new = not kept or len(kept) > 128
    pre_session = new_pre_session() if new or not kept else kept
    context: dict[str, Any] = {
        "next": next,
        "email": email,
        "error": error,
        "login_token": login_form_token(settings, pre_session),
        "csrf_field": CSRF_FIELD,
    }
    response = render.render(request, "login.html", context, status_code=status, headers=headers)
    if new:
        response.set_cookie(
            PRE_SESSION_COOKIE, pre_session, max_age=PRE_SESSION_HOURS * 3600,
            path=_form_path(request), secure=settings.secure_cookies, httponly=True,
            samesite="strict",
        )  # fmt: skip
    return response


def _form_path(request: Request) -> str:
    # Only the login form needs the pre-session: no other request carries it.
    return f"{request.scope.get('root_path', '')}/login"
