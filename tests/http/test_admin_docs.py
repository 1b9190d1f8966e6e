"""The admin API's OpenAPI document and its docs pages need the master key, like every admin route."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from support.keyed import MASTER_KEY, keyed_config
from support.servers import FakeProvider, Gateway, gateway

DOCS = ("/admin/openapi.json", "/admin/docs", "/admin/redoc")


@pytest.fixture(scope="module")
def gw(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A fast-path-only gateway (no litellm to import), so it starts quickly."""
    tmp = tmp_path_factory.mktemp("docs")
    with gateway(keyed_config(fake, f"sqlite:///{tmp / 'g.db'}"), tmp) as server:
        yield server


@pytest.mark.parametrize("path", DOCS)
def test_admin_docs_refuse_a_caller_without_the_master_key(gw: Gateway, path: str) -> None:
    anonymous = httpx.get(gw.url + path, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "authentication_error"
    wrong = httpx.get(gw.url + path, headers={"authorization": "Bearer sk-not-the-master-key"}, timeout=10)
    assert wrong.status_code == 401


@pytest.mark.parametrize("path", DOCS)
def test_admin_docs_answer_the_master_key(gw: Gateway, path: str) -> None:
    reply = httpx.get(gw.url + path, headers={"authorization": f"Bearer {MASTER_KEY}"}, timeout=10)
    assert reply.status_code == 200
    if path.endswith(".json"):
        assert "/keys" in " ".join(reply.json()["paths"])
    else:
        assert "/admin/openapi.json" in reply.text
