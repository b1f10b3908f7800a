"""Bulk commands as a partner runs them: one process for many companies, against the dev server and the sandbox."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from sandbox.config import SandboxConfig
from tests.support.cli import run, stack_env
from tests.support.stack import Stack, make_stack, settings_for
from tests.support.temporal import fresh_task_queue
from worker.api import RemoteOAuth
from worker.runner import WorkerOptions, running_workers
from workflows.io.settings import Secret
from workflows.types.company import CompanySettings, Phase
from workflows.types.errors import NotFoundError


@pytest_asyncio.fixture(loop_scope="session")
async def stack(dev_server_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Stack]:
    async with make_stack(dev_server_env, task_queue, config=SandboxConfig(auto_approve=True)) as stack:
        yield stack


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 30) -> None:
    """Poll ``check`` until it holds (visibility and workflows catch up on their own time)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not reached in time"
        await asyncio.sleep(0.1)


async def test_bulk_retry_of_50_misconfigured_companies_after_a_fixed_secret(stack: Stack) -> None:
    """50 companies refused for a wrong secret; with the secret fixed, one `retry --state misconfigured`
    asks each again (one line each, a summary, exit 0) and every one opens a new link."""
    queue = fresh_task_queue()
    oauth = RemoteOAuth(
        stack.env.client, task_queue=queue, company_settings=CompanySettings(token_task_queue=queue)
    )
    # No token budget: the test waits for 50 exchanges and 50 resumptions, not for the rate limit.
    opts = WorkerOptions(
        task_queue=queue,
        token_task_queue=queue,
        graceful_shutdown_seconds=0,
        token_requests_per_minute=6000.0,
    )
    refs = [f"bulk-{n:02d}-{queue[-6:]}" for n in range(50)]
    wrong = dataclasses.replace(settings_for(stack.sandbox), client_secret=Secret("a-wrong-secret"))
    async with running_workers(stack.env.client, wrong, opts):

        async def consent(ref: str) -> Phase:
            return (await oauth.complete_consent(await stack.approve(await oauth.onboard(ref)))).phase

        assert set(await asyncio.gather(*(consent(ref) for ref in refs))) == {Phase.MISCONFIGURED}

        async def all_listed() -> bool:
            return len(await oauth.list(Phase.MISCONFIGURED)) == len(refs)

        await eventually(all_listed)
        errors = {ref: (await oauth.status(ref)).last_error for ref in refs}
    env = stack_env(stack, task_queue=queue)
    async with running_workers(stack.env.client, settings_for(stack.sandbox), opts):
        done = await run("retry", "--state", "misconfigured", "--concurrency", "16", env=env)
        assert (done.code, done.err) == (0, "done: 50 ok, 0 failed\n")
        assert sorted(done.out.splitlines()) == [
            f"{ref} retries now (it was misconfigured: {errors[ref]})" for ref in refs
        ]

        async def all_waiting() -> bool:
            return len(await oauth.list(Phase.AWAITING_CONSENT)) == len(refs)

        await eventually(all_waiting)
        none_left = await run("retry", "--state", "misconfigured", env=env)
        assert (none_left.code, none_left.out, none_left.err) == (0, "", "no company is misconfigured\n")
        gone = await run("offboard", "--from", "-", env=env, stdin="\n".join(refs))
        assert (gone.code, gone.err) == (0, "done: 50 ok, 0 failed\n")
        assert gone.out.splitlines() == [f"{ref} is offboarded" for ref in refs]  # in the file's order


async def test_offboard_from_a_file_with_a_partial_failure(stack: Stack) -> None:
    """An unknown ref fails alone: its line on stderr, the others offboarded in the file's order, exit 1."""
    tag = stack.task_queue[-6:]
    first, second, unknown = f"off-a-{tag}", f"off-b-{tag}", f"off-nobody-{tag}"
    for ref in (first, second):
        await stack.oauth.onboard(ref)
    listing = f"# leaving customers\n{first}\n\n{unknown}\n  {second}  \n{first}\n"
    done = await run("offboard", "--from", "-", "--reason", "churned", env=stack_env(stack), stdin=listing)
    assert done.code == 1
    assert done.out == f"{first} is offboarded\n{second} is offboarded\n"
    assert done.err.splitlines() == [
        f"note: listed more than once, done once: {first} (lines 2 and 6)",
        f"{unknown}: no onboarding workflow for company '{unknown}': run `remote-oauth onboard`",
        "done: 2 ok, 1 failed",
    ]
    again = await run("offboard", "--from", "-", env=stack_env(stack), stdin=f"{first}\n")
    assert (again.code, again.out) == (0, f"{first} is already offboarded\n")


async def test_onboard_from_stdin_prints_one_link_a_line(stack: Stack) -> None:
    """REF<TAB>LINK for each company awaiting consent, a note for one already connected; JSON lines too."""
    tag = stack.task_queue[-6:]
    connected, new = f"on-done-{tag}", [f"on-{n}-{tag}" for n in range(3)]
    await stack.connect(connected)
    listing = "\n".join([new[0], connected, *new[1:]])
    done = await run("onboard", "--from", "-", "--on-demand", env=stack_env(stack), stdin=listing)
    assert done.code == 0
    lines = [line.split("\t") for line in done.out.splitlines()]
    assert [ref for ref, _ in lines] == new
    for ref, link in lines:
        assert link.startswith(f"http://127.0.0.1:8000/connect/{ref}?session=v1.")
    assert done.err.splitlines() == [f"{connected} is active: no consent needed", "done: 4 ok, 0 failed"]
    assert (await stack.oauth.status(new[0])).refresh_policy == "on_demand"

    as_json = await run("onboard", "--from", "-", "--json", env=stack_env(stack), stdin=listing)
    documents = [json.loads(line) for line in as_json.out.splitlines()]
    assert (as_json.code, [d["company_ref"] for d in documents]) == (0, [new[0], connected, *new[1:]])
    assert documents[1] == {
        "company_ref": connected,
        "phase": "active",
        "connect_url": None,
        "expires_at": None,
    }
    assert {d["phase"] for d in documents if d["company_ref"] != connected} == {"awaiting_consent"}
    assert all(
        d["connect_url"].startswith("http://") and d["expires_at"] for d in documents if d is not documents[1]
    )


async def test_a_bad_file_runs_nothing(stack: Stack) -> None:
    """One invalid ref refuses the whole file (every bad line named); a missing file is one line."""
    env = stack_env(stack)
    tag = stack.task_queue[-6:]
    done = await run("onboard", "--from", "-", env=env, stdin=f"fine-{tag}\nnot ok\n_bad\n")
    assert done.code == 1
    assert done.err.splitlines() == [
        "error: stdin line 2: invalid company reference 'not ok': use 1-128 letters, digits or . _ @ : - "
        "(starting with a letter or digit)",
        "error: stdin line 3: invalid company reference '_bad': use 1-128 letters, digits or . _ @ : - "
        "(starting with a letter or digit)",
        "error: 2 invalid line(s) in stdin: nothing was done",
    ]
    with pytest.raises(NotFoundError):
        await stack.oauth.status(f"fine-{tag}")
    missing = await run("offboard", "--from", "/nonexistent/leavers.txt", env=env)
    assert (missing.code, missing.err) == (
        1,
        "error: cannot read /nonexistent/leavers.txt: No such file or directory\n",
    )
    both = await run("offboard", f"fine-{tag}", "--from", "-", env=env, stdin="")
    assert (both.code, both.err) == (2, "error: give exactly one of REF and --from\n")
