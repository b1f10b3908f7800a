"""CompanyConsentWorkflow: one durable workflow per company, from consent to years of fresh tokens.

Deterministic and free of import-time effects: time comes from ``workflow.now()``, randomness from
``workflow.random()``, and everything that touches the network or secrets runs in activities.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.company_effects import CompanyEffects
from workflows.company_state import CompanyState
from workflows.kept_token import SingleFlight, continue_as_new_due, wait_for_wake
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
from workflows.types.kept_token import Failure, FailureKind, attempt, check_min_ttl, unavailable
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

_CONSENT_DEADLINE_PATCH = "consent-deadline"
"""Marks histories whose companies expire when nobody consents (``CompanySettings.consent_wait_seconds``)."""


@workflow.defn(name="CompanyConsent")
class CompanyConsentWorkflow(CompanyState):
    """The consent-to-token lifecycle of one company; see ../shared/design/architecture.md."""

    @workflow.init
    def __init__(self, start: CompanyInput) -> None:
        super().__init__(start)
        # One state-changing handler at a time: this is what makes refresh single-flight.
        self._flight = SingleFlight()
        self._effects = CompanyEffects(start.company_ref, search_attributes=start.settings.search_attributes)

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
            if continue_as_new_due(self._kept, self._settings.cycles_per_run):
                await self._continue_as_new()
            self._rearm = False
            if await wait_for_wake(self._next_wake(), self._settings.timing, self._woken):
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
            token = self._kept.usable(workflow.now())
            if token is None:
                raise unavailable(
                    f"token expired and refresh is failing ({self._kept.last_error}); retrying on its own"
                )
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
        self._kept.record(detail, code)
        await self._issue_link()
        self._publish()
        self._notify("denied", detail)
        return CallbackResult(phase=self._phase, message=f"consent was not given: {detail}", error_type=code)

    async def _exchange(self, code: str) -> CallbackResult:
        previous = self._phase
        self._phase = Phase.EXCHANGING
        requested_at = workflow.now()
        pinned = self._company_id
        grant: TokenGrant | Failure = await attempt(
            workflow.execute_activity_method(
                TokenActivities.exchange_code,
                ExchangeCodeInput(code=code, expected_company_id=pinned),
                **options.token_endpoint_kwargs(self._settings.token_task_queue),
            )
        )
        if isinstance(grant, Failure):
            self._phase = previous
            await self._on_failure(grant, refreshing=False)
            return self._callback_failed()
        if pinned is not None and grant.company_id != pinned:
            # The activity refuses this already; checked again so a worker of an older version cannot bind.
            self._phase = previous
            await self._on_mismatch(company_mismatch_message(pinned, grant.company_id))
            return self._callback_failed()
        self._take(grant, requested_at, refreshed=False)
        self._company_id = grant.company_id or self._company_id
        self._user_id = grant.user_id or self._user_id
        self._consent_deadline = None
        self._publish()
        if previous is Phase.CONSENT_REVOKED:
            self._notify("recovered", "consent given again")
        return CallbackResult(phase=self._phase, message="connected")

    async def _refresh(self) -> None:
        """Run one refresh; the caller holds the lock."""
        token = self._kept.token
        if token is None or token.refresh_token is None:
            self._to_revoked("the token has no refresh token to renew it with")
            self._publish()
            return
        self._phase = Phase.REFRESHING
        requested_at = workflow.now()
        grant: TokenGrant | Failure = await attempt(
            workflow.execute_activity_method(
                TokenActivities.refresh,
                RefreshInput(refresh_token=token.refresh_token),
                **options.token_endpoint_kwargs(self._settings.token_task_queue),
            )
        )
        if isinstance(grant, Failure):
            self._phase = Phase.ACTIVE
            await self._on_failure(grant, refreshing=True)
            return
        self._take(grant, requested_at, refreshed=True)
        self._flight.land()

    async def _on_failure(self, failure: Failure, *, refreshing: bool) -> None:
        self._kept.fail(failure)
        kind, message = failure.kind, failure.message
        if kind is FailureKind.MISMATCH:
            await self._on_mismatch(message)
            return
        if kind is FailureKind.REVOKED and refreshing:
            self._to_revoked(message)
            self._publish()  # before the new link's activity: command order is part of replayed history
            await self._issue_link()
            self._notify("revoked", message)
        elif kind is FailureKind.REVOKED:
            # The code was spent or expired: the admin has to follow a new link.
            await self._issue_link()
        elif kind is FailureKind.CONFIGURATION:
            self._resume_phase = Phase.ACTIVE if refreshing else self._phase
            self._phase = Phase.MISCONFIGURED
            self._kept.retry_later(failure, workflow.now(), self._settings)
            self._notify("misconfigured", message)
        elif refreshing:
            # Transient errors outlasted the activity's retries: keep the token, try again soon.
            self._kept.retry_later(failure, workflow.now(), self._settings)
        else:
            await self._issue_link()
        self._rearm = True
        self._publish()

    async def _on_mismatch(self, message: str) -> None:
        """Consent came from another Remote company: nothing bound, a new link for the right admin, an event."""
        self._kept.record(message, ErrorType.COMPANY_MISMATCH)
        await self._issue_link()
        self._rearm = True
        self._publish()
        self._notify("company_mismatch", message)

    def _callback_failed(self) -> CallbackResult:
        return CallbackResult(
            phase=self._phase,
            message=self._kept.last_error or "exchange failed",
            error_type=self._kept.last_error_type,
        )

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

    async def _resume(self) -> None:
        """Leave ``misconfigured``: refresh again, or open a new connect link (then say so)."""
        if self._resume_phase is Phase.ACTIVE and self._kept.token is not None:
            await self._refresh()
            if self._phase is Phase.ACTIVE:
                self._notify("recovered", "the configuration works again; tokens are fresh")
            return
        await self._issue_link()  # before the phase changes, so no one sees a consent state without a link
        self._phase = self._resume_phase or Phase.AWAITING_CONSENT
        self._resume_phase = None
        self._kept.retry_at = None
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
        self._kept.drop()
        self._pending = None
        self._publish()
        self._notify(event, detail)
        await self._effects.drain()
        return self.status()
