"""(7) Cost per company: billable Temporal actions per onboarding, refresh cycle and keep-alive day.

Counted from the dev server's own ``action`` counter (the metric Temporal meters actions with, by
``action_type``), read from its Prometheus endpoint before and after each event, on a dev server of its own
so nothing else runs in the namespace. Each figure is the actions counted against the events that caused
them (ratio: actions per event) with a breakdown by action type, so a missed target names what drives it.
The company-month projections take Remote's one-hour tokens and the default settings: a proactive refresh
every ``3600 s - window - mean jitter``, an on-demand keep-alive a day, a continue-as-new every
``cycles_per_run`` cycles.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
from temporalio.testing import WorkflowEnvironment

from bench.figures import Figure
from bench.stack import Stack, dev_server, running_stack, unlimited_sandbox
from workflows.io.codec import Keyring, generate_key
from workflows.schedule import RefreshTiming, refresh_window
from workflows.types.company import CompanySettings, RefreshPolicy

__all__ = ["ActionMeter", "Cost", "action_figures", "month_cycles"]

MONTH = timedelta(days=30)
REMOTE_TOKEN = timedelta(hours=1)
TARGETS = {"onboarding": 10.0, "cycle": 3.0, "keepalive": 3.0}
FLUSH_SECONDS = 1.2
"""The dev server publishes its counters a moment after the event (about 0.5 s here): read after this."""
SHORT_TTL = 8
"""Token lifetime while counting proactive cycles: a refresh every 4 s (half the lifetime, no jitter)."""
KEEPALIVE_SECONDS = 4.0
_ACTION = re.compile(r"^action\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


class ActionMeter:
    """The dev server's ``action`` counter for one namespace, by action type."""

    def __init__(self, http: httpx.AsyncClient, namespace: str) -> None:
        self._http = http
        self._namespace = namespace

    async def read(self) -> Counter[str]:
        """The counter as the server publishes it now."""
        counts: Counter[str] = Counter()
        for line in (await self._http.get("/metrics")).text.splitlines():
            match = _ACTION.match(line)
            if match is None:
                continue
            labels = dict(_LABEL.findall(match["labels"]))
            if labels.get("namespace") == self._namespace:
                counts[labels.get("action_type", "?")] += int(float(match["value"]))
        return counts

    async def settled(self, quiet: float = FLUSH_SECONDS, limit: float = 15.0) -> Counter[str]:
        """The counter once it has not changed for ``quiet`` seconds (nothing left in flight)."""
        deadline = time.monotonic() + limit
        last, since = await self.read(), time.monotonic()
        while time.monotonic() - since < quiet and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            now = await self.read()
            if now != last:
                last, since = now, time.monotonic()
        return last


@dataclass(frozen=True)
class Cost:
    """Actions counted while ``events`` events happened."""

    actions: Counter[str]
    events: int

    @property
    def total(self) -> int:
        return sum(self.actions.values())

    @property
    def per_event(self) -> float:
        return self.total / self.events

    def drivers(self) -> str:
        """Per event, by action type, largest first: what to change to lower the figure."""
        parts = [
            f"{kind.removeprefix('command_')} {n / self.events:.2g}" for kind, n in self.actions.most_common()
        ]
        return ", ".join(parts) or "none"


def month_cycles(timing: RefreshTiming) -> float:
    """Proactive refreshes of one company in a 30-day month of one-hour tokens (mean jitter)."""
    window = refresh_window(REMOTE_TOKEN, timing)
    jitter = min(timedelta(seconds=timing.max_jitter_seconds / 2), window / 4)
    return MONTH / (REMOTE_TOKEN - window - jitter)


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


async def _timed_cycles(meter: ActionMeter, stack: Stack, cycles: int) -> Cost:
    """Actions over ``cycles`` refreshes the workflow's own timer makes (each read just after a refresh)."""

    async def refreshed(count: int) -> None:
        wanted = stack.token_requests() + count
        deadline = time.monotonic() + count * SHORT_TTL * 2
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


async def action_figures(cycles: int, onboardings: int) -> list[Figure]:
    """Scenario (7) on its own dev server: counts, then the company-month projections."""
    port = _free_port()
    exact = RefreshTiming(max_jitter_seconds=0)
    proactive = CompanySettings(timing=exact)
    on_demand = CompanySettings(timing=exact, refresh_policy=RefreshPolicy.ON_DEMAND)
    keepalive = CompanySettings(
        timing=exact, refresh_policy=RefreshPolicy.ON_DEMAND, keepalive_seconds=KEEPALIVE_SECONDS
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
            on_read = await _between(meter, onboardings, read_all)
        async with _stack(env, SHORT_TTL, proactive) as stack:
            await stack.connect("cycling")
            cycle = await _timed_cycles(meter, stack, cycles)
        async with _stack(env, SHORT_TTL, CompanySettings(timing=exact, cycles_per_run=1)) as stack:
            await stack.connect("continuing")
            with_can = await _timed_cycles(meter, stack, cycles)
        async with _stack(env, 3600, keepalive) as stack:
            await stack.connect("idle")
            day = await _timed_cycles(meter, stack, cycles)
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
