"""Bounds on what a request may carry, checked at the edge before the gateway does any work for it.

Why they exist: whatever a request carries ends up in its log record, its roll-up rows (one per day and tag) and
its upstream call. Unbounded tags grew the roll-ups by a row per tag and the process by gigabytes; JSON nested
deeper than orjson can write (254 levels) made a record that could never be serialised; a NUL in a tag or a
model name made a row PostgreSQL refuses; a ``nan`` timeout switched timeouts off. Each is a 400 here
(``invalid_request_error``, ``param`` naming the field), so the records that are made are always writable.

The limits are far above what a real client sends (OpenAI itself allows 16 metadata keys of 64 characters), so
they are constants, documented in the docs' "Request limits" section, rather than configuration.

Every check is cheap on the hot path: a typical request runs a few C-level scans of data it already holds.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from gateway.errors import RequestError

#: Distinct tags per request, from ``x-gateway-tags`` and ``metadata.tags`` together.
MAX_TAGS = 32
MAX_TAG_LENGTH = 64
#: ``metadata``: its size as compact JSON, its nesting (the object itself is level 1) and its top-level keys.
MAX_METADATA_BYTES = 16 * 1024
MAX_METADATA_DEPTH = 8
MAX_METADATA_KEYS = 64
MAX_METADATA_KEY_LENGTH = 256
#: ``model``: the log's column is 255 characters wide.
MAX_MODEL_LENGTH = 255
#: ``x-gateway-timeout``, seconds.
MAX_TIMEOUT_SECONDS = 3600.0
#: Nesting of a whole request body. orjson reads 1,024 levels but writes only 254, and the gateway writes the body
#: (upstream, into its record), sometimes a level or two deeper after a translation (Anthropic's tools): 240
#: leaves that room, and no real request comes near it.
MAX_BODY_DEPTH = 240
#: orjson's own nesting limit when it writes (``orjson.dumps``): the deepest value it can serialise.
_ORJSON_DEPTH = 254


def check_body_depth(body: dict[str, Any]) -> None:
    """A 400 when the parsed ``body`` nests deeper than ``MAX_BODY_DEPTH``.

    orjson's C serialiser does the walk (see ``fits_depth``): it writes a 1 KB body in a fraction of the time
    it took to parse it. A Python walk, or even counting brackets in the raw bytes, costs more than that.
    """
    if not fits_depth(body, MAX_BODY_DEPTH):
        raise RequestError(
            f"The request body nests deeper than {MAX_BODY_DEPTH} levels; this gateway accepts at most that.",
            code="too_deep",
        )


def fits_depth(value: object, limit: int) -> bool:
    """Whether ``value`` nests at most ``limit`` levels deep (a dict or list is one level), for ``limit`` <= 254.

    orjson refuses to write past 254 levels, so wrapping ``value`` in ``254 - limit`` arrays makes orjson's C
    serialiser do the depth walk: it fails exactly when ``value`` is too deep. The wrapping costs an allocation
    per level, so this is cheap for limits near orjson's own.
    """
    wrapped: object = value
    for _ in range(_ORJSON_DEPTH - limit):
        wrapped = [wrapped]
    try:
        orjson.dumps(wrapped)
    except orjson.JSONEncodeError:
        return False
    return True


def timeout_seconds(raw: str | None) -> float | None:
    """``x-gateway-timeout``: a finite number of seconds, above 0 and at most ``MAX_TIMEOUT_SECONDS``."""
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_TIMEOUT_SECONDS:  # also refuses nan, whose every comparison is false
        raise RequestError(
            f"`x-gateway-timeout` must be a number of seconds above 0 and at most {MAX_TIMEOUT_SECONDS:g}.",
            param="x-gateway-timeout",
        )
    return value


def model_name(body: dict[str, Any]) -> str:
    """``model``: a non-empty printable string that fits the log's column."""
    value = body.get("model")
    if not isinstance(value, str) or not value:
        raise RequestError("`model` is required and must be a non-empty string.", param="model")
    if len(value) > MAX_MODEL_LENGTH or not value.isprintable():
        raise RequestError(
            f"`model` must be at most {MAX_MODEL_LENGTH} printable characters (no control characters).",
            param="model",
        )
    return value


