"""Timeouts and retry policies of every activity call, defined once so workflows cannot drift apart.

An attempt's ``start_to_close_timeout`` (30 s) exceeds the longest HTTP request allowed
(``REMOTE_HTTP_TIMEOUT`` at most 25 s, enforced as a whole-request deadline by the activity), so an attempt
always ends with our own classified error, never with Temporal killing it mid-request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy

from workflows.types.errors import ErrorType

MAX_HTTP_TIMEOUT_SECONDS = 25.0
"""The largest ``REMOTE_HTTP_TIMEOUT`` settings accept: below the token attempt timeout, with a margin."""

FINAL_ERROR_TYPES: tuple[str, ...] = tuple(
    str(t)
    for t in (
        ErrorType.INVALID_GRANT,
        ErrorType.INVALID_CLIENT,
        ErrorType.UNAUTHORIZED_CLIENT,
        ErrorType.UNSUPPORTED_GRANT_TYPE,
        ErrorType.INVALID_SCOPE,
        ErrorType.INVALID_REQUEST,
        ErrorType.MISCONFIGURED,
        ErrorType.REQUEST_REJECTED,
        ErrorType.UNAUTHORIZED,
        ErrorType.COMPANY_MISMATCH,
    )
)
"""Never retried whatever an activity says. ``MalformedResponse`` is absent on purpose: it is retried a
few attempts, then raised with ``non_retryable=True``."""


@dataclass(frozen=True)
class ActivityOptions:
    """The keyword arguments of ``workflow.execute_activity_method`` that every call site shares."""

    start_to_close: timedelta
    schedule_to_close: timedelta
    retry_policy: RetryPolicy
    heartbeat: timedelta | None = None
    """Set where the activity heartbeats while slow (``workflows.io.gateway.heartbeat``): a dead worker's attempt is
    then retried after this, not after ``start_to_close``."""

    def kwargs(self, task_queue: str | None = None) -> dict[str, Any]:
        """``**``-able into ``execute_activity_method``/``start_activity_method``."""
        kwargs: dict[str, Any] = {
            "start_to_close_timeout": self.start_to_close,
            "schedule_to_close_timeout": self.schedule_to_close,
            "retry_policy": self.retry_policy,
        }
        if self.heartbeat is not None:
            kwargs["heartbeat_timeout"] = self.heartbeat
        if task_queue is not None:
            kwargs["task_queue"] = task_queue
        return kwargs


TOKEN_ENDPOINT = ActivityOptions(
    start_to_close=timedelta(seconds=30),
    heartbeat=timedelta(seconds=10),
    # Long enough to wait out a 10-minute Retry-After once (the cap of next_retry_delay) and retry.
    schedule_to_close=timedelta(minutes=15),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        non_retryable_error_types=list(FINAL_ERROR_TYPES),
    ),
)
"""Calls to Remote's gateway: exchange, refresh, client credentials, assertion, magic link."""

LOCAL = ActivityOptions(
    start_to_close=timedelta(seconds=10),
    schedule_to_close=timedelta(minutes=1),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        maximum_interval=timedelta(seconds=5),
        maximum_attempts=5,
        non_retryable_error_types=list(FINAL_ERROR_TYPES),
    ),
)
"""Activities without network I/O (``issue_state``): they only fail on misconfiguration."""

NOTIFY = ActivityOptions(
    start_to_close=timedelta(seconds=30),
    schedule_to_close=timedelta(hours=6),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=5),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=10),
        non_retryable_error_types=[str(ErrorType.MISCONFIGURED)],
    ),
)
"""Webhook deliveries: a partner's receiver may be down for hours; never blocks a transition."""


def token_endpoint_kwargs(task_queue: str | None = None) -> dict[str, Any]:
    """Options of a gateway call, on the rate-limited token task queue when one is given."""
    return TOKEN_ENDPOINT.kwargs(task_queue)


def local_activity_kwargs() -> dict[str, Any]:
    """Options of ``issue_state`` (runs on the workflow's own task queue)."""
    return LOCAL.kwargs()


def notify_kwargs() -> dict[str, Any]:
    """Options of a webhook notification."""
    return NOTIFY.kwargs()


__all__ = [
    "FINAL_ERROR_TYPES",
    "LOCAL",
    "MAX_HTTP_TIMEOUT_SECONDS",
    "NOTIFY",
    "TOKEN_ENDPOINT",
    "ActivityOptions",
    "local_activity_kwargs",
    "notify_kwargs",
    "token_endpoint_kwargs",
]
