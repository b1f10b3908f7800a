"""Shared fixtures: the bundled Temporal servers, a codec keyring, fresh task queues.

Both servers are session-scoped and their clients carry the test keyring's codec, as production does.
Read what Temporal stored with ``with_converter(env.client, DataConverter.default)``.

Unfinished-handler warnings from the SDK stay errors (pyproject's ``filterwarnings = ["error"]``): a
workflow that ends with an update or signal handler still running is a bug here.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from bench.stack import time_skipping_server
from worker import temporal
from worker.api.token_cache import TokenCache
from workflows.company_effects import SEARCH_ATTRIBUTES
from workflows.io.codec import Keyring, data_converter

TEST_KEYS = "test-1:Xb6sfxafdYzyfowlIYuiRwC6WWcQxHqIY8o7bXUPxrw="
"""A fixed 256-bit test key, so a failing test's history can be decoded afterwards."""


def api_token_cache(env: WorkflowEnvironment) -> TokenCache | None:
    """The API's token cache on ``env``: none kept on a time-skipping server, whose skipped hours this
    process's clock never sees (a kept token would outlive the refreshes); the default on the dev server."""
    return TokenCache(0) if env.supports_time_skipping else None


def fresh_task_queue() -> str:
    """A task queue name no other test uses (for tests that need several)."""
    return f"tq-{uuid.uuid4()}"


@pytest.fixture
def task_queue() -> str:
    """A task queue name unique to this test, so leftover tasks of other tests never reach its worker."""
    return fresh_task_queue()


@pytest.fixture(scope="session")
def temporal_binary() -> str:
    """Path of the bundled ``temporal`` CLI (dev server)."""
    return temporal.temporal_binary()


@pytest.fixture(scope="session")
def test_server_binary() -> str:
    """Path of the bundled time-skipping ``temporal-test-server``."""
    return temporal.test_server_binary()


@pytest.fixture(scope="session")
def test_keyring() -> Keyring:
    """The keyring every test server client encodes with."""
    return Keyring.parse(TEST_KEYS)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def time_skipping_env(
    test_server_binary: str, test_keyring: Keyring
) -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (timers of hours pass in milliseconds); its client has the codec."""
    async with time_skipping_server(test_keyring, test_server_binary) as env:
        yield env


@pytest_asyncio.fixture(loop_scope="session")
async def own_time_skipping_env(
    test_server_binary: str, test_keyring: Keyring
) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server for one test alone.

    Skipping time on a shared server also fires the timers of earlier tests' workflows, whose workers are
    gone: their workflow tasks never complete and time skipping stalls. Tests that sleep use this one.
    """
    async with time_skipping_server(test_keyring, test_server_binary) as env:
        yield env


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_server_env(temporal_binary: str, test_keyring: Keyring) -> AsyncIterator[WorkflowEnvironment]:
    """The dev server (real clock, search attributes and visibility); its client has the codec."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary,
        ui=False,
        search_attributes=SEARCH_ATTRIBUTES,
        data_converter=data_converter(test_keyring),
    )
    try:
        yield env
    finally:
        await env.shutdown()