def sanitise_user(body: dict[str, Any]) -> None:
    """``user`` is an end-user id that the client passes through; control characters (NUL among them) are dropped
    rather than refused, so a request from a client that builds ids carelessly still works and is recorded."""
    user = body.get("user")
    if isinstance(user, str) and not user.isprintable():
        body["user"] = "".join(char for char in user if char.isprintable())


def request_tags(header: str | None, metadata: object) -> list[str]:
    """The request's tags: ``x-gateway-tags`` (comma-separated) then ``metadata.tags``, stripped, without blanks
    or repeats, in the order first seen. Stops at the first tag too many, so a tag bomb costs no more than that."""
    tags: dict[str, None] = {}
    if header:
        _add_tags(tags, header.split(","), "x-gateway-tags")
    listed = metadata.get("tags") if isinstance(metadata, dict) else None
    if listed is not None:
        _add_tags(tags, _listed_tags(listed), "metadata.tags")
    return list(tags)


def _add_tags(tags: dict[str, None], given: list[str], param: str) -> None:
    for raw in given:
        tag = raw.strip()
        if not tag or tag in tags:
            continue
        if len(tag) > MAX_TAG_LENGTH or not tag.isprintable():
            raise RequestError(
                f"Each tag must be at most {MAX_TAG_LENGTH} printable characters (no control characters).",
                param=param,
            )
        if len(tags) == MAX_TAGS:
            raise RequestError(f"A request may carry at most {MAX_TAGS} distinct tags.", param=param)
        tags[tag] = None


def _listed_tags(listed: object) -> list[str]:
    if not isinstance(listed, list) or not all(isinstance(tag, str) for tag in listed):
        raise RequestError("`metadata.tags` must be an array of strings.", param="metadata.tags")
    return listed


def check_metadata(metadata: object) -> None:
    """``metadata``, when given: an object of at most ``MAX_METADATA_KEYS`` keys, ``MAX_METADATA_DEPTH`` levels
    and ``MAX_METADATA_BYTES`` as JSON, whose keys are short and printable and whose strings hold no NUL.

    The size is checked first, by orjson in C, so the walk over keys and levels that follows is bounded."""
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise RequestError("`metadata` must be an object.", param="metadata")
    if len(metadata) > MAX_METADATA_KEYS:
        raise RequestError(f"`metadata` may have at most {MAX_METADATA_KEYS} keys.", param="metadata")
    try:
        encoded = orjson.dumps(metadata)
    except orjson.JSONEncodeError as exc:  # deeper than orjson writes
        raise _too_deep() from exc
    if len(encoded) > MAX_METADATA_BYTES:
        raise RequestError(f"`metadata` may be at most {MAX_METADATA_BYTES} bytes as JSON.", param="metadata")
    if b"\\u0000" in encoded:
        raise RequestError("`metadata` must not contain NUL characters.", param="metadata")
    _walk(metadata, 1)


def _walk(value: object, depth: int) -> None:
    """Every level is within ``MAX_METADATA_DEPTH`` and every key is short and printable."""
    if not isinstance(value, dict | list):
        return
    if depth > MAX_METADATA_DEPTH:
        raise _too_deep()
    if isinstance(value, list):
        for item in value:
            _walk(item, depth + 1)
        return
    for key, item in value.items():
        if len(key) > MAX_METADATA_KEY_LENGTH or not key.isprintable():
            raise RequestError(
                f"`metadata` keys must be at most {MAX_METADATA_KEY_LENGTH} printable characters.", param="metadata"
            )
        _walk(item, depth + 1)


def _too_deep() -> RequestError:
    return RequestError(f"`metadata` may nest at most {MAX_METADATA_DEPTH} levels deep.", param="metadata")
