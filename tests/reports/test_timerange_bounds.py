"""Range ends outside what the reports can compute are a 400 naming the parameter, never an OverflowError."""

from __future__ import annotations

from datetime import datetime

import pytest

from gateway.errors import RequestError
from gateway.reports.timerange import parse_range

NOW = datetime(2026, 11, 27, 15, 30)


@pytest.mark.parametrize(
    ("since", "until", "param"),
    [
        ("99999999d", None, "since"),
        ("9999999999w", None, "since"),
        ("99999999999999999999h", None, "since"),
        ("0001-01-01", "9999-12-31", "since"),
        ("2026-01-01", "9999-12-31", "until"),
        ("1969-12-31T23:59:59", None, "since"),
        ("0001-01-01T00:00:00+01:00", None, "since"),
    ],
)
def test_an_end_out_of_bounds_is_a_request_error(since: str, until: str | None, param: str) -> None:
    with pytest.raises(RequestError) as caught:
        parse_range(since, until, now=NOW)
    assert caught.value.param == param and caught.value.status == 400


def test_a_long_bad_value_is_quoted_short() -> None:
    with pytest.raises(RequestError) as caught:
        parse_range("x" * 10_000, None, now=NOW)
    assert len(caught.value.message) < 200


def test_the_bounds_themselves_are_accepted() -> None:
    whole = parse_range("1970-01-01", "9998-12-31", now=NOW)
    assert (whole.start, whole.end) == (datetime(1970, 1, 1), datetime(9999, 1, 1))
