"""The partner-token and assertion-token workflows as the model drives them, with their invariants."""

from __future__ import annotations

import dataclasses

from tests.workflows.model.world import World
from workflows.assertion_tokens import AssertionTokenInput, AssertionTokenSettings, AssertionTokenWorkflow
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

__all__ = ["AssertionWorld", "PartnerWorld"]

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

    def begin(self) -> None:
        self.start(AssertionTokenInput(subject=SUBJECT, settings=AssertionTokenSettings(idle_seconds=3600)))
