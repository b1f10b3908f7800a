"""The company workflow as the model drives it: consent through browsers, its invariants, and its machine.

The browser binding is the web app's (``ConnectKeys.is_bound`` on the cookie its connect page set), checked
before a callback reaches the workflow, as ``worker/web.py`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from tests.support.model.gateway import COMPANIES, Answer
from tests.support.model.machine import ANSWERS, ModelMachine
from tests.support.model.world import World
from workflows.company import CompanyConsentWorkflow
from workflows.io.connect_session import ConnectKeys
from workflows.schedule import RefreshTiming
from workflows.types.company import (
    Callback,
    CompanyInput,
    CompanySettings,
    CompanyStatus,
    ConnectRequest,
    Offboard,
    RefreshPolicy,
    RetryRequest,
)
from workflows.types.connection import ReconnectRequest

__all__ = ["REF", "CompanyModel", "CompanyWorld", "company_settings"]

REF = "acme"
KEYS = ConnectKeys.parse("model-connect-key-0123456789abcdef")


def company_settings(policy: RefreshPolicy) -> CompanySettings:
    """A continue-as-new every three refreshes, so memory round trips happen within a few steps."""
    return CompanySettings(
        refresh_policy=policy, timing=RefreshTiming(max_jitter_seconds=60), cycles_per_run=3
    )


@dataclass
class Consent:
    """What browsers hold: each one's binding cookie and the callbacks Remote redirected them with."""

    cookies: dict[str, str | None] = field(default_factory=lambda: {"admin": None, "stranger": None})
    callbacks: list[tuple[str, Callback]] = field(default_factory=list)
    """(the browser Remote redirected, the callback) in the order the admins answered."""
    company_id: str | None = None
    """The first Remote company the workflow bound: it must never change."""


