"""CompanyConsentWorkflow: one durable workflow per company, from consent to years of fresh tokens.

Deterministic and free of import-time effects: time comes from ``workflow.now()``, randomness from
``workflow.random()``, and everything that touches the network or secrets runs in activities. This module is
the Temporal surface (the run loop, updates, queries, signals); ``company_transitions`` says what each step
does, ``company_state`` what the company knows, ``kept_token`` how its token is kept.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.company_transitions import CompanyTransitions
from workflows.kept_token import continue_as_new_due, wait_for_wake
from workflows.types.company import (
    Callback,
    CallbackResult,
    CompanyInput,
    CompanyStatus,
    ConnectLink,
    ConnectRequest,
    FreshnessRequest,
    Offboard,
    Phase,
    RetryRequest,
)
from workflows.types.kept_token import CARRY_FORWARD_SIGNAL, CarryForward, check_min_ttl, unavailable
from workflows.types.tokens import TokenGrant

_CONSENT_DEADLINE_PATCH = "consent-deadline"
"""Marks histories whose companies expire when nobody consents (``CompanySettings.consent_wait_seconds``)."""


@workflow.defn(name="CompanyConsent")
class CompanyConsentWorkflow(CompanyTransitions):
    """The consent-to-token lifecycle of one company; see ../shared/design/architecture.md."""

    @workflow.init
    def __init__(self, start: CompanyInput) -> None:
        super().__init__(start)
        self._carry_forward = False

    @workflow.run
    async def run(self, start: CompanyInput) -> CompanyStatus:
        # A company that never consents ends after consent_wait_seconds (histories from before keep none).
        if start.memory is None and self._phase.wants_consent and workflow.patched(_CONSENT_DEADLINE_PATCH):
            wait = timedelta(seconds=self._settings.consent_wait_seconds)
            self._consent_deadline = workflow.now() + wait
        self._publish()
        async with self._flight.lock:
            # A connect_link update may have issued the first link already (handlers can run first).
            if self._phase.wants_consent and self._pending is None:
                await self._issue_link()
        while self._offboard is None and self._phase is not Phase.EXPIRED:
            # A retry signalled with carry_forward is handled first: the next run would not see it.
            carry = self._carry_forward and not self._retry_requested
            if carry or continue_as_new_due(self._kept, self._settings.cycles_per_run):
                await self._continue_as_new()
            self._rearm = False
            if await wait_for_wake(self._next_wake(), self._settings.timing, self._wakes):
                await self._on_timer()
                continue
            if self._retry_requested:
                self._retry_requested = False
                await self._on_retry()
        if self._phase is Phase.EXPIRED:
            days = self._settings.consent_wait_seconds / 86400
            detail = f"nobody consented within {days:g} days; onboard the company again for a new link"
            return await self._finish(Phase.EXPIRED, "expired", detail)
        reason = self._offboard.reason if self._offboard else ""
        return await self._finish(Phase.OFFBOARDED, "offboarded", reason or "offboarded by the partner")

    # -- handlers ------------------------------------------------------------------------------------

    @workflow.update
    async def connect_link(self, request: ConnectRequest) -> ConnectLink:
        """The link an admin follows to grant consent; renewed when expired (or asked to)."""
        async with self._flight.lock:
            if request.company_id is not None and self._company_id is None:
                self._company_id = request.company_id
                self._publish()
            if self._phase.wants_consent:
                expired = self._pending is None or workflow.now() >= self._pending.expires_at
                if expired or request.renew:
                    await self._issue_link()
            pending = self._pending if self._phase.wants_consent else None
            return ConnectLink(
                phase=self._phase,
                authorize_url=pending.authorize_url if pending else None,
                expires_at=pending.expires_at if pending else None,
            )

    @connect_link.validator
    def _validate_connect_link(self, request: ConnectRequest) -> None:
        if self._offboard is not None or self._phase in (Phase.OFFBOARDED, Phase.EXPIRED):
            raise ValueError(f"company is {Phase.OFFBOARDED if self._offboard else self._phase}")
        pin = request.company_id
        if pin is not None and self._company_id is not None and pin != self._company_id:
            raise ValueError(
                f"this ref is already bound to Remote company {self._company_id}; it cannot be pinned to {pin} "
                "(offboard it first if the ref really changes company)"
            )

    @workflow.update
    async def complete_consent(self, callback: Callback) -> CallbackResult:
        """The OAuth callback: exchange the code (or record the denial) for the link this workflow issued."""
        async with self._flight.lock:
            # The validator ran before the lock; a concurrent callback may have used the state meanwhile.
            problem = self._callback_problem(callback)
            if problem is not None:
                raise problem
            self._pending = None
            if callback.error is not None:
                return await self._on_denied(callback)
            return await self._exchange(callback.code or "")

    @complete_consent.validator
    def _validate_complete_consent(self, callback: Callback) -> None:
        problem = self._callback_problem(callback)
        if problem is not None:
            raise problem

    @workflow.update
    async def ensure_fresh(self, request: FreshnessRequest) -> TokenGrant:
        """A token valid for at least ``min_ttl_seconds``, refreshing first if needed (single-flight)."""
        async with self._flight.turn() as first:
            # Single-flight: a refresh that finished while this caller waited for the lock answers it too.
            if first and self._needs_refresh(request):
                await self._refresh()
            if self._kept.token is None or not self._phase.has_token:
                raise unavailable(self._unavailable_reason())
            token = self._kept.handout(request, workflow.now())
            if isinstance(token, str):
                raise unavailable(f"company {self._ref}: {token}")
            return token

    @ensure_fresh.validator
    def _validate_ensure_fresh(self, request: FreshnessRequest) -> None:
        check_min_ttl(request.min_ttl_seconds)
        if not self._phase.has_token:
            raise ValueError(self._unavailable_reason())

    @workflow.query
    def current_token(self) -> TokenGrant | None:
        """The token as it is now, without writing history; None when the company has none."""
        return self._kept.token if self._phase.has_token else None

    @workflow.query
    def status(self) -> CompanyStatus:
        return self._status()

    @workflow.signal
    def offboard(self, request: Offboard) -> None:
        """Forget the company's tokens and end the workflow."""
        self._offboard = request

    @workflow.signal
    def retry(self, _: RetryRequest) -> None:
        """Try again now: a misconfigured company after its operator fixed the settings."""
        self._retry_requested = True

    @workflow.signal(name=CARRY_FORWARD_SIGNAL)
    def carry_forward(self, _: CarryForward) -> None:
        """Continue as new at the next safe point (``remote-oauth rotate-keys``: re-encrypt with the current key)."""
        self._carry_forward = True

    # -- wakes and endings ---------------------------------------------------------------------------

    def _wakes(self) -> bool:
        """The run loop wakes for what the state says, or to carry forward."""
        return self._carry_forward or self._woken()

    async def _on_retry(self) -> None:
        async with self._flight.lock:
            if self._phase is Phase.MISCONFIGURED:
                await self._resume()
            elif self._phase.has_token and self._kept.retry_at is not None:
                await self._refresh()

    async def _on_timer(self) -> None:
        async with self._flight.lock:
            wake = self._next_wake()
            if wake is None or wake > workflow.now():
                return  # a handler already did the work this timer was for
            if self._phase.wants_consent:
                self._phase = Phase.EXPIRED  # the consent deadline: the only timer of a consent phase
            elif self._phase is Phase.MISCONFIGURED:
                await self._resume()
            elif self._phase.has_token:
                await self._refresh()

    async def _continue_as_new(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._effects.drain()
        workflow.continue_as_new(
            CompanyInput(
                company_ref=self._ref,
                settings=self._settings,
                memory=self._memory(),
            )
        )

    async def _finish(self, phase: Phase, event: str, detail: str) -> CompanyStatus:
        """End in a terminal phase (offboarded, expired): tokens and link forgotten, the event delivered."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._phase = phase
        self._kept.drop()
        self._pending = None
        self._publish()
        self._notify(event, detail)
        await self._effects.drain()
        return self.status()
