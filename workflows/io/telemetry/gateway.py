"""What the gateway activities report: grants, each request's latency and span, and rate-limit waits.

Metrics go through the activity's meter (which adds the activity's type, namespace and task queue); our
labels are a grant kind, an ``ErrorType`` and an HTTP status, never anything taken from a request's fields
(names: ``workflows.types.metrics``). Outside an activity (plain unit tests) nothing is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.common import MetricMeter
from temporalio.exceptions import ApplicationError

from workflows.io.telemetry import spans
from workflows.types.errors import ErrorType
from workflows.types.metrics import GATEWAY_LATENCY, GRANTS, RATE_LIMIT_WAIT, RATE_LIMIT_WAITS

__all__ = ["GatewayCall", "grant", "grant_failed", "grant_kind", "rate_limited", "request"]

_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _meter() -> MetricMeter:
    return activity.metric_meter() if activity.in_activity() else MetricMeter.noop


def grant_kind(grant_type: str) -> str:
    """A ``grant_type`` as a label (the JWT bearer URN shortened to ``jwt_bearer``)."""
    return "jwt_bearer" if grant_type == _JWT_BEARER else grant_type


def grant(kind: str, outcome: str) -> None:
    """One grant of ``kind`` ended: ``ok`` or the ``ErrorType`` it failed with."""
    _meter().create_counter(GRANTS, "Token grants by kind and outcome").add(
        1, {"kind": kind, "outcome": outcome}
    )


def grant_failed(kind: str, error: ApplicationError) -> None:
    """A grant of ``kind`` failed with ``error``: counted by its type, and as a rate-limit wait on a 429."""
    grant(kind, error.type or "unknown")
    if error.type == ErrorType.RATE_LIMITED:
        rate_limited(kind, error.next_retry_delay)


def rate_limited(operation: str, wait: timedelta | None) -> None:
    """The gateway answered 429 to ``operation``; ``wait`` is what it asked for (None: the retry backoff)."""
    meter = _meter()
    meter.create_counter(RATE_LIMIT_WAITS, "Gateway answers of HTTP 429").add(1, {"operation": operation})
    if wait is not None:
        meter.create_histogram_timedelta(RATE_LIMIT_WAIT, "Waits imposed by the gateway's 429s").record(
            wait, {"operation": operation}
        )


class GatewayCall:
    """One gateway request in flight: timed, and traced when tracing is on."""

    def __init__(self, span: Any) -> None:
        self._span = span
        self.status = "error"
        """The HTTP status as text, or ``error`` when no answer came."""

    def answered(self, status: int) -> None:
        """The gateway answered with ``status``."""
        self.status = str(status)
        spans.set_attribute(self._span, "http.response.status_code", status)


@contextmanager
def request(request_kwargs: dict[str, Any], operation: str) -> Iterator[GatewayCall]:
    """Time and trace one request built by a generated operation (``operation``: a grant kind or
    ``magic_link``). The span has the method and the spec's path (no query: every parameter travels in
    the body or a header), never a field."""
    method, path = str(request_kwargs["method"]).upper(), str(request_kwargs["url"])
    attributes = {"http.request.method": method, "url.path": path, "remote_oauth.operation": operation}
    started = time.perf_counter()
    with spans.span(f"{method} {path}", attributes, client=True) as span:
        call = GatewayCall(span)
        try:
            yield call
        finally:
            elapsed = timedelta(seconds=time.perf_counter() - started)
            _meter().create_histogram_timedelta(GATEWAY_LATENCY, "Gateway request latency").record(
                elapsed, {"operation": operation, "status": call.status}
            )
