"""A report row is the roll-ups' own ``RollupSums`` plus its histogram: one definition of the sums."""

from __future__ import annotations

from decimal import Decimal

from gateway.db.logs import ROLLUP_SUM_COLUMNS, RollupSums
from gateway.reports.query import ReportRow
from gateway.reports.statements import SUMS


def test_a_report_row_carries_the_roll_up_sums() -> None:
    assert issubclass(ReportRow, RollupSums)
    assert SUMS == ROLLUP_SUM_COLUMNS


def test_add_sums_reads_a_result_row_in_sums_order_and_keeps_each_type() -> None:
    row = ReportRow(group={"model": "m"})
    row.add_sums([Decimal(i + 1) for i in range(len(SUMS))])  # PostgreSQL's sum() of a bigint is a Decimal
    row.add_sums([None] * len(SUMS))  # a group missing from one source
    for index, name in enumerate(SUMS):
        value = getattr(row, name)
        assert value == index + 1 and type(value) is RollupSums.model_fields[name].annotation, name
