"""Report time ranges: what ``--since`` / ``--until`` (and the API's ``start`` / ``end``) accept.

All times are naive UTC, like the database's. A range is ``[start, end)``. Accepted forms:

* ``7d`` / ``2w``: calendar days, today included: ``7d`` is today and the 6 days before it, from midnight.
  As an end, ``1d`` is today's midnight (so ``--since 7d --until 1d`` is the 6 full days before today).
* ``12h``, ``30m``, ``45s``: exactly that long before now.
* ``2026-11-01``: that day's midnight as a start; as an end the whole day is included (``--until 2026-11-30``
  ends at the 30th's midnight + 1 day).
* ``2026-11-01T12:00:00`` (optionally with an offset, converted to UTC): exactly that moment.
* ``today`` / ``now``.

A range whose ends are both midnights is *day-aligned*: its sums come from the daily roll-ups. Any other range
reads the raw log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from gateway.errors import RequestError

_RELATIVE = re.compile(r"^\s*(\d+)\s*([wdhms])\s*$")
_SECONDS = {"h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True, slots=True)
class TimeRange:
    start: datetime
    end: datetime

    @property
    def day_aligned(self) -> bool:
        return self.start.time() == time() and self.end.time() == time()

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def end_day(self) -> date:
        """The first day after the range (exclusive), for a day-aligned range."""
        return self.end.date()


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def parse_range(
    since: str | None,
    until: str | None,
    *,
    now: datetime | None = None,
    default: str = "7d",
    names: tuple[str, str] = ("since", "until"),
) -> TimeRange:
    """``names``: what the caller calls the two ends, for error messages (the API says start / end)."""
    now = now or utcnow()
    start = parse_moment(since or default, now=now, as_end=False, param=names[0])
    end = parse_moment(until, now=now, as_end=True, param=names[1]) if until else _midnight(now) + timedelta(days=1)
    if end <= start:
        raise RequestError(f"The range is empty: {start.isoformat()} is not before {end.isoformat()}.", param=names[1])
    return TimeRange(start, end)


def parse_moment(text: str, *, now: datetime, as_end: bool, param: str) -> datetime:
    value = text.strip().lower()
    if value == "now":
        return now
    if value == "today":
        return _midnight(now) + (timedelta(days=1) if as_end else timedelta())
    match = _RELATIVE.match(value)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        if unit in ("d", "w"):
            days = amount * (7 if unit == "w" else 1)
            return _midnight(now) - timedelta(days=max(days - 1, 0))
        return now - timedelta(seconds=amount * _SECONDS[unit])
    return _absolute(text.strip(), as_end=as_end, param=param)


def _absolute(text: str, *, as_end: bool, param: str) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time()) + (timedelta(days=1) if as_end else timedelta())
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RequestError(
            f"`{param}` must look like 7d, 12h, 2026-11-01 or 2026-11-01T12:00:00, not {text!r}.", param=param
        ) from exc
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time())
