"""A tiny HTTP server on a spare loopback port that records every request and answers a scripted reply.

Two uses: as the attacker's server that must receive nothing (a request trying to redirect the gateway's call
there), and as an upstream that answers a chosen error body.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Captured:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Capture:
    url: str
    requests: list[Captured] = field(default_factory=list)
    status: int = 200
    reply: bytes = b"{}"
    content_type: str = "application/json"


@contextmanager
def capture_server(
    status: int = 200, reply: bytes = b"{}", content_type: str = "application/json"
) -> Iterator[Capture]:
    capture = Capture("", status=status, reply=reply, content_type=content_type)

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            capture.requests.append(
                Captured(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            self.send_response(capture.status)
            self.send_header("content-type", capture.content_type)
            self.send_header("content-length", str(len(capture.reply)))
            self.end_headers()
            self.wfile.write(capture.reply)

        do_GET = do_POST = do_PUT = _record

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    capture.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield capture
    finally:
        server.shutdown()
        server.server_close()
