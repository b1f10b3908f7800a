"""Assertion tokens: verified by the sandbox, cached per subject fleet-wide, forgotten when idle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from bench.stack import Stack, running_stack
from sandbox.config import SandboxConfig
from workflows.assertion_tokens import AssertionTokenSettings, AssertionTokenWorkflow, assertion_workflow_id
from workflows.io.signing import company_manager_subject
from workflows.types.errors import RequestRejectedError

JWT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Company:
    """A stack whose sandbox holds one company, created through its admin API."""

    stack: Stack
    company_id: str
    user_id: str


@pytest_asyncio.fixture(loop_scope="session")
async def company(dev_server_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Company]:
    """A sandbox company (created through the admin API), a worker and the API on the dev server."""
    settings = AssertionTokenSettings(idle_seconds=1)
    async with running_stack(
        dev_server_env, SandboxConfig(), task_queue=task_queue, assertion_settings=settings
    ) as stack:
        created = (await stack.http.post("/sandbox/companies", json={"name": "Acme"})).json()
        yield Company(stack, created["company_id"], created["user_id"])


async def test_token_acts_for_the_company_and_is_reused(company: Company) -> None:
    """The sandbox verifies the assertion; the token acts for the company; a second call reuses it."""
    token = await company.stack.oauth.assertion_token(user_id=company.user_id, scope="company:read")
    facts = (await company.stack.http.post("/sandbox/introspect", json={"token": token.access_token})).json()
    assert (facts["active"], facts["kind"], facts["company_id"], facts["user_id"], facts["scope"]) == (
        True,
        "assertion",
        company.company_id,
        company.user_id,
        "company:read",
    )
    assert token.refresh_token is None
    again = await company.stack.oauth.assertion_token(user_id=company.user_id, scope="company:read")
    assert again.access_token == token.access_token
    assert await company.stack.stats() == {JWT: 1}


async def test_twenty_concurrent_callers_mint_once(company: Company) -> None:
    """Twenty callers at once get one token from one mint (the sandbox would refuse a replayed jti)."""
    tokens = await asyncio.gather(
        *(company.stack.oauth.assertion_token(user_id=company.user_id, min_ttl=120) for _ in range(20))
    )
    assert len({t.access_token for t in tokens}) == 1
    handle = company.stack.env.client.get_workflow_handle_for(
        AssertionTokenWorkflow.run, assertion_workflow_id(company_manager_subject(company.user_id), None)
    )
    assert await handle.query(AssertionTokenWorkflow.mints) == 1
    assert await company.stack.stats() == {JWT: 1}


async def test_idle_entry_ends_and_a_new_one_mints_with_a_fresh_jti(company: Company) -> None:
    """An entry unused for its idle time completes; the next caller starts a new one with a new assertion."""
    first = await company.stack.oauth.assertion_token(user_id=company.user_id)
    workflow_id = assertion_workflow_id(company_manager_subject(company.user_id), None)
    handle = company.stack.env.client.get_workflow_handle_for(AssertionTokenWorkflow.run, workflow_id)
    result = await asyncio.wait_for(handle.result(), timeout=10)
    assert (result.subject, result.mints) == (company_manager_subject(company.user_id), 1)
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    # The finished entry still answers its last token; asking for more than it has left starts a new one.
    second = await company.stack.oauth.assertion_token(user_id=company.user_id, min_ttl=3599)
    assert second.access_token != first.access_token
    assert await company.stack.stats() == {JWT: 2}
    grants_seen = (await company.stack.http.get("/sandbox/stats")).json()["token_responses"]
    assert grants_seen == {"200": 2}


async def test_invalid_subjects_are_refused_locally(company: Company) -> None:
    """A non-UUID subject, two subjects, or none at all is refused before any request."""
    with pytest.raises(RequestRejectedError, match="user_id must be a UUID"):
        await company.stack.oauth.assertion_token(user_id="not-a-uuid")
    with pytest.raises(RequestRejectedError, match="at most one"):
        await company.stack.oauth.assertion_token(user_id=company.user_id, employment_id=company.user_id)
    with pytest.raises(RequestRejectedError, match="company reference, a user_id or an employment_id"):
        await company.stack.oauth.assertion_token()
    assert await company.stack.stats() == {}


async def test_wrong_secret_is_a_clear_error(dev_server_env: WorkflowEnvironment, task_queue: str) -> None:
    """An assertion signed with the wrong secret fails with the gateway's reason and no secret in it."""
    wrong = {"REMOTE_CLIENT_SECRET": "wrong-secret"}
    async with running_stack(dev_server_env, SandboxConfig(), task_queue=task_queue, settings=wrong) as stack:
        user_id = (await stack.http.post("/sandbox/companies", json={"name": "Acme"})).json()["user_id"]
        with pytest.raises(RequestRejectedError, match="client authentication failed") as err:
            await stack.oauth.assertion_token(user_id=user_id)
        assert "wrong-secret" not in str(err.value)
        assert await stack.stats() == {JWT: 1}
