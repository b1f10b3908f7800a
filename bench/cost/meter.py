"""Billable Temporal actions, as the dev server counts them, and what they add up to in a month.

The dev server's ``action`` counter (the metric Temporal meters actions with, by ``action_type``) is read
from its Prometheus endpoint; a ``Cost`` is the actions counted against the events that caused them, with a
breakdown by action type, so a figure that misses its target names what drives it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import httpx

from workflows.schedule import RefreshTiming, refresh_window

__all__ = ["FLUSH_SECONDS", "HOUR_TOKEN", "MONTH", "ActionMeter", "Cost", "month_cycles"]

MONTH = timedelta(days=30)
HOUR_TOKEN = timedelta(hours=1)
FLUSH_SECONDS = 1.2
"""The dev server publishes its counters a moment after the event (about 0.5 s here): read after this."""
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
    window = refresh_window(HOUR_TOKEN, timing)
    jitter = min(timedelta(seconds=timing.max_jitter_seconds / 2), window / 4)
    return MONTH / (HOUR_TOKEN - window - jitter)
