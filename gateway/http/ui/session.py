"""The dashboard's login: the master key, once, for a signed session cookie; a CSRF token for every change.

The cookie holds ``<expiry>.<nonce>.<signature>``, signed with HMAC-SHA256 under a key derived from the master key,
so every worker and replica accepts it without shared state, and changing the master key ends every session. It is
``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page sends it) and ``Secure`` behind HTTPS,
and scoped to ``/ui``. Every POST carries a CSRF token derived from the session's nonce (a form field) and, when the
browser sends one, an ``Origin`` that is this gateway's. Logging out clears the cookie in the browser; a copy of it
stays valid until it expires (``SESSION_SECONDS``): a stateless session cannot be revoked one by one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from starlette.requests import Request

COOKIE = "gateway_ui"
SESSION_SECONDS = 12 * 3600
PATH = "/ui"


@dataclass(frozen=True, slots=True)
class Session:
    nonce: str
    expires: int
    csrf: str


class Sessions:
    def __init__(self, master_key: str) -> None:
        self._secret = hmac.new(master_key.encode(), b"gateway-ui-session", hashlib.sha256).digest()
        self._master = master_key.encode()

    def is_master(self, presented: str) -> bool:
        return hmac.compare_digest(presented.encode(), self._master)

    def new(self, now: float | None = None) -> tuple[str, Session]:
        """A cookie value and its session."""
        nonce = secrets.token_urlsafe(18)
        expires = int((now or time.time()) + SESSION_SECONDS)
        body = f"{expires}.{nonce}"
        return f"{body}.{self._sign(body)}", self._session(nonce, expires)

    def read(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session of a valid, unexpired cookie; None for anything else."""
        if not cookie or cookie.count(".") != 2:
            return None
        expires, nonce, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._sign(f"{expires}.{nonce}")):
            return None
        if not expires.isdigit() or int(expires) < (now or time.time()):
            return None
        return self._session(nonce, int(expires))

    def _session(self, nonce: str, expires: int) -> Session:
        return Session(nonce, expires, self._sign(f"csrf.{nonce}")[:32])

    def _sign(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()


def same_origin(request: Request) -> bool:
    """A POST from this gateway's own pages: no ``Origin`` (an older browser, a script) or one naming our host."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin.partition("://")[2] == host


def cookie_options(request: Request) -> dict[str, object]:
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    return {"httponly": True, "samesite": "strict", "secure": secure, "path": PATH}
