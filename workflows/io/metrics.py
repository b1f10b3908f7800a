"""What the activities record through the SDK runtime's meter: grants, gateway latency and rate-limit waits.

The activity meter adds the activity's type, namespace and task queue; our labels are a grant kind, an
``ErrorType`` and an HTTP status, never anything taken from a request's fields (names: ``workflows.metrics``).
Outside an activity (plain unit tests) nothing is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from temporalio import activity
from temporalio.common import MetricMeter

from workflows.metrics import GATEWAY_LATENCY, GRANTS, RATE_LIMIT_WAIT, RATE_LIMIT_WAITS

__all__ = ["GatewayCall", "gateway_call", "grant", "grant_kind", "rate_limited"]

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


def rate_limited(operation: str, wait: timedelta | None) -> None:
    """The gateway answered 429 to ``operation``; ``wait`` is what it asked for (None: the retry backoff)."""
    meter = _meter()
    meter.create_counter(RATE_LIMIT_WAITS, "Gateway answers of HTTP 429").add(1, {"operation": operation})
    if wait is not None:
        meter.create_histogram_timedelta(RATE_LIMIT_WAIT, "Waits imposed by the gateway's 429s").record(
            wait, {"operation": operation}
        )


class GatewayCall:
    """One gateway request being timed; ``status`` is set once its answer (or failure) is known."""

    def __init__(self) -> None:
        self.status = "error"
        """The HTTP status as text, or ``error`` when the transport failed."""


@contextmanager
def gateway_call(operation: str) -> Iterator[GatewayCall]:
    """Time one request to the gateway (``operation``: a grant kind or ``magic_link``)."""
    call = GatewayCall()
    started = time.perf_counter()
    try:
        yield call
    finally:
        elapsed = timedelta(seconds=time.perf_counter() - started)
        _meter().create_histogram_timedelta(GATEWAY_LATENCY, "Gateway request latency").record(
            elapsed, {"operation": operation, "status": call.status}
        )
