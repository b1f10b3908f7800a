"""CompanyConsentWorkflow: one durable workflow per company, from consent to years of fresh tokens.

Deterministic and free of import-time effects: time comes from ``workflow.now()``, randomness from
``workflow.random()``, and everything that touches the network or secrets runs in activities.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.company_effects import CompanyEffects
from workflows.company_state import CompanyState
from workflows.schedule import delay_until
from workflows.types.company import (
    Callback,
    CallbackResult,
    CompanyInput,
    CompanyStatus,
    ConnectLink,
    ConnectRequest,
    FreshnessRequest,
    Offboard,
    PendingConsent,
    Phase,
    RetryRequest,
    company_mismatch_message,
)
from workflows.types.errors import ErrorType
from workflows.types.tokens import TokenGrant
from workflows.types.untrusted import INVALID_CALLBACK, error_code

with workflow.unsafe.imports_passed_through():
    from workflows import options
    from workflows.io.activities import TokenActivities
    from workflows.types.activity import (
        ExchangeCodeInput,
        IssueStateInput,
        RefreshInput,
    )

_CONFIGURATION_TYPES = frozenset(str(t) for t in ErrorType if t.is_configuration)
_CONSENT_DEADLINE_PATCH = "consent-deadline"
"""Marks histories whose companies expire when nobody consents (``CompanySettings.consent_wait_seconds``)."""


@workflow.defn(name="CompanyConsent")
class CompanyConsentWorkflow(CompanyState):
    """The consent-to-token lifecycle of one company; see ../shared/design/architecture.md."""

    @workflow.init
    def __init__(self, start: CompanyInput) -> None:
        super().__init__(start)
        # One state-changing handler at a time: this is what makes refresh single-flight.
        self._lock = asyncio.Lock()
        self._effects = CompanyEffects(start.company_ref, search_attributes=start.settings.search_attributes)

    @workflow.run
    async def run(self, start: CompanyInput) -> CompanyStatus:
        # A company that never consents ends after consent_wait_seconds (histories from before keep none).
        if start.memory is None and self._phase.wants_consent and workflow.patched(_CONSENT_DEADLINE_PATCH):
            wait = timedelta(seconds=self._settings.consent_wait_seconds)
            self._consent_deadline = workflow.now() + wait
        self._publish()
        async with self._lock:
            # A connect_link update may have issued the first link already (handlers can run first).
            if self._phase.wants_consent and self._pending is None:
                await self._issue_link()
        while self._offboard is None and self._phase is not Phase.EXPIRED:
            if (
                self._cycles >= self._settings.cycles_per_run
                or workflow.info().is_continue_as_new_suggested()
            ):
                await self._continue_as_new()
            self._rearm = False
            wake = self._next_wake()
            try:
                await workflow.wait_condition(
                    lambda: self._rearm or self._retry_requested or self._offboard is not None,
                    timeout=None
                    if wake is None
                    else delay_until(wake, workflow.now(), self._settings.timing),
                )
            except TimeoutError:
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
        async with self._lock:
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
        async with self._lock:
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
        generation = self._refreshes
        async with self._lock:
            # Single-flight: a refresh that finished while this caller waited for the lock answers it too.
            if self._refreshes == generation and self._needs_refresh(request):
                await self._refresh()
            token = self._token
            if token is None or not self._phase.has_token:
                raise ApplicationError(
                    self._unavailable_reason(), type=ErrorType.TOKEN_UNAVAILABLE, non_retryable=True
                )
            if token.expires_at <= workflow.now():
                raise ApplicationError(
                    f"token expired and refresh is failing ({self._last_error}); retrying on its own",
                    type=ErrorType.TOKEN_UNAVAILABLE,
                    non_retryable=True,
                )
            return token

    @ensure_fresh.validator
    def _validate_ensure_fresh(self, request: FreshnessRequest) -> None:
        if not 0 <= request.min_ttl_seconds <= 24 * 3600:
            raise ValueError("min_ttl_seconds must be between 0 and 86400")
        if not self._phase.has_token:
            raise ValueError(self._unavailable_reason())

    @workflow.query
    def current_token(self) -> TokenGrant | None:
        """The token as it is now, without writing history; None when the company has none."""
        return self._token if self._phase.has_token else None

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

    # -- transitions ---------------------------------------------------------------------------------

    async def _issue_link(self) -> None:
        issued = await workflow.execute_activity_method(
            TokenActivities.issue_state,
            IssueStateInput(company_ref=self._ref, scope=self._settings.scope),
            **options.local_activity_kwargs(),
        )
        self._pending = PendingConsent(
            state=issued.state,
            authorize_url=issued.authorize_url,
            expires_at=workflow.now() + timedelta(seconds=issued.ttl_seconds),
        )

    async def _on_denied(self, callback: Callback) -> CallbackResult:
        self._phase = Phase.CONSENT_DENIED
        # The browser brought this: only an RFC 6749 error code is kept, the description never.
        code = error_code(callback.error) or INVALID_CALLBACK
        detail = (
            "the admin denied access"
            if code == "access_denied"
            else f"the consent page answered error={code}"
        )
        self._set_error(detail, code)
        await self._issue_link()
        self._publish()
        self._notify("denied", detail)
        return CallbackResult(phase=self._phase, message=f"consent was not given: {detail}", error_type=code)

    async def _exchange(self, code: str) -> CallbackResult:
        previous = self._phase
        self._phase = Phase.EXCHANGING
        requested_at = workflow.now()
        pinned = self._company_id
        try:
            grant = await workflow.execute_activity_method(
                TokenActivities.exchange_code,
                ExchangeCodeInput(code=code, expected_company_id=pinned),
                **options.token_endpoint_kwargs(self._settings.token_task_queue),
            )
        except ActivityError as err:
            self._phase = previous
            await self._on_failure(err, refreshing=False)
            return self._callback_failed()
        if pinned is not None and grant.company_id != pinned:
            # The activity refuses this already; checked again so a worker of an older version cannot bind.
            self._phase = previous
            await self._on_mismatch(company_mismatch_message(pinned, grant.company_id))
            return self._callback_failed()
        self._take(grant, requested_at)
        self._company_id = grant.company_id or self._company_id
        self._user_id = grant.user_id or self._user_id
        self._consent_deadline = None
        self._publish()
        if previous is Phase.CONSENT_REVOKED:
            self._notify("recovered", "consent given again")
        return CallbackResult(phase=self._phase, message="connected")

    async def _refresh(self) -> None:
        """Run one refresh; the caller holds the lock."""
        token = self._token
        if token is None or token.refresh_token is None:
            self._to_revoked("the token has no refresh token to renew it with")
            self._publish()
            return
        self._phase = Phase.REFRESHING
        requested_at = workflow.now()
        try:
            grant = await workflow.execute_activity_method(
                TokenActivities.refresh,
                RefreshInput(refresh_token=token.refresh_token),
                **options.token_endpoint_kwargs(self._settings.token_task_queue),
            )
        except ActivityError as err:
            self._phase = Phase.ACTIVE
            await self._on_failure(err, refreshing=True)
            return
        self._take(grant, requested_at)
        self._refreshes += 1
        self._cycles += 1

    async def _on_failure(self, err: ActivityError, *, refreshing: bool) -> None:
        cause = err.cause
        kind = cause.type if isinstance(cause, ApplicationError) else None
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
        self._set_error(message, kind or ErrorType.ACTIVITY_FAILED)
        if kind == ErrorType.COMPANY_MISMATCH:
            await self._on_mismatch(message)
            return
        if kind == ErrorType.INVALID_GRANT and refreshing:
            self._to_revoked(message)
            self._publish()  # before the new link's activity: command order is part of replayed history
            await self._issue_link()
            self._notify("revoked", message)
        elif kind == ErrorType.INVALID_GRANT:
            # The code was spent or expired: the admin has to follow a new link.
            await self._issue_link()
        elif kind in _CONFIGURATION_TYPES:
            self._resume_phase = Phase.ACTIVE if refreshing else self._phase
            self._phase = Phase.MISCONFIGURED
            self._retry_at = workflow.now() + timedelta(seconds=self._settings.misconfigured_retry_seconds)
            self._notify("misconfigured", message)
        elif refreshing:
            # Transient errors outlasted the activity's retries: keep the token, try again soon.
            self._retry_at = workflow.now() + timedelta(seconds=self._settings.failed_refresh_retry_seconds)
        else:
            await self._issue_link()
        self._rearm = True
        self._publish()

    async def _on_mismatch(self, message: str) -> None:
        """Consent came from another Remote company: nothing bound, a new link for the right admin, an event."""
        self._set_error(message, ErrorType.COMPANY_MISMATCH)
        await self._issue_link()
        self._rearm = True
        self._publish()
        self._notify("company_mismatch", message)

    def _callback_failed(self) -> CallbackResult:
        return CallbackResult(
            phase=self._phase,
            message=self._last_error or "exchange failed",
            error_type=self._last_error_type,
        )

    async def _on_retry(self) -> None:
        async with self._lock:
            if self._phase is Phase.MISCONFIGURED:
                await self._resume()
            elif self._phase.has_token and self._retry_at is not None:
                await self._refresh()

    async def _on_timer(self) -> None:
        async with self._lock:
            wake = self._next_wake()
            if wake is None or wake > workflow.now():
                return  # a handler already did the work this timer was for
            if self._phase.wants_consent:
                self._phase = Phase.EXPIRED  # the consent deadline: the only timer of a consent phase
            elif self._phase is Phase.MISCONFIGURED:
                await self._resume()
            elif self._phase.has_token:
                await self._refresh()

    async def _resume(self) -> None:
        """Leave ``misconfigured``: refresh again, or open a new connect link (then say so)."""
        if self._resume_phase is Phase.ACTIVE and self._token is not None:
            await self._refresh()
            if self._phase is Phase.ACTIVE:
                self._notify("recovered", "the configuration works again; tokens are fresh")
            return
        await self._issue_link()  # before the phase changes, so no one sees a consent state without a link
        self._phase = self._resume_phase or Phase.AWAITING_CONSENT
        self._resume_phase = None
        self._retry_at = None
        self._publish()
        self._notify("recovered", "the configuration works again; a new connect link is open")

    # -- side effects --------------------------------------------------------------------------------

    def _publish(self) -> None:
        self._effects.publish(self._phase, self._company_id)

    def _notify(self, event: str, detail: str) -> None:
        self._effects.notify(
            event,
            detail,
            phase=self._phase,
            occurred_at=workflow.now(),
            link_open=self._phase.wants_consent and self._pending is not None,
            company_id=self._company_id,
        )

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
        self._token = None
        self._pending = None
        self._publish()
        self._notify(event, detail)
        await self._effects.drain()
        return self.status()
