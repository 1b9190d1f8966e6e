"""Findings reach the request log on SQLite and PostgreSQL, and the report counts them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from support.databases import BOTH

from gateway.db import Database
from gateway.guardrails.manage import report
from gateway.ledger import LogStore
from gateway.pipeline.records import RequestRecord


def _record(index: int, findings: list[dict[str, str]] | None, key: str = "k1") -> RequestRecord:
    return RequestRecord(
        request_id=f"req_{index}",
        created_at=time.time(),
        endpoint="chat",
        model="m",
        status=200,
        latency_ms=1.0,
        stream=False,
        key_id=key,
        prompt_name="support",
        prompt_version=3,
        guardrails=findings,
    )


def _finding(guardrail: str, action: str, entity: str) -> dict[str, str]:
    return {"guardrail": guardrail, "policy": "p", "stage": "pre_call", "action": action, "entity": entity}


@pytest.mark.parametrize("database_url", BOTH, indirect=True)
def test_findings_are_stored_and_counted_by_guardrail_key_and_prompt(database: Database) -> None:
    LogStore(database).write(
        [
            _record(1, [_finding("pii", "mask", "email"), _finding("pii", "mask", "phone")]),
            _record(2, [_finding("secrets", "block", "aws_access_key")], key="k2"),
            _record(3, None),
        ]
    )
    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    by_action = report(database, since, ["guardrail", "action"])
    assert by_action == [
        {"guardrail": "pii", "action": "mask", "count": 2},
        {"guardrail": "secrets", "action": "block", "count": 1},
    ]
    by_key = {(r["key"], r["prompt"]): r["count"] for r in report(database, since, ["key", "prompt"])}
    assert by_key == {("k1", "support@3"): 2, ("k2", "support@3"): 1}
    with pytest.raises(ValueError, match="group_by"):
        report(database, since, ["colour"])
