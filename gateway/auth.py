"""Who may call the gateway.

A request carries its key as ``Authorization: Bearer`` or Anthropic's ``x-api-key``. The master key (compared in
constant time) may do everything. A virtual key (``sk-gw-...``) is resolved from the in-memory key cache by its
SHA-256, so authenticating costs no database round trip; a revoked, expired or unknown one is refused with 401,
and the message never repeats the key. With no master key the gateway is open (local use; it binds to localhost
only, see ``gateway.server``), but a virtual key presented to it is still checked, so its limits hold, and it never
reaches the admin API (``gateway.http.admin.app.require_master``). A master key is never empty or short: the
config refuses it (``gateway.config.models.MIN_MASTER_KEY_LENGTH``).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Protocol

from starlette.datastructures import Headers

from gateway.errors import AuthenticationError
from gateway.keys.material import hash_key, looks_like_virtual_key, same_hash
from gateway.pipeline.context import Principal

ANONYMOUS = Principal()
MASTER = Principal(key_id="master", key_name="master")


class CachedKeyLike(Protocol):
    @property
    def principal(self) -> Principal: ...

    @property
    def key_hash(self) -> str: ...

    @property
    def revoked(self) -> bool: ...

    def expired(self, now: float) -> bool: ...


class KeyLookup(Protocol):
    def lookup(self, key_hash: str) -> CachedKeyLike | None: ...


def presented_key(headers: Headers) -> str | None:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    api_key = headers.get("x-api-key")
    return api_key.strip() if api_key else None


class Authenticator:
    def __init__(
        self, master_key: str | None, keys: KeyLookup | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._master = master_key.encode() if master_key else None
        self.keys = keys
        self._clock = clock  # epoch seconds, what ``expires_at`` is compared with; a test passes its own

    @property
    def open(self) -> bool:
        return self._master is None

    def authenticate(self, headers: Headers) -> Principal:
        key = presented_key(headers)
        if key is not None and self._master is not None and hmac.compare_digest(key.encode(), self._master):
            return MASTER
        if key is not None and self.keys is not None and looks_like_virtual_key(key):
            return self._virtual(key)
        if self._master is None:
            return ANONYMOUS
        if key is None:
            raise AuthenticationError(
                "No API key was given. Send it as `Authorization: Bearer <key>` (or `x-api-key`)."
            )
        raise AuthenticationError("The API key is not valid for this gateway.")

    def _virtual(self, key: str) -> Principal:
        assert self.keys is not None
        digest = hash_key(key)
        # The dict is keyed by SHA-256 digests, so its lookup time says nothing about the key; the digest is then
        # compared in constant time all the same.
        entry = self.keys.lookup(digest)
        if entry is None or not same_hash(entry.key_hash, digest):
            raise AuthenticationError("The API key is not valid for this gateway (unknown key).")
        if entry.revoked:
            raise AuthenticationError("The API key has been revoked.", code="key_revoked")
        if entry.expired(self._clock()):
            raise AuthenticationError("The API key has expired.", code="key_expired")
        return entry.principal
