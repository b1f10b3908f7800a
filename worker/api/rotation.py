"""Codec key rotation that finishes: every open workflow carried forward onto the current key, and a list of
what still holds an older one.

A workflow's current run is replayed from its history, so a worker needs every key that history names. The key
ids are clear metadata (``workflows.io.key_ids``): reading them decrypts nothing. The token workflows answer a
``carry_forward`` signal by continuing as new, and the new run starts from state the worker encoded with its
current key; once no running workflow's current run names an older key id, the old key can leave the ring.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from temporalio.client import (
    Client,
    WorkflowContinuedAsNewError,
    WorkflowExecution,
    WorkflowFailureError,
)
from temporalio.service import RPCError, RPCStatusCode

from workflows.io.codec import Keyring
from workflows.io.key_ids import key_ids
from workflows.types.kept_token import CARRY_FORWARD_SIGNAL, CarryForward

__all__ = ["CARRIED_TYPES", "KeyHolder", "KeyRotation", "RotationReport"]

T = TypeVar("T")

CARRIED_TYPES = frozenset({"CompanyConsent", "PartnerToken", "AssertionToken"})
"""Workflow types that answer ``carry_forward``; the others (a magic link) end on their own within minutes."""


@dataclass(frozen=True)
class KeyHolder:
    """A running workflow whose current run still names an older key id, and why."""

    workflow_id: str
    workflow_type: str
    run_id: str
    key_ids: tuple[str, ...]
    """The older key ids its current run names (sorted): a worker without them cannot replay it."""
    reason: str


@dataclass(frozen=True)
class RotationReport:
    """What ``rotate`` found and did."""

    key_id: str
    """The current key (the ring's first), which every run should name alone."""
    running: int
    """Running workflows of the task queue."""
    already: int
    """Of those, runs that named no older key id to begin with."""
    carried: int
    """Workflows carried forward onto the current key (or that ended meanwhile)."""
    holders: tuple[KeyHolder, ...]
    """What still names an older key id in its current run."""

    @property
    def done(self) -> int:
        """Workflows that no longer need an older key."""
        return self.running - len(self.holders)


class KeyRotation:
    """Finds the running workflows of one task queue that need an older codec key, and carries them forward.

    ``keyring`` is this process's: its first key is the one every run should name once rotated. The workers
    must hold it first too (they encode the new runs); ``rotate`` reports it when they do not.
    """

    def __init__(self, client: Client, keyring: Keyring, *, task_queue: str, concurrency: int = 20) -> None:
        self._client = client
        self._current = keyring.current.kid
        self._task_queue = task_queue
        self._slots = asyncio.Semaphore(concurrency)

    async def older_key_ids(self, workflow_id: str, run_id: str | None = None) -> tuple[str, ...]:
        """The key ids other than the current one that the run's history names (latest run without ``run_id``)."""
        handle = self._client.get_workflow_handle(workflow_id, run_id=run_id)
        events = [event async for event in handle.fetch_history_events()]
        return tuple(sorted(key_ids(events) - {self._current}))

    async def rotate(self, *, wait: timedelta, carry: bool = True) -> RotationReport:
        """Carry every running workflow that names an older key forward, and wait up to ``wait`` for them.

        Without ``carry`` nothing is signalled: the report lists what holds an older key now.
        """
        query = f"ExecutionStatus = 'Running' AND TaskQueue = '{self._task_queue}'"
        running = [wf async for wf in self._client.list_workflows(query)]
        running.sort(key=lambda wf: wf.id)
        found = await self._each(self._scan(wf) for wf in running)
        stale = [(wf, older) for wf, older in zip(running, found, strict=True) if older]
        deadline = asyncio.get_running_loop().time() + wait.total_seconds()
        if carry:
            await self._each(self._signal(wf) for wf, _ in stale if wf.workflow_type in CARRIED_TYPES)
            holders = await self._each(self._after(wf, older, deadline) for wf, older in stale)
        else:
            holders = [
                _holder(wf, wf.run_id, older, "not asked to carry forward (--dry-run)") for wf, older in stale
            ]
        left = tuple(holder for holder in holders if holder is not None)
        return RotationReport(
            key_id=self._current,
            running=len(running),
            already=len(running) - len(stale),
            carried=len(stale) - len(left),
            holders=left,
        )

    async def _each(self, jobs: Iterable[Awaitable[T]]) -> list[T]:
        """Run ``jobs`` at most ``concurrency`` at a time (a fleet has thousands of workflows)."""

        async def bounded(job: Awaitable[T]) -> T:
            async with self._slots:
                return await job

        return list(await asyncio.gather(*(bounded(job) for job in jobs)))

    async def _scan(self, wf: WorkflowExecution) -> tuple[str, ...]:
        return await self.older_key_ids(wf.id, wf.run_id)

    async def _signal(self, wf: WorkflowExecution) -> None:
        handle = self._client.get_workflow_handle(wf.id, run_id=wf.run_id)
        try:
            await handle.signal(CARRY_FORWARD_SIGNAL, CarryForward())
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            # The run ended meanwhile (continued as new on its own, or offboarded): _after looks at what follows.

    async def _after(
        self, wf: WorkflowExecution, older: tuple[str, ...], deadline: float
    ) -> KeyHolder | None:
        """None once the workflow's run after ``wf`` names no older key (or it ended); else why not."""
        if wf.workflow_type not in CARRIED_TYPES:
            return _holder(
                wf, wf.run_id, older, f"{wf.workflow_type} does not carry forward; it ends on its own"
            )
        handle = self._client.get_workflow_handle(wf.id, run_id=wf.run_id)
        try:
            async with asyncio.timeout_at(deadline):
                await handle.result(follow_runs=False)
        except WorkflowContinuedAsNewError as moved:
            now_older = await self.older_key_ids(wf.id, moved.new_execution_run_id)
            if not now_older:
                return None
            return _holder(
                wf,
                moved.new_execution_run_id,
                now_older,
                f"carried forward, but its worker encrypts with {', '.join(now_older)}: give every worker "
                f"{self._current} first, then run rotate-keys again",
            )
        except TimeoutError:
            return _holder(
                wf,
                wf.run_id,
                older,
                "did not continue as new in time (is a worker running?): run rotate-keys again",
            )
        except WorkflowFailureError:
            return None  # ended: nothing left to replay
        return None  # completed (offboarded, stopped, idle): nothing left to replay


def _holder(wf: WorkflowExecution, run_id: str, older: tuple[str, ...], reason: str) -> KeyHolder:
    return KeyHolder(
        workflow_id=wf.id, workflow_type=wf.workflow_type, run_id=run_id, key_ids=older, reason=reason
    )
