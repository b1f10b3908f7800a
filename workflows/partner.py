"""PartnerTokenWorkflow: one durable workflow per client id and scope set, keeping a partner token fresh.

Client credentials give no refresh token, so every refresh runs the grant again. The token, its timing and
single-flight are ``workflows.kept_token``'s; this module is the policy (start at once, retry on its own, stop
on request). Deterministic and free of import-time effects.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from temporalio import workflow

from workflows.kept_token import KeptToken, SingleFlight, continue_as_new_due, wait_for_wake
from workflows.types.company import RetryRequest
from workflows.types.kept_token import (
    CARRY_FORWARD_SIGNAL,
    CarryForward,
    Failure,
    FailureKind,
    FreshnessRequest,
    attempt,
    check_min_ttl,
    unavailable,
)
from workflows.types.partner import (
    PartnerInput,
    PartnerMemory,
    PartnerPhase,
    PartnerStatus,
    StopPartnerToken,
)
from workflows.types.tokens import TokenGrant

with workflow.unsafe.imports_passed_through():
    from workflows import options
    from workflows.io.activities import TokenActivities
    from workflows.types.activity import ClientCredentialsInput


_RETRY_CARRIED_PATCH = "partner-retry-carried"
"""Marks runs that, continued as new while still starting, wait for the carried retry time."""


@workflow.defn(name="PartnerToken")
class PartnerTokenWorkflow:
    """Keeps one partner-scoped token fresh, for years, with bounded history."""

    @workflow.init
    def __init__(self, start: PartnerInput) -> None:
        memory = start.memory or PartnerMemory()
        self._key, self._scope, self._settings = start.key, start.scope, start.settings
        self._phase = memory.phase
        # Always drawn (old histories keep their random sequence), then restored if carried.
        self._kept = KeptToken.from_memory(memory, jitter=workflow.random().random())
        self._retry_requested = self._rearm = self._stop_requested = self._carry_forward = False
        # One grant at a time, whoever asks (timer, ensure_fresh, retry); every attempt lands a flight.
        self._flight = SingleFlight()

    @workflow.run
    async def run(self, start: PartnerInput) -> PartnerStatus:
        async with self._flight.lock:
            # An ensure_fresh that ran first (update-with-start order) may have tried already; a run that
            # continued as new after a failed first grant waits for its carried retry time instead.
            if (
                self._flight.landed == 0
                and self._phase is PartnerPhase.STARTING
                and not self._retry_carried()
            ):
                await self._grant()
        while True:
            # A stop or retry signalled with carry_forward is handled first: the next run would not see it.
            carry = self._carry_forward and not (self._stop_requested or self._retry_requested)
            if carry or continue_as_new_due(self._kept, self._settings.cycles_per_run):
                await workflow.wait_condition(workflow.all_handlers_finished)
                memory = self._kept.memory_as(PartnerMemory, phase=self._phase)
                workflow.continue_as_new(dataclasses.replace(start, memory=memory))
            self._rearm = False
            if await wait_for_wake(self._next_wake(), self._settings.timing, self._woken):
                async with self._flight.lock:
                    wake = self._next_wake()
                    if wake is not None and wake <= workflow.now():
                        await self._grant()
                continue
            if self._stop_requested:
                async with self._flight.lock:  # a grant in flight for a caller finishes first
                    self._phase = PartnerPhase.STOPPED
                    self._kept.drop()
                await workflow.wait_condition(workflow.all_handlers_finished)
                return self.status()
            if self._retry_requested:
                self._retry_requested = False
                async with self._flight.lock:
                    if not self._phase.has_token or self._kept.retry_at is not None:
                        await self._grant()

    @workflow.update
    async def ensure_fresh(self, request: FreshnessRequest) -> TokenGrant:
        """A token valid for at least ``min_ttl_seconds``, running the grant first if needed (single-flight)."""
        async with self._flight.turn() as first:
            # A grant that ended while this caller waited for the lock answers it too, failed or not.
            if first and self._phase is not PartnerPhase.MISCONFIGURED and self._needs_grant(request):
                await self._grant()
            if not self._phase.has_token or self._kept.token is None:
                raise unavailable(self._unavailable())
            token = self._kept.handout(request, workflow.now())
            if isinstance(token, str):
                raise unavailable(f"partner token {self._key}: {token}")
            return token

    @ensure_fresh.validator
    def _validate_ensure_fresh(self, request: FreshnessRequest) -> None:
        check_min_ttl(request.min_ttl_seconds)
        if self._phase is PartnerPhase.MISCONFIGURED or self._stop_requested:
            raise unavailable(self._unavailable())

    @workflow.query
    def current_token(self) -> TokenGrant | None:
        """The token as it is now, without writing history; None when there is none."""
        return self._kept.token if self._phase.has_token else None

    @workflow.query
    def status(self) -> PartnerStatus:
        token = self._kept.token if self._phase.has_token else None
        return PartnerStatus(
            key=self._key,
            scope=self._scope,
            phase=self._phase,
            expires_at=token.expires_at if token else None,
            last_refresh_at=self._kept.last_refresh_at,
            next_refresh_at=self._next_wake(),
            refreshes=self._kept.refreshes,
            last_error=self._kept.last_error,
            last_error_type=self._kept.last_error_type,
        )

    @workflow.signal
    def retry(self, _: RetryRequest) -> None:
        """Try again now: a misconfigured partner token after its operator fixed the settings."""
        self._retry_requested = True

    @workflow.signal
    def stop(self, _: StopPartnerToken) -> None:
        """End this workflow: no more grants; callers waiting on a grant in flight still get their answer."""
        self._stop_requested = True

    @workflow.signal(name=CARRY_FORWARD_SIGNAL)
    def carry_forward(self, _: CarryForward) -> None:
        """Continue as new at the next safe point (``remote-oauth rotate-keys``: re-encrypt with the current key)."""
        self._carry_forward = True

    # -- transitions (the caller holds the lock) ------------------------------------------------------

    async def _grant(self) -> None:
        previous = self._phase
        if previous is PartnerPhase.ACTIVE:
            self._phase = PartnerPhase.REFRESHING
        requested_at = workflow.now()
        grant: TokenGrant | Failure = await attempt(
            workflow.execute_activity_method(
                TokenActivities.client_credentials,
                ClientCredentialsInput(scope=self._scope),
                **options.token_endpoint_kwargs(self._settings.token_task_queue),
            )
        )
        self._flight.land()
        if isinstance(grant, Failure):
            self._on_failure(grant, previous)
            return
        now, jitter = workflow.now(), workflow.random().random()
        self._kept.take(grant, requested_at=requested_at, now=now, jitter=jitter)
        self._phase = PartnerPhase.ACTIVE
        self._rearm = True

    def _on_failure(self, failure: Failure, previous: PartnerPhase) -> None:
        self._kept.fail(failure)
        if failure.kind is FailureKind.CONFIGURATION:
            self._phase = PartnerPhase.MISCONFIGURED
        else:
            # Transient errors outlasted the activity's retries: keep any token, try again soon.
            self._phase = PartnerPhase.ACTIVE if previous.has_token else previous
        self._kept.retry_later(failure, workflow.now(), self._settings)
        workflow.logger.warning("partner token %s: %s", self._key, failure.error_type)
        self._rearm = True

    # -- decisions -----------------------------------------------------------------------------------

    def _retry_carried(self) -> bool:
        """The previous run's first grant failed and it set a retry time (histories before: grant at once)."""
        return self._kept.retry_at is not None and workflow.patched(_RETRY_CARRIED_PATCH)

    def _needs_grant(self, request: FreshnessRequest) -> bool:
        """No token yet, or the kept one does not answer ``request``."""
        return not self._phase.has_token or self._kept.needs_refresh(request, workflow.now())

    def _next_wake(self) -> datetime | None:
        if self._kept.retry_at is None and not self._phase.has_token:
            return None
        return self._kept.next_wake(self._settings.timing)

    def _woken(self) -> bool:
        return self._rearm or self._retry_requested or self._stop_requested or self._carry_forward

    def _unavailable(self) -> str:
        if self._phase is PartnerPhase.MISCONFIGURED:
            return (
                f"partner token {self._key} is misconfigured ({self._kept.last_error}); "
                "fix the settings and run `retry`"
            )
        if self._stop_requested or self._phase is PartnerPhase.STOPPED:
            return f"partner token {self._key} was stopped; ask again once it has ended to start a new one"
        return f"partner token {self._key} has no token yet ({self._kept.last_error or 'starting'}); retrying on its own"


__all__ = ["PartnerTokenWorkflow"]
