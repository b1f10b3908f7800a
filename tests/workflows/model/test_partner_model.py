"""The partner-token and assertion-token workflows under the same steps as the company's (issue 19).

Callers ask with different ``min_ttl`` or report a 401; the gateway answers every way it can or holds the
answer; time passes; the operator asks a partner token to ``retry`` or stops it; a partner token continues
as new (its twin must keep step). The assertion cache never continues as new; when it ends for being idle,
the next caller starts it again.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from tests.workflows.model.gateway import Answer
from tests.workflows.model.machine import ANSWERS, ModelMachine
from tests.workflows.model.partner import AssertionWorld, PartnerWorld
from tests.workflows.model.profiles import model_settings


class PartnerModel(ModelMachine[PartnerWorld]):
    """One partner token's workflow (and its twin right after a continue-as-new)."""

    def can_ask(self) -> bool:
        return True

    @initialize()
    def start(self) -> None:
        self.worlds = [PartnerWorld()]
        self.world.step(Answer(), self.world.begin)

    @precondition(lambda self: self.world.running)
    @rule(action=st.sampled_from(["retry", "retry", "stop"]), answer=ANSWERS)
    def operator(self, action: str, answer: Answer) -> None:
        """The operator asks for ``retry`` (after fixing a setting) or stops the token."""
        if action == "stop":
            self._each(lambda w: w.stop())
        else:
            self._each(lambda w: w.step(answer, w.retry))


class AssertionModel(ModelMachine[AssertionWorld]):
    """One subject's assertion-token cache."""

    continues_as_new = False

    def can_ask(self) -> bool:
        return True

    @initialize()
    def start(self) -> None:
        self.worlds = [AssertionWorld()]
        self.world.begin()


PartnerModel.TestCase.settings = model_settings(examples=150, steps=30)
AssertionModel.TestCase.settings = model_settings(examples=100, steps=30)
TestPartnerModel = PartnerModel.TestCase
TestAssertionModel = AssertionModel.TestCase
