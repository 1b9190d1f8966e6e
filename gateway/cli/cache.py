"""``gateway cache stats`` and ``gateway cache clear``: how the response cache does, and emptying it.

``stats`` reads the request log (hits, semantic hits, hit rate and the USD hits saved, per model, over a
period): it works without a running gateway. ``clear`` tells every running gateway on the change bus (topic
``cache``) to drop the matching entries, and deletes the shared ones in Redis itself when the config names one,
so that a Redis cache is emptied even with no gateway running. Exit codes: 1 when Redis cannot be reached, 2 for
a bad option value.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import func, select

from gateway.bus import CACHE
from gateway.cli.common import ConfigOption, DatabaseOption, announce, console, database, fail, load
from gateway.db.logs import request_logs_table

cache_app = typer.Typer(no_args_is_help=True, help="The response cache: hit rates and savings, clearing.")
HITS = ("hit", "semantic-hit")


@cache_app.command("stats")
def stats(
    days: Annotated[int, typer.Option("--days", help="Look back this many days.", min=1)] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Hits, semantic hits, hit rate and USD saved per model, from the request log."""
    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)
    table = request_logs_table()
    query = (
        select(table.c.model, table.c.cache_status, func.count(), func.sum(table.c.cache_savings_usd))
        .where(table.c.created_at >= since)
        .group_by(table.c.model, table.c.cache_status)
    )
    with database(config, database_url) as db, db.engine.connect() as connection:
        rows = _per_model(connection.execute(query).all())
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    out = Table("model", "requests", "hits", "semantic hits", "hit rate", "saved USD")
    for row in rows:
        out.add_row(row["model"], str(row["requests"]), str(row["hits"]), str(row["semantic_hits"]),
                    f"{100 * row['hit_rate']:.1f} %", f"{row['saved_usd']:.6f}")
    console().print(out)


@cache_app.command("clear")
def clear(
    namespace: Annotated[str | None, typer.Option("--namespace", help="Only this request namespace.")] = None,
    prompt: Annotated[str | None, typer.Option("--prompt", help="Only answers served through this prompt.")] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Drop cached answers (all, or a namespace's, or a prompt's) in every running gateway and in Redis."""
    loaded = load(config)
    deleted = _clear_redis(loaded, namespace, prompt) if loaded is not None else None
    with database(config, database_url) as db:
        announce(config, db, CACHE, json.dumps({"namespace": namespace, "prompt": prompt}))
    if deleted is not None:
        typer.echo(f"deleted {deleted} shared answers in Redis")


def _per_model(rows: Sequence[Any]) -> list[dict[str, Any]]:
    models: dict[str, dict[str, Any]] = {}
    for model, status, count, saved in rows:
        row = models.setdefault(model, {"model": model, "requests": 0, "hits": 0, "semantic_hits": 0,
                                        "saved_usd": 0.0})
        row["requests"] += count
        row["hits"] += count if status == "hit" else 0
        row["semantic_hits"] += count if status == "semantic-hit" else 0
        row["saved_usd"] += float(saved or 0.0) if status in HITS else 0.0
    for row in models.values():
        row["hit_rate"] = (row["hits"] + row["semantic_hits"]) / row["requests"]
    return sorted(models.values(), key=lambda row: -row["requests"])


def _clear_redis(config: Any, namespace: str | None, prompt: str | None) -> int | None:
    if config.gateway.redis_url is None:
        return None
    import redis.asyncio as aioredis  # noqa: PLC0415 - only a config with Redis pays for the client
    from redis.exceptions import RedisError  # noqa: PLC0415 - idem

    from gateway.cache.exact import RedisStore  # noqa: PLC0415 - idem
    from gateway.cache.identity import tag_of  # noqa: PLC0415 - idem

    async def run() -> int:
        client = aioredis.from_url(config.gateway.redis_url.get_secret_value(), socket_timeout=2.0)
        try:
            store = RedisStore(client, config.gateway.redis_key_prefix)
            return await store.clear(tag_of(namespace or "*", prompt or "*"))
        finally:
            await client.aclose()

    try:
        return asyncio.run(run())
    except (RedisError, OSError) as exc:
        fail(f"Redis cannot be reached ({type(exc).__name__}); nothing was deleted there", 1)
    return None

