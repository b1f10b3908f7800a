"""The kept-token core: one token's state and rules, shared by the company, partner and assertion workflows.

``KeptToken`` holds a grant and what keeping it needs (when to refresh, the retry time, the jitter draw, the
last failure) and decides without a workflow context: every method that needs the time takes ``now``, and
every random draw is made by the caller, so the state can be driven directly in a test and round-tripped
through ``to_memory()`` / ``from_memory()``. ``SingleFlight`` runs one refresh at a time and answers the
callers that waited for it. Each workflow keeps only its policy (consent and re-consent; client credentials;
an assertion cache) and calls its own activity.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from temporalio import workflow

from workflows.schedule import RefreshTiming, delay_until, refresh_at
from workflows.types.kept_token import (
    Failure,
    FailureKind,
    FreshnessRequest,
    KeptTokenMemory,
    answers,
    reanchor,
)
from workflows.types.metrics import REFRESH_LEAD_TIME
from workflows.types.tokens import TokenGrant

M = TypeVar("M", bound=KeptTokenMemory)


class RetrySettings(Protocol):
    """The two waits after a failed grant (``CompanySettings`` and ``PartnerSettings`` have both)."""

    @property
    def misconfigured_retry_seconds(self) -> float: ...

    @property
    def failed_refresh_retry_seconds(self) -> float: ...


class KeptToken:
    """One token kept fresh: the grant, its refresh schedule and its last failure. Deterministic and pure."""

    def __init__(self, memory: KeptTokenMemory | None = None, *, jitter: float = 0.0) -> None:
        memory = memory or KeptTokenMemory()
        self.token: TokenGrant | None = memory.token
        self.last_refresh_at: datetime | None = memory.last_refresh_at
        self.last_error: str | None = memory.last_error
        self.last_error_type: str | None = memory.last_error_type
        self.refreshes: int = memory.refreshes
        """Grants this token counted (``take(counted=True)``), across runs."""
        self.retry_at: datetime | None = memory.retry_at
        self.jitter: float = jitter if memory.jitter is None else memory.jitter
        """Fraction of the timing's maximum jitter taken off the next refresh time, drawn per grant."""
        self.cycles = 0
        """Counted grants in this run (not carried): continue-as-new after ``cycles_per_run``."""

    @classmethod
    def from_memory(cls, memory: KeptTokenMemory | None, *, jitter: float) -> KeptToken:
        """The state a previous run carried; ``jitter`` (a fresh draw) is used only if it carried none."""
        return cls(memory, jitter=jitter)

    def to_memory(self) -> KeptTokenMemory:
        """The state to carry across continue-as-new."""
        return self.memory_as(KeptTokenMemory)

    def memory_as(self, kind: type[M], /, **policy: Any) -> M:
        """The carried state as ``kind``, a workflow's extension of ``KeptTokenMemory`` whose own fields
        come in ``policy``."""
        return kind(
            token=self.token,
            last_refresh_at=self.last_refresh_at,
            last_error=self.last_error,
            last_error_type=self.last_error_type,
            refreshes=self.refreshes,
            retry_at=self.retry_at,
            jitter=self.jitter,
            **policy,
        )

    # -- decisions -----------------------------------------------------------------------------------

    def needs_refresh(self, request: FreshnessRequest, now: datetime) -> bool:
        """No token, or the kept one is too short for ``request``, or it is the one the caller saw rejected."""
        return not answers(self.token, request, now)

    def usable(self, now: datetime) -> TokenGrant | None:
        """The token, unless there is none or it has expired."""
        token = self.token
        return token if token is not None and token.expires_at > now else None

    def handout(self, request: FreshnessRequest, now: datetime) -> TokenGrant | str:
        """The token to hand out for ``request`` at ``now``, or why there is none and what to do next.

        Only a token that is unexpired, is not the one the caller saw rejected, and has the
        ``min_ttl_seconds`` asked is handed out: a caller never gets less than it asked for, it gets a
        reason (which each workflow raises as ``TokenUnavailable``).
        """
        token = self.usable(now)
        failing = f"the last refresh failed ({self.last_error}) and is retried on its own"
        if token is None:
            return f"no unexpired token: {failing if self.last_error else 'none was granted yet'}; ask again later"
        if answers(token, request, now):
            return token
        if request.rejected_token_sha256 is not None:
            return f"the token the caller saw rejected is still the only one: {failing}; ask again later"
        asked = request.min_ttl_seconds
        if self.last_error is not None:
            left = token.ttl(now).total_seconds()
            return f"the token has {left:.0f} s left, less than the {asked:g} s asked: {failing}; ask again later"
        lifetime = (token.expires_at - token.issued_at).total_seconds()
        return (
            f"the gateway issues tokens that live {lifetime:.0f} s, less than the {asked:g} s asked: "
            "ask for a shorter min_ttl_seconds"
        )

    def refresh_at(self, timing: RefreshTiming) -> datetime | None:
        """When the proactive timer refreshes the token (None without a token)."""
        token = self.token
        if token is None:
            return None
        return refresh_at(token.issued_at, token.expires_at, timing, self.jitter)

    def next_wake(self, timing: RefreshTiming) -> datetime | None:
        """The retry time after a failure, else the refresh time."""
        return self.retry_at if self.retry_at is not None else self.refresh_at(timing)

    def retry_delay(self, failure: Failure, settings: RetrySettings) -> timedelta:
        """How long to wait before trying again on its own: long for configuration errors, short otherwise."""
        if failure.kind is FailureKind.CONFIGURATION:
            return timedelta(seconds=settings.misconfigured_retry_seconds)
        return timedelta(seconds=settings.failed_refresh_retry_seconds)

    # -- transitions ---------------------------------------------------------------------------------

    def take(
        self,
        grant: TokenGrant,
        *,
        requested_at: datetime,
        now: datetime,
        jitter: float | None,
        counted: bool = True,
    ) -> None:
        """Keep ``grant``, re-anchored on ``requested_at``; failures and retries are forgotten.

        ``jitter``: a new draw for the next refresh timer (None keeps the current one: a cache with no timer).
        ``counted``: add the grant to ``refreshes`` and this run's ``cycles``.
        """
        self.token = reanchor(grant, requested_at)
        self.last_refresh_at = now
        self.retry_at = None
        if jitter is not None:
            self.jitter = jitter
        self.last_error = self.last_error_type = None
        if counted:
            self.refreshes += 1
            self.cycles += 1

    def record(self, message: str, error_type: str | None) -> None:
        """Report an error in status (a failed grant, a denied or mismatched consent)."""
        self.last_error, self.last_error_type = message, error_type

    def fail(self, failure: Failure) -> None:
        self.record(failure.message, failure.error_type)

    def retry_later(self, failure: Failure, now: datetime, settings: RetrySettings) -> None:
        """Try again on its own after ``retry_delay`` (the run loop's timer wakes then)."""
        self.retry_at = now + self.retry_delay(failure, settings)

    def drop(self) -> None:
        """Forget the token (revoked, offboarded, stopped)."""
        self.token = None