class CompanyWorld(World[CompanyInput]):
    """A company workflow with its browsers and callers."""

    cls = CompanyConsentWorkflow

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.consent = Consent()

    def twin(self, start: CompanyInput) -> CompanyWorld:
        other = super().twin(start)
        other.consent = Consent(
            dict(self.consent.cookies), list(self.consent.callbacks), self.consent.company_id
        )
        return other

    @property
    def workflow(self) -> CompanyConsentWorkflow:
        wf: CompanyConsentWorkflow = self.wf
        return wf

    def status(self) -> CompanyStatus:
        status: CompanyStatus = self.call(self.workflow.status)
        return status

    def restarted_input(self) -> CompanyInput:
        """As ``CompanyConsentWorkflow._continue_as_new`` builds it."""
        wf = self.workflow
        return CompanyInput(company_ref=REF, settings=wf._settings, memory=self.call(wf._memory))

    def begin(self, settings: CompanySettings | None = None) -> None:
        """Start the company's workflow (again, after one ended: nothing of the old run is kept)."""
        self.consent = Consent()
        self.ledger.delivered.clear()
        self.start(CompanyInput(company_ref=REF, settings=settings or self.workflow._settings))

    # -- what partners, admins and browsers do --------------------------------------------------------

    def onboard(self, pin: str | None, renew: bool) -> tuple[object, ...]:
        """The partner onboards the ref (a workflow that ended is started again, as the API does)."""
        if not self.running:
            self.begin()
        request = ConnectRequest(renew=renew, company_id=COMPANIES[pin] if pin else None)
        out: list[tuple[object, ...]] = []

        def done(task: Any) -> None:
            error = task.exception()
            out.append(("failed", type(error).__name__) if error else ("link", task.result().phase))

        wf = self.workflow
        refused = self.update(wf._validate_connect_link, wf.connect_link, request, done=done)
        if refused is not None:
            return ("refused", str(refused))
        return out[0] if out else ("pending",)

    def reconnect(self) -> tuple[object, ...]:
        """The partner asks a connected company for a reconnect link (refused unless it has a token)."""
        out: list[tuple[object, ...]] = []

        def done(task: Any) -> None:
            error = task.exception()
            out.append(("failed", type(error).__name__) if error else ("link", task.result().phase))

        wf = self.workflow
        refused = self.update(wf._validate_reconnect, wf.reconnect, ReconnectRequest(), done=done)
        if refused is not None:
            return ("refused", str(refused))
        return out[0] if out else ("pending",)

    def approve(self, browser: str, company: str, deny: bool, *, back: bool) -> tuple[object, ...]:
        """``browser`` opens the company's connect page (which sets its binding cookie) and goes on to Remote,
        where an admin of ``company`` approves or denies; Remote redirects that browser back, and with
        ``back`` the callback reaches the partner's web app at once. The page leads to the consent link, or
        to a connected company's reconnect link, as ``connect_link`` answers the web app."""
        url = self.status().authorize_url
        if url is None:
            reconnect = self.call(self.workflow._open_reconnect)
            url = reconnect.authorize_url if reconnect is not None else None
        if url is None:
            return ("no link",)
        state = url.rsplit("state=", 1)[1]
        self.consent.cookies[browser] = KEYS.binding(state)
        code = None if deny else self.gateway.consent(company, self.runtime.now)
        callback = Callback(state=state, code=code, error="access_denied" if deny else None)
        self.consent.callbacks.append((browser, callback))
        if back:
            return self.deliver(len(self.consent.callbacks) - 1, "same")
        return ("redirected", browser)

    def deliver(self, which: int, browser: str) -> tuple[object, ...]:
        """Callback ``which`` reaches the partner's web app from ``browser`` (its own, or another one)."""
        opener, callback = self.consent.callbacks[which % len(self.consent.callbacks)]
        who = opener if browser == "same" else ("stranger" if opener == "admin" else "admin")
        if not KEYS.is_bound(callback.state, self.consent.cookies[who]):
            return ("refused by the web app",)
        out: list[tuple[object, ...]] = []

        def done(task: Any) -> None:
            error = task.exception()
            if error is not None:
                self.ledger.texts.append(str(error))
                out.append(("failed", getattr(error, "type", type(error).__name__)))
            else:
                self.ledger.texts.append(task.result().message)
                out.append(("result", task.result().phase, task.result().error_type))
                if task.result().message == "reconnected":
                    self._superseded()

        wf = self.workflow
        refused = self.update(wf._validate_complete_consent, wf.complete_consent, callback, done=done)
        if refused is not None:
            self.ledger.texts.append(str(refused))
            return ("refused", getattr(refused, "type", None))
        return out[0] if out else ("pending",)

    def _superseded(self) -> None:
        """A reconnect's grant replaced the company's: the refresh tokens before it are given up on purpose
        (Remote has no revocation endpoint; they stay valid there until the company revokes the app)."""
        kept = self.workflow._kept.token
        assert kept is not None, "a reconnect answered without keeping its grant"
        self.ledger.delivered[:] = [kept.refresh_token] if kept.refresh_token else []

    def retry(self) -> None:
        self.call(self.workflow.retry, RetryRequest())
        self.settle()

    def offboard(self) -> None:
        self.call(self.workflow.offboard, Offboard(reason="the model offboards"))
        self.settle()

    # -- invariants ----------------------------------------------------------------------------------

    def check(self) -> None:
        """The callers' invariants, and the company's: a phase with a token has one, a phase waiting for
        consent has an open link, the bound company never changes, and a refresh token the gateway still
        accepts is never dropped."""
        super().check()
        if self.wf is None or self.ended is not None:
            return
        status = self.status()
        self.ledger.texts.append(repr(status))
        phase, kept = status.phase, self.call(self.workflow._memory).token
        if phase.has_token:
            assert self.call(self.workflow.current_token) is not None, f"{phase} without a token"
        if phase.wants_consent:
            assert status.authorize_url is not None, f"{phase} without an open connect link"
        self.consent.company_id = self.consent.company_id or status.company_id
        assert status.company_id == self.consent.company_id, "the bound Remote company changed"
        if kept is not None:
            assert kept.company_id == self.consent.company_id, "a token of another company is kept"
        now = self.runtime.now
        if any(self.gateway.accepts(rt, now) for rt in self.ledger.delivered):
            assert kept is not None, (
                f"dropped the token while the gateway accepts its refresh token ({phase})"
            )
            assert self.gateway.accepts(kept.refresh_token, now), (
                f"kept a dead refresh token, not the one the gateway accepts ({phase})"
            )

    def observed(self) -> tuple[object, ...]:
        status = self.status() if self.wf is not None and self.ended is None else None
        current = self.call(self.workflow.current_token) if status is not None else None
        return status, current, *super().observed()


