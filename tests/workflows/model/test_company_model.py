"""Every interleaving of a company's life, checked after each step: the model of issue 19.

The real ``CompanyConsentWorkflow`` runs on ``ModelRuntime`` against the fake gateway (``world.py``);
Hypothesis chooses the steps: the partner onboarding (pinned or not), asking for ``retry`` or offboarding; an
admin of either company approving or denying in either browser; callbacks delivered again, late or from the
other browser; callers asking with different ``min_ttl`` or reporting a 401 for the current or an old token;
the gateway answering every way it can, or holding the answer into later steps; time passing to the next
wake; revocation at Remote; and continue-as-new, whose twin must behave exactly as the original on the next
step. Worker restarts (replay) need a Temporal server: ``test_company_workflow.py`` drives those.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from tests.workflows.model.company import CompanyWorld, company_settings
from tests.workflows.model.gateway import Answer
from tests.workflows.model.machine import ANSWERS, ModelMachine
from tests.workflows.model.profiles import model_settings
from workflows.types.company import RefreshPolicy

# Weighted towards the admin of company A approving in their own browser, so most examples get a token.
BROWSERS = st.sampled_from(["admin", "admin", "admin", "stranger"])
COMPANY = st.sampled_from(["A", "A", "A", "B"])
MOSTLY = st.sampled_from([True, True, True, False])
PARTNER = st.sampled_from(
    [
        *("onboard", "onboard", "onboard pinned to A", "onboard pinned to B", "onboard renewing"),
        *("retry", "retry", "offboard"),
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
        company to ``retry``, or offboards it."""
        if action == "retry" and self.world.running:
            self._each(lambda w: w.step(answer, w.retry))
        elif action == "offboard" and self.world.running:
            self._each(lambda w: w.offboard())
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


CompanyModel.TestCase.settings = model_settings(examples=300, steps=40)
TestCompanyModel = CompanyModel.TestCase
