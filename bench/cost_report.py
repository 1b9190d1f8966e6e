"""How long a cost report takes over one million logged requests on PostgreSQL.

Run ``.venv/bin/python bench/cost_report.py`` (``--rows N`` for another size, ``--keep`` to leave the database).
It is a script, not a test: it prints a Markdown table and never asserts on time.

Contract:

* Creates a throwaway database ``gw_bench_costs_<random>`` on ``--admin-url`` (default: the machine's PostgreSQL,
  ``postgres`` database) and drops it at the end unless ``--keep``.
* Migrates it with the gateway's own migrations, then loads ``--rows`` requests spread over the last 30 days with
  ``COPY``: 200 keys in 20 teams, each key using 2 of 12 models (4 providers) and 2 of 11 prompt slots (one is
  "no prompt"), 0-2 of 8 tags, log-normal latencies, 2% errors, 5% cache hits, 1% unpriced.
* Builds ``daily_rollups``, ``daily_tag_rollups`` and ``daily_tag_dim_rollups`` from the log with ``INSERT ...
  SELECT`` statements that group exactly as the writer does (``gateway.ledger.rows``), including the latency
  histogram (``width_bucket`` over ``LATENCY_BOUNDS_MS``), and checks that the roll-ups and the raw log give the
  same totals.
* Then measures the writer's store (``LogStore.write``) on a second throwaway database: 500-record batches.
* Times ``gateway.reports.run_report`` (the code behind the CLI and the API; each report is two queries: the groups
  and the total) for several groupings, each run ``--repeat`` times after one warm-up; prints the median and the
  fastest, with the source (roll-ups or raw log) and the number of rows.
"""

from __future__ import annotations

import argparse
import io
import math
import random
import secrets
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from gateway.db import Database
from gateway.db.logs import LATENCY_BOUNDS_MS, LATENCY_COLUMNS
from gateway.ledger import LogStore
from gateway.pipeline.records import RequestRecord
from gateway.reports import ReportQuery, parse_range, run_report

MODELS = [(f"model-{i}", ["openai", "anthropic", "gemini", "bedrock"][i % 4]) for i in range(12)]
TAGS = ["prod", "staging", "batch", "chat", "search", "summarise", "eval", "internal"]
COLUMNS = (
    "request_id", "created_at", "endpoint", "model", "provider", "upstream_model", "status", "stream", "attempts",
    "latency_ms", "prompt_tokens", "completion_tokens", "cost_usd", "cache_status", "key_id", "team_id", "tags",
    "metadata", "prompt_name", "prompt_version", "tokens_estimated", "cache_savings_usd",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="Do not drop the database at the end.")
    args = parser.parse_args()
    with throwaway(args.admin_url, args.keep) as url:
        database = Database(url)
        database.upgrade()
        started = time.perf_counter()
        load(url, args.rows)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        rollup_rows = build_rollups(url)
        rolled = time.perf_counter() - started
        print(f"loaded {args.rows:,} rows with COPY in {loaded:.1f} s; {rollup_rows:,} roll-up rows in {rolled:.1f} s")
        check_totals(database)
        print()
        print(time_reports(database, args.repeat))
        database.dispose()
    with throwaway(args.admin_url, keep=False) as url:
        print()
        print(writer_throughput(url, batches=40))
    return 0


def writer_throughput(url: str, batches: int) -> str:
    """How fast the request log writer's store commits 500-record batches (log rows + both roll-ups)."""
    database = Database(url)
    database.upgrade()
    store = LogStore(database)
    rng = random.Random(7)
    now = time.time()

    def batch(number: int) -> list[RequestRecord]:
        return [
            RequestRecord(
                request_id=f"req_{number}_{i}", created_at=now, endpoint="chat", model=MODELS[i % 12][0],
                provider=MODELS[i % 12][1], status=200, latency_ms=rng.lognormvariate(6.5, 0.8), stream=False,
                prompt_tokens=500, completion_tokens=200, cost_usd=0.0011, key_id=f"key_{i % 200:04d}",
                team_id=f"team_{i % 20:02d}", tags=rng.sample(TAGS, 2), metadata={"app": "bench"},
            )
            for i in range(500)
        ]

    store.write(batch(-1))  # warm-up: connection and plans
    started = time.perf_counter()
    for number in range(batches):
        store.write(batch(number))
    seconds = time.perf_counter() - started
    database.dispose()
    return (f"writer (LogStore.write, 500-record batches, one transaction each): {batches * 500 / seconds:,.0f} "
            f"records/s, {seconds / batches * 1000:.0f} ms per batch")


