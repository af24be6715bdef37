"""The web UI's login: the API key becomes an HTTP-only, SameSite=Strict cookie, and every
form carries a CSRF token derived from it (a page of another site can neither read the token
nor, with SameSite=Strict, send the cookie). The login form has a token of its own, set as a
cookie when the form is shown (double submit), so a login cannot be forced from elsewhere."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from docledger.errors import Unauthenticated
from docledger.ledger import AsyncLedger
from docledger.server.auth import Caller, ledger_for, ledger_of

SESSION = "docledger_session"
LOGIN = "docledger_login"


class LoginRequired(Exception):
    """Raised by a UI page without a valid session: the handler redirects to the login."""


class BadToken(Exception):
    """A form without the right CSRF token: refused with 403, nothing changes."""


def csrf_of(key: str) -> str:
    return hmac.new(key.encode(), b"docledger-csrf", hashlib.sha256).hexdigest()


async def session_caller(request: Request) -> Caller:
    key = request.cookies.get(SESSION)
    if not key:
        raise LoginRequired
    try:
        found = await ledger_of(request).api_keys.authenticate(key)
    except Unauthenticated:
        raise LoginRequired from None
    return Caller(found)


async def visit(
    request: Request, *, csrf: str | None = None, role: str = "viewer"
) -> tuple[Caller, AsyncLedger]:
    """Who is looking at a UI page and the ledger their calls run on; for a form, its token
    checked and the role it needs required first (nothing changes otherwise)."""
    who = await session_caller(request)
    if csrf is not None:
        check_token(request, csrf)
    who.require(role)
    return who, await ledger_for(request, who)


def session_token(request: Request) -> str:
    return csrf_of(request.cookies.get(SESSION, ""))


def check_token(request: Request, sent: str | None) -> None:
    expected = session_token(request)
    if not sent or not request.cookies.get(SESSION) or not hmac.compare_digest(sent, expected):
        raise BadToken


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def set_login_token(response: Response, token: str) -> None:
    """The login form's token, also as a cookie: the form must send back what it was given."""
    response.set_cookie(LOGIN, token, httponly=True, samesite="strict", path="/ui")


def check_login_token(request: Request, sent: str | None) -> None:
    expected = request.cookies.get(LOGIN)
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise BadToken


def start_session(response: Response, key: str, *, secure: bool) -> None:
    response.set_cookie(SESSION, key, httponly=True, samesite="strict", secure=secure, path="/")
    response.delete_cookie(LOGIN, path="/ui")


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION, path="/")
