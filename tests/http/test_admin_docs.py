"""The admin API's OpenAPI document and its docs pages need the master key, like every admin route."""

from __future__ import annotations

import httpx
import pytest
from conftest import MASTER_KEY
from support.servers import Gateway

DOCS = ("/admin/openapi.json", "/admin/docs", "/admin/redoc")


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
