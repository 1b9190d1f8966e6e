"""Unit tests of the authenticator: keys looked up in a dict, and a clock the test moves (no sleeping)."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from gateway.auth import MASTER, Authenticator
from gateway.errors import AuthenticationError
from gateway.keys.cache import CachedKey
from gateway.keys.material import hash_key
from gateway.pipeline.context import Principal

KEY = "sk-gw-" + "a" * 43
EXPIRES_AT = 1_000.0  # epoch seconds: long past by the wall clock, so only the injected clock can say "not yet"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Keys:
    def __init__(self, *entries: CachedKey) -> None:
        self._by_hash = {entry.key_hash: entry for entry in entries}

    def lookup(self, key_hash: str) -> CachedKey | None:
        return self._by_hash.get(key_hash)


def bearer(key: str) -> Headers:
    return Headers({"authorization": f"Bearer {key}"})


def authenticator(clock: Clock, *, revoked: bool = False) -> Authenticator:
    entry = CachedKey(Principal(key_id="k1"), hash_key(KEY), EXPIRES_AT, revoked)
    return Authenticator("sk-test-master", Keys(entry), clock=clock)


def test_a_key_works_until_its_expiry_and_is_refused_from_that_moment() -> None:
    clock = Clock(EXPIRES_AT - 1)
    auth = authenticator(clock)
    assert auth.authenticate(bearer(KEY)).key_id == "k1"
    clock.now = EXPIRES_AT
    with pytest.raises(AuthenticationError, match="expired") as refused:
        auth.authenticate(bearer(KEY))
    assert refused.value.code == "key_expired" and KEY not in refused.value.message


def test_a_revoked_key_is_refused_before_its_expiry() -> None:
    with pytest.raises(AuthenticationError, match="revoked"):
        authenticator(Clock(EXPIRES_AT - 1), revoked=True).authenticate(bearer(KEY))


def test_an_unknown_key_and_the_master_key() -> None:
    auth = authenticator(Clock(0))
    assert auth.authenticate(bearer("sk-test-master")) is MASTER
    with pytest.raises(AuthenticationError, match="unknown key"):
        auth.authenticate(bearer("sk-gw-" + "b" * 43))
