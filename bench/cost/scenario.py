"""(7) Cost per company: billable Temporal actions per onboarding, refresh cycle and keep-alive day.

Counted by ``bench.cost.meter`` before and after each event, on a dev server of its own so nothing else
runs in the namespace. Each figure is the actions counted against the events that caused them (ratio:
actions per event), with a breakdown by action type. The company-month projections take Remote's one-hour tokens and the default settings: a proactive refresh
every ``3600 s - window - mean jitter``, an on-demand keep-alive a day, a continue-as-new every
``cycles_per_run`` cycles.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import httpx
from temporalio.testing import WorkflowEnvironment

from bench.cost.meter import FLUSH_SECONDS, MONTH, ActionMeter, Cost, month_cycles
from bench.figures import Figure
from bench.stack import Stack, dev_server, running_stack, unlimited_sandbox
from workflows.io.codec import Keyring, generate_key
from workflows.schedule import RefreshTiming
from workflows.types.company import CompanySettings, RefreshPolicy

__all__ = ["SHORT_TTL", "action_figures"]

TARGETS = {"onboarding": 10.0, "cycle": 3.0, "keepalive": 3.0}
SHORT_TTL = 8
"""Token lifetime while counting proactive cycles: a refresh every 4 s (half the lifetime, no jitter); the
keep-alive is as often. ``--quick`` halves it (the meter's flush still fits between two cycles)."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _between(meter: ActionMeter, events: int, run: Callable[[], Awaitable[None]]) -> Cost:
    """The actions that ``run`` caused (``events`` of them), with nothing else in flight before or after."""
    before = await meter.settled()
    await run()
    after = await meter.settled()
    return Cost(after - before, events)


async def _timed_cycles(meter: ActionMeter, stack: Stack, cycles: int, short_ttl: int) -> Cost:
    """Actions over ``cycles`` refreshes the workflow's own timer makes (each read just after a refresh)."""

    async def refreshed(count: int) -> None:
        wanted = stack.token_requests() + count
        deadline = time.monotonic() + count * short_ttl * 2
        while time.monotonic() < deadline:
            if stack.token_requests() >= wanted:
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"{count} refreshes did not come in time")
        await asyncio.sleep(FLUSH_SECONDS)  # its timer restarted and published; the next is seconds away

    await refreshed(1)  # the first cycle after onboarding may still carry onboarding's actions
    before = await meter.read()
    await refreshed(cycles)
    return Cost(await meter.read() - before, cycles)


@contextlib.asynccontextmanager
async def _stack(env: WorkflowEnvironment, ttl: int, settings: CompanySettings) -> AsyncIterator[Stack]:
    async with running_stack(env, unlimited_sandbox(token_ttl=ttl), company_settings=settings) as stack:
        yield stack


async def action_figures(cycles: int, onboardings: int, short_ttl: int = SHORT_TTL) -> list[Figure]:
    """Scenario (7) on its own dev server: counts, then the company-month projections."""
    port = _free_port()
    exact = RefreshTiming(max_jitter_seconds=0)
    proactive = CompanySettings(timing=exact)
    on_demand = CompanySettings(timing=exact, refresh_policy=RefreshPolicy.ON_DEMAND)
    keepalive = CompanySettings(
        timing=exact, refresh_policy=RefreshPolicy.ON_DEMAND, keepalive_seconds=short_ttl / 2
    )
    async with (
        dev_server(Keyring.parse(generate_key("bench-actions")), log_level="error", metrics_port=port) as env,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        meter = ActionMeter(http, env.client.namespace)
        async with _stack(env, 3600, on_demand) as stack:
            refs = [f"onboard-{i}" for i in range(onboardings)]

            async def onboard_all() -> None:
                for ref in refs:
                    await stack.connect(ref)

            async def read_all() -> None:
                for ref in refs:
                    await stack.oauth.token(ref, min_ttl=3600 + 60)  # stale for this read: one refresh

            onboarding = await _between(meter, onboardings, onboard_all)
            # Longer tokens from now on: each read's refresh brings one that answers it (a token shorter
            # than the min_ttl asked is refused after the refresh, never handed out).
            (await stack.http.post("/sandbox/settings", json={"token_ttl": 7200})).raise_for_status()
            on_read = await _between(meter, onboardings, read_all)
        async with _stack(env, short_ttl, proactive) as stack:
            await stack.connect("cycling")
            cycle = await _timed_cycles(meter, stack, cycles, short_ttl)
        async with _stack(env, short_ttl, CompanySettings(timing=exact, cycles_per_run=1)) as stack:
            await stack.connect("continuing")
            with_can = await _timed_cycles(meter, stack, cycles, short_ttl)
        async with _stack(env, 3600, keepalive) as stack:
            await stack.connect("idle")
            day = await _timed_cycles(meter, stack, cycles, short_ttl)
    return _figures(onboarding, on_read, cycle, with_can, day)


def _figures(onboarding: Cost, on_read: Cost, cycle: Cost, with_can: Cost, day: Cost) -> list[Figure]:
    defaults = CompanySettings()
    can = max(with_can.per_event - cycle.per_event, 0.0) / defaults.cycles_per_run
    per_month = month_cycles(defaults.timing)
    days = MONTH / timedelta(seconds=defaults.keepalive_seconds)
    proactive_month = per_month * (cycle.per_event + can)
    idle_month = days * (day.per_event + can)
    fleet = "10,000 companies: {:,.1f} M actions a month"
    return [
        _count("(7) actions per onboarding", onboarding, "onboarding", "onboardings"),
        _count("(7) actions per proactive refresh cycle", cycle, "cycle", "cycles"),
        _count("(7) actions per on-demand keep-alive day", day, "keepalive", "keep-alives"),
        Figure(
            "(7) actions per company-month, proactive",
            proactive_month,
            per_month,
            "",
            "1-h refreshes",
            TARGETS["cycle"],
            note=f"{per_month:.0f} refreshes of 1-hour tokens a month, continue-as-new every "
            f"{defaults.cycles_per_run} ({can:.3f} a cycle); " + fleet.format(proactive_month / 100),
        ),
        Figure(
            "(7) actions per company-month, on-demand idle",
            idle_month,
            days,
            "",
            "keep-alives",
            TARGETS["keepalive"],
            note=f"one keep-alive a day, nobody asking; each read that finds the token stale adds "
            f"{on_read.per_event:.1f} ({on_read.drivers()}); " + fleet.format(idle_month / 100),
        ),
    ]


def _count(label: str, cost: Cost, target: str, events: str) -> Figure:
    return Figure(
        label,
        float(cost.total),
        float(cost.events),
        "",
        events,
        TARGETS[target],
        note=f"per event: {cost.drivers()}",
    )
