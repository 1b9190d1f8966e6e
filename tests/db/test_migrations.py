"""The migrations are one chain: new databases, and databases migrated with the old branched history, end at its head.

Every test runs on SQLite and on a throwaway PostgreSQL database. The old history is kept verbatim in
``branched_history/`` (it is what existing installs ran), so these tests need nothing outside the repository.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel
from support.throwaway import pg_database

import gateway.db.tables  # noqa: F401  (every table on SQLModel.metadata)
from gateway.db import Database
from gateway.db.engine import MIGRATIONS_DIR
from gateway.db.migrations.branched import CHAIN

HISTORY = Path(__file__).with_name("branched_history")
OLD_HEADS = ["0002b_request_log_costs", "0003_keys", "0004_prompts", "0005_evals"]
#: Where existing installs can be: what each release of the branched history left in alembic_version.
OLD_STATES = {
    "released": ["heads"],  # c5d969b: the four heads
    "before_costs": ["0002_request_log", "0003_keys", "0004_prompts", "0005_evals"],  # before 0002b existed
    "request_log_only": ["0002_request_log"],  # before keys, prompts and evals existed
}
#: compare_metadata's findings that are known. ``key_store_version`` has no model on purpose (see gateway.db.keys).
#: ``eval_runs.created_at`` is a naive ``TIMESTAMP`` (migration 0005) while its model (gateway.db.evals) uses
#: SQLModel's aware ``UTCDateTime``: the same on SQLite, a type difference on PostgreSQL, left for gateway.db.evals.
DOCUMENTED_DIFFERENCES = {
    "sqlite": [("remove_table", "key_store_version")],
    "postgresql": [("modify_type", "eval_runs.created_at"), ("remove_table", "key_store_version")],
}
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SEED: dict[str, dict[str, Any]] = {
    "request_logs": {
        "request_id": "req_old", "created_at": NOW.replace(tzinfo=None), "endpoint": "chat", "model": "m",
        "status": 200, "stream": False, "attempts": 1, "latency_ms": 12.5, "cache_status": "none",
        "tags": ["old"], "metadata": {"k": "v"}, "cost_usd": 0.25, "key_id": "k1",
    },
    "daily_rollups": {
        "day": date(2026, 11, 1), "key_id": "k1", "team_id": "", "model": "m", "provider": "openai",
        "prompt_name": "", "prompt_version": 0, "requests": 1, "errors": 0, "cached": 0, "prompt_tokens": 10,
        "completion_tokens": 5, "cost_usd": 0.25, "unpriced": 0, "cache_savings_usd": 0.0, "latency_ms_sum": 12.5,
    },
    "teams": {"id": "t1", "name": "team", "budget_period": "monthly", "created_at": NOW, "updated_at": NOW},
    "virtual_keys": {
        "id": "k1", "name": "key", "key_hash": "h" * 64, "key_prefix": "sk-gw-abc", "team_id": "t1",
        "budget_period": "monthly", "store_content": False, "created_at": NOW, "updated_at": NOW,
    },
    "prompts": {"id": 1, "name": "greet", "created_at": NOW, "created_by": "me"},
    "prompt_versions": {
        "prompt_id": 1, "version": 1, "content_hash": "c" * 64, "content": {"messages": []}, "created_at": NOW,
        "created_by": "me",
    },
    "eval_runs": {
        "run_id": "run1", "created_at": NOW.replace(tzinfo=None), "suite": "s", "suite_hash": "x", "passed": True,
        "pass_rate": 1.0, "mean_score": 0.9, "total": 1, "passed_count": 1, "failed_count": 0, "error_count": 0,
        "threshold": {}, "metrics": {}, "models": ["m"], "duration_s": 1.5,
    },
}


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'gateway.db'}")
        yield db
        db.dispose()
        return
    with pg_database("migrations") as url:
        db = Database(url)
        yield db
        db.dispose()


def head() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def versions(database: Database) -> list[str]:
    with database.engine.connect() as connection:
        return sorted(str(row[0]) for row in connection.execute(sa.text("SELECT version_num FROM alembic_version")))


def differences(database: Database) -> list[tuple[str, str]]:
    """What ``alembic revision --autogenerate`` would write: the schema against the models, as (kind, name)."""
    with database.engine.connect() as connection:
        found = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    return sorted(_named(diff[0] if isinstance(diff, list) else diff) for diff in found)


def _named(diff: tuple[Any, ...]) -> tuple[str, str]:
    if diff[0].startswith("modify_"):  # (kind, schema, table, column, ...)
        return diff[0], f"{diff[2]}.{diff[3]}"
    return diff[0], str(getattr(diff[1], "name", diff[1]))


def migrate_with_branched_history(database: Database, targets: list[str]) -> None:
    config = Config()
    config.set_main_option("script_location", str(HISTORY))
    config.attributes["engine"] = database.engine
    for target in targets:
        command.upgrade(config, target)


def seed(database: Database) -> set[str]:
    """One row in every table the database has; returns the names of the seeded tables."""
    with database.engine.begin() as connection:
        present = set(sa.inspect(connection).get_table_names())
        for name, row in SEED.items():
            if name in present:
                connection.execute(sa.Table(name, sa.MetaData(), autoload_with=connection).insert(), [row])
        if "key_store_version" in present:
            connection.execute(sa.text("UPDATE key_store_version SET version = 7"))
    return present & set(SEED)


def assert_seeded_rows_intact(database: Database, tables: set[str]) -> None:
    with database.engine.connect() as connection:
        for name in tables:
            rows = connection.execute(sa.Table(name, sa.MetaData(), autoload_with=connection).select()).mappings()
            [row] = list(rows)
            kept = {key: row[key] for key, value in SEED[name].items() if not isinstance(value, datetime)}
            assert kept == {key: value for key, value in SEED[name].items() if key in kept}, name
        if "teams" in tables:
            assert connection.execute(sa.text("SELECT version FROM key_store_version")).scalar_one() == 7


def test_the_scripts_are_one_line_that_starts_with_the_released_revisions() -> None:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    assert len(script.get_heads()) == 1
    line = list(reversed(list(script.walk_revisions())))
    assert all(isinstance(r.down_revision, str | None) and not r.branch_labels for r in line)
    assert [r.revision for r in line][: len(CHAIN)] == list(CHAIN)


def test_a_new_database_migrates_to_the_one_head(database: Database) -> None:
    database.upgrade()
    assert versions(database) == [head()]
    database.upgrade()  # a second start finds nothing to do
    assert versions(database) == [head()]


def test_the_migrated_schema_matches_the_models(database: Database) -> None:
    database.upgrade()
    assert differences(database) == DOCUMENTED_DIFFERENCES[database.dialect]


@pytest.mark.parametrize("state", OLD_STATES)
def test_a_database_migrated_with_the_branched_history_joins_the_chain(database: Database, state: str) -> None:
    migrate_with_branched_history(database, OLD_STATES[state])
    tables = seed(database)
    assert versions(database) == sorted(OLD_HEADS if state == "released" else OLD_STATES[state])

    database.upgrade()

    assert versions(database) == [head()]
    assert_seeded_rows_intact(database, tables)
    assert differences(database) == DOCUMENTED_DIFFERENCES[database.dialect]
    with database.engine.connect() as connection:  # the columns a skipped revision added hold their defaults
        row = connection.execute(sa.text("SELECT estimated, lat_00, lat_44 FROM daily_rollups")).one()
    assert tuple(row) == (0, 0, 0)


def test_a_failed_join_leaves_the_branched_rows_for_the_next_start(database: Database) -> None:
    migrate_with_branched_history(database, OLD_STATES["before_costs"])
    with database.engine.begin() as connection:  # makes the skipped 0002b fail halfway
        connection.execute(sa.text("CREATE TABLE daily_tag_rollups (id INTEGER PRIMARY KEY)"))

    with pytest.raises(sa.exc.DatabaseError):
        database.upgrade()

    assert versions(database) == sorted(OLD_STATES["before_costs"])
    with database.engine.connect() as connection:
        columns = {column["name"] for column in sa.inspect(connection).get_columns("request_logs")}
    assert "reasoning_tokens" not in columns  # 0002b's first step was rolled back with the rest
    with database.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE daily_tag_rollups"))
    database.upgrade()
    assert versions(database) == [head()]
