"""Signing in and out: ``/login`` (the form, public) and ``/logout`` (CSRF-checked)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kb.accounts.sessions import login, logout
from kb.errors import TooManyAttempts, Unauthenticated
from web.auth import SESSION_COOKIE, local_path, requires_role
from web.deps import KBDep
from web.rendering import RendererDep

router = APIRouter(include_in_schema=False)


@router.get("/login", name="login")
def login_form(request: Request, render: RendererDep, next: str = "/") -> Response:
    """The sign-in form; ``next`` is where to go afterwards (a path on this site only)."""
    return _form(request, render, next=local_path(next))


@router.post("/login", name="login_submit")
def login_submit(
    request: Request,
    kb: KBDep,
    render: RendererDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Start a session and go to ``next``; a wrong or throttled attempt shows the form again."""
    target = local_path(next)
    address = request.client.host if request.client else None
    try:
        grant = login(kb, email=email, password=password, address=address)
    except TooManyAttempts as exc:
        message = f"登录失败次数过多，请 {exc.retry_after} 秒后再试。"
        headers = {"Retry-After": str(exc.retry_after)}
        return _form(request, render, next=target, email=email, error=message, status=429,
                     headers=headers)  # fmt: skip
    except Unauthenticated:
        message = "邮箱或密码不正确。"
        return _form(request, render, next=target, email=email, error=message, status=401)
    root = request.scope.get("root_path", "")
    response = RedirectResponse(root + target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        grant.token,
        max_age=int(kb.settings.session_hours * 3600),
        path="/",
        secure=kb.settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )
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


def _form(
    request: Request,
    render: RendererDep,
    *,
    next: str,
    email: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    context: dict[str, Any] = {"next": next, "email": email, "error": error}
    return render.render(request, "login.html", context, status_code=status, headers=headers)
