"""Shared fixtures: the bundled Temporal servers, a codec keyring, fresh task queues, and the stack.

Both servers are session-scoped and their clients carry the test keyring's codec, as production does.
Read what Temporal stored with ``with_converter(env.client, DataConverter.default)``. The stack is
``bench.stack.running_stack`` (the one the bench measures) with the tests' settings (``tests.support.stack``).

Unfinished-handler warnings from the SDK stay errors (pyproject's ``filterwarnings = ["error"]``): a
workflow that ends with an update or signal handler still running is a bug here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from bench.stack import dev_server, time_skipping_server
from tests.support.stack import Stack, make_stack
from tests.support.temporal import TEST_KEYS, fresh_task_queue
from worker import temporal
from workflows.io.codec import Keyring


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
    async with dev_server(test_keyring, binary=temporal_binary) as env:
        yield env


@pytest_asyncio.fixture(loop_scope="session")
async def stack(own_time_skipping_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Stack]:
    """A sandbox, a worker and the API, on a time-skipping server of this test's own."""
    async with make_stack(own_time_skipping_env, task_queue) as built:
        yield built


@pytest_asyncio.fixture(loop_scope="session")
async def dev_stack(dev_server_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Stack]:
    """The same on the dev server, which (unlike the test server) writes nothing for a rejected update."""
    async with make_stack(dev_server_env, task_queue) as built:
        yield built
