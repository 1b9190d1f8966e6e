"""OTLP/HTTP export of spans, with the protobuf written directly instead of built as message objects.

The SDK's exporter builds one protobuf object per span, attribute and value, then serialises them: ~75 µs of the
exporter thread's CPU per span of ~15 attributes, more than the span itself costs on the event loop, and on the
same core. ``encode_spans`` writes the same ``ExportTraceServiceRequest`` bytes in one pass (the wire format of
opentelemetry-proto's ``trace.proto``, ``common.proto`` and ``resource.proto``; tests/telemetry checks that a
parse of its output equals the SDK encoder's message). ``FastHttpExporter`` is the SDK's HTTP exporter (endpoint,
headers, compression, retries, TLS, the standard variables) with only the encoding swapped; ``fast_grpc_exporter``
the same for gRPC.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Link

logger = logging.getLogger("gateway.telemetry")
_DOUBLE = struct.Struct("<d")
_FIXED64 = struct.Struct("<Q")
_FIXED32 = struct.Struct("<I")
_SMALL = [bytes([n]) for n in range(128)]
_MASK64 = (1 << 64) - 1
_KEY_CACHE_LIMIT = 4096  # attribute keys are the gateway's own (semconv): a few dozen
_keys: dict[str, bytes] = {}
# SpanFlags: the parent's remoteness is known (0x100), and the parent is remote (0x200).
_HAS_IS_REMOTE, _IS_REMOTE = 0x100, 0x200


def _varint(number: int) -> bytes:
    if number < 128:
        return _SMALL[number]
    out = bytearray()
    while number >= 128:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _len(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: its tag, the payload's length, the payload."""
    return tag + _varint(len(payload)) + payload


def _text(tag: bytes, text: str | None) -> bytes:
    return _len(tag, text.encode()) if text else b""


def _value(value: Any) -> bytes:
    """An ``AnyValue`` (oneof: set even to a zero value, as the SDK's encoder does)."""
    if isinstance(value, str):
        return _len(b"\x0a", value.encode())
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, int):
        return b"\x18" + _varint(value & _MASK64)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE.pack(value)
    if isinstance(value, bytes):
        return _len(b"\x3a", value)
    if value is None:
        return b""
    if isinstance(value, Sequence):
        return _len(b"\x2a", b"".join([_len(b"\x0a", _value(item)) for item in value]))
    if isinstance(value, Mapping):
        return _len(b"\x32", b"".join([_len(b"\x0a", _key_value(str(k), v)) for k, v in value.items()]))
    raise TypeError(f"cannot encode an attribute of type {type(value).__name__}")


def _key_value(key: str, value: Any) -> bytes:
    encoded = _keys.get(key)
    if encoded is None:
        encoded = _len(b"\x0a", key.encode())
        if len(_keys) < _KEY_CACHE_LIMIT:
            _keys[key] = encoded
    return encoded + _len(b"\x12", _value(value))


def _attributes(tag: bytes, attributes: Mapping[str, Any] | None) -> bytes:
    """Repeated ``KeyValue``s. A string, the common case, is written inline (the calls cost more than the bytes)."""
    if not attributes:
        return b""
    parts = []
    small, keys = _SMALL, _keys
    for key, value in attributes.items():
        if type(value) is str and (head := keys.get(key)) is not None:
            encoded = value.encode()
            size = len(encoded)
            if size < 126:  # the AnyValue and the KeyValue's value field both fit a one-byte length
                pair = head + b"\x12" + small[size + 2] + b"\x0a" + small[size] + encoded
                parts.append(tag + (small[len(pair)] if len(pair) < 128 else _varint(len(pair))) + pair)
                continue
        try:
            parts.append(_len(tag, _key_value(key, value)))
        except TypeError:  # as the SDK's encoder: the attribute is left out, the span goes
            logger.exception("span attribute %s not encoded", key)
    return b"".join(parts)


def _flags(parent: Any) -> bytes:
    return _FIXED32.pack(_HAS_IS_REMOTE | (_IS_REMOTE if parent is not None and parent.is_remote else 0))


