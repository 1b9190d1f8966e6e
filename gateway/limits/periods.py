"""Calendar budget periods in UTC, and durations written the way OpenAI's rate-limit headers write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

PERIODS = ("daily", "weekly", "monthly")


def period_bounds(period: str, now: datetime) -> tuple[datetime, datetime]:
    """The UTC period holding ``now``: a day from midnight, an ISO week from Monday, a month from the 1st."""
    now = now.astimezone(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "daily":
        return day, day + timedelta(days=1)
    if period == "weekly":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if period == "monthly":
        start = day.replace(day=1)
        end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
        return start, end
    raise ValueError(f"unknown budget period {period!r}; use one of {', '.join(PERIODS)}")


def format_duration(seconds: float) -> str:
    """``20ms``, ``1s``, ``6m0s``, ``1h2m3s``, ``2d3h``: OpenAI's ``x-ratelimit-reset-*`` style."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    total = int(seconds + 0.999)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
