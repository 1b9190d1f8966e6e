"""An unsupported path answers 404 naming the path and listing the endpoints the gateway serves."""

from __future__ import annotations

import httpx
from support.config import MASTER_KEY
from support.servers import Gateway


def test_an_unknown_path_names_itself_and_lists_what_is_served(gw: Gateway) -> None:
    answer = httpx.post(gw.v1 + "/assistants", headers={"Authorization": f"Bearer {MASTER_KEY}"}, json={})
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "not_found"
    message = error["message"]
    assert "POST /v1/assistants" in message
    for served in ("POST /v1/chat/completions", "POST /v1/responses", "POST /v1/messages/count_tokens",
                   "GET /v1/models"):
        assert served in message
    assert "/admin/" in message
