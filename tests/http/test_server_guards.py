"""The HTTP server's guards: slow clients are timed out, oversized requests refused, connections capped; every
refusal is an OpenAI-shaped JSON error, and normal clients are served all along."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.keyed import MASTER_KEY, keyed_config
from support.servers import FakeProvider, Gateway, gateway

GUARDS = {"header_timeout_seconds": 2, "body_timeout_seconds": 2, "max_connections": 60}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
AUTH = {"authorization": f"Bearer {MASTER_KEY}"}


@pytest.fixture(scope="module")
def guarded(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("guards")
    with gateway(keyed_config(fake, f"sqlite:///{tmp / 'g.db'}", **GUARDS), tmp) as server:
        yield server


def _connect(server: Gateway) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=20)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _error_of(raw: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)["error"]


def test_connections_trickling_headers_are_closed_while_a_normal_client_is_served(guarded: Gateway) -> None:
    slow = [_connect(guarded) for _ in range(40)]
    started = time.monotonic()
    for sock in slow:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
    with httpx.Client(base_url=guarded.url, headers=AUTH, timeout=10) as client:
        for _ in range(4):  # meanwhile, a normal client works
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X")  # a byte of a header that never ends
            assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
            time.sleep(0.3)
    answers = [_read_until_closed(sock) for sock in slow]
    assert time.monotonic() - started < 15  # closed after the 2 s header timeout, not held open
    status, error = _error_of(answers[0])
    assert status == 408 and error["code"] == "request_timeout"
    assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers)


def test_a_trickled_body_is_timed_out(guarded: Gateway) -> None:
    sock = _connect(guarded)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + MASTER_KEY.encode()
                 + b"\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"model\"")
    started = time.monotonic()
    status, error = _error_of(_read_until_closed(sock))
    assert status == 408 and "body" in str(error["message"])
    assert time.monotonic() - started < 15


def test_a_connection_that_sends_nothing_is_closed(guarded: Gateway) -> None:
    sock = _connect(guarded)
    started = time.monotonic()
    assert _read_until_closed(sock).startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < 15


def test_a_100_kb_url_gets_an_openai_shaped_414(guarded: Gateway) -> None:
    sock = _connect(guarded)  # raw: httpx itself refuses URLs over 64 KB
    sock.sendall(b"GET /v1/models?x=" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    status, error = _error_of(_read_until_closed(sock))
    assert status == 414 and error["code"] == "url_too_long"


def test_huge_headers_get_an_openai_shaped_431(guarded: Gateway) -> None:
    headers = {**AUTH, **{f"x-filler-{i}": "b" * 4000 for i in range(30)}}
    reply = httpx.get(guarded.url + "/v1/models", headers=headers, timeout=10)
    assert reply.status_code == 431
    assert reply.json()["error"]["type"] == "invalid_request_error"


def test_garbage_gets_an_openai_shaped_400(guarded: Gateway) -> None:
    sock = _connect(guarded)
    sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
    status, error = _error_of(_read_until_closed(sock))
    assert status == 400 and error["type"] == "invalid_request_error"


def test_connections_past_the_cap_get_503(fake: FakeProvider, tmp_path: Path) -> None:
    config = keyed_config(fake, f"sqlite:///{tmp_path / 'g.db'}", max_connections=3, header_timeout_seconds=5)
    with gateway(config, tmp_path) as server:
        held = [_connect(server) for _ in range(3)]
        time.sleep(0.3)
        extra = _connect(server)
        status, error = _error_of(_read_until_closed(extra))
        assert status == 503 and error["code"] == "server_busy"
        for sock in held:
            sock.close()
        time.sleep(0.3)
        assert httpx.get(server.url + "/v1/models", headers=AUTH, timeout=10).status_code == 200