# Weighted towards the admin of company A approving in their own browser, so most examples get a token.
BROWSERS = st.sampled_from(["admin", "admin", "admin", "stranger"])
COMPANY = st.sampled_from(["A", "A", "A", "B"])
MOSTLY = st.sampled_from([True, True, True, False])
PARTNER = st.sampled_from(
    [
        *("onboard", "onboard", "onboard pinned to A", "onboard pinned to B", "onboard renewing"),
        *("retry", "retry", "offboard", "reconnect"),
    ]
)


class CompanyModel(ModelMachine[CompanyWorld]):
    """One company workflow (and, right after a continue-as-new, its twin) driven step by step."""

    @initialize(policy=st.sampled_from(list(RefreshPolicy)), connected=MOSTLY)
    def start(self, policy: RefreshPolicy, connected: bool) -> None:
        """Most examples start with company A connected (its admin approved, the code exchanged)."""
        self.worlds = [CompanyWorld()]
        self.world.begin(company_settings(policy))
        if connected:
            self.world.step(Answer(), lambda: self.world.approve("admin", "A", deny=False, back=True))

    @rule(action=PARTNER, answer=ANSWERS)
    def partner(self, action: str, answer: Answer) -> None:
        """The partner onboards the ref (pinned to a company, or renewing its link), asks a misconfigured
        company to ``retry``, asks a connected one for a reconnect link, or offboards it."""
        if action == "retry" and self.world.running:
            self._each(lambda w: w.step(answer, w.retry))
        elif action == "offboard" and self.world.running:
            self._each(lambda w: w.offboard())
        elif action == "reconnect" and self.world.running:
            self._each(lambda w: w.step(answer, w.reconnect))
        elif action.startswith("onboard"):
            pin = {"onboard pinned to A": "A", "onboard pinned to B": "B"}.get(action)
            self._each(lambda w: w.step(answer, lambda: w.onboard(pin, renew=action == "onboard renewing")))

    @precondition(lambda self: self.world.running)
    @rule(browser=BROWSERS, company=COMPANY, approve=MOSTLY, back=MOSTLY, answer=ANSWERS)
    def consent(self, browser: str, company: str, approve: bool, back: bool, answer: Answer) -> None:
        """An admin approves (or denies) in ``browser``; ``back``: the redirect reaches the partner at once."""
        self._each(lambda w: w.step(answer, lambda: w.approve(browser, company, not approve, back=back)))

    @precondition(lambda self: self.world.running and self.world.consent.callbacks)
    @rule(which=st.integers(0, 3), browser=st.sampled_from(["same", "other"]), answer=ANSWERS)
    def deliver(self, which: int, browser: str, answer: Answer) -> None:
        """An earlier callback arrives (again, late, or from the other browser)."""
        self._each(lambda w: w.step(answer, lambda: w.deliver(which, browser)))

    @precondition(lambda self: self.world.running)
    @rule(company=st.sampled_from(["A", "B"]))
    def revoke(self, company: str) -> None:
        """The company withdraws its consent at Remote."""
        self._each(lambda w: w.gateway.revoke(company))
