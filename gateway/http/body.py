"""Read a request body as a JSON object, within the size limit, with a clear error for each way it can be bad."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from gateway.errors import BodyTooLarge, InvalidJSON, RequestError
from gateway.http.bounds import check_body_depth


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"The request body is {int(declared)} bytes; this gateway accepts at most {limit}.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"The request body exceeds this gateway's limit of {limit} bytes.")
        chunks.append(chunk)
    raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if not raw:
        raise InvalidJSON("The request body is empty; expected a JSON object.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidJSON(f"The request body must be a JSON object, not a JSON {type(body).__name__}.")
    check_body_depth(body)
    return body


def require_str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise RequestError(f"`{name}` is required and must be a non-empty string.", param=name)
    return value


def require_list(body: dict[str, Any], name: str) -> list[Any]:
    value = body.get(name)
    if not isinstance(value, list) or not value:
        raise RequestError(f"`{name}` is required and must be a non-empty array.", param=name)
    return value
