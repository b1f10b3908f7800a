"""CompanyConsentWorkflow: one durable workflow per company, from consent to years of fresh tokens.

Deterministic and free of import-time effects: time comes from ``workflow.now()``, randomness from
``workflow.random()``, and everything that touches the network or secrets runs in activities. This module is
the Temporal surface (the run loop, updates, queries, signals); ``company_transitions`` says what each step
does, ``company_state`` what the company knows, ``kept_token`` how its token is kept.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

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
from workflows.types.connection import (
    NarrowRequest,
    ReconnectRequest,
    check_scope,
    invalid_input,
    scope_within,
    validate_metadata,
)
from workflows.types.errors import ErrorType
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
            if request.metadata is not None:
                self._metadata = dict(request.metadata)
            if self._phase.wants_consent:
                expired = self._pending is None or workflow.now() >= self._pending.expires_at
                if expired or request.renew:
                    await self._issue_link()
            elif (
                self._phase.has_token
                and self._reconnect is not None
                and (workflow.now() >= self._reconnect.expires_at or request.renew)
            ):
                # A reconnect stays asked for until used: the admin may open its link after the state expired.
                await self._renew_reconnect()
            pending = self._open_consent()
            return ConnectLink(
                phase=self._phase,
                authorize_url=pending.authorize_url if pending else None,
                expires_at=pending.expires_at if pending else None,
            )

    @connect_link.validator
    def _validate_connect_link(self, request: ConnectRequest) -> None:
        if self._offboard is not None or self._phase in (Phase.OFFBOARDED, Phase.EXPIRED):
            raise unavailable(f"company is {Phase.OFFBOARDED if self._offboard else self._phase}")
        pin = request.company_id
        if pin is not None and self._company_id is not None and pin != self._company_id:
            message = (
                f"this ref is already bound to Remote company {self._company_id}; it cannot be pinned to {pin} "
                "(offboard it first if the ref really changes company)"
            )
            raise ApplicationError(message, type=ErrorType.COMPANY_MISMATCH, non_retryable=True)
        if request.metadata is not None:
            try:
                validate_metadata(request.metadata)
            except ValueError as err:
                raise invalid_input(err) from None

    @workflow.update
    async def reconnect(self, request: ReconnectRequest) -> ConnectLink:
        """A new consent link for a connected company (new scopes, another admin); the token stays in use."""
        async with self._flight.lock:
            if not self._phase.has_token:
                raise unavailable(
                    f"company {self._ref} is {self._phase}: reconnect needs a connected company"
                )
            self._reconnect = None  # a new reconnect replaces a pending one, scope included
            link = await self._renew_reconnect(request.scope)
            return ConnectLink(self._phase, link.authorize_url, link.expires_at)

    @reconnect.validator
    def _validate_reconnect(self, request: ReconnectRequest) -> None:
        if request.scope is not None:
            try:
                check_scope(request.scope)
            except ValueError as err:
                raise invalid_input(err) from None
        if self._offboard is not None or not self._phase.has_token:
            raise unavailable(
                f"company {self._ref} is {self._phase}: reconnect is for a connected company "
                "(onboard gives a company waiting for consent its link)"
            )

    @workflow.update
    async def narrow_scope(self, request: NarrowRequest) -> CompanyStatus:
        """Narrow the token's scopes through a refresh (RFC 6749 section 6): no admin, no new consent."""
        async with self._flight.lock:
            before = self._settings
            self._settings = dataclasses.replace(before, scope=request.scope, refresh_scope=request.scope)
            if not await self._refresh():
                self._settings = before
                raise unavailable(f"company {self._ref}: narrowing failed: {self._kept.last_error}")
            return self._status()

    @narrow_scope.validator
    def _validate_narrow_scope(self, request: NarrowRequest) -> None:
        try:
            scope = check_scope(request.scope)
        except ValueError as err:
            raise invalid_input(err) from None
        token = self._kept.token if self._phase.has_token and self._offboard is None else None
        if token is None:
            raise unavailable(
                f"company {self._ref} is {self._phase}: only a connected company's scopes narrow"
            )
        if not scope_within(scope, token.scope):
            message = (
                f"scope {scope!r} is not within the granted {token.scope!r}: a refresh can only narrow; "
                "use reconnect for new scopes (the admin consents again)"
            )
            raise invalid_input(ValueError(message))

    @workflow.update
    async def complete_consent(self, callback: Callback) -> CallbackResult:
        """The OAuth callback: exchange the code (or record the denial) for the link this workflow issued."""
        async with self._flight.lock:
            # The validator ran before the lock; a concurrent callback may have used the state meanwhile.
            problem = self._callback_problem(callback)
            if problem is not None:
                raise problem
            if self._phase.has_token and self._reconnect is not None:
                link, self._reconnect = self._reconnect, None
                if callback.error is not None:
                    return self._reconnect_denied(callback)
                return await self._reconnected(callback.code or "", link)
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
            raise unavailable(self._unavailable_reason())

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
        self._pending = self._reconnect = None
        self._publish()
        self._notify(event, detail)
        await self._effects.drain()
        return self.status()
