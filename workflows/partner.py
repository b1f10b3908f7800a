"""PartnerTokenWorkflow: one durable workflow per client id and scope set, keeping a partner token fresh.

Client credentials give no refresh token, so every refresh runs the grant again. Timing, single-flight and
continue-as-new follow ``workflows.company``; deterministic and free of import-time effects.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.schedule import delay_until, refresh_at
from workflows.types.company import FreshnessRequest, RetryRequest
from workflows.types.errors import ErrorType
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

_CONFIGURATION_TYPES = frozenset(str(t) for t in ErrorType if t.is_configuration)


@workflow.defn(name="PartnerToken")
class PartnerTokenWorkflow:
    """Keeps one partner-scoped token fresh, for years, with bounded history."""

    @workflow.init
    def __init__(self, start: PartnerInput) -> None:
        memory = start.memory or PartnerMemory()
        self._key, self._scope, self._settings = start.key, start.scope, start.settings
        self._phase, self._token = memory.phase, memory.token
        self._last_refresh_at, self._refreshes = memory.last_refresh_at, memory.refreshes
        self._last_error, self._last_error_type = memory.last_error, memory.last_error_type
        self._cycles = self._attempts = 0
        # Always drawn (old histories keep their random sequence), then restored if carried.
        self._jitter = workflow.random().random()
        if memory.jitter is not None:
            self._jitter = memory.jitter
        self._retry_at = memory.retry_at
        self._retry_requested = self._rearm = self._stop_requested = False
        # One grant at a time, whoever asks (timer, ensure_fresh, retry): single-flight.
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, start: PartnerInput) -> PartnerStatus:
        async with self._lock:
            # An ensure_fresh that ran first (update-with-start order) may have tried already.
            if self._attempts == 0 and self._phase is PartnerPhase.STARTING:
                await self._grant()
        while True:
            if (
                self._cycles >= self._settings.cycles_per_run
                or workflow.info().is_continue_as_new_suggested()
            ):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(dataclasses.replace(start, memory=self._memory()))
            self._rearm = False
            wake = self._next_wake()
            try:
                await workflow.wait_condition(
                    lambda: self._rearm or self._retry_requested or self._stop_requested,
                    timeout=None
                    if wake is None
                    else delay_until(wake, workflow.now(), self._settings.timing),
                )
            except TimeoutError:
                async with self._lock:
                    wake = self._next_wake()
                    if wake is not None and wake <= workflow.now():
                        await self._grant()
                continue
            if self._stop_requested:
                async with self._lock:  # a grant in flight for a caller finishes first
                    self._phase, self._token = PartnerPhase.STOPPED, None
                await workflow.wait_condition(workflow.all_handlers_finished)
                return self.status()
            if self._retry_requested:
                self._retry_requested = False
                async with self._lock:
                    if not self._phase.has_token or self._retry_at is not None:
                        await self._grant()

    @workflow.update
    async def ensure_fresh(self, request: FreshnessRequest) -> TokenGrant:
        """A token valid for at least ``min_ttl_seconds``, running the grant first if needed (single-flight)."""
        generation = self._attempts
        async with self._lock:
            # A grant that ended while this caller waited for the lock answers it too, failed or not.
            if (
                self._attempts == generation
                and self._phase is not PartnerPhase.MISCONFIGURED
                and self._needs_grant(request)
            ):
                await self._grant()
            token = self._token
            if token is None or not self._phase.has_token or token.expires_at <= workflow.now():
                raise ApplicationError(
                    self._unavailable(), type=ErrorType.TOKEN_UNAVAILABLE, non_retryable=True
                )
            return token

    @ensure_fresh.validator
    def _validate_ensure_fresh(self, request: FreshnessRequest) -> None:
        if not 0 <= request.min_ttl_seconds <= 24 * 3600:
            raise ValueError("min_ttl_seconds must be between 0 and 86400")
        if self._phase is PartnerPhase.MISCONFIGURED or self._stop_requested:
            raise ValueError(self._unavailable())

    @workflow.query
    def current_token(self) -> TokenGrant | None:
        """The token as it is now, without writing history; None when there is none."""
        return self._token if self._phase.has_token else None

    @workflow.query
    def status(self) -> PartnerStatus:
        token = self._token if self._phase.has_token else None
        return PartnerStatus(
            key=self._key,
            scope=self._scope,
            phase=self._phase,
            expires_at=token.expires_at if token else None,
            last_refresh_at=self._last_refresh_at,
            next_refresh_at=self._next_wake(),
            refreshes=self._refreshes,
            last_error=self._last_error,
            last_error_type=self._last_error_type,
        )

    @workflow.signal
    def retry(self, _: RetryRequest) -> None:
        """Try again now: a misconfigured partner token after its operator fixed the settings."""
        self._retry_requested = True

    @workflow.signal
    def stop(self, _: StopPartnerToken) -> None:
        """End this workflow: no more grants; callers waiting on a grant in flight still get their answer."""
        self._stop_requested = True

    # -- transitions (the caller holds the lock) ------------------------------------------------------

    async def _grant(self) -> None:
        previous = self._phase
        if previous is PartnerPhase.ACTIVE:
            self._phase = PartnerPhase.REFRESHING
        requested_at = workflow.now()
        try:
            grant = await workflow.execute_activity_method(
                TokenActivities.client_credentials,
                ClientCredentialsInput(scope=self._scope),
                **options.token_endpoint_kwargs(self._settings.token_task_queue),
            )
        except ActivityError as err:
            self._attempts += 1
            self._on_failure(err, previous)
            return
        # Re-anchor the lifetime on workflow time, from before the request was scheduled (as company.py).
        lifetime = grant.expires_at - grant.issued_at
        self._token = dataclasses.replace(grant, issued_at=requested_at, expires_at=requested_at + lifetime)
        self._phase = PartnerPhase.ACTIVE
        self._last_refresh_at = workflow.now()
        self._retry_at = self._last_error = self._last_error_type = None
        self._jitter = workflow.random().random()
        self._refreshes += 1
        self._attempts += 1
        self._cycles += 1
        self._rearm = True

    def _on_failure(self, err: ActivityError, previous: PartnerPhase) -> None:
        cause = err.cause
        kind = cause.type if isinstance(cause, ApplicationError) else None
        self._last_error = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
        self._last_error_type = kind or ErrorType.ACTIVITY_FAILED
        if kind in _CONFIGURATION_TYPES:
            self._phase = PartnerPhase.MISCONFIGURED
            self._retry_at = workflow.now() + timedelta(seconds=self._settings.misconfigured_retry_seconds)
        else:
            # Transient errors outlasted the activity's retries: keep any token, try again soon.
            self._phase = PartnerPhase.ACTIVE if previous.has_token else previous
            self._retry_at = workflow.now() + timedelta(seconds=self._settings.failed_refresh_retry_seconds)
        workflow.logger.warning("partner token %s: %s", self._key, self._last_error_type)
        self._rearm = True

    # -- decisions -----------------------------------------------------------------------------------

    def _needs_grant(self, request: FreshnessRequest) -> bool:
        token = self._token
        if token is None or not self._phase.has_token:
            return True
        if request.rejected_token_sha256 is not None:
            seen = hashlib.sha256(token.access_token.encode()).hexdigest()
            # Only if the rejected token is still current: a 401 on an old token is already fixed.
            return hmac.compare_digest(seen, request.rejected_token_sha256)
        return token.ttl(workflow.now()) < timedelta(seconds=request.min_ttl_seconds)

    def _next_wake(self) -> datetime | None:
        if self._retry_at is not None:
            return self._retry_at
        token = self._token
        if token is None or not self._phase.has_token:
            return None
        return refresh_at(token.issued_at, token.expires_at, self._settings.timing, self._jitter)

    def _unavailable(self) -> str:
        if self._phase is PartnerPhase.MISCONFIGURED:
            return (
                f"partner token {self._key} is misconfigured ({self._last_error}); "
                "fix the settings and run `retry`"
            )
        if self._stop_requested or self._phase is PartnerPhase.STOPPED:
            return f"partner token {self._key} was stopped; ask again once it has ended to start a new one"
        return f"partner token {self._key} has no token yet ({self._last_error or 'starting'}); retrying on its own"

    def _memory(self) -> PartnerMemory:
        return PartnerMemory(
            phase=self._phase,
            token=self._token,
            last_refresh_at=self._last_refresh_at,
            last_error=self._last_error,
            last_error_type=self._last_error_type,
            refreshes=self._refreshes,
            retry_at=self._retry_at,
            jitter=self._jitter,
        )


__all__ = ["PartnerTokenWorkflow"]
