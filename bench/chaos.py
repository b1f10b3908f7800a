"""``--chaos``: worker crashes, a long token-endpoint outage and lost responses; every line counts lost consents.

Workers run as real processes (``python -m worker``) where a crash matters, so SIGKILL is a real crash:
nothing is flushed, in-flight activities are abandoned and Temporal must hand them to another worker. The
outage runs on the time-skipping server, so 30 minutes of 503s pass in seconds. Loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from bench.process import start_worker, stop_worker, worker_env
from bench.stack import Stack, bench_stack, dev_server, running_stack, time_skipping_server, unlimited_sandbox
from sandbox.config import SandboxConfig
from workflows.company import CompanyConsentWorkflow
from workflows.io.codec import Keyring, generate_key
from workflows.types.company import FreshnessRequest, Phase, company_workflow_id
from workflows.types.kept_token import token_digest
from workflows.types.tokens import TokenGrant

__all__ = ["Outcome", "kill_storm", "lost_responses", "outage", "run_chaos", "two_workers"]

GATE = 20
"""Calls in flight at once while connecting and checking companies."""
LOST_RESPONSE = "response was probably lost"
"""What a strict-rotation loss must say (``TokenActivities.refresh``)."""


@dataclass(frozen=True)
class Outcome:
    """How every company came out of one scenario."""

    scenario: str
    companies: int
    active: int
    revoked: int
    live_tokens: int
    """Active companies whose current token the sandbox accepts."""
    seconds: float
    detail: str = ""
    reported_losses: int = 0
    """Companies revoked with a reason that says a refresh response was lost (strict rotation only)."""

    @property
    def lost(self) -> int:
        """Consents lost without a word: not active with a working token, and not reported as a lost response."""
        return self.companies - self.live_tokens - self.reported_losses

    @property
    def not_active(self) -> int:
        return self.companies - self.active

    def line(self) -> str:
        verdict = "met" if self.lost == 0 else "MISSED"
        return (
            f"chaos: {self.scenario}: {self.active}/{self.companies} active, {self.revoked} revoked "
            f"({self.reported_losses} reported as a lost response), {self.live_tokens} live tokens, "
            f"{self.not_active} not active; {self.detail}; {self.seconds:.0f} s; "
            f"lost consents {self.lost} (target 0) {verdict}"
        )


async def _bounded(calls: list[Callable[[], Awaitable[object]]]) -> list[object]:
    """Run the calls, ``GATE`` at a time; exceptions are returned, not raised (a storm counts them)."""
    gate = asyncio.Semaphore(GATE)

    async def one(call: Callable[[], Awaitable[object]]) -> object:
        async with gate:
            return await call()

    return await asyncio.gather(*(one(call) for call in calls), return_exceptions=True)


async def _connect(stack: Stack, refs: list[str]) -> None:
    failures = [
        r for r in await _bounded([functools.partial(stack.connect, ref) for ref in refs]) if r is not None
    ]
    if failures:
        raise RuntimeError(f"{len(failures)} companies did not connect: {failures[0]!r}")


async def _storm(stack: Stack, refs: list[str], seen: dict[str, object]) -> int:
    """Every company refreshes at once (a 401 report for the token it last handed out, through the update
    callers use); returns how many calls failed. ``seen`` keeps each company's latest token across storms."""

    async def force(ref: str) -> None:
        token = seen.get(ref)
        if not isinstance(token, TokenGrant):
            token = seen[ref] = await _current_token(stack.client, ref)
        request = FreshnessRequest(
            rejected_token_sha256=token_digest(token) if isinstance(token, TokenGrant) else None
        )
        seen[ref] = await stack.oauth._ensure_fresh(ref, request)

    results = await asyncio.gather(*(force(ref) for ref in refs), return_exceptions=True)
    return sum(1 for result in results if isinstance(result, BaseException))


async def _current_token(client: Client, ref: str) -> object:
    """The workflow's own view of its token (the API's client-side freshness check would read the real
    clock, which on the time-skipping server lags workflow time)."""
    handle = client.get_workflow_handle_for(CompanyConsentWorkflow.run, company_workflow_id(ref))
    return await handle.query(CompanyConsentWorkflow.current_token)


