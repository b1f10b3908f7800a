"""Building kept tokens, grants and activity errors for the kept-token core's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.exceptions import ActivityError, RetryState

from workflows.kept_token import KeptToken
from workflows.types.kept_token import KeptTokenMemory
from workflows.types.tokens import TokenGrant

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
"""SHA-256 of ``abc`` (FIPS 180-2's test vector)."""


def grant(access: str = "abc", *, issued_at: datetime = T0, lifetime: timedelta = HOUR) -> TokenGrant:
    return TokenGrant(
        access_token=access,
        token_type="bearer",
        issued_at=issued_at,
        expires_at=issued_at + lifetime,
        refresh_token="rt-1",
    )


def kept(token: TokenGrant | None = None, **memory: Any) -> KeptToken:
    """A kept token restored from a memory with ``token`` and the given fields (jitter 0 unless given)."""
    return KeptToken.from_memory(KeptTokenMemory(token=token, **memory), jitter=0.0)


def activity_error(cause: BaseException) -> ActivityError:
    err = ActivityError(
        "activity failed",
        scheduled_event_id=5,
        started_event_id=6,
        identity="worker-1",
        activity_type="Refresh",
        activity_id="1",
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    err.__cause__ = cause
    return err


# -- freshness -------------------------------------------------------------------------------------
