"""The request log's roll-up tables are whole when their classes are: nothing is added to them at import."""

from __future__ import annotations

import sqlalchemy as sa

from gateway.db.logs import (
    LATENCY_COLUMNS,
    LatencyHistogram,
    daily_rollups_table,
    daily_tag_rollups_table,
)


def test_the_histogram_mixin_declares_every_latency_column_in_order() -> None:
    assert tuple(LatencyHistogram.model_fields) == LATENCY_COLUMNS


def test_both_roll_up_tables_carry_the_histogram_as_the_migration_made_it() -> None:
    for table in (daily_rollups_table(), daily_tag_rollups_table()):
        for name in LATENCY_COLUMNS:
            column = table.c[name]
            assert isinstance(column.type, sa.Integer) and not column.nullable, (table.name, name)
            assert column.server_default is not None and str(column.server_default.arg) == "0"  # type: ignore[attr-defined]
