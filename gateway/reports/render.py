"""A report as JSON (the API's and ``--format json``'s shape), CSV, or a rich table for the terminal.

JSON: ``{"object": "cost_report", "start", "end", "group_by", "source", "filters", "data": [row...],
"total": row}``. A row holds its group's labels under the dimension names (``model``, ``key``, ``team``,
``provider``, ``prompt``, ``tag``, ``day``; ``null`` for none), each ``key`` and ``team`` followed by its name
(``key_name``, ``team_name``), and the figures below. CSV has one line per row, the same columns, and no total.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from gateway.reports.query import Report, ReportRow

FIGURES = (
    "requests",
    "errors",
    "error_rate",
    "cached",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_usd",
    "unpriced",
    "cache_savings_usd",
    "estimated",
    "avg_latency_ms",
    "p50_latency_ms",
    "p95_latency_ms",
)


def label_columns(group_by: tuple[str, ...]) -> list[str]:
    """A report's label columns: its dimensions, each key and team followed by its name."""
    columns: list[str] = []
    for dimension in group_by:
        columns += [dimension, f"{dimension}_name"] if dimension in ("key", "team") else [dimension]
    return columns


def row_dict(row: ReportRow) -> dict[str, Any]:
    return {
        **row.group,
        "requests": row.requests,
        "errors": row.errors,
        "error_rate": round(row.error_rate, 6),
        "cached": row.cached,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "total_tokens": row.total_tokens,
        "cost_usd": row.cost_usd,
        "unpriced": row.unpriced,
        "cache_savings_usd": row.cache_savings_usd,
        "estimated": row.estimated,
        "avg_latency_ms": _ms(row.avg_latency_ms),
        "p50_latency_ms": _ms(row.p50_ms),
        "p95_latency_ms": _ms(row.p95_ms),
    }


def report_dict(report: Report) -> dict[str, Any]:
    query = report.query
    filters = {"key": query.key_id, "team": query.team_id, "model": query.model}
    return {
        "object": "cost_report",
        "start": query.range.start.isoformat() + "Z",
        "end": query.range.end.isoformat() + "Z",
        "group_by": list(query.group_by),
        "source": report.source,
        "filters": {**{name: value for name, value in filters.items() if value is not None}, **report.filter_names},
        "data": [row_dict(row) for row in report.rows],
        "total": row_dict(report.total),
    }


def report_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = [*label_columns(report.query.group_by), *FIGURES]
    writer.writerow(columns)
    for row in report.rows:
        values = row_dict(row)
        writer.writerow([_cell(values.get(name)) for name in columns])
    return buffer.getvalue()


def report_table(report: Report) -> Any:
    """A ``rich.table.Table`` (rich is imported here, when a terminal wants it)."""
    from rich.table import Table  # noqa: PLC0415 - rich, not loaded by the server

    query = report.query
    title = f"Costs {query.range.start:%Y-%m-%d %H:%M} .. {query.range.end:%Y-%m-%d %H:%M} UTC"
    table = Table(title=title, show_footer=True, caption=f"source: {report.source}, {report.elapsed_ms:.0f} ms")
    dimensions = label_columns(query.group_by) or [""]
    for index, dimension in enumerate(dimensions):
        table.add_column(dimension, footer="total" if index == 0 else "", overflow="fold", min_width=10)
    with_unpriced = report.total.unpriced > 0
    for name, footer in zip(_table_columns(with_unpriced), _table_cells(report.total, with_unpriced), strict=True):
        table.add_column(name, footer=footer, justify="right", no_wrap=True)
    for row in report.rows:
        labels = [row.group.get(dimension) or "-" for dimension in dimensions]
        table.add_row(*labels, *_table_cells(row, with_unpriced))
    return table


def _table_columns(with_unpriced: bool) -> list[str]:
    names = ["requests", "tokens", "cost", "saved", "errors", "p50", "p95"]
    return [*names, "unpriced"] if with_unpriced else names


def _table_cells(row: ReportRow, with_unpriced: bool) -> list[str]:
    cells = [
        f"{row.requests:,}",
        f"{row.total_tokens:,}",
        usd(row.cost_usd),
        usd(row.cache_savings_usd),
        f"{row.error_rate:.1%}",
        _ms_text(row.p50_ms),
        _ms_text(row.p95_ms),
    ]
    return [*cells, f"{row.unpriced:,}"] if with_unpriced else cells


def usd(value: float) -> str:
    return "$0" if value == 0 else f"${value:.6f}" if value < 0.01 else f"${value:,.4f}"


def _ms(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def _ms_text(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def _cell(value: Any) -> Any:
    return "" if value is None else value
