"""Heartbeats while a gateway call is slow, so a dead worker's call is retried in seconds, not at its timeout.

A gateway attempt may take up to ``REMOTE_HTTP_TIMEOUT`` (25 s at most) and its ``start_to_close_timeout`` is
30 s: without heartbeats, the calls of a worker that crashed are only retried elsewhere when that runs out.
With the token options' ``heartbeat`` timeout the server notices within 10 s. A call that is answered within
``EVERY`` (nearly all of them) sends no heartbeat at all: no extra RPC on the common path, and a timer handle,
not a task, so the fast path costs microseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from temporalio import activity

EVERY = 3.0
"""Seconds between heartbeats while a call is in flight (the SDK throttles sends to 0.8 of the timeout)."""


@contextlib.contextmanager
def while_slow(every: float | None = None) -> Iterator[None]:
    """Heartbeat every ``every`` seconds (``EVERY``) for as long as the block runs (outside an activity: nothing)."""
    if not activity.in_activity():
        yield
        return
    interval = EVERY if every is None else every
    loop = asyncio.get_running_loop()
    handle: asyncio.TimerHandle | None = None

    def beat() -> None:
        nonlocal handle
        activity.heartbeat()
        handle = loop.call_later(interval, beat)

    handle = loop.call_later(interval, beat)
    try:
        yield
    finally:
        handle.cancel()


__all__ = ["EVERY", "while_slow"]
