"""Cost reports over the request log: one query module (``query.py``) behind the CLI (``gateway costs report``),
the admin API (``GET /admin/costs``) and the key owner's ``GET /v1/usage``, so all three agree; ``render.py``
turns a report into a table, JSON or CSV.
"""

from gateway.reports.query import DIMENSIONS, Report, ReportQuery, ReportRow, parse_group_by, run_report
from gateway.reports.timerange import TimeRange, parse_range

__all__ = [
    "DIMENSIONS",
    "Report",
    "ReportQuery",
    "ReportRow",
    "TimeRange",
    "parse_group_by",
    "parse_range",
    "run_report",
]