@contextmanager
def throwaway(admin_url: str, keep: bool) -> Iterator[str]:
    name = f"gw_bench_costs_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def load(url: str, rows: int) -> None:
    rng = random.Random(42)
    keys = [(f"key_{k:04d}", f"team_{k % 20:02d}", rng.sample(MODELS, 2), rng.sample(range(11), 2)) for k in range(200)]
    now = datetime.now(UTC).replace(tzinfo=None)
    statement = f"COPY request_logs ({', '.join(COLUMNS)}) FROM STDIN"
    with psycopg.connect(url) as connection, connection.cursor() as cursor, cursor.copy(statement) as copy:
        chunk = io.StringIO()
        for index in range(rows):
            chunk.write(line(rng, index, keys, now))
            if index % 50_000 == 49_999:
                copy.write(chunk.getvalue())
                chunk = io.StringIO()
        copy.write(chunk.getvalue())
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("ANALYZE request_logs")


def line(rng: random.Random, index: int, keys: list[tuple[str, str, list[tuple[str, str]], list[int]]],
         now: datetime) -> str:
    key, team, models, prompts = keys[rng.randrange(len(keys))]
    model, provider = models[rng.randrange(2)]
    prompt = prompts[rng.randrange(2)]
    answered = model + "-fallback" if rng.random() < 0.03 else model  # 3% answered by a fallback
    created = now - timedelta(seconds=rng.random() * 30 * 86400)
    status = 500 if rng.random() < 0.02 else 200
    hit = status == 200 and rng.random() < 0.05
    prompt_tokens, completion_tokens = rng.randint(20, 2000), rng.randint(5, 800)
    price = (prompt_tokens * 1e-6 + completion_tokens * 3e-6) if status == 200 else 0.0
    cost = "\\N" if rng.random() < 0.01 else repr(0.0 if hit else price)
    savings = repr(price) if hit else "\\N"
    tags = '["' + '","'.join(rng.sample(TAGS, rng.randint(0, 2))) + '"]' if rng.random() < 0.8 else "[]"
    tags = "[]" if tags == '[""]' else tags
    latency = min(rng.lognormvariate(6.5, 0.8), 600_000.0) if not hit else rng.uniform(1, 5)
    fields = (
        f"req_{index:010d}", created.isoformat(sep=" "), "chat", model, provider, answered, str(status),
        "f", "1", f"{latency:.3f}", str(prompt_tokens), str(completion_tokens), cost, "hit" if hit else "miss",
        key, team, tags, "{}", f"prompt-{prompt}" if prompt else "\\N", "1" if prompt else "\\N", "f", savings,
    )
    return "\t".join(fields) + "\n"