async def _outcome(stack: Stack, refs: list[str], scenario: str, started: float, detail: str) -> Outcome:
    """Ask every workflow for its phase and token, and the sandbox whether that token works."""
    store = stack.sandbox.store
    statuses = await _bounded([functools.partial(stack.oauth.status, ref) for ref in refs])
    active = [ref for ref, s in zip(refs, statuses, strict=True) if getattr(s, "phase", None) is Phase.ACTIVE]
    tokens = await _bounded([functools.partial(_current_token, stack.client, ref) for ref in active])
    revoked = [s for s in statuses if getattr(s, "phase", None) is Phase.CONSENT_REVOKED]
    return Outcome(
        scenario=scenario,
        companies=len(refs),
        active=len(active),
        revoked=len(revoked),
        live_tokens=sum(
            1
            for token in tokens
            if token is not None
            and not isinstance(token, BaseException)
            and store.live_access_token(getattr(token, "access_token", "")) is not None
        ),
        reported_losses=sum(1 for s in revoked if LOST_RESPONSE in (getattr(s, "last_error", None) or "")),
        seconds=time.monotonic() - started,
        detail=detail,
    )


@contextlib.asynccontextmanager
async def _process_stack(
    server: WorkflowEnvironment, keys: str, config: SandboxConfig
) -> AsyncIterator[tuple[Stack, dict[str, str]]]:
    """A sandbox and the API on a fresh queue; the caller runs the worker processes (their environment)."""
    queue = f"chaos-{uuid.uuid4()}"
    async with running_stack(server, config, task_queue=queue, start_workers=False) as stack:
        yield stack, worker_env(server.client, stack.sandbox, keys, queue)


async def kill_storm(
    server: WorkflowEnvironment, keys: str, *, companies: int, storm_seconds: float, kill_every: float
) -> Outcome:
    """Refresh storms for ``storm_seconds`` while the worker is SIGKILLed every ``kill_every`` s and restarted."""
    started = time.monotonic()
    refs = [f"chaos-{uuid.uuid4().hex[:16]}" for _ in range(companies)]
    async with _process_stack(server, keys, unlimited_sandbox()) as (stack, env):
        with tempfile.TemporaryFile() as log:
            worker = await start_worker(env, log)
            try:
                await _connect(stack, refs)
                deadline = time.monotonic() + storm_seconds
                rounds = failed_calls = kills = 0
                seen: dict[str, object] = {}

                async def storms() -> None:
                    nonlocal rounds, failed_calls
                    while time.monotonic() < deadline:
                        failed_calls += await _storm(stack, refs, seen)
                        rounds += 1

                storming = asyncio.create_task(storms())
                while not storming.done():
                    await asyncio.wait({storming}, timeout=kill_every)
                    if storming.done() or time.monotonic() >= deadline:
                        break
                    worker.kill()
                    await worker.wait()
                    kills += 1
                    worker = await start_worker(env, log)
                await storming
                refreshed = stack.sandbox.store.token_requests["refresh_token"]
                detail = (
                    f"{rounds} storms in {storm_seconds:.0f} s, worker SIGKILLed {kills}x (every {kill_every:.0f} s) "
                    f"and restarted, {refreshed} refreshes, {failed_calls} update calls failed and were not retried"
                )
                return await _outcome(
                    stack,
                    refs,
                    f"{companies} companies, worker killed every {kill_every:.0f} s",
                    started,
                    detail,
                )
            finally:
                await stop_worker(worker)


async def two_workers(server: WorkflowEnvironment, keys: str, *, companies: int) -> Outcome:
    """Two worker processes share the queue; one is SIGKILLed mid storm and the other finishes the work."""
    started = time.monotonic()
    refs = [f"chaos-{uuid.uuid4().hex[:16]}" for _ in range(companies)]
    async with _process_stack(server, keys, unlimited_sandbox()) as (stack, env):
        with tempfile.TemporaryFile() as log:
            doomed, survivor = await start_worker(env, log), await start_worker(env, log)
            try:
                await _connect(stack, refs)
                store = stack.sandbox.store
                before = store.token_requests["refresh_token"]
                storm = asyncio.create_task(_storm(stack, refs, {}))
                for _ in range(1000):  # kill once the storm reached the gateway (at most 20 s)
                    if store.token_requests["refresh_token"] > before or storm.done():
                        break
                    await asyncio.sleep(0.02)
                doomed.kill()
                await doomed.wait()
                failed = await storm
                detail = f"one of two workers SIGKILLed mid storm, {failed} update calls failed"
                return await _outcome(stack, refs, f"{companies} companies, two workers", started, detail)
            finally:
                await stop_worker(doomed)
                await stop_worker(survivor)


