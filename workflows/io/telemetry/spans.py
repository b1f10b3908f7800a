"""Spans of our own (a gateway request, a token read), when OpenTelemetry is installed (the ``otel`` extra).

Without the extra, or before ``worker.tracing`` installs a tracer provider, every span is OpenTelemetry's
no-op. Attributes are given by the caller from fixed values (a method, a path, a status, a grant kind):
never a token, code, secret or anything a request carries in its body.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

try:
    from opentelemetry import trace as _trace
except ImportError:  # the otel extra is not installed: no spans
    _trace = None  # type: ignore[assignment]

__all__ = ["TRACER_NAME", "set_attribute", "span"]

TRACER_NAME = "remote_oauth"


@contextmanager
def span(name: str, attributes: Mapping[str, str | int], *, client: bool = False) -> Iterator[Any]:
    """A span named ``name`` around the block, child of the current one (a Temporal activity's, say)."""
    if _trace is None:
        yield None
        return
    kind = _trace.SpanKind.CLIENT if client else _trace.SpanKind.INTERNAL
    with _trace.get_tracer(TRACER_NAME).start_as_current_span(
        name, kind=kind, attributes=dict(attributes)
    ) as s:
        yield s


def set_attribute(current: Any, key: str, value: str | int) -> None:
    """Set an attribute on a span from :func:`span` (nothing without OpenTelemetry)."""
    if current is not None:
        current.set_attribute(key, value)
