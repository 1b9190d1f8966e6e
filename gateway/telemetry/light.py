"""What the gateway reads whether telemetry is on or not: the client's trace context headers, and whether tracing
is wanted at all.

Apart from ``tracing`` and ``metrics`` so that loading it loads neither OpenTelemetry nor prometheus-client: a
gateway with traces and metrics off never imports them (tests/telemetry/test_lazy_imports.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from gateway.config.models import TelemetrySettings

#: Trace context headers read from a client and sent upstream (W3C).
TRACE_HEADERS = ("traceparent", "tracestate")
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def trace_parent_headers(headers: Mapping[str, str]) -> dict[str, str] | None:
    """The client's W3C trace context headers, or None (a request that starts a trace)."""
    found = {name: value for name in TRACE_HEADERS if (value := headers.get(name))}
    return found or None


def tracing_wanted(settings: TelemetrySettings, environ: Mapping[str, str] = os.environ) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return bool(settings.otlp_endpoint or any(environ.get(name) for name in ENDPOINT_VARIABLES))
