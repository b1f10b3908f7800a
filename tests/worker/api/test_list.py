"""Listing companies through Temporal visibility: scoped to one task queue, and robust to a silent worker."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.testing import WorkflowEnvironment

from sandbox.config import SandboxConfig
from tests.support.stack import Stack, make_stack
from tests.support.temporal import fresh_task_queue
from worker.api import InvalidInputError, RemoteOAuth
from workflows.types.company import CompanyStatus, Phase


async def _listed(oauth: RemoteOAuth, count: int, phase: Phase | None = None) -> list[CompanyStatus]:
    """Visibility is eventually consistent: poll until ``count`` companies show up."""
    deadline = asyncio.get_running_loop().time() + 10
    while len(rows := await oauth.list(phase)) < count:
        assert asyncio.get_running_loop().time() < deadline, rows
        await asyncio.sleep(0.05)
    return rows


async def test_list_by_state_and_without_a_worker(
    dev_server_env: WorkflowEnvironment, task_queue: str
) -> None:
    """list() shows this queue's companies by state; with the worker gone it still lists them, saying why."""
    other = fresh_task_queue()
    async with make_stack(dev_server_env, other, config=SandboxConfig(auto_approve=True)) as elsewhere:
        await elsewhere.oauth.onboard("elsewhere")
    async with make_stack(dev_server_env, task_queue, config=SandboxConfig(auto_approve=True)) as stack:
        await stack.connect("listed-active")
        await stack.oauth.onboard("listed-waiting")
        rows = await _listed(stack.oauth, 2)
        assert [(r.company_ref, r.phase) for r in rows] == [
            ("listed-active", Phase.ACTIVE),
            ("listed-waiting", Phase.AWAITING_CONSENT),
        ]
        active = await _listed(stack.oauth, 1, Phase.ACTIVE)
        assert [r.company_ref for r in active] == ["listed-active"]
        company_id = rows[0].company_id
    # No worker polls this queue any more: the rows come from search attributes, with the reason.
    silent = await stack.oauth.list()
    assert [(r.company_ref, r.phase, r.company_id) for r in silent] == [
        ("listed-active", Phase.ACTIVE, company_id),
        ("listed-waiting", Phase.AWAITING_CONSENT, None),
    ]
    assert all(r.last_error_type == "StatusUnavailable" for r in silent)


async def test_list_filters_by_metadata(dev_stack: Stack) -> None:
    """Metadata is not in visibility; list() filters the companies' own answers by every pair asked."""
    oauth = dev_stack.oauth
    await oauth.onboard("meta-a", metadata={"tenant_id": "t-1", "region": "eu"})
    await oauth.onboard("meta-b", metadata={"tenant_id": "t-1", "region": "us"})
    await oauth.onboard("meta-c", metadata={"tenant_id": "t-2"})
    await oauth.onboard("meta-none")
    await _listed(oauth, 4)
    tenant = await oauth.list(metadata={"tenant_id": "t-1"})
    assert [r.company_ref for r in tenant] == ["meta-a", "meta-b"]
    both = await oauth.list(Phase.AWAITING_CONSENT, metadata={"tenant_id": "t-1", "region": "us"})
    assert [(r.company_ref, r.metadata) for r in both] == [("meta-b", {"region": "us", "tenant_id": "t-1"})]
    assert await oauth.list(metadata={"tenant_id": "t-3"}) == []
    with pytest.raises(InvalidInputError):
        await oauth.list(metadata={"Tenant": "t-1"})
