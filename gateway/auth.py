"""Who may call the gateway.

With a master key configured, a request must carry it (``Authorization: Bearer`` or Anthropic's ``x-api-key``);
comparisons are constant-time. With none, the gateway is open, and it binds to localhost only (see the CLI).
Virtual keys plug in here later: an in-memory cache, so authenticating costs no database round trip.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers

from gateway.errors import AuthenticationError
from gateway.pipeline.context import Principal

ANONYMOUS = Principal()
MASTER = Principal(key_id="master", key_name="master")


def presented_key(headers: Headers) -> str | None:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    api_key = headers.get("x-api-key")
    return api_key.strip() if api_key else None


class Authenticator:
    def __init__(self, master_key: str | None) -> None:
        self._master = master_key.encode() if master_key else None

    @property
    def open(self) -> bool:
        return self._master is None

    def authenticate(self, headers: Headers) -> Principal:
        if self._master is None:
            return ANONYMOUS
        key = presented_key(headers)
        if key is None:
            raise AuthenticationError(
                "No API key was given. Send it as `Authorization: Bearer <key>` (or `x-api-key`)."
            )
        if hmac.compare_digest(key.encode(), self._master):
            return MASTER
        raise AuthenticationError("The API key is not valid for this gateway.")
