"""Key material: random, prefixed, stored as a hash, shown by a short prefix only."""

from __future__ import annotations

import hashlib
import re

from gateway.keys.material import display_prefix, generate_key, hash_key, same_hash


def test_keys_are_prefixed_random_and_long_enough() -> None:
    keys = {generate_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(re.fullmatch(r"sk-gw-[A-Za-z0-9_-]{43}", key) for key in keys)


def test_hash_is_sha256_and_never_the_key() -> None:
    key = generate_key()
    assert hash_key(key) == hashlib.sha256(key.encode()).hexdigest()
    assert key not in hash_key(key)
    assert same_hash(hash_key(key), hash_key(key))
    assert not same_hash(hash_key(key), hash_key(generate_key()))


def test_display_prefix_shows_four_random_characters_only() -> None:
    key = generate_key()
    assert display_prefix(key) == key[:10]
    assert len(display_prefix(key)) == len("sk-gw-") + 4
