"""Budget periods are UTC calendar periods; reset durations read like OpenAI's headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.limits.periods import format_duration, period_bounds


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("daily", datetime(2026, 11, 27, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC)),
        ("weekly", datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)),  # Monday to Monday
        ("monthly", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
    ],
)
def test_period_holds_now_from_its_utc_start(period: str, start: datetime, end: datetime) -> None:
    assert period_bounds(period, datetime(2026, 11, 27, 15, 30, tzinfo=UTC)) == (start, end)


def test_december_rolls_into_the_next_year() -> None:
    assert period_bounds("monthly", datetime(2026, 12, 31, 23, 59, tzinfo=UTC))[1] == datetime(2027, 1, 1, tzinfo=UTC)


def test_a_local_time_is_placed_in_its_utc_day() -> None:
    tokyo = timezone(timedelta(hours=9))
    start, _ = period_bounds("daily", datetime(2026, 11, 28, 5, 0, tzinfo=tokyo))  # 20:00 UTC on the 27th
    assert start == datetime(2026, 11, 27, tzinfo=UTC)


def test_unknown_period_is_refused() -> None:
    with pytest.raises(ValueError, match="yearly"):
        period_bounds("yearly", datetime.now(UTC))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.02, "20ms"), (1, "1s"), (12.2, "13s"), (360, "6m0s"), (3723, "1h2m3s"), (2 * 86400 + 3 * 3600, "2d3h")],
)
def test_durations_read_like_openai_headers(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
