"""How errors leave the app: framework errors keep their status, and a bug's 500 is answered without the exception
reaching the server (uvicorn closes the connection on any exception it sees, so every 500 reset keep-alive)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import Message
from support.contracts import validate

from gateway.http.app import EXCEPTION_HANDLERS
from gateway.http.middleware import RequestIdMiddleware
from gateway.http.responses import handle_unexpected


async def boom(request: Request) -> Response:
    raise RuntimeError("internal detail")


async def framework_error(request: Request) -> Response:
    status = int(request.path_params["status"])
    raise HTTPException(status_code=status, detail=request.query_params.get("detail"), headers={"x-extra": "1"})


def inner_app() -> Starlette:
    """Like the admin app: its own handlers answer a bug, then (Starlette's way) re-raise it."""
    return Starlette(routes=[Route("/boom", boom)], exception_handlers=EXCEPTION_HANDLERS)  # type: ignore[arg-type]


def app() -> Starlette:
    return Starlette(
        routes=[Route("/boom", boom), Route("/status/{status}", framework_error), Mount("/inner", inner_app())],
        middleware=[Middleware(RequestIdMiddleware, on_error=handle_unexpected)],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    )


async def call(path: str) -> tuple[list[Message], BaseException | None]:
    """Run one GET through the app as a server would, and return what it sent and what it raised."""
    sent: list[Message] = []
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": [],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    try:
        await app()(scope, receive, send)
    except BaseException as exc:  # what the server would see is the point of the test
        return sent, exc
    return sent, None


@pytest.mark.asyncio(loop_scope="function")
@pytest.mark.parametrize("path", ["/boom", "/inner/boom"])
async def test_a_bug_is_answered_once_and_never_reaches_the_server(path: str) -> None:
    sent, raised = await call(path)
    assert raised is None, "the server would log it again and close the keep-alive connection"
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert [m["status"] for m in starts] == [500]
    headers = dict(starts[0]["headers"])
    assert b"connection" not in headers and headers[b"x-gateway-request-id"].startswith(b"req_")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert b"internal detail" not in body and b"api_error" in body


@pytest.mark.asyncio(loop_scope="function")
@pytest.mark.parametrize(
    ("status", "error_type"),
    [(400, "invalid_request_error"), (413, "invalid_request_error"), (422, "invalid_request_error"),
     (429, "rate_limit_error"), (401, "authentication_error"), (503, "api_error")],
)
async def test_a_framework_error_keeps_its_status_in_openai_shape(status: int, error_type: str) -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.get(f"/status/{status}", params={"detail": "what went wrong"})
    assert response.status_code == status
    validate("ErrorResponse", response.json())
    error = response.json()["error"]
    assert error["type"] == error_type and error["message"] == "what went wrong"
    assert "Unknown path" not in response.text and response.headers["x-extra"] == "1"


@pytest.mark.asyncio(loop_scope="function")
async def test_unknown_paths_and_methods_stay_404_and_405() -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        missing = await client.get("/nowhere")
        wrong = await client.post("/boom")
    assert missing.status_code == 404 and "does not serve GET /nowhere" in missing.json()["error"]["message"]
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
    assert set(wrong.headers["allow"].split(", ")) == {"GET", "HEAD"}
