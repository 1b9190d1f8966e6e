"""Key material: generation, hashing and constant-time comparison.

A virtual key is ``sk-gw-`` followed by 43 url-safe characters from ``secrets`` (256 bits). With that much
entropy a plain SHA-256 is a sound way to store it: there is nothing to brute-force, so a slow password hash
would only slow down authentication. The secret is returned once and never stored, logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "sk-gw-"
_RANDOM_BYTES = 32
_DISPLAY_CHARS = 4


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """``sk-gw-AbCd``: enough to tell keys apart in a list, far too little to guess the rest."""
    return key[: len(KEY_PREFIX) + _DISPLAY_CHARS]


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def looks_like_virtual_key(key: str) -> bool:
    return key.startswith(KEY_PREFIX)


def new_id(kind: str) -> str:
    """``key_<16 hex>`` / ``team_<16 hex>``: public identifiers, safe to log."""
    return f"{kind}_{secrets.token_hex(8)}"
