"""How long each dashboard page's reads take over one million logged requests on PostgreSQL.

Run ``.venv/bin/python bench/dashboard_pages.py`` (``--rows N``, ``--repeat N``). A script, not a test: it prints
a Markdown table and never asserts on time.

Contract: the data of ``bench/cost_report.py`` (its generator and roll-up builder, imported from it): a throwaway
database on the machine's PostgreSQL with ``--rows`` requests over 30 days, 200 keys in 20 teams, and the daily
roll-ups. A fifth of the requests are marked as streams with a time to first token (the generator leaves it
empty), a third of the cache hits as semantic, and one request in 50 with a guardrail finding. Then each page's
loader (``gateway.http.ui.pages``: all the reads one page view makes, in the one worker thread the app runs them
in) is timed ``--repeat`` times after a warm-up; the median and the slowest are printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cost_report  # the sibling script: its throwaway database, data generator and roll-ups

from gateway.db import Database
from gateway.http.handlers.usage import report_query
from gateway.http.ui import pages, queries
from gateway.reports import run_report

TARGET_MS = 300.0


def cases(database: Database) -> list[tuple[str, Callable[[], Any]]]:
    newest = queries.recent_requests(database, queries.LogFilter(), limit=1)[0]
    page_two = queries.recent_requests(database, queries.LogFilter())[-1]["id"]
    return [
        ("overview, 24h", lambda: pages.overview(database, {"start": "24h"})),
        ("overview, 7d", lambda: pages.overview(database, {})),
        ("overview, 30d", lambda: pages.overview(database, {"start": "30d"})),
        ("  of which the report by day, 30d", lambda: run_report(database, report_query({"group_by": "day",
                                                                                          "start": "30d"}))),
        ("  of which time to first token, 30d", lambda: queries.ttft_percentiles(database, *month())),
        ("costs by model, 7d", lambda: pages.costs(database, {})),
        ("costs by key and model, 30d", lambda: pages.costs(database, {"group_by": "key,model", "start": "30d"})),
        ("costs by tag and day, 30d", lambda: pages.costs(database, {"group_by": "tag,day", "start": "30d"})),
        ("costs of one team by key, 30d", lambda: pages.costs(database, {"group_by": "key", "team": "team_03",
                                                                         "start": "30d"})),
        ("requests, newest", lambda: pages.requests(database, {})),
        ("requests, page 2", lambda: pages.requests(database, {"before": str(page_two)})),
        ("requests of one model", lambda: pages.requests(database, {"model": "model-3"})),
        ("requests of one key, errors only", lambda: pages.requests(database, {"key": "key_0042", "errors": "1"})),
        ("request detail", lambda: pages.request_detail(database, newest["request_id"], {})),
        ("keys and budgets", lambda: pages.keys(database, {})),
        ("cache, 7d", lambda: pages.cache(database, {})),
        ("cache, 30d", lambda: pages.cache(database, {"start": "30d"})),
        ("  of which the semantic hits, 30d", lambda: queries.semantic_hits(database, *month())),
        ("guardrails, 7d", lambda: pages.guardrails(database, {})),
        ("guardrails, 30d", lambda: pages.guardrails(database, {"start": "30d"})),
    ]


def month() -> tuple[Any, Any]:
    window = report_query({"start": "30d"}).range
    return window.start, window.end


FINDING = (
    '[{"guardrail": "email-mask", "policy": "pii", "stage": "pre_call", "action": "mask", "entity": "email"}]'
)


def mark_streams(url: str) -> None:
    """Streams with a time to first token; a third of the cache hits semantic; a finding on 2 % of requests."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("UPDATE request_logs SET stream = true, ttft_ms = latency_ms / 4 WHERE id % 5 = 0")
        connection.execute(
            "UPDATE request_logs SET cache_status = 'semantic-hit' WHERE cache_status = 'hit' AND id % 3 = 0"
        )
        connection.execute(f"UPDATE request_logs SET guardrails = '{FINDING}'::json WHERE id % 50 = 7")
        connection.execute("VACUUM ANALYZE request_logs")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with cost_report.throwaway(args.admin_url, keep=False) as url:
        database = Database(url)
        database.upgrade()
        cost_report.load(url, args.rows)
        cost_report.build_rollups(url)
        mark_streams(url)
        lines = [
            f"Dashboard page reads over {args.rows:,} logged requests (PostgreSQL; median and slowest of "
            f"{args.repeat}, after a warm-up; target {TARGET_MS:.0f} ms)",
            "",
            "| page | median | slowest |",
            "| --- | --- | --- |",
        ]
        for name, read in cases(database):
            read()
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                read()
                times.append((time.perf_counter() - started) * 1000)
            lines.append(f"| {name} | {statistics.median(times):.1f} ms | {max(times):.1f} ms |")
            print(lines[-1], file=sys.stderr, flush=True)
        database.dispose()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
