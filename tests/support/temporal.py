"""The test servers' codec key and task queue names."""

from __future__ import annotations

import uuid

__all__ = ["TEST_KEYS", "fresh_task_queue"]

TEST_KEYS = "test-1:Xb6sfxafdYzyfowlIYuiRwC6WWcQxHqIY8o7bXUPxrw="
"""A fixed 256-bit test key, so a failing test's history can be decoded afterwards."""


def fresh_task_queue() -> str:
    """A task queue name no other test uses (for tests that need several)."""
    return f"tq-{uuid.uuid4()}"
