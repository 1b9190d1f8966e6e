"""Deterministic OpenAI embeddings.

Each input (a string, a token array, or a list of either) maps to a unit-length
vector derived from a hash of that input alone, so equal inputs always embed
equally and different inputs almost surely differ. Vectors are float32 values:
``encoding_format: "base64"`` returns exactly the same numbers as little-endian
float32 bytes, which the openai SDK decodes. Shape: ``CreateEmbeddingResponse``.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from typing import Any

import orjson

from gateway.fake_provider.content import Json, as_limit, word_count

# The real API's ceiling is lower; this bounds the work one request can ask for.
MAX_DIMENSIONS = 4096


def embeddings(body: Json, model: str, default_dims: int) -> Json | None:
    """Unit vectors derived from a hash of each input; None when ``input`` is unusable."""
    items = _embedding_inputs(body.get("input"))
    dims = as_limit(body.get("dimensions")) or default_dims
    if items is None or not 0 < dims <= MAX_DIMENSIONS:
        return None
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, (key, _) in enumerate(items):
        packed = _unit_vector(key, dims)
        vector: Any = base64.b64encode(packed).decode() if as_base64 else struct.unpack(f"<{dims}f", packed)
        data.append({"object": "embedding", "index": index, "embedding": vector})
    tokens = sum(count for _, count in items)
    totals = {"prompt_tokens": tokens, "total_tokens": tokens}
    return {"object": "list", "data": data, "model": model, "usage": totals}


def _embedding_inputs(value: Any) -> list[tuple[bytes, int]] | None:
    """Each input as (hash key, token count): strings, a token array, or token arrays."""
    if isinstance(value, str):
        return [(value.encode(), word_count(value))]
    if not isinstance(value, list) or not value:
        return None
    if all(isinstance(item, str) for item in value):
        return [(item.encode(), word_count(item)) for item in value]
    if all(isinstance(item, int) for item in value):
        return [(orjson.dumps(value), len(value))]
    if all(isinstance(item, list) and all(isinstance(t, int) for t in item) for item in value):
        return [(orjson.dumps(item), len(item)) for item in value]
    return None


def _unit_vector(key: bytes, dims: int) -> bytes:
    """Little-endian float32 of a unit vector seeded by ``key``."""
    raw = struct.unpack(f"<{dims}h", hashlib.shake_256(key).digest(2 * dims))
    norm = math.sqrt(sum(value * value for value in raw)) or 1.0
    return struct.pack(f"<{dims}f", *(value / norm for value in raw))
