"""Fixtures of the activity tests against a real sandbox: the leak watch, and a sandbox it watches."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from sandbox.testing import RunningSandbox, running_sandbox
from tests.support.sandbox_gateway import CONFIG, LeakWatch


@pytest.fixture
def leaks(caplog: pytest.LogCaptureFixture) -> Iterator[LeakWatch]:
    """Every log record at DEBUG is kept; after the test, no text may hold a credential."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "workflows", "temporalio"):
        caplog.set_level(logging.DEBUG, logger=name)
    watch = LeakWatch(caplog)
    yield watch
    watch.check()


@pytest_asyncio.fixture
async def sandbox(leaks: LeakWatch) -> AsyncIterator[RunningSandbox]:
    """A sandbox on 127.0.0.1 whose issued tokens and codes the leak watch looks for."""
    async with running_sandbox(CONFIG) as running:
        leaks.sandboxes.append(running)
        yield running