def build_rollups(url: str) -> int:
    """Fill both roll-up tables from the log, grouped as ``gateway.ledger.rows`` groups."""
    bounds = ", ".join(repr(bound) for bound in LATENCY_BOUNDS_MS)
    histogram = ", ".join(f"count(*) FILTER (WHERE bucket = {i})" for i in range(len(LATENCY_COLUMNS)))
    sums = f"""count(*), count(*) FILTER (WHERE status >= 400), count(*) FILTER (WHERE cache_status = 'hit'),
            sum(coalesce(prompt_tokens, 0)), sum(coalesce(completion_tokens, 0)), sum(coalesce(cost_usd, 0)),
            count(*) FILTER (WHERE cost_usd IS NULL), sum(coalesce(cache_savings_usd, 0)), sum(latency_ms),
            count(*) FILTER (WHERE tokens_estimated), {histogram}"""
    columns = f"""requests, errors, cached, prompt_tokens, completion_tokens, cost_usd, unpriced, cache_savings_usd,
            latency_ms_sum, estimated, {", ".join(LATENCY_COLUMNS)}"""
    dimensions = "key_id, team_id, model, provider, upstream_model, prompt_name, prompt_version"
    labels = """coalesce(key_id, ''), coalesce(team_id, ''), model, coalesce(provider, ''),
            coalesce(upstream_model, ''), coalesce(prompt_name, ''), coalesce(prompt_version, 0)"""
    bucketed = f"SELECT *, width_bucket(latency_ms, ARRAY[{bounds}]::float8[]) AS bucket FROM request_logs"
    by_dimensions = f"""
        INSERT INTO daily_rollups (day, {dimensions}, {columns})
        SELECT created_at::date, {labels}, {sums}
        FROM ({bucketed}) AS log GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    """
    tagged = "LEFT JOIN LATERAL (SELECT DISTINCT value FROM json_array_elements_text(log.tags)) AS tag ON true"
    by_tag = f"""
        INSERT INTO daily_tag_rollups (day, tag, {columns})
        SELECT created_at::date, coalesce(tag.value, ''), {sums}
        FROM ({bucketed}) AS log {tagged}
        GROUP BY 1, 2
    """
    by_tag_and_dimensions = f"""
        INSERT INTO daily_tag_dim_rollups (day, tag, {dimensions}, {columns})
        SELECT created_at::date, coalesce(tag.value, ''), {labels}, {sums}
        FROM ({bucketed}) AS log {tagged}
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    """
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(by_dimensions)
        connection.execute(by_tag)
        connection.execute(by_tag_and_dimensions)
        connection.execute("ANALYZE daily_rollups")
        connection.execute("ANALYZE daily_tag_rollups")
        connection.execute("ANALYZE daily_tag_dim_rollups")
        count = connection.execute("SELECT count(*) FROM daily_rollups").fetchone()
    return int(count[0]) if count else 0


def check_totals(database: Database) -> None:
    """The roll-ups must add up to the raw log, or the timings below measure the wrong thing."""
    aligned = run_report(database, ReportQuery(parse_range("31d", None), ()))
    raw = run_report(database, ReportQuery(parse_range("744h", None), ()))
    same = aligned.total.requests == raw.total.requests and math.isclose(
        aligned.total.cost_usd, raw.total.cost_usd, rel_tol=1e-9
    )
    print(f"roll-ups vs raw log: {aligned.total.requests:,} vs {raw.total.requests:,} requests, "
          f"${aligned.total.cost_usd:,.2f} vs ${raw.total.cost_usd:,.2f}: {'same' if same else 'DIFFERENT'}")
    if not same:
        sys.exit(1)


CASES = [
    ("total only", "30d", ()),
    ("by model", "30d", ("model",)),
    ("by model, last 7 days", "7d", ("model",)),
    ("by key", "30d", ("key",)),
    ("by team, day", "30d", ("team", "day")),
    ("by model, day", "30d", ("model", "day")),
    ("by provider, prompt", "30d", ("provider", "prompt")),
    ("by key, model, day", "30d", ("key", "model", "day")),
    ("by tag", "30d", ("tag",)),
    ("by tag, day", "30d", ("tag", "day")),
    ("by model, 720h (first day partial)", "720h", ("model",)),
    ("by model, last 24h", "24h", ("model",)),
    ("by model, last 6h (exact p50/p95)", "6h", ("model",)),
    ("by tag, model", "30d", ("tag", "model")),
    ("by tag, key", "30d", ("tag", "key")),
    ("by tag, model, 720h (first day partial)", "720h", ("tag", "model")),
    ("by model, answered", "30d", ("model", "answered")),
]


def time_reports(database: Database, repeat: int) -> str:
    lines = [
        "| report | source | groups | median | fastest |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for label, since, group_by in CASES:
        query = ReportQuery(parse_range(since, None), group_by)  # type: ignore[arg-type]
        run_report(database, query)  # warm-up: plans and caches, as on a server that has answered before
        timings = []
        for _ in range(repeat):
            report = run_report(database, query)
            timings.append(report.elapsed_ms)
        lines.append(
            f"| {label} | {report.source} | {len(report.rows):,} | {statistics.median(timings):,.0f} ms "
            f"| {min(timings):,.0f} ms |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
