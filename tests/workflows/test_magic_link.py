"""Magic links through the company's token: checked locally, retried through Temporal, errors mapped."""

from __future__ import annotations

import uuid

import pytest
import pytest_asyncio

from tests.support.stack import Stack
from workflows.types.errors import RequestRejectedError


@pytest_asyncio.fixture(loop_scope="session")
async def stack(dev_stack: Stack, task_queue: str) -> Stack:
    """The dev-server stack with one connected company, named by the queue."""
    await dev_stack.connect(task_queue)
    return dev_stack


async def counts(stack: Stack) -> tuple[dict[str, int], int]:
    stats = (await stack.http.get("/sandbox/stats")).json()
    return {g: n for g, n in stats["token_requests"].items() if n}, stats["magic_links"]


async def employment(stack: Stack, status: str) -> str:
    company_id = (await stack.oauth.status(stack.task_queue)).company_id
    response = await stack.http.post(f"/sandbox/companies/{company_id}/employments", json={"status": status})
    employment_id: str = response.json()["employment_id"]
    return employment_id


async def test_links_for_the_admin_and_an_invited_employee(stack: Stack) -> None:
    """The admin (by user id) and an invited employee each get a sign-in URL at the given path."""
    user_id = (await stack.oauth.status(stack.task_queue)).user_id
    assert user_id is not None
    admin = await stack.oauth.magic_link(stack.task_queue, user_id=user_id)
    employee = await stack.oauth.magic_link(
        stack.task_queue, employment_id=await employment(stack, "invited"), path="/onboarding/step_1"
    )
    assert admin.startswith(f"{stack.sandbox.url}/magic/")
    assert admin.endswith("?path=%2Fdashboard")
    assert employee.startswith(f"{stack.sandbox.url}/magic/")
    assert employee.endswith("?path=%2Fonboarding%2Fstep_1")
    assert await counts(stack) == ({"authorization_code": 1}, 2)


async def test_invalid_input_never_reaches_the_gateway(stack: Stack) -> None:
    """Neither or both ids, a non-UUID and a bad path are refused locally with the activity's messages."""
    some = str(uuid.uuid4())
    cases = [
        ({}, "exactly one of user_id"),
        ({"user_id": some, "employment_id": some}, "exactly one of user_id"),
        ({"user_id": "42"}, "user_id must be a UUID"),
        ({"employment_id": "{" + some + "}"}, "8-4-4-4-12"),
        ({"user_id": some, "path": "/dashboard/"}, "no trailing /"),
        ({"user_id": some, "path": "dashboard"}, "path must start with /"),
    ]
    for kwargs, message in cases:
        with pytest.raises(RequestRejectedError, match=message):
            await stack.oauth.magic_link(stack.task_queue, **kwargs)
    assert await counts(stack) == ({"authorization_code": 1}, 0)


async def test_gateway_refusals_are_mapped(stack: Stack) -> None:
    """An active employment (422) and disabled magic links (403) become clear RequestRejectedErrors."""
    with pytest.raises(
        RequestRejectedError, match=r"HTTP 422.*The employment is active; only invited employees"
    ):
        await stack.oauth.magic_link(stack.task_queue, employment_id=await employment(stack, "active"))
    await stack.http.post("/sandbox/settings", json={"magic_links_enabled": False})
    user_id = (await stack.oauth.status(stack.task_queue)).user_id
    with pytest.raises(RequestRejectedError, match="Magic links are not enabled for this integration"):
        await stack.oauth.magic_link(stack.task_queue, user_id=user_id)
    assert await counts(stack) == ({"authorization_code": 1}, 0)


async def test_unauthorized_refreshes_once_and_succeeds(stack: Stack) -> None:
    """A 401 (the sandbox expired the company's tokens) refreshes the token once and the retry succeeds."""
    status = await stack.oauth.status(stack.task_queue)
    expired = await stack.http.post("/sandbox/access-tokens/expire", json={"company_id": status.company_id})
    assert expired.json() == {"expired": 1}
    url = await stack.oauth.magic_link(stack.task_queue, user_id=status.user_id)
    assert url.startswith(f"{stack.sandbox.url}/magic/")
    assert await counts(stack) == ({"authorization_code": 1, "refresh_token": 1}, 1)
