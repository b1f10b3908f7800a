"""`remote-oauth import` as a partner migrating from another token store runs it, against the sandbox."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from sandbox.config import SandboxConfig
from tests.support.cli import Done, run, stack_env
from tests.support.stack import Stack, make_stack
from worker.runner import running_workers
from workflows.types.company import Phase
from workflows.types.errors import NotFoundError


@pytest_asyncio.fixture(loop_scope="session")
async def stack(dev_server_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Stack]:
    """A stack whose workers have no token budget: the tests wait for 100 first refreshes, not the limit."""
    config = SandboxConfig(auto_approve=True, rate_limit_per_minute=5000)
    async with make_stack(dev_server_env, task_queue, config=config, start_workers=False) as stack:
        opts = dataclasses.replace(stack.worker_options, token_requests_per_minute=6000.0)
        async with running_workers(stack.env.client, stack.settings, opts):
            yield stack


async def granted_elsewhere(
    stack: Stack, name: str, scope: str = "company:read employment:read"
) -> dict[str, Any]:
    """A sandbox company with a grant this project never made: what another token store would hold."""
    company = (await stack.http.post("/sandbox/companies", json={"name": name})).json()
    grant = await stack.http.post(f"/sandbox/companies/{company['company_id']}/grants", json={"scope": scope})
    assert grant.status_code == 200
    return dict(grant.json())


def no_token_in(done: Done, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        assert row["refresh_token"] not in done.out + done.err


async def test_import_of_100_companies_with_a_few_refused_tokens(stack: Stack, tmp_path: Path) -> None:
    """A dry run imports nothing; the import makes 97 active and leaves the 3 refused ones consent_revoked
    with a new connect link; running it again overwrites nobody."""
    tag = stack.task_queue[-6:]
    rows: list[dict[str, Any]] = []
    for n in range(100):
        grant = await granted_elsewhere(stack, f"Imported {n} {tag}")
        rows.append(
            {
                "ref": f"imp-{n:03d}-{tag}",
                "refresh_token": grant["refresh_token"],
                "company_id": grant["company_id"],
                "user_id": grant["user_id"],
                "scope": grant["scope"],
                "meta": {"tenant": f"t-{n}"},
            }
        )
    revoked = {3, 50, 97}
    for n in revoked:
        await stack.http.post(f"/sandbox/companies/{rows[n]['company_id']}/revoke", json={})
    path = tmp_path / "companies.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    env = stack_env(stack)

    dry = await run("import", str(path), "--dry-run", env=env)
    assert (dry.code, dry.err) == (
        0,
        "dry run: would import 100, would replace 0, already present 0, failed 0; nothing was imported\n",
    )
    assert dry.out.splitlines() == [f"{row['ref']}\twould import" for row in rows]
    assert stack.token_requests() == 0  # nothing was sent to the gateway
    with pytest.raises(NotFoundError):  # the dry run started nothing
        await stack.oauth.status(rows[0]["ref"])

    done = await run("import", str(path), "--concurrency", "16", env=env)
    assert (done.code, done.err) == (0, "imported 97, refused 3, already present 0, failed 0\n")
    lines = [line.split("\t") for line in done.out.splitlines()]
    assert [line[0] for line in lines] == [row["ref"] for row in rows]
    for n, line in enumerate(lines):
        if n in revoked:
            assert line[1:3] == ["refused", "consent_revoked"]
            assert line[3].startswith(f"http://127.0.0.1:8000/connect/{rows[n]['ref']}?session=v1.")
        else:
            assert line[1:] == ["imported", "active"]
    no_token_in(done, rows)

    status = await stack.oauth.status(rows[1]["ref"])
    assert (status.phase, status.company_id, status.scope, status.metadata) == (
        Phase.ACTIVE,
        rows[1]["company_id"],
        "company:read employment:read",
        {"tenant": "t-1"},
    )
    assert (await stack.oauth.status(rows[3]["ref"])).phase is Phase.CONSENT_REVOKED
    token = (await stack.oauth.token(rows[1]["ref"])).access_token
    facts = (await stack.http.post("/sandbox/introspect", json={"token": token})).json()
    assert (facts["active"], facts["company_id"]) == (True, rows[1]["company_id"])

    again = await run("import", str(path), "--concurrency", "16", env=env)
    assert (again.code, again.err) == (0, "imported 0, refused 3, already present 97, failed 0\n")
    assert sum(line.endswith("\talready_present\tactive") for line in again.out.splitlines()) == 97
    no_token_in(again, rows)


async def test_an_active_company_is_replaced_only_with_replace(stack: Stack, tmp_path: Path) -> None:
    """A connected company keeps its grant unless --replace; the dry run says which it would be."""
    ref = f"imp-kept-{stack.task_queue[-6:]}"
    await stack.connect(ref)
    before = await stack.oauth.status(ref)
    grant = await granted_elsewhere(stack, f"Other {ref}")
    path = tmp_path / "one.csv"
    path.write_text(f"ref,refresh_token,company_id\n{ref},{grant['refresh_token']},{grant['company_id']}\n")
    env = stack_env(stack)

    kept = await run("import", str(path), env=env)
    assert (kept.code, kept.out) == (0, f"{ref}\talready_present\tactive\n")
    assert (await stack.oauth.status(ref)).company_id == before.company_id
    dry = await run("import", str(path), "--dry-run", "--replace", env=env)
    assert (dry.code, dry.out) == (0, f"{ref}\twould replace\tactive\n")
    assert (await stack.oauth.status(ref)).company_id == before.company_id

    replaced = await run("import", str(path), "--replace", env=env)
    assert (replaced.code, replaced.out, replaced.err) == (
        0,
        f"{ref}\treplaced\tactive\n",
        "imported 1 (1 replaced), refused 0, already present 0, failed 0\n",
    )
    assert (await stack.oauth.status(ref)).company_id == grant["company_id"]
    assert grant["refresh_token"] not in replaced.out + replaced.err


async def test_an_invalid_file_imports_nothing_and_never_shows_a_token(stack: Stack) -> None:
    """From stdin (which needs --format), a bad row refuses the whole file; messages name lines, not tokens."""
    tag = stack.task_queue[-6:]
    good = await granted_elsewhere(stack, f"Good {tag}")
    token = good["refresh_token"]
    env = stack_env(stack)
    csv_text = (
        "ref,refresh_token,scope\n"
        f"imp-good-{tag},{token},company:read\n"
        f"imp-bad-{tag},{token},company:read\n"  # the same token twice is allowed; a repeated ref is not
        f"imp-good-{tag},{token},\n"
        f"not a ref,{token},\n"
    )
    no_format = await run("import", "-", env=env, stdin=csv_text)
    assert (no_format.code, no_format.err) == (
        1,
        "error: stdin has no file name to tell its format: add --format jsonl or --format csv\n"
        "error: 1 problem(s) in stdin: nothing was done\n",
    )
    refused = await run("import", "-", "--format", "csv", env=env, stdin=csv_text)
    assert (refused.code, refused.out) == (1, "")
    assert refused.err.splitlines() == [
        "error: stdin line 4: ref repeats the ref of line 2 (one row a company)",
        "error: stdin line 5: ref must be 1-128 letters, digits or . _ @ : - (starting with a letter or digit)",
        "error: 2 problem(s) in stdin: nothing was done",
    ]
    assert token not in refused.err
    with pytest.raises(NotFoundError):  # not even the valid row was imported
        await stack.oauth.status(f"imp-good-{tag}")
    missing = await run("import", "/nonexistent/companies.jsonl", env=env)
    assert (missing.code, missing.err) == (
        1,
        "error: cannot read /nonexistent/companies.jsonl: No such file or directory\n",
    )
