"""Jinja2 filters: how the dashboard writes money, durations, counts, rates and times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from gateway.reports.render import usd as _usd

NONE = "\N{EN DASH}"  # what a missing figure shows


def usd(value: float | None) -> str:
    return NONE if value is None else _usd(value)


def ms(value: float | None) -> str:
    if value is None:
        return NONE
    return f"{value / 1000:,.2f} s" if value >= 10_000 else f"{value:,.0f} ms" if value >= 10 else f"{value:,.1f} ms"


def number(value: float | None) -> str:
    return NONE if value is None else f"{value:,}"


def percent(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.1f}%"


def when(value: datetime | str | None) -> str:
    if value is None:
        return NONE
    if isinstance(value, str):
        return value
    return value.strftime("%Y-%m-%d %H:%M:%S")


FILTERS: dict[str, Callable[..., Any]] = {"usd": usd, "ms": ms, "number": number, "percent": percent, "when": when}
