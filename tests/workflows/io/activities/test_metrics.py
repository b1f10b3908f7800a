"""What the gateway activities record through the runtime's meter: grants, latency and rate-limit waits."""

from __future__ import annotations

import httpx
import pytest

from tests.support.scripted_gateway import fails, ok, run
from tests.support.temporal import Recorder
from workflows.io.telemetry import gateway as telemetry
from workflows.types.activity import ClientCredentialsInput, RefreshInput
from workflows.types.errors import ErrorType
from workflows.types.metrics import GATEWAY_LATENCY, GRANTS, RATE_LIMIT_WAIT, RATE_LIMIT_WAITS

ACTIVITY_LABELS = {
    "activity_type": "unknown",
    "namespace": "default",
    "service_name": "temporal-core-sdk",
    "task_queue": "test",
}
"""What the activity meter adds (ActivityEnvironment's defaults): nothing of the request."""


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    """One buffered runtime for the module (a runtime is a thread pool: not one per test)."""
    return Recorder()


def names_and_labels(recorder: Recorder) -> list[tuple[str, dict[str, str]]]:
    return [(r.name, r.labels) for r in recorder.read()]


async def test_a_granted_refresh_counts_one_ok_grant_and_one_timed_request(recorder: Recorder) -> None:
    """grants{kind=refresh_token, outcome=ok} and a latency with the operation and HTTP status."""
    recorder.read().clear()
    await run("refresh", RefreshInput(refresh_token="rt-1"), ok(), meter=recorder.runtime.metric_meter)
    recorded = names_and_labels(recorder)
    assert [name for name, _ in recorded] == [GATEWAY_LATENCY, GRANTS]
    assert recorded[0][1] == {**ACTIVITY_LABELS, "operation": "refresh_token", "status": "200"}
    assert recorded[1][1] == {**ACTIVITY_LABELS, "kind": "refresh_token", "outcome": "ok"}
    assert recorder.of(GRANTS) == [1.0]
    (latency,) = recorder.of(GATEWAY_LATENCY)
    assert 0 <= latency < 5


async def test_a_429_counts_a_rate_limit_wait_of_what_the_gateway_asked(recorder: Recorder) -> None:
    """The wait is Retry-After's; the grant's outcome is RateLimited."""
    recorder.read().clear()
    limited = httpx.Response(429, json={"error": "rate_limited"}, headers={"Retry-After": "7"})
    err, _ = await fails(
        "client_credentials", ClientCredentialsInput(), limited, meter=recorder.runtime.metric_meter
    )
    assert err.type == ErrorType.RATE_LIMITED
    assert recorder.of(GRANTS, kind="client_credentials", outcome=str(ErrorType.RATE_LIMITED)) == [1.0]
    assert recorder.of(RATE_LIMIT_WAITS, operation="client_credentials") == [1.0]
    assert recorder.of(RATE_LIMIT_WAIT, operation="client_credentials") == [7.0]
    assert recorder.of(GATEWAY_LATENCY, operation="client_credentials", status="429") != []


async def test_a_failed_transport_is_timed_with_status_error(recorder: Recorder) -> None:
    """A refused connection still records its latency (status ``error``) and the grant's error type."""
    recorder.read().clear()
    refused = httpx.ConnectError("connection refused")
    err, _ = await fails(
        "refresh", RefreshInput(refresh_token="rt-1"), refused, meter=recorder.runtime.metric_meter
    )
    assert recorder.of(GATEWAY_LATENCY, operation="refresh_token", status="error") != []
    assert recorder.of(GRANTS, kind="refresh_token", outcome=str(err.type)) == [1.0]
    assert recorder.of(RATE_LIMIT_WAITS) == []


def test_the_jwt_bearer_grant_type_is_a_short_label() -> None:
    """The URN would be an unwieldy label; the other grant types are their own names."""
    assert telemetry.grant_kind("urn:ietf:params:oauth:grant-type:jwt-bearer") == "jwt_bearer"
    assert telemetry.grant_kind("refresh_token") == "refresh_token"


def test_outside_an_activity_nothing_is_recorded() -> None:
    """Plain unit tests call the helpers without an activity context: a no-op, not an error."""
    telemetry.grant("refresh_token", "ok")
    with telemetry.request({"method": "post", "url": "/oauth2/token"}, "refresh_token") as call:
        call.answered(200)
    assert call.status == "200"
