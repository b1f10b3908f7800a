"""The Temporal worker process: workflows on one task queue, gateway calls on a rate-limited one.

Every call to Remote's gateway runs on the token task queue, whose ``max_task_queue_activities_per_second``
is enforced by the Temporal server across every worker polling it: the whole fleet stays under Remote's
250 requests per minute without a lock or scheduler of our own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from worker.company_gauge import CompanyGauge, keep_company_gauge
from workflows.assertion_tokens import AssertionTokenWorkflow
from workflows.company import CompanyConsentWorkflow
from workflows.io.activities import TokenActivities
from workflows.io.settings import Settings
from workflows.magic_link import MagicLinkWorkflow
from workflows.partner import PartnerTokenWorkflow

log = logging.getLogger(__name__)

WORKFLOWS: list[type] = [
    CompanyConsentWorkflow,
    PartnerTokenWorkflow,
    AssertionTokenWorkflow,
    MagicLinkWorkflow,
]

DETERMINISTIC_PACKAGE = "workflows"
"""Our workflow-side package, imported once per process instead of once per workflow run.

The sandbox re-executes every module it does not pass through for each run it starts or replays: with them
sandboxed, each cached company held its own copy of these modules' classes (about half a megabyte) and every
start paid for re-creating them. Every module of the package outside ``workflows.io`` holds no state and calls
nothing non-deterministic, and workflow code reaches ``workflows.io`` only for activity references inside
``imports_passed_through``: ``tests/workflows/test_determinism.py`` checks both statically, since the sandbox
no longer watches them at run time.
"""

WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    # Our dataclasses carry datetimes; the sandbox's proxied ``datetime`` class would fail the converter's
    # ``hint is datetime`` check when results are decoded inside a workflow (sdk-python #496). Workflow code
    # still takes time only from workflow.now(): that is a review rule, not something the sandbox enforces.
    restrictions=dataclasses.replace(
        SandboxRestrictions.default,
        invalid_module_members=SandboxRestrictions.invalid_module_members_default.with_child_unrestricted(
            "datetime"
        ),
    ).with_passthrough_modules(DETERMINISTIC_PACKAGE)
)
"""The sandbox every worker and replayer of ours uses."""


@dataclass(frozen=True)
class WorkerOptions:
    """How the worker process polls; settings of the partner's deployment, not of a company."""

    task_queue: str
    token_task_queue: str
    token_requests_per_minute: float = 200.0
    """Fleet-wide budget for gateway calls (Remote allows 250 per client id)."""
    graceful_shutdown_seconds: float = 10.0
    max_cached_workflows: int | None = None
    """None: the SDK default. 0 turns sticky execution off, so a replacement worker gets every task at once
    (tests that swap workers on the time-skipping server, which does not reroute a dead worker's tasks)."""
    company_gauge_seconds: float = 60.0
    """How often ``serve`` counts companies by state for the gauge (``worker.company_gauge``); 0: never."""


def gateway_activities(acts: TokenActivities) -> list[Callable[..., Any]]:
    """Activities that call Remote's gateway: they share the rate-limited queue."""
    return [acts.exchange_code, acts.refresh, acts.client_credentials, acts.assertion, acts.create_magic_link]


def local_activities(acts: TokenActivities) -> list[Callable[..., Any]]:
    """Activities that never call the gateway (state issuing, webhooks)."""
    return [acts.issue_state, acts.notify]


def build_workers(client: Client, acts: TokenActivities, opts: WorkerOptions) -> list[Worker]:
    """One worker for workflows and local activities, one for gateway calls (or one for both)."""
    graceful = timedelta(seconds=opts.graceful_shutdown_seconds)
    cache: dict[str, Any] = {}
    if opts.max_cached_workflows is not None:
        cache["max_cached_workflows"] = opts.max_cached_workflows
    if opts.task_queue == opts.token_task_queue:
        return [
            Worker(
                client,
                task_queue=opts.task_queue,
                workflows=WORKFLOWS,
                workflow_runner=WORKFLOW_RUNNER,
                **cache,
                activities=gateway_activities(acts) + local_activities(acts),
                max_task_queue_activities_per_second=opts.token_requests_per_minute / 60.0,
                graceful_shutdown_timeout=graceful,
            )
        ]
    return [
        Worker(
            client,
            task_queue=opts.task_queue,
            workflows=WORKFLOWS,
            workflow_runner=WORKFLOW_RUNNER,
            activities=local_activities(acts),
            **cache,
            graceful_shutdown_timeout=graceful,
        ),
        Worker(
            client,
            task_queue=opts.token_task_queue,
            activities=gateway_activities(acts),
            max_task_queue_activities_per_second=opts.token_requests_per_minute / 60.0,
            graceful_shutdown_timeout=graceful,
        ),
    ]


@contextlib.asynccontextmanager
async def running_workers(
    client: Client, settings: Settings, opts: WorkerOptions, *, http: httpx.AsyncClient | None = None
) -> AsyncIterator[list[Worker]]:
    """Run the workers in the background for the life of the context (used by tests and `dev`)."""
    async with contextlib.AsyncExitStack() as stack:
        if http is None:
            http = await stack.enter_async_context(TokenActivities.http_client(settings))
        acts = TokenActivities(settings, http)
        workers = build_workers(client, acts, opts)
        for worker in workers:
            await stack.enter_async_context(worker)
        yield workers


async def serve(client: Client, settings: Settings, opts: WorkerOptions) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully (activities get time to finish)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with running_workers(client, settings, opts), contextlib.AsyncExitStack() as background:
        if opts.company_gauge_seconds > 0:
            gauge = CompanyGauge(client, opts.task_queue)
            task = asyncio.create_task(keep_company_gauge(gauge, opts.company_gauge_seconds))
            background.callback(task.cancel)
        log.info("worker polling %s (gateway calls on %s)", opts.task_queue, opts.token_task_queue)
        await stop.wait()
        log.info("shutting down")


def options_from(settings: Settings) -> WorkerOptions:
    return WorkerOptions(
        task_queue=settings.task_queue,
        token_task_queue=settings.token_task_queue,
        token_requests_per_minute=settings.token_rate_per_minute,
        max_cached_workflows=settings.max_cached_workflows,
    )
