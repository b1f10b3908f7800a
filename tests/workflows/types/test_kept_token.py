"""The kept-token core's values and pure rules: the min_ttl bound, failures unwrapped once, the digest, and
the memory's JSON that old histories carry."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError, TimeoutError, TimeoutType

from tests.support.kept_token import ABC_SHA256, HOUR, T0, activity_error, grant
from worker.api import TokenCache
from worker.api.fresh import FreshTokens
from workflows.kept_token import KeptToken
from workflows.types.company import CompanyInput, CompanyMemory, PendingConsent, Phase
from workflows.types.errors import ErrorType
from workflows.types.kept_token import (
    MAX_MIN_TTL_SECONDS,
    Failure,
    FailureKind,
    FreshnessRequest,
    KeptTokenMemory,
    attempt,
    check_min_ttl,
    token_digest,
)
from workflows.types.partner import PartnerInput, PartnerPhase
from workflows.types.tokens import TokenGrant

# -- the min_ttl bound -----------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [0.0, 60.0, 3600.5, MAX_MIN_TTL_SECONDS])
def test_min_ttl_within_a_day_is_accepted(seconds: float) -> None:
    """Every workflow accepts 0 to 86400 seconds (one bound for company, partner and assertion tokens)."""
    check_min_ttl(seconds)


@pytest.mark.parametrize("seconds", [-1.0, -0.0001, MAX_MIN_TTL_SECONDS + 0.001, math.nan, math.inf])
def test_min_ttl_outside_a_day_is_a_typed_refusal(seconds: float) -> None:
    """Negative, longer than a day, NaN or infinite: a non-retryable ``InvalidInput`` that says the bound."""
    with pytest.raises(ApplicationError) as err:
        check_min_ttl(seconds)
    assert (err.value.type, err.value.non_retryable, err.value.message) == (
        ErrorType.INVALID_INPUT,
        True,
        "min_ttl_seconds must be between 0 and 86400",
    )


# -- failures --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error_type", "kind"),
    [
        (ErrorType.INVALID_GRANT, FailureKind.REVOKED),
        (ErrorType.COMPANY_MISMATCH, FailureKind.MISMATCH),
        (ErrorType.INVALID_CLIENT, FailureKind.CONFIGURATION),
        (ErrorType.UNAUTHORIZED_CLIENT, FailureKind.CONFIGURATION),
        (ErrorType.UNSUPPORTED_GRANT_TYPE, FailureKind.CONFIGURATION),
        (ErrorType.INVALID_SCOPE, FailureKind.CONFIGURATION),
        (ErrorType.INVALID_REQUEST, FailureKind.CONFIGURATION),
        (ErrorType.MALFORMED_RESPONSE, FailureKind.CONFIGURATION),
        (ErrorType.MISCONFIGURED, FailureKind.CONFIGURATION),
        (ErrorType.TRANSPORT, FailureKind.TRANSIENT),
        (ErrorType.TIMEOUT, FailureKind.TRANSIENT),
        (ErrorType.RATE_LIMITED, FailureKind.TRANSIENT),
        (ErrorType.SERVER_ERROR, FailureKind.TRANSIENT),
        (ErrorType.TEMPORARILY_UNAVAILABLE, FailureKind.TRANSIENT),
        (ErrorType.ACTIVITY_FAILED, FailureKind.TRANSIENT),
        ("RuntimeError", FailureKind.TRANSIENT),
    ],
)
def test_each_activity_error_type_has_one_failure_kind(error_type: str, kind: FailureKind) -> None:
    """The classification every workflow's policy branches on."""
    assert Failure(error_type, "message").kind is kind


def test_an_activity_error_is_unwrapped_to_its_application_error() -> None:
    """Type and message come from the ``ApplicationError`` under Temporal's ``ActivityError``."""
    cause = ApplicationError("consent revoked", type=ErrorType.INVALID_GRANT, non_retryable=True)
    assert Failure.of(activity_error(cause)) == Failure(ErrorType.INVALID_GRANT, "consent revoked")


