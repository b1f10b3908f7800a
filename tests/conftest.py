"""Shared fixtures: the bundled Temporal servers, a codec keyring, fresh task queues.

Both servers are session-scoped and their clients carry the test keyring's codec, as production does.
Read what Temporal stored with ``with_converter(env.client, DataConverter.default)``.

Unfinished-handler warnings from the SDK stay errors (pyproject's ``filterwarnings = ["error"]``): a
workflow that ends with an update or signal handler still running is a bug here.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from worker import temporal
from workflows.codec import Keyring, data_converter

TEST_KEYS = "test-1:Xb6sfxafdYzyfowlIYuiRwC6WWcQxHqIY8o7bXUPxrw="
"""A fixed 256-bit test key, so a failing test's history can be decoded afterwards."""

SEARCH_ATTRIBUTES = (
    SearchAttributeKey.for_keyword("RemoteOAuthState"),
    SearchAttributeKey.for_keyword("RemoteCompanyId"),
)
"""The company workflow's search attributes, registered on both servers (neither accepts them unregistered)."""


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


@contextlib.asynccontextmanager
async def started_time_skipping(binary: str, keyring: Keyring) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server whose client has the codec, with our search attributes registered."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary, data_converter=data_converter(keyring)
    )
    try:
        # start_time_skipping has no search_attributes parameter; the operator API does the same job.
        keywords = dict.fromkeys(
            (key.name for key in SEARCH_ATTRIBUTES), IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        )
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=env.client.namespace, search_attributes=keywords)
        )
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def time_skipping_env(
    test_server_binary: str, test_keyring: Keyring
) -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (timers of hours pass in milliseconds); its client has the codec."""
    async with started_time_skipping(test_server_binary, test_keyring) as env:
        yield env


@pytest_asyncio.fixture(loop_scope="session")
async def own_time_skipping_env(
    test_server_binary: str, test_keyring: Keyring
) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server for one test alone.

    Skipping time on a shared server also fires the timers of earlier tests' workflows, whose workers are
    gone: their workflow tasks never complete and time skipping stalls. Tests that sleep use this one.
    """
    async with started_time_skipping(test_server_binary, test_keyring) as env:
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
