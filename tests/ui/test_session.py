"""The dashboard's login and its protections over plain HTTP (no browser): the cookie's flags, a forged or expired
cookie refused, logout only with the page's CSRF token and from this origin, security headers, and an open
gateway (no master key) that needs no login, as its admin API does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from support.config import MASTER_KEY, base_config
from support.servers import FakeProvider, Gateway, gateway

from gateway.http.ui.session import COOKIE, SESSION_SECONDS, Sessions


@contextmanager
def logged_in(server: Gateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/ui", follow_redirects=False, timeout=30) as client:
        response = client.post("/login", data={"key": MASTER_KEY})
        assert response.status_code == 303 and response.headers["location"] == "/ui/overview"
        yield client


def csrf_of(client: httpx.Client) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/overview").text)
    assert match
    return match.group(1)


def test_the_session_cookie_is_httponly_samesite_and_never_the_key(gw: Gateway) -> None:
    response = httpx.post(gw.url + "/ui/login", data={"key": MASTER_KEY})
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert MASTER_KEY not in cookie
    wrong = httpx.post(gw.url + "/ui/login", data={"key": MASTER_KEY + "x"})
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    assert MASTER_KEY not in wrong.text


def test_pages_need_a_valid_session(gw: Gateway) -> None:
    for cookie in ("", "1.2.3", f"{2**40}.nonce.{'0' * 64}", "garbage"):
        response = httpx.get(gw.url + "/ui/costs", cookies={COOKIE: cookie} if cookie else None)
        assert response.status_code == 303 and response.headers["location"] == "/ui/login"
    assert httpx.get(gw.url + "/ui/costs.csv").status_code == 303


def test_a_session_expires_and_a_new_master_key_ends_it() -> None:
    sessions = Sessions("sk-one-master-key")
    cookie, session = sessions.new(now=1000.0)
    assert sessions.read(cookie, now=1000.0 + SESSION_SECONDS - 1) == session
    assert sessions.read(cookie, now=1000.0 + SESSION_SECONDS + 1) is None
    assert Sessions("sk-another-master-key").read(cookie, now=1000.0) is None
    expires, nonce, signature = cookie.split(".")
    assert sessions.read(f"{int(expires) + 3600}.{nonce}.{signature}", now=1000.0) is None  # extended: refused


def test_logout_needs_the_csrf_token_and_this_origin(gw: Gateway) -> None:
    with logged_in(gw) as client:
        token = csrf_of(client)
        assert client.post("/logout", data={}).status_code == 403
        assert client.post("/logout", data={"csrf": "0" * 32}).status_code == 403
        evil = client.post("/logout", data={"csrf": token}, headers={"origin": "https://evil.example"})
        assert evil.status_code == 403
        assert client.get("/overview").status_code == 200  # still logged in
        done = client.post("/logout", data={"csrf": token})
        assert done.status_code == 303 and done.headers["location"] == "/ui/login"
        assert 'gateway_ui=""' in done.headers["set-cookie"] and "Max-Age=0" in done.headers["set-cookie"]


def test_login_from_another_origin_is_refused(gw: Gateway) -> None:
    response = httpx.post(gw.url + "/ui/login", data={"key": MASTER_KEY}, headers={"origin": "https://evil.example"})
    assert response.status_code == 401 and "set-cookie" not in response.headers


def test_pages_send_security_headers_and_unknown_pages_are_404(gw: Gateway) -> None:
    with logged_in(gw) as client:
        page = client.get("/overview")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
        assert client.get("/nope").status_code == 404
        assert client.get("/requests/req_missing").status_code == 404
        assert client.get("/prompts/no-such-prompt").status_code == 404
        assert client.get("/costs", params={"group_by": "colour"}).status_code == 400


def test_a_gateway_without_a_master_key_needs_no_login(fake: FakeProvider, tmp_path: Path) -> None:
    config = base_config(fake, tmp_path)
    del config["general_settings"]["master_key"]
    with gateway(config, tmp_path) as server:
        assert httpx.get(server.url + "/ui/overview").status_code == 200
        assert httpx.get(server.url + "/ui/login").status_code == 303


@pytest.mark.parametrize("path", ["/ui/static/uPlot.iife.min.js", "/ui/static/ui.js", "/ui/static/ui.css"])
def test_assets_are_served_from_the_package(gw: Gateway, path: str) -> None:
    response = httpx.get(gw.url + path)
    assert response.status_code == 200 and len(response.content) > 500