def test_anything_else_under_an_activity_error_is_activity_failed() -> None:
    """A timeout (or an untyped application error) reports ``ActivityFailed`` with its text."""
    timeout = TimeoutError("activity timeout", type=TimeoutType.SCHEDULE_TO_CLOSE, last_heartbeat_details=[])
    assert Failure.of(activity_error(timeout)) == Failure(ErrorType.ACTIVITY_FAILED, "activity timeout")
    untyped = ApplicationError("no type")
    assert Failure.of(activity_error(untyped)) == Failure(ErrorType.ACTIVITY_FAILED, "no type")


def test_a_failure_becomes_the_callers_error_with_the_same_type() -> None:
    """What the assertion and magic-link workflows raise: the activity's type and message, final."""
    error = Failure(ErrorType.INVALID_CLIENT, "wrong secret").to_error()
    assert (error.type, error.message, error.non_retryable) == (
        ErrorType.INVALID_CLIENT,
        "wrong secret",
        True,
    )


async def test_attempt_returns_the_result_or_the_failure() -> None:
    """An ``ActivityError`` becomes a ``Failure`` value; any other exception still propagates."""

    async def ok() -> int:
        return 7

    async def refused() -> int:
        raise activity_error(ApplicationError("no", type=ErrorType.INVALID_SCOPE))

    async def bug() -> int:
        raise KeyError("bug")

    assert await attempt(ok()) == 7
    assert await attempt(refused()) == Failure(ErrorType.INVALID_SCOPE, "no")
    with pytest.raises(KeyError):
        await attempt(bug())


# -- the digest ------------------------------------------------------------------------------------


async def test_the_digest_is_the_sha256_of_the_access_token_and_the_api_uses_it() -> None:
    """One function names a rejected token, in the workflows and in the API alike (its one fresh-token path
    asks for a replacement by that digest)."""
    assert token_digest(grant("abc")) == ABC_SHA256
    asked: list[FreshnessRequest] = []

    class Workflow:
        async def current(self) -> TokenGrant | None:
            return None

        async def ensure_fresh(self, request: FreshnessRequest) -> TokenGrant:
            asked.append(request)
            return grant("new")

    await FreshTokens(TokenCache()).after_rejection("acme", grant("abc"), Workflow)
    assert asked == [FreshnessRequest(rejected_token_sha256=ABC_SHA256)]


OLD_TOKEN = (
    '{"access_token":"at-1","company_id":"c-1","expires_at":"2026-01-01T01:00:00+00:00",'
    '"expires_in_defaulted":false,"issued_at":"2026-01-01T00:00:00+00:00","refresh_token":"rt-1",'
    '"scope":"a b","token_type":"bearer","user_id":"u-1"}'
)
OLD_COMPANY_INPUT = (
    '{"company_ref":"acme","memory":{"company_id":"c-1","consent_deadline":null,"jitter":0.25,'
    '"last_error":"bad client","last_error_type":"InvalidClient","last_refresh_at":"2026-01-01T00:00:00+00:00",'
    '"pending":{"authorize_url":"https://x/a","expires_at":"2026-01-01T00:15:00+00:00","state":"ref.nonce"},'
    '"phase":"misconfigured","refreshes":7,"resume_phase":"active","retry_at":"2026-01-01T02:00:00+00:00",'
    f'"token":{OLD_TOKEN},"user_id":"u-1"}},'
    '"settings":{"consent_wait_seconds":2592000.0,"cycles_per_run":100,"failed_refresh_retry_seconds":60.0,'
    '"keepalive_seconds":86400.0,"misconfigured_retry_seconds":3600.0,"refresh_policy":"proactive","scope":null,'
    '"search_attributes":true,"timing":{"max_jitter_seconds":60.0,"max_window_seconds":900.0,'
    '"min_delay_seconds":1.0},"token_task_queue":null}}'
)
"""A continue-as-new input as the version before the kept-token core wrote it (flat ``CompanyMemory``)."""
OLD_PARTNER_INPUT = (
    '{"key":"k","memory":{"jitter":0.5,"last_error":null,"last_error_type":null,'
    '"last_refresh_at":"2026-01-01T00:00:00+00:00","phase":"active","refreshes":3,'
    f'"retry_at":"2026-01-01T00:01:00+00:00","token":{OLD_TOKEN}}},"scope":null,'
    '"settings":{"cycles_per_run":100,"failed_refresh_retry_seconds":60.0,"misconfigured_retry_seconds":3600.0,'
    '"timing":{"max_jitter_seconds":60.0,"max_window_seconds":900.0,"min_delay_seconds":1.0},'
    '"token_task_queue":null}}'
)
"""The same for ``PartnerMemory``."""


