"""The orchestration floor: the least a Temporal workflow can do for a callback (wait, one activity, done).

Deterministic and free of import-time effects, so the workflow sandbox accepts it like our own workflows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow


@dataclass(frozen=True)
class Nothing:
    """The one input and result of the floor's workflow, signal and activity."""


@activity.defn(name="BenchNoop")
async def noop(_: Nothing) -> Nothing:
    """Stands in for the code exchange: an activity round trip without the HTTP call."""
    return Nothing()


@workflow.defn(name="BenchFloor")
class FloorWorkflow:
    """Waits for one signal (the callback), runs one no-op activity (the exchange), and ends."""

    def __init__(self) -> None:
        self._called_back = False

    @workflow.run
    async def run(self, _: Nothing) -> Nothing:
        await workflow.wait_condition(lambda: self._called_back)
        return await workflow.execute_activity(noop, Nothing(), start_to_close_timeout=timedelta(seconds=30))

    @workflow.signal
    def callback(self, _: Nothing) -> None:
        self._called_back = True
