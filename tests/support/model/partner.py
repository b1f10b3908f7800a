"""The partner-token and assertion-token workflows as the model drives them: invariants and machines."""

from __future__ import annotations

import dataclasses

from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from tests.support.model.gateway import Answer
from tests.support.model.machine import ANSWERS, ModelMachine
from tests.support.model.world import World
from workflows.assertion_tokens import (
    AssertionMemory,
    AssertionTokenInput,
    AssertionTokenSettings,
    AssertionTokenWorkflow,
)
from workflows.partner import PartnerTokenWorkflow
from workflows.schedule import RefreshTiming
from workflows.types.company import RetryRequest
from workflows.types.partner import (
    PartnerInput,
    PartnerMemory,
    PartnerSettings,
    PartnerStatus,
    StopPartnerToken,
)

__all__ = ["AssertionModel", "AssertionWorld", "PartnerModel", "PartnerWorld"]

SUBJECT = "urn:remote-api:company-manager:user:0b5a3c2e-1f4d-4e6a-9b7c-8d9e0f1a2b3c"


class PartnerWorld(World[PartnerInput]):
    """A partner token's workflow; a caller reaching a stopped one starts it again, as the API does."""

    cls = PartnerTokenWorkflow
    restarts = True

    @property
    def workflow(self) -> PartnerTokenWorkflow:
        wf: PartnerTokenWorkflow = self.wf
        return wf

    def begin(self) -> None:
        settings = PartnerSettings(timing=RefreshTiming(max_jitter_seconds=60), cycles_per_run=3)
        self.start(PartnerInput(key="partner-model", settings=settings))

    def restarted_input(self) -> PartnerInput:
        """As ``PartnerTokenWorkflow.run`` builds it."""
        wf, start = self.workflow, self.start_input
        assert start is not None
        return dataclasses.replace(start, memory=wf._kept.memory_as(PartnerMemory, phase=wf._phase))

    def retry(self) -> None:
        self.call(self.workflow.retry, RetryRequest())
        self.settle()

    def stop(self) -> None:
        self.call(self.workflow.stop, StopPartnerToken())
        self.settle()

    def status(self) -> PartnerStatus:
        status: PartnerStatus = self.call(self.workflow.status)
        return status

    def check(self) -> None:
        """The callers' invariants, and a phase with a token has one."""
        super().check()
        if self.running:
            status = self.status()
            self.ledger.texts.append(repr(status))
            if status.phase.has_token:
                assert self.call(self.workflow.current_token) is not None, f"{status.phase} without a token"

    def observed(self) -> tuple[object, ...]:
        status = self.status() if self.running else None
        current = self.call(self.workflow.current_token) if status is not None else None
        return status, current, *super().observed()


class AssertionWorld(World[AssertionTokenInput]):
    """One subject's assertion-token cache; a caller reaching one that ended (idle) starts it again."""

    cls = AssertionTokenWorkflow
    restarts = True

    @property
    def workflow(self) -> AssertionTokenWorkflow:
        wf: AssertionTokenWorkflow = self.wf
        return wf

    def begin(self) -> None:
        self.start(AssertionTokenInput(subject=SUBJECT, settings=AssertionTokenSettings(idle_seconds=3600)))

    def restarted_input(self) -> AssertionTokenInput:
        """As ``AssertionTokenWorkflow.run`` builds it when carried forward."""
        wf, start = self.workflow, self.start_input
        assert start is not None
        memory = wf._kept.memory_as(AssertionMemory, last_used=wf._last_used)
        return dataclasses.replace(start, memory=memory)

    def observed(self) -> tuple[object, ...]:
        current = self.call(self.workflow.current_token) if self.running else None
        mints = self.call(self.workflow.mints) if self.running else None
        return current, mints, *super().observed()


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

    def can_ask(self) -> bool:
        return True

    @initialize()
    def start(self) -> None:
        self.worlds = [AssertionWorld()]
        self.world.begin()