async def outage(env: WorkflowEnvironment, *, companies: int, minutes: int) -> Outcome:
    """The token endpoint answers 503 to every refresh for ``minutes`` of skipped time, then recovers."""
    started = time.monotonic()
    refs = [f"chaos-{uuid.uuid4().hex[:16]}" for _ in range(companies)]
    ttl = 600  # refreshed about every 5 minutes: several refreshes fall inside the outage
    async with bench_stack(env, unlimited_sandbox(token_ttl=ttl)) as stack:
        await _connect(stack, refs)
        store = stack.sandbox.store
        fault = {"kind": "http_503", "fraction": 1.0, "grant_type": "refresh_token"}
        (await stack.http.post("/sandbox/faults", json=fault)).raise_for_status()
        # A minute at a time: one long sleep is one RPC, and a busy test server can outlast its deadline.
        for _ in range(minutes):
            await env.sleep(timedelta(minutes=1))
        refused = store.token_responses.get("503", 0)
        (await stack.http.request("DELETE", "/sandbox/faults", json={})).raise_for_status()
        # Retries back off to at most a minute, then the workflow retries the refresh a minute later.
        await env.sleep(timedelta(minutes=3))
        detail = (
            f"{minutes:.0f} min of 503s on every refresh (skipped time), {refused} refresh attempts refused, "
            f"{store.token_requests['refresh_token']} refresh requests"
        )
        return await _outcome(stack, refs, f"{companies} companies, token endpoint down", started, detail)


async def lost_responses(server: WorkflowEnvironment, *, companies: int, rotation: str) -> Outcome:
    """A refresh storm in which a third of refreshes are committed by the gateway and their answer dropped."""
    started = time.monotonic()
    refs = [f"chaos-{uuid.uuid4().hex[:16]}" for _ in range(companies)]
    config = SandboxConfig(
        auto_approve=True, code_ttl=3600, rate_limit_per_minute=10**9, refresh_rotation=rotation
    )
    async with bench_stack(server, config) as stack:
        await _connect(stack, refs)
        fault = {"kind": "commit_then_drop", "fraction": 1 / 3, "grant_type": "refresh_token"}
        (await stack.http.post("/sandbox/faults", json=fault)).raise_for_status()
        failed = await _storm(stack, refs, {})
        fired = sum(int(item["fired"]) for item in stack.sandbox.store.faults.describe())
        detail = f"refresh rotation {rotation}, {fired} refresh answers dropped after commit, {failed} update calls failed"
        return await _outcome(stack, refs, f"{companies} companies, lost responses", started, detail)


async def run_chaos(*, quick: bool) -> int:
    """Print one line per scenario; exit status 1 when any consent was lost without a word."""
    keys = generate_key("bench-chaos")
    sizes = (10, 4.0, 2.0, 5, 10) if quick else (1000, 60.0, 10.0, 200, 100)
    companies, storm_seconds, kill_every, small, lossy = sizes
    outcomes: list[Outcome] = []

    def show(outcome: Outcome) -> None:
        outcomes.append(outcome)
        print(outcome.line(), flush=True)

    limit = 300.0 if quick else 1800.0
    try:
        async with asyncio.timeout(limit):  # bounded: a scenario that cannot finish is a failure, not a hang
            async with dev_server(Keyring.parse(keys), log_level="error") as dev:
                show(
                    await kill_storm(
                        dev,
                        keys,
                        companies=companies,
                        storm_seconds=storm_seconds,
                        kill_every=kill_every,
                    )
                )
                show(await two_workers(dev, keys, companies=small))
                show(await lost_responses(dev, companies=lossy, rotation="off"))
                show(await lost_responses(dev, companies=lossy, rotation="strict"))
            async with time_skipping_server(Keyring.parse(keys)) as skipping:
                show(await outage(skipping, companies=small, minutes=30))
    except TimeoutError:
        print(
            f"chaos: stopped after {limit:.0f} s with {len(outcomes)} of 5 scenarios done: MISSED", flush=True
        )
        return 1
    return 0 if all(outcome.lost == 0 for outcome in outcomes) else 1
