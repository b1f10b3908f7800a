"""The auth flows' stack: a company connected through the sandbox, and an API that knows the client id."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.support.stack import CLIENT_ID, EXACT, Stack, make_stack
from worker.api import RemoteOAuth


@pytest_asyncio.fixture(loop_scope="session")
async def stack(dev_server_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Stack]:
    """A connected company (named by the queue, ``Acme <queue>`` at Remote) on the dev server."""
    async with make_stack(dev_server_env, task_queue) as built:
        oauth = RemoteOAuth(
            dev_server_env.client, task_queue=task_queue, company_settings=EXACT, client_id=CLIENT_ID
        )
        ready = dataclasses.replace(built, oauth=oauth)
        await ready.connect(task_queue, company_name=f"Acme {task_queue}")
        yield ready
