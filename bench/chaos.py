"""``--chaos``: a refresh storm while the worker process is killed and replaced, then a token-endpoint outage.

The worker runs as a real process (``python -m worker``) so SIGKILL is a real crash: nothing is flushed,
in-flight activities are abandoned and Temporal must hand them to the replacement. Loopback only.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from temporalio.client import Client

from bench.process import worker_env, worker_process
from bench.stack import BenchStack, dev_server, unlimited_sandbox
from sandbox.testing import running_sandbox
from worker.api import RemoteOAuth
from workflows.codec import generate_key
from workflows.consent import FreshnessRequest, Phase

__all__ = ["ChaosResult", "chaos", "run_chaos"]

OUTAGE_SECONDS = 3.0


@dataclass(frozen=True)
class ChaosResult:
    """How every company came out of a worker crash and an outage."""

    companies: int
    active: int
    revoked: int
    live_tokens: int
    """Companies whose current token the sandbox still accepts."""
    refreshes: int
    outage_503s: int
    seconds: float

    @property
    def lost(self) -> int:
        """Consents lost: companies that are no longer active with a working token."""
        return self.companies - min(self.active, self.live_tokens)


async def _storm(stack: BenchStack, refs: list[str]) -> None:
    forced = FreshnessRequest(min_ttl_seconds=float(stack.sandbox.store.config.token_ttl + 60))
    await asyncio.gather(*(stack.oauth._ensure_fresh(ref, forced) for ref in refs))


async def _until(predicate: Callable[[], bool], seconds: float) -> None:
    """Poll a synchronous check of the in-process sandbox, at most ``seconds``."""
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)


async def chaos(client: Client, keys: str, *, companies: int, seconds: float) -> ChaosResult:
    """Connect, storm while killing the worker, storm through an outage; then check every company."""
    queue = f"chaos-{uuid.uuid4()}"
    started = time.monotonic()
    async with (
        running_sandbox(unlimited_sandbox()) as sandbox,
        httpx.AsyncClient(base_url=sandbox.url) as http,
        asyncio.timeout(seconds),
    ):
        env = worker_env(client, sandbox, keys, queue)
        stack = BenchStack(client, sandbox, RemoteOAuth(client, task_queue=queue), http, queue)
        refs = [f"chaos-{uuid.uuid4().hex[:16]}" for _ in range(companies)]
        store = sandbox.store
        async with worker_process(env) as first:
            await asyncio.gather(*(stack.connect(ref) for ref in refs))
            storm = asyncio.create_task(_storm(stack, refs))
            # Kill mid-storm: once the first refreshes reached the gateway, the rest are in flight or queued.
            await _until(lambda: store.token_requests["refresh_token"] > 0, 10.0)
            first.kill()
            await first.wait()
        async with worker_process(env):
            await storm
            await http.post(
                "/sandbox/faults", json={"kind": "http_503", "fraction": 1.0, "grant_type": "refresh_token"}
            )
            outage = asyncio.create_task(_storm(stack, refs))
            await asyncio.sleep(OUTAGE_SECONDS)  # the outage's length, not a wait for something
            await http.delete("/sandbox/faults")
            await outage
            statuses = [await stack.oauth.status(ref) for ref in refs]
            tokens = [await stack.oauth.token(ref) for ref in refs]
    return ChaosResult(
        companies=companies,
        active=sum(1 for s in statuses if s.phase is Phase.ACTIVE),
        revoked=sum(1 for s in statuses if s.phase is Phase.CONSENT_REVOKED),
        live_tokens=sum(1 for t in tokens if store.live_access_token(t.access_token) is not None),
        refreshes=store.token_requests["refresh_token"],
        outage_503s=store.token_responses.get("503", 0),
        seconds=time.monotonic() - started,
    )


async def run_chaos(*, quick: bool) -> int:
    """Print the chaos figure; exit status 1 when any consent was lost."""
    companies = 10 if quick else 50
    keys = generate_key("bench-chaos")
    async with dev_server(keys) as env:
        result = await chaos(env.client, keys, companies=companies, seconds=150.0)
    print(
        f"chaos: worker SIGKILLed mid refresh storm and replaced, then a {OUTAGE_SECONDS:.0f} s token-endpoint "
        f"outage (http_503): {result.active}/{result.companies} active, {result.revoked} revoked, "
        f"{result.live_tokens} live tokens, {result.refreshes} refresh requests ({result.outage_503s} answered "
        f"503) in {result.seconds:.0f} s; lost consents {result.lost} (target 0) "
        f"{'met' if result.lost == 0 else 'MISSED'}",
        flush=True,
    )
    return 0 if result.lost == 0 else 1
