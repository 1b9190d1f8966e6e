"""What ``--since`` / ``--until`` and ``start`` / ``end`` mean."""

from __future__ import annotations

from datetime import datetime

import pytest

from gateway.errors import RequestError
from gateway.reports.timerange import parse_range

NOW = datetime(2026, 11, 27, 15, 30)


def test_days_are_calendar_days_with_today_included_so_the_roll_ups_can_answer() -> None:
    week = parse_range("7d", None, now=NOW)
    assert (week.start, week.end) == (datetime(2026, 11, 21), datetime(2026, 11, 28))
    assert week.day_aligned
    assert parse_range("1d", None, now=NOW).start == datetime(2026, 11, 27)
    assert parse_range("2w", "1d", now=NOW).start == datetime(2026, 11, 14)


def test_hours_are_exact_and_read_the_raw_log() -> None:
    recent = parse_range("12h", "now", now=NOW)
    assert (recent.start, recent.end) == (datetime(2026, 11, 27, 3, 30), NOW)
    assert not recent.day_aligned


def test_a_plain_end_date_includes_that_day() -> None:
    november = parse_range("2026-11-01", "2026-11-30", now=NOW)
    assert (november.start, november.end) == (datetime(2026, 11, 1), datetime(2026, 12, 1))


def test_times_with_an_offset_are_converted_to_utc() -> None:
    moment = parse_range("2026-11-27T10:00:00+02:00", "2026-11-27T12:00:00Z", now=NOW)
    assert (moment.start, moment.end) == (datetime(2026, 11, 27, 8), datetime(2026, 11, 27, 12))


@pytest.mark.parametrize(("since", "until"), [("last week", None), ("7d", "2026-11-01"), ("2026-13-01", None)])
def test_nonsense_and_empty_ranges_are_refused(since: str, until: str | None) -> None:
    with pytest.raises(RequestError):
        parse_range(since, until, now=NOW)
