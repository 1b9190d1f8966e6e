"""Every record becomes a row both PostgreSQL and SQLite accept (issue 8, defects 2 and 8): strings cleaned of NUL
and cut to their column, JSON bounded in depth and size."""

from __future__ import annotations

import time

import orjson

from gateway.db.logs import daily_rollups_table, request_logs_table
from gateway.ledger.rows import log_row, rollup_rows, string_limits, tag_rollup_rows
from gateway.pipeline.records import MAX_JSON_BYTES, TRUNCATED, RequestRecord, bounded_json, clean_text


def record(**fields: object) -> RequestRecord:
    base = RequestRecord(request_id="req_1", created_at=time.time(), endpoint="chat", model="m", status=200,
                         latency_ms=1.0, stream=False)
    for name, value in fields.items():
        setattr(base, name, value)
    return base


def test_the_log_tables_string_limits_are_known() -> None:
    # SQLModel's AutoString is not a String: no limit was found, and PostgreSQL refused overlong values.
    assert string_limits(request_logs_table())["model"] == 255
    assert string_limits(daily_rollups_table())["model"] == 255


def test_strings_lose_nul_and_are_cut_to_their_column() -> None:
    row = log_row(
        record(user="a\x00b", model="m" * 300, tags=["t\x00ag"], error_message="x\x00y", upstream_model="\ud800z"),
        string_limits(request_logs_table()),
    )
    assert row["user"] == "ab" and len(row["model"]) == 255 and row["tags"] == ["tag"]
    assert row["error_message"] == "xy" and row["upstream_model"] == "?z"
    assert tag_rollup_rows([record(tags=["t\x00ag"])])[0]["tag"] == "tag"
    assert len(rollup_rows([record(model="m" * 300)], string_limits(daily_rollups_table()))[0]["model"]) == 255


def test_metadata_is_bounded_in_depth_and_size() -> None:
    deep: dict[str, object] = {"leaf": 1}
    for _ in range(600):
        deep = {"a": deep}
    row = log_row(record(metadata={"deep": deep, "big": 2**70, "s": "n\x00ul"}), {})
    orjson.dumps(row["metadata"])  # serialisable
    assert row["metadata"]["big"] == str(2**70) and row["metadata"]["s"] == "nul"
    assert TRUNCATED in orjson.dumps(row["metadata"]).decode()
    assert bounded_json({"x": "y" * (MAX_JSON_BYTES + 1)}) == {TRUNCATED: f"larger than {MAX_JSON_BYTES} bytes"}
    assert clean_text("plain") == "plain"


def test_a_tag_is_written_once_even_when_given_twice_or_made_equal_by_cleaning() -> None:
    row = log_row(record(tags=["web", "web", "a\x00b", "ab", "x" * 300, "x" * 256]), {})
    assert row["tags"] == ["web", "ab", "x" * 255]  # the raw log counts each tag once, as the roll-ups do
