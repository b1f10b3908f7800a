"""``--rate``: two worker sets polling one token task queue stay under one fleet-wide budget together.

The budget is ``max_task_queue_activities_per_second``, which the Temporal server enforces for the queue,
not per worker; this measures it where it matters, at the sandbox, by sampling its token-request counter.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import time
import uuid
from dataclasses import dataclass

from temporalio.client import Client
from temporalio.runtime import Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment

from bench.stack import Stack, dev_server, running_stack, unlimited_sandbox
from worker.runner import running_workers
from workflows.io.codec import Keyring, generate_key
from workflows.types.company import CompanySettings, FreshnessRequest
from workflows.types.kept_token import token_digest

__all__ = ["RateResult", "fleet_rate", "run_rate"]

SAMPLE_SECONDS = 0.05
WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class RateResult:
    """Token requests the sandbox saw while two workers shared one budget."""

    budget_per_minute: float
    requests: int
    span_seconds: float
    """From the first token request to the last."""
    peak_in_window: int
    """Most requests in any ``WINDOW_SECONDS`` (the whole run when it is shorter)."""
    rate_limited: int
    """429s the sandbox answered (its own limit is Remote's 250 per minute)."""
    companies_refreshed: int

    @property
    def per_minute(self) -> float:
        """Average over the span: n requests make n - 1 gaps."""
        return (self.requests - 1) / self.span_seconds * 60.0 if self.span_seconds > 0 else float("inf")

    @property
    def burst(self) -> int:
        """Requests the server's token bucket may let through at once (about one second's worth, plus one)."""
        return math.ceil(self.budget_per_minute / 60.0) + 1

    @property
    def under_budget(self) -> bool:
        """Within the budget over the span and over any minute, allowing the token bucket's initial burst."""
        allowed_in_span = self.budget_per_minute * self.span_seconds / 60.0 + self.burst
        return self.requests <= allowed_in_span and self.peak_in_window <= self.budget_per_minute + self.burst


async def _sample(stack: Stack, times: list[float], stop: asyncio.Event) -> None:
    """Record when each token request arrived (to within one sample), until ``stop``."""
    seen = 0
    while True:
        stopping = stop.is_set()  # read before the count, so the last sample comes after the last request
        now = stack.token_requests()
        times.extend([time.monotonic()] * (now - seen))
        seen = now
        if stopping:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_SECONDS)


def _peak(times: list[float]) -> int:
    peak, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= WINDOW_SECONDS:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


async def _second_process_client(client: Client) -> Client:
    """A client on a runtime of its own, as a second worker process would have.

    The SDK refuses two workers for one task queue on one runtime; a runtime is what a process has.
    """
    config = client.config()
    return await Client.connect(
        client.service_client.config.target_host,
        namespace=client.namespace,
        data_converter=config["data_converter"],
        runtime=Runtime(telemetry=TelemetryConfig()),
    )


async def fleet_rate(
    server: WorkflowEnvironment, *, companies: int, budget_per_minute: float, seconds: float
) -> RateResult:
    """Connect ``companies`` and refresh each once through two worker sets; bounded by ``seconds``."""
    token_queue = f"rate-token-{uuid.uuid4()}"
    async with running_stack(
        server,
        unlimited_sandbox(rate_limit_per_minute=250),
        task_queue=f"rate-{uuid.uuid4()}",
        company_settings=CompanySettings(token_task_queue=token_queue),
        start_workers=False,
    ) as stack:
        sandbox, oauth, client = stack.sandbox, stack.oauth, stack.client
        opts = dataclasses.replace(
            stack.worker_options, token_task_queue=token_queue, token_requests_per_minute=budget_per_minute
        )
        second = await _second_process_client(client)
        async with (
            running_workers(client, stack.settings, opts),
            running_workers(second, stack.settings, opts),
        ):
            refs = [f"rate-{uuid.uuid4().hex[:16]}" for _ in range(companies)]
            times: list[float] = []
            stop = asyncio.Event()
            sampler = asyncio.create_task(_sample(stack, times, stop))

            async def lifecycle(ref: str) -> None:
                await stack.connect(ref)
                # A forced refresh (a 401 report for the token): one more token request.
                rejected = token_digest(await oauth.token(ref))
                await oauth._ensure_fresh(ref, FreshnessRequest(rejected_token_sha256=rejected))

            try:
                async with asyncio.timeout(seconds):
                    await asyncio.gather(*(lifecycle(ref) for ref in refs))
            finally:
                stop.set()
                await sampler
        refreshed = sandbox.store.token_requests["refresh_token"]
        return RateResult(
            budget_per_minute=budget_per_minute,
            requests=len(times),
            span_seconds=times[-1] - times[0] if times else 0.0,
            peak_in_window=_peak(times),
            rate_limited=sandbox.store.rate_limited,
            companies_refreshed=refreshed,
        )


async def run_rate(*, quick: bool) -> int:
    """Print the fleet rate figure; exit status 1 when the fleet went over its budget."""
    companies, budget = (12, 120.0) if quick else (40, 120.0)
    async with dev_server(Keyring.parse(generate_key("bench-1")), log_level="error") as env:
        result = await fleet_rate(env, companies=companies, budget_per_minute=budget, seconds=80.0)
    verdict = "met" if result.under_budget else "MISSED"
    print(
        f"fleet rate limit, two workers, one token queue: {result.per_minute:.1f} requests/min over "
        f"{result.span_seconds:.1f} s ({result.requests} requests, peak {result.peak_in_window} in any "
        f"{WINDOW_SECONDS:.0f} s) vs budget {budget:.0f}/min: ratio {result.per_minute / budget:.2f}x "
        f"target <=1.00 {verdict}; {result.rate_limited} answered 429; "
        f"{result.companies_refreshed}/{companies} companies refreshed",
        flush=True,
    )
    return 0 if result.under_budget else 1
