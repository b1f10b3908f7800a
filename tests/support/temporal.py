"""The test servers' codec key and task queue names, and a runtime whose metrics tests read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from temporalio.runtime import MetricBuffer, MetricBufferDurationFormat, Runtime, TelemetryConfig

__all__ = ["TEST_KEYS", "Recorded", "Recorder", "fresh_task_queue"]

TEST_KEYS = "test-1:Xb6sfxafdYzyfowlIYuiRwC6WWcQxHqIY8o7bXUPxrw="
"""A fixed 256-bit test key, so a failing test's history can be decoded afterwards."""


def fresh_task_queue() -> str:
    """A task queue name no other test uses (for tests that need several)."""
    return f"tq-{uuid.uuid4()}"


@dataclass(frozen=True)
class Recorded:
    """One update: the metric's name, its labels and the value (durations in seconds)."""

    name: str
    labels: dict[str, str]
    value: float


class Recorder:
    """A runtime whose metrics go to a buffer, and what has been recorded through it so far."""

    def __init__(self) -> None:
        self.buffer = MetricBuffer(100_000, duration_format=MetricBufferDurationFormat.SECONDS)
        self.runtime = Runtime(telemetry=TelemetryConfig(metrics=self.buffer))
        self.updates: list[Recorded] = []

    def read(self) -> list[Recorded]:
        """Every update so far (the buffer is drained into ``updates``)."""
        for update in self.buffer.retrieve_updates():
            labels = {key: str(value) for key, value in update.attributes.items()}
            self.updates.append(Recorded(update.metric.name, labels, float(update.value)))
        return self.updates

    def of(self, name: str, **labels: str) -> list[float]:
        """The values recorded for ``name`` whose labels include ``labels``."""
        return [
            r.value
            for r in self.read()
            if r.name == name and all(r.labels.get(k) == v for k, v in labels.items())
        ]

    def latest(self, name: str, **labels: str) -> float | None:
        """The last value of a gauge with these labels, or None if it was never set."""
        values = self.of(name, **labels)
        return values[-1] if values else None
