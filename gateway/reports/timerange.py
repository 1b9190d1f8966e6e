"""Report time ranges: what ``--since`` / ``--until`` (and the API's ``start`` / ``end``) accept.

All times are naive UTC, like the database's. A range is ``[start, end)``. Accepted forms:

* ``7d`` / ``2w``: calendar days, today included: ``7d`` is today and the 6 days before it, from midnight.
  As an end, ``1d`` is today's midnight (so ``--since 7d --until 1d`` is the 6 full days before today).
* ``12h``, ``30m``, ``45s``: exactly that long before now.
* ``2026-11-01``: that day's midnight as a start; as an end the whole day is included (``--until 2026-11-30``
  ends at the 30th's midnight + 1 day).
* ``2026-11-01T12:00:00`` (optionally with an offset, converted to UTC): exactly that moment.
* ``today`` / ``now``.

Both ends must lie between 1970-01-01 and 9999-01-01 (``EARLIEST`` / ``LATEST``): the log holds nothing older,
and the bound keeps every day arithmetic of the report (an end's next midnight) inside ``datetime``'s range.
Anything else, such as ``99999999d``, is a 400 naming the parameter, never an overflow.

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
EARLIEST = datetime(1970, 1, 1)
LATEST = datetime(9999, 1, 1)


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
        given = f"`{names[0]}` {_shown(since or default)} ({start.isoformat()})"
        ending = f"`{names[1]}` {_shown(until)}" if until else "the default end"
        ending += f" ({end.isoformat()})"
        raise RequestError(f"The range is empty: {given} is not before {ending}.", param=names[1])
    return TimeRange(start, end)


def parse_moment(text: str, *, now: datetime, as_end: bool, param: str) -> datetime:
    try:
        moment = _moment(text, now=now, as_end=as_end, param=param)
    except OverflowError:  # a relative amount or a date too far for datetime's arithmetic
        moment = LATEST + timedelta(days=1)
    if not EARLIEST <= moment <= LATEST:
        raise RequestError(
            f"`{param}` must fall between {EARLIEST.date()} and {LATEST.date()}, not {_shown(text)}.", param=param
        )
    return moment


def _moment(text: str, *, now: datetime, as_end: bool, param: str) -> datetime:
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
            f"`{param}` must look like 7d, 12h, 2026-11-01 or 2026-11-01T12:00:00, not {_shown(text)}.", param=param
        ) from exc
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time())


def _shown(text: str) -> str:
    """The value as an error message quotes it: cut short, since it comes from the client."""
    return repr(text if len(text) <= 40 else text[:40] + "...")
