"""A bare pass-through: the floor any proxy in Python pays, with no gateway code at all.

Run ``.venv/bin/python bench/passthrough.py --port P --upstream http://127.0.0.1:Q``. ``overhead.py`` and
``features.py`` start it as its own process, pinned like the gateway, and measure it as the "bare pass-through"
that issue 15's goal "CPU per request ≤ 2.5 times the bare pass-through's" is stated against.

Contract: an aiohttp server on uvloop (the gateway's loop too), whose every POST is forwarded to the same path on
``--upstream`` through one keep-alive ``ClientSession``, with the request's Content-Type and Authorization. The
answer is the upstream's status and bytes: read whole for a plain request, relayed chunk by chunk as they arrive
when the request body has ``"stream": true``. ``GET /health`` answers 200 (time to ready). No logging, no
retries, no validation beyond reading ``stream``: whatever a real gateway does on top of this is its overhead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator

import uvloop
from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

SESSION: web.AppKey[ClientSession] = web.AppKey("session", ClientSession)
UPSTREAM: web.AppKey[str] = web.AppKey("upstream", str)
FORWARDED = ("Content-Type", "Authorization")


def wants_stream(body: bytes) -> bool:
    """Whether the request asks for SSE; a body that is not a JSON object is forwarded as plain."""
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return isinstance(document, dict) and document.get("stream") is True


async def forward(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    headers = {name: request.headers[name] for name in FORWARDED if name in request.headers}
    url = request.app[UPSTREAM] + request.path_qs
    async with request.app[SESSION].post(url, data=body, headers=headers) as upstream:
        if not wants_stream(body):
            content = await upstream.read()
            return web.Response(body=content, status=upstream.status,
                                content_type=upstream.content_type, charset=upstream.charset)
        response = web.StreamResponse(status=upstream.status, headers={"Content-Type": upstream.content_type})
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
        return response


async def health(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def app(upstream: str) -> web.Application:
    application = web.Application()
    application[UPSTREAM] = upstream.rstrip("/")

    async def session(app_: web.Application) -> AsyncIterator[None]:
        # limit=0: no pool cap of its own, like the gateway's upstream client at these concurrencies
        async with ClientSession(connector=TCPConnector(limit=0), timeout=ClientTimeout(total=60)) as client:
            app_[SESSION] = client
            yield

    application.cleanup_ctx.append(session)
    application.router.add_get("/health", health)
    application.router.add_post("/{tail:.*}", forward)
    return application


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--upstream", required=True, help="the upstream's base URL, e.g. http://127.0.0.1:8001")
    args = parser.parse_args(argv)
    web.run_app(app(args.upstream), host=args.host, port=args.port, print=None, access_log=None,
                loop=uvloop.new_event_loop())
    return 0


if __name__ == "__main__":
    sys.exit(main())