def _span(span: ReadableSpan) -> bytes:
    context = span.get_span_context()
    assert context is not None  # an SDK span always has one
    parent = span.parent
    state = context.trace_state
    status = span.status
    parts = [
        b"\x0a\x10",
        context.trace_id.to_bytes(16, "big"),
        b"\x12\x08",
        context.span_id.to_bytes(8, "big"),
        _text(b"\x1a", ",".join([f"{k}={v}" for k, v in state.items()]) if state else None),
        b"\x22\x08" + parent.span_id.to_bytes(8, "big") if parent is not None else b"",
        _text(b"\x2a", span.name),
        b"\x30" + _SMALL[span.kind.value + 1],  # the SDK's SpanKind is proto's minus one (no UNSPECIFIED)
        b"\x39" + _FIXED64.pack(span.start_time or 0),
        b"\x41" + _FIXED64.pack(span.end_time or 0),
        _attributes(b"\x4a", span.attributes),
        b"\x50" + _varint(span.dropped_attributes) if span.dropped_attributes else b"",
        b"".join([_len(b"\x5a", _event(event)) for event in span.events]),
        b"\x60" + _varint(span.dropped_events) if span.dropped_events else b"",
        b"".join([_len(b"\x6a", _link(link)) for link in span.links]),
        b"\x70" + _varint(span.dropped_links) if span.dropped_links else b"",
        _len(b"\x7a", _text(b"\x12", status.description) + _status_code(status.status_code.value)),
        b"\x85\x01" + _flags(parent),
    ]
    return b"".join(parts)


def _status_code(code: int) -> bytes:
    return b"\x18" + _SMALL[code] if code else b""


def _event(event: Event) -> bytes:
    dropped = event.dropped_attributes
    return (
        b"\x09" + _FIXED64.pack(event.timestamp or 0) + _text(b"\x12", event.name)
        + _attributes(b"\x1a", event.attributes) + (b"\x20" + _varint(dropped) if dropped else b"")
    )


def _link(link: Link) -> bytes:
    dropped = link.dropped_attributes
    return (
        b"\x0a\x10" + link.context.trace_id.to_bytes(16, "big") + b"\x12\x08" + link.context.span_id.to_bytes(8, "big")
        + _attributes(b"\x22", link.attributes) + (b"\x28" + _varint(dropped) if dropped else b"")
        + b"\x35" + _flags(link.context)
    )


def _scope(scope: Any) -> bytes:
    if scope is None:
        return b""
    return _text(b"\x0a", scope.name) + _text(b"\x12", scope.version) + _attributes(b"\x1a", scope.attributes)


def encode_spans(spans: Sequence[ReadableSpan]) -> bytes:
    """An ``ExportTraceServiceRequest``: the spans grouped by resource, then by instrumentation scope."""
    # Keyed by identity: a Resource hashes by dumping its attributes to JSON, each time (the provider has one).
    grouped: dict[int, tuple[Any, dict[int, tuple[Any, list[bytes]]]]] = {}
    for span in spans:
        resource, scope = span.resource, span.instrumentation_scope or None
        scopes = grouped.setdefault(id(resource), (resource, {}))[1]
        scopes.setdefault(id(scope), (scope, []))[1].append(_len(b"\x12", _span(span)))
    out = []
    for resource, scopes in grouped.values():
        scope_spans = b"".join(
            [
                _len(b"\x12", _len(b"\x0a", _scope(scope)) + b"".join(encoded)
                     + _text(b"\x1a", scope.schema_url if scope else None))
                for scope, encoded in scopes.values()
            ]
        )
        body = _len(b"\x0a", _attributes(b"\x0a", resource.attributes)) + scope_spans
        out.append(_len(b"\x0a", body + _text(b"\x1a", resource.schema_url)))
    return b"".join(out)


class FastHttpExporter(OTLPSpanExporter):
    """The SDK's OTLP/HTTP span exporter, encoding with ``encode_spans``."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            return SpanExportResult.FAILURE
        try:
            data = encode_spans(spans)
        except Exception:  # a batch that cannot be encoded is dropped, as the SDK's exporter does
            logger.exception("a batch of %d spans could not be encoded", len(spans))
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS if self._client.export(data).success else SpanExportResult.FAILURE


def fast_grpc_exporter(endpoint: str | None, headers: dict[str, str] | None) -> SpanExporter:
    """The SDK's OTLP/gRPC span exporter, its request message parsed (in C, by upb) from ``encode_spans``'s bytes
    rather than built object by object. grpcio is imported here: only by a gateway that exports over gRPC."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415 - grpcio, only when chosen
        OTLPSpanExporter as GrpcExporter,
    )
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: PLC0415 - idem
        ExportTraceServiceRequest,
    )

    class FastGrpcExporter(GrpcExporter):
        def _translate_data(self, data: Sequence[ReadableSpan]) -> ExportTraceServiceRequest:
            request: ExportTraceServiceRequest = ExportTraceServiceRequest.FromString(encode_spans(data))
            return request

    return FastGrpcExporter(endpoint=endpoint, headers=headers)