def _decode(data: str, kind: type[object]) -> object:
    """``data`` read as the payload converter reads a recorded input."""
    payload = Payload(metadata={"encoding": b"json/plain"}, data=data.encode())
    return DataConverter.default.payload_converter.from_payloads([payload], [kind])[0]


def _encode(value: object) -> str:
    return DataConverter.default.payload_converter.to_payloads([value])[0].data.decode()


def test_old_company_memory_decodes_and_encodes_byte_for_byte() -> None:
    """A company memory written before the core decodes with every field and writes the same JSON back,
    plus only the fields added since (issue 16: metadata, reconnect links, refresh scope), at their defaults."""
    start = _decode(OLD_COMPANY_INPUT, CompanyInput)
    assert isinstance(start, CompanyInput)
    assert start.memory == CompanyMemory(
        phase=Phase.MISCONFIGURED,
        token=TokenGrant(
            access_token="at-1",
            token_type="bearer",
            issued_at=T0,
            expires_at=T0 + HOUR,
            refresh_token="rt-1",
            scope="a b",
            company_id="c-1",
            user_id="u-1",
        ),
        pending=PendingConsent(state="ref.nonce", authorize_url="https://x/a", expires_at=T0 + HOUR / 4),
        company_id="c-1",
        user_id="u-1",
        last_refresh_at=T0,
        last_error="bad client",
        last_error_type="InvalidClient",
        refreshes=7,
        resume_phase=Phase.ACTIVE,
        retry_at=T0 + 2 * HOUR,
        jitter=0.25,
    )
    added = json.loads(OLD_COMPANY_INPUT)
    added["metadata"] = None
    added["memory"].update(metadata=None, reconnect=None)
    added["memory"]["pending"]["scope"] = None
    added["settings"]["refresh_scope"] = None
    assert _encode(start) == json.dumps(added, sort_keys=True, separators=(",", ":"))


def test_old_partner_memory_decodes_and_encodes_byte_for_byte() -> None:
    """The same for a partner token's memory."""
    start = _decode(OLD_PARTNER_INPUT, PartnerInput)
    assert isinstance(start, PartnerInput)
    assert start.memory is not None
    assert (start.memory.phase, start.memory.refreshes, start.memory.retry_at, start.memory.jitter) == (
        PartnerPhase.ACTIVE,
        3,
        T0 + timedelta(minutes=1),
        0.5,
    )
    assert _encode(start) == OLD_PARTNER_INPUT


def test_a_memory_from_before_the_later_fields_decodes_with_their_defaults() -> None:
    """The first memories carried no retry time, consent deadline or jitter: they decode as None."""
    start = _decode(
        f'{{"company_ref":"acme","memory":{{"phase":"active","token":{OLD_TOKEN}}}}}', CompanyInput
    )
    assert isinstance(start, CompanyInput)
    assert start.memory is not None
    assert (start.memory.retry_at, start.memory.consent_deadline, start.memory.jitter) == (None, None, None)
    assert KeptToken.from_memory(start.memory, jitter=0.6).to_memory() == KeptTokenMemory(
        token=start.memory.token, jitter=0.6
    )
