"""Every fault the sandbox gateway can inject, with the outcome TokenActivities must give it (the table),
over real HTTP with both client auth methods and the leak watch on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from sandbox.testing import RunningSandbox
from tests.support.sandbox_gateway import METHODS, LeakWatch, admin, call, settings_for
from workflows.io.activities import ClientCredentialsInput
from workflows.types.errors import ErrorType
from workflows.types.tokens import TokenGrant


def _in(seconds: int) -> str:
    """A Retry-After HTTP date, resolved when the test runs (collection happens long before)."""
    return f"http-date+{seconds}"


def _resolve(fault: dict[str, Any]) -> dict[str, Any]:
    retry_after = fault.get("retry_after", "")
    if not retry_after.startswith("http-date+"):
        return fault
    when = datetime.now(UTC) + timedelta(seconds=int(retry_after.removeprefix("http-date+")))
    return {**fault, "retry_after": format_datetime(when, usegmt=True)}


OK = "ok"

# name, fault (POST /sandbox/faults, count 1 unless given), env overrides, attempt,
# expected: OK or (ErrorType, final, next_retry_delay seconds or None)
FAULTS: list[tuple[str, dict[str, Any], dict[str, str], int, Any]] = [
    ("latency under the timeout", {"kind": "latency", "delay_seconds": 0.05}, {}, 1, OK),
    (
        "latency over the timeout",
        {"kind": "latency", "delay_seconds": 1.0},
        {"REMOTE_HTTP_TIMEOUT": "0.3"},
        1,
        (ErrorType.TIMEOUT, False, None),
    ),
    ("http_500", {"kind": "http_500"}, {}, 1, (ErrorType.SERVER_ERROR, False, None)),
    ("http_502", {"kind": "http_502"}, {}, 1, (ErrorType.SERVER_ERROR, False, None)),
    ("http_503 html", {"kind": "http_503"}, {}, 1, (ErrorType.SERVER_ERROR, False, None)),
    (
        "http_503 Retry-After seconds",
        {"kind": "http_503", "retry_after": "5"},
        {},
        1,
        (ErrorType.RATE_LIMITED, False, 5),
    ),
    (
        "http_503 Retry-After HTTP date",
        {"kind": "http_503", "retry_after": _in(90)},
        {},
        1,
        (ErrorType.RATE_LIMITED, False, 90),
    ),
    (
        "rate_limited default Retry-After 7",
        {"kind": "rate_limited"},
        {},
        1,
        (ErrorType.RATE_LIMITED, False, 7),
    ),
    (
        "rate_limited Retry-After HTTP date",
        {"kind": "rate_limited", "retry_after": _in(45)},
        {},
        1,
        (ErrorType.RATE_LIMITED, False, 45),
    ),
    (
        "rate_limited Retry-After capped",
        {"kind": "rate_limited", "retry_after": "86400"},
        {},
        1,
        (ErrorType.RATE_LIMITED, False, 600),
    ),
    (
        "rate_limited Retry-After garbage",
        {"kind": "rate_limited", "retry_after": "later"},
        {},
        1,
        (ErrorType.RATE_LIMITED, False, None),
    ),
    ("truncated_json", {"kind": "truncated_json"}, {}, 1, (ErrorType.MALFORMED_RESPONSE, False, None)),
    (
        "truncated_json third attempt",
        {"kind": "truncated_json"},
        {},
        3,
        (ErrorType.MALFORMED_RESPONSE, True, None),
    ),
    ("json_array", {"kind": "json_array"}, {}, 1, (ErrorType.MALFORMED_RESPONSE, False, None)),
    (
        "missing_access_token",
        {"kind": "missing_access_token"},
        {},
        2,
        (ErrorType.MALFORMED_RESPONSE, False, None),
    ),
    ("expires_in_string accepted", {"kind": "expires_in_string"}, {}, 1, OK),
    (
        "expires_in_negative",
        {"kind": "expires_in_negative"},
        {},
        1,
        (ErrorType.MALFORMED_RESPONSE, False, None),
    ),
    (
        "expires_in_missing defaulted",
        {"kind": "expires_in_missing"},
        {"REMOTE_DEFAULT_TOKEN_LIFETIME": "1200"},
        1,
        OK,
    ),
    (
        "unknown_token_type",
        {"kind": "unknown_token_type"},
        {},
        1,
        (ErrorType.MALFORMED_RESPONSE, False, None),
    ),
    ("oversized_body", {"kind": "oversized_body"}, {}, 1, (ErrorType.MALFORMED_RESPONSE, False, None)),
    ("redirect not followed", {"kind": "redirect"}, {}, 1, (ErrorType.MALFORMED_RESPONSE, False, None)),
    ("redirect third attempt", {"kind": "redirect"}, {}, 3, (ErrorType.MALFORMED_RESPONSE, True, None)),
    ("commit_then_drop", {"kind": "commit_then_drop"}, {}, 1, (ErrorType.TRANSPORT, False, None)),
    ("invalid_grant", {"kind": "invalid_grant"}, {}, 1, (ErrorType.INVALID_GRANT, True, None)),
    ("server_error_json", {"kind": "server_error_json"}, {}, 1, (ErrorType.SERVER_ERROR, False, None)),
    (
        "temporarily_unavailable",
        {"kind": "temporarily_unavailable"},
        {},
        1,
        (ErrorType.TEMPORARILY_UNAVAILABLE, False, None),
    ),
    (
        "temporarily_unavailable Retry-After",
        {"kind": "temporarily_unavailable", "retry_after": "3"},
        {},
        1,
        (ErrorType.TEMPORARILY_UNAVAILABLE, False, 3),
    ),
    (
        "401 wrong secret",
        {},
        {"REMOTE_CLIENT_SECRET": "not-the-secret"},
        1,
        (ErrorType.INVALID_CLIENT, True, None),
    ),
    ("fault for another grant type passes", {"kind": "http_500", "grant_type": "refresh_token"}, {}, 1, OK),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("fault", "env", "attempt", "expected"), [case[1:] for case in FAULTS], ids=[case[0] for case in FAULTS]
)
async def test_injected_faults(  # noqa: PLR0917 - pytest passes parameters positionally
    sandbox: RunningSandbox,
    leaks: LeakWatch,
    method: str,
    fault: dict[str, Any],
    env: dict[str, str],
    attempt: int,
    expected: Any,
) -> None:
    """Each fault of the sandbox ends in exactly the outcome the table names."""
    if fault:
        await admin(sandbox, "POST", "/sandbox/faults", {"count": 1, **_resolve(fault)})
    settings = settings_for(sandbox, method, **env)
    if expected == OK:
        grant: TokenGrant = await call(leaks, settings, "client_credentials", ClientCredentialsInput())
        lifetime = int(env.get("REMOTE_DEFAULT_TOKEN_LIFETIME", "3600"))
        assert grant.expires_at - grant.issued_at == timedelta(seconds=lifetime)
        assert grant.expires_in_defaulted is (fault.get("kind") == "expires_in_missing")
        return
    error_type, final, delay = expected
    with pytest.raises(ApplicationError) as err:
        await call(leaks, settings, "client_credentials", ClientCredentialsInput(), attempt=attempt)
    assert (err.value.type, err.value.non_retryable) == (error_type, final)
    actual = err.value.next_retry_delay
    if delay is None:
        assert actual is None
    else:
        assert actual is not None
        assert actual.total_seconds() == pytest.approx(delay, abs=2)
    if fault.get("kind") == "commit_then_drop":
        stats = await admin(sandbox, "GET", "/sandbox/stats")
        assert stats["dropped_connections"] == 1
