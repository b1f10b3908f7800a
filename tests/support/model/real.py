"""The real stack for the model's steps: a time-skipping server, our workers and the sandbox.

Hypothesis drives a state machine synchronously, so the machine runs in a thread and each step waits for its
coroutine on the test's event loop, where the stack lives. The workers keep no workflow cache, so every
workflow task replays the run's whole history (a worker restart at every step), and a step can also stop
and start them.
The model's answers become the sandbox's fault injection for the length of one step.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

from temporalio.testing import WorkflowEnvironment

from sandbox.config import SandboxConfig
from tests.support.model.gateway import Answer
from tests.support.stack import Stack, make_stack
from tests.support.temporal import fresh_task_queue
from workflows.schedule import RefreshTiming
from workflows.types.company import CompanySettings

__all__ = ["LIFETIME", "RealStack", "faults_for", "real_stack"]

T = TypeVar("T")
LIFETIME = 3600
"""The sandbox's token lifetime outside steps that say otherwise."""
SETTINGS = CompanySettings(timing=RefreshTiming(max_jitter_seconds=60), cycles_per_run=3)


def faults_for(answer: Answer) -> tuple[dict[str, object] | None, dict[str, object]]:
    """The sandbox fault (None: grant) and settings that answer a step's requests as ``answer`` says.

    The sandbox cannot hold an answer or time out without real waiting: ``hold`` grants, ``timeout`` is a
    502 (both retried the same way); ``invalid_client`` is an ``invalid_request`` echoing the request (also a
    configuration error, and a hostile text the activities must redact); an omitted refresh token is kept.
    Transient faults fire once, so the activity's first retry (a real second or less) succeeds.
    """
    settings: dict[str, object] = {
        "token_ttl": answer.lifetime,
        "refresh_rotation": "strict" if answer.refresh == "rotate" else "off",
    }
    kind = {
        "lost": "commit_then_drop",
        "invalid_grant": "invalid_grant",
        "invalid_client": "echo_request",
        "rate_limited": "rate_limited",
        "server_error": "http_503",
        "timeout": "http_502",
    }.get(answer.kind)
    if kind is None:
        return None, settings
    fault: dict[str, object] = {"kind": kind, "count": 1}
    if kind == "rate_limited":
        fault["retry_after"] = "1"
    return fault, settings


class RealStack:
    """The stack, running on the test's event loop while the machine's steps run in a thread of their own;
    ``run`` waits there for a coroutine on the stack's loop."""

    def __init__(self, stack: Stack, loop: asyncio.AbstractEventLoop) -> None:
        self.stack = stack
        self.loop = loop
        self._workers = contextlib.AsyncExitStack()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=120)

    @contextlib.asynccontextmanager
    async def workers(self) -> AsyncIterator[None]:
        """Our workers, for the life of the context (``restart_workers`` swaps them)."""
        await self._workers.enter_async_context(self.stack.workers())
        try:
            yield
        finally:
            await self._workers.aclose()

    async def restart_workers(self) -> None:
        """Stop the workers and start new ones (nothing of the old ones' memory survives)."""
        await self._workers.aclose()
        await self._workers.enter_async_context(self.stack.workers())

    @contextlib.asynccontextmanager
    async def answering(self, answer: Answer) -> AsyncIterator[None]:
        """The sandbox answers this step's token requests as ``answer`` says, then goes back to granting."""
        http = self.stack.http
        fault, settings = faults_for(answer)
        (await http.post("/sandbox/settings", json=settings)).raise_for_status()
        if fault is not None:
            (await http.post("/sandbox/faults", json=fault)).raise_for_status()
        try:
            yield
        finally:
            (await http.request("DELETE", "/sandbox/faults", json={})).raise_for_status()
            reset = {"token_ttl": LIFETIME, "refresh_rotation": "off"}
            (await http.post("/sandbox/settings", json=reset)).raise_for_status()


@contextlib.asynccontextmanager
async def real_stack(env: WorkflowEnvironment) -> AsyncIterator[RealStack]:
    """A sandbox and our workers (no workflow cache) on ``env``, for the machine to drive from a thread."""
    config = SandboxConfig(auto_approve=True, token_ttl=LIFETIME, code_ttl=3600, rate_limit_per_minute=10**6)
    async with make_stack(
        env,
        fresh_task_queue(),
        config=config,
        company_settings=SETTINGS,
        max_cached_workflows=0,
        start_workers=False,
    ) as stack:
        real = RealStack(stack, asyncio.get_running_loop())
        async with real.workers():
            yield real
