"""Metadata, scopes and reconnecting from the command line: onboard --meta, status, reconnect [--narrow]."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from sandbox.config import DEFAULT_SCOPE, SandboxConfig
from tests.support.cli import run, stack_env
from tests.support.stack import Stack, make_stack
from workflows.company import CompanyConsentWorkflow
from workflows.types.company import Phase


@pytest_asyncio.fixture(loop_scope="session")
async def stack(dev_server_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Stack]:
    async with make_stack(dev_server_env, task_queue, config=SandboxConfig(auto_approve=True)) as stack:
        yield stack


async def test_metadata_from_onboard_to_status(stack: Stack) -> None:
    """--meta on onboard is kept with the company, shown by status --json, and filters the list."""
    tag = stack.task_queue[-6:]
    ref, other = f"meta-{tag}", f"meta-other-{tag}"
    env = stack_env(stack)
    first = await run(
        "onboard", ref, "--meta", "tenant=t-42", "--meta", "owner.email=ops@example.com", env=env
    )
    assert first.code == 0
    assert (await run("onboard", other, "--meta", "tenant=t-7", env=env)).code == 0
    link = await stack.oauth.onboard(ref)
    assert (await stack.oauth.complete_consent(await stack.approve(link))).phase is Phase.ACTIVE

    shown = json.loads((await run("status", ref, "--json", env=env)).out)
    assert (shown["metadata"], shown["scope"]) == (
        {"owner.email": "ops@example.com", "tenant": "t-42"},
        DEFAULT_SCOPE,
    )
    table = (await run("status", ref, env=env)).out.splitlines()
    assert table[0].split()[-1] == "SCOPE"
    assert table[1].endswith(DEFAULT_SCOPE)

    deadline = asyncio.get_running_loop().time() + 30
    while True:  # the list comes from visibility, which catches up on its own time
        listed = json.loads((await run("status", "--meta", "tenant=t-42", "--json", env=env)).out)
        if [row["company_ref"] for row in listed] == [ref]:
            break
        assert asyncio.get_running_loop().time() < deadline, listed
    both = json.loads((await run("status", "--json", env=env)).out)
    assert sorted(row["company_ref"] for row in both) == sorted([ref, other])
    none = await run("status", "--meta", "tenant=nobody", "--json", env=env)
    assert (none.code, json.loads(none.out)) == (0, [])

    bad = await run("onboard", ref, "--meta", "Tenant=x", env=env)
    assert bad.code == 1
    assert bad.err.startswith("error: --meta: invalid metadata key 'Tenant'")
    assert (
        await run("onboard", ref, "--meta", "tenant", env=env)
    ).err == "error: --meta takes key=value, not 'tenant'\n"


async def test_reconnect_and_narrow_from_the_command_line(stack: Stack) -> None:
    """reconnect prints a new link while the token keeps working; --narrow narrows it with no admin."""
    ref = f"recon-{stack.task_queue[-6:]}"
    env = stack_env(stack)
    waiting = await run("reconnect", ref, env=env)
    assert waiting.code == 1  # nothing to reconnect yet
    await stack.connect(ref)
    before = await stack.oauth.token(ref)

    link = await run("reconnect", ref, "--scope", "company:read employment:read", env=env)
    assert link.code == 0
    assert link.out.startswith(f"http://127.0.0.1:8000/connect/{ref}?session=v1.")
    assert (await stack.oauth.token(ref)).access_token == before.access_token  # still in use meanwhile

    narrowed = await run("reconnect", ref, "--narrow", "--scope", "company:read", env=env)
    assert (narrowed.code, narrowed.out) == (0, f"{ref} now has scope company:read\n")
    # This process's token cache still holds the wider token; the workflow's current one is narrowed.
    current = await stack.handle(ref).query(CompanyConsentWorkflow.current_token)
    assert current is not None
    facts = (await stack.http.post("/sandbox/introspect", json={"token": current.access_token})).json()
    assert (facts["scope"], (await stack.oauth.status(ref)).scope) == ("company:read", "company:read")
    wider = await run("reconnect", ref, "--narrow", "--scope", "company:read company:write", env=env)
    assert wider.code == 1
    usage = await run("reconnect", ref, "--narrow", env=env)
    assert (usage.code, usage.err) == (2, "error: --narrow needs --scope: the scopes to keep\n")