class SingleFlight:
    """One state-changing handler at a time, and one refresh for every caller that waited on it.

    A caller takes a ticket as it arrives; if a flight ``land``-ed while it waited for the lock, that flight
    is its answer (``turn()`` yields False) and it starts no other.
    """

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        """Held by every handler that changes state (not only refreshes)."""
        self._landed = 0

    @property
    def landed(self) -> int:
        """Flights landed in this run."""
        return self._landed

    def land(self) -> None:
        """A flight ended in a way that answers the callers waiting for it."""
        self._landed += 1

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[bool]:
        """Hold the lock; yields True when no flight landed while this caller waited (so it may start one)."""
        ticket = self._landed
        async with self.lock:
            yield self._landed == ticket


def continue_as_new_due(kept: KeptToken, cycles_per_run: int) -> bool:
    """After ``cycles_per_run`` counted grants in this run, or when Temporal suggests it."""
    return kept.cycles >= cycles_per_run or workflow.info().is_continue_as_new_suggested()


async def wait_for_wake(wake: datetime | None, timing: RefreshTiming, changed: Callable[[], bool]) -> bool:
    """Wait until ``changed()`` holds or ``wake`` comes (no timer when None); True when the timer fired."""
    timeout = None if wake is None else delay_until(wake, workflow.now(), timing)
    try:
        await workflow.wait_condition(changed, timeout=timeout)
    except TimeoutError:
        return True
    return False


def record_lead_time(expired_at: datetime, renewed_at: datetime, *, policy: str) -> None:
    """Report a renewal of a token expiring at ``expired_at`` made at ``renewed_at`` (0 once expired), through
    the workflow's meter, which records nothing on replay."""
    lead = max(expired_at - renewed_at, timedelta(0))
    meter = workflow.metric_meter()
    histogram = meter.create_histogram_timedelta(
        REFRESH_LEAD_TIME, "How long before expiry a token was renewed"
    )
    histogram.record(lead, {"policy": policy})


__all__ = [
    "KeptToken",
    "RetrySettings",
    "SingleFlight",
    "continue_as_new_due",
    "record_lead_time",
    "wait_for_wake",
]
