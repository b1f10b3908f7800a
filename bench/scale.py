"""Scenario (5): M companies alive on one worker process, refreshing during the run; memory and history size.

The worker is a process of its own (``python -m worker``), so its peak RSS is its own, not the bench's
(which also holds the sandbox and every client).
"""

from __future__ import annotations

import asyncio
import itertools
import resource
import statistics
import sys
import time
import uuid

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from bench.figures import Figure
from bench.process import peak_rss_mb_of, worker_env, worker_process
from bench.stack import Stack, running_stack, unlimited_sandbox
from workflows.company import CompanyConsentWorkflow
from workflows.types.company import company_workflow_id
from workflows.types.errors import RemoteOAuthError

__all__ = ["peak_rss_mb", "scale_figures"]

CONCURRENCY = 20
"""Onboardings and describes in flight at once: enough to keep a 2-core worker busy without starving it."""
SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED


def peak_rss_mb() -> float:
    """This process's peak resident set, in MB (for comparison with the worker's)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KB on Linux


async def _connect_all(stack: Stack, refs: list[str], deadline: float) -> int:
    """Connect every company (bounded in time); returns how many did not connect, instead of stopping."""
    gate = asyncio.Semaphore(CONCURRENCY)
    failed = 0

    async def one(ref: str) -> None:
        nonlocal failed
        async with gate:
            if time.monotonic() >= deadline:
                failed += 1
                return
            try:
                await stack.connect(ref)
            except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError, RemoteOAuthError, RuntimeError):
                failed += 1  # an overloaded worker: counted and reported, the run goes on

    await asyncio.gather(*(one(ref) for ref in refs))
    return failed


async def _events_per_cycle(stack: Stack, ref: str) -> float:
    """Median events between two consecutive refresh activities in one company's history."""
    handle = stack.client.get_workflow_handle_for(CompanyConsentWorkflow.run, company_workflow_id(ref))
    events = (await handle.fetch_history()).events
    refreshes = [
        i
        for i, event in enumerate(events)
        if event.event_type == SCHEDULED
        and event.activity_task_scheduled_event_attributes.activity_type.name == "Refresh"
    ]
    if len(refreshes) < 2:
        return float("nan")
    return float(statistics.median(b - a for a, b in itertools.pairwise(refreshes)))


async def _largest_history(client: Client) -> int:
    """The longest history of any company run (running ones described, closed ones from visibility)."""
    gate = asyncio.Semaphore(CONCURRENCY)
    lengths: list[int] = []

    async def describe(workflow_id: str, run_id: str | None) -> None:
        async with gate:
            described = await client.get_workflow_handle(workflow_id, run_id=run_id).describe()
            lengths.append(described.raw_description.workflow_execution_info.history_length)

    found = [(wf.id, wf.run_id) async for wf in client.list_workflows("WorkflowType = 'CompanyConsent'")]
    await asyncio.gather(*(describe(wid, rid) for wid, rid in found))
    return max(lengths, default=0)


async def _wait_for_cycles(stack: Stack, ref: str, cycles: int, deadline: float) -> int:
    refreshes = 0
    while time.monotonic() < deadline:
        refreshes = (await stack.oauth.status(ref)).refreshes
        if refreshes >= cycles:
            break
        await asyncio.sleep(0.5)
    return refreshes


async def scale_figures(
    server: WorkflowEnvironment, keys: str, companies: int, ttl: int, seconds: float
) -> list[Figure]:
    """Connect ``companies`` with ``ttl``-second tokens on one worker process, let them refresh, measure."""
    client = server.client
    queue = f"scale-{uuid.uuid4()}"
    refs = [f"scale-{uuid.uuid4().hex[:16]}" for _ in range(companies)]
    config = unlimited_sandbox(token_ttl=ttl)
    async with (
        running_stack(server, config, task_queue=queue, start_workers=False) as stack,
        worker_process(worker_env(client, stack.sandbox, keys, queue)) as worker,
    ):
        sandbox = stack.sandbox
        started = time.monotonic()
        failed = await _connect_all(stack, refs, started + seconds * 4)
        connected = time.monotonic() - started
        print(f"(5) {companies} companies connected in {connected:.0f} s", file=sys.stderr, flush=True)
        # Each company refreshes about every ttl/2; two cycles of the first one give a cycle's events.
        cycles = await _wait_for_cycles(stack, refs[0], 2, time.monotonic() + max(seconds, ttl * 1.6))
        refreshed = sandbox.store.token_requests["refresh_token"]
        per_cycle = await _events_per_cycle(stack, refs[0])
        largest = await _largest_history(client)
        rss = peak_rss_mb_of(worker.pid)
    note = (
        f"{companies - failed} of {companies} companies connected in {connected:.0f} s; {refreshed} refreshes in the run; sampled "
        f"company refreshed {cycles}x; RSS of the worker process (the bench process: {peak_rss_mb():.0f} MB)"
    )
    return [
        Figure(f"(5) peak RSS, {companies} companies", rss, 400.0, "MB", "limit", 1.0, note=note),
        Figure("(5) history events per refresh cycle", per_cycle, 12.0, "ev", "limit", 1.0),
        Figure("(5) largest history of any run", float(largest), 2000.0, "ev", "limit", 1.0),
    ]
