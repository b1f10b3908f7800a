"""The `remote-oauth` command line, run as a real process against the dev server and the sandbox."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from sandbox.config import SandboxConfig
from sandbox.contract import load_contract
from tests.conftest import TEST_KEYS
from tests.test_company import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, Stack, make_stack
from workflows.consent import Phase

SPEC = load_contract()
"""Paths and methods as the specs in openapi/ put them (never hard-coded: a spec bump moves them)."""

CLI = [sys.executable, "-m", "worker.cli"]


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str


def base_env(**extra: str) -> dict[str, str]:
    """The process environment without any REMOTE_*/TEMPORAL_* setting of the machine, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMOTE_", "TEMPORAL_"))}
    return {**env, **extra}


async def run(*args: str, env: dict[str, str]) -> Done:
    proc = await asyncio.create_subprocess_exec(
        *CLI, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return Done(proc.returncode, out.decode(), err.decode())


@dataclass(frozen=True)
class Cli:
    stack: Stack
    env: dict[str, str]

    async def __call__(self, *args: str) -> Done:
        return await run(*args, env=self.env)


@pytest_asyncio.fixture(loop_scope="session")
async def cli(dev_server_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Cli]:
    async with make_stack(dev_server_env, task_queue, config=SandboxConfig(auto_approve=True)) as stack:
        env = base_env(
            TEMPORAL_ADDRESS=dev_server_env.client.service_client.config.target_host,
            REMOTE_GATEWAY_URL=stack.sandbox.url,
            REMOTE_CLIENT_ID=CLIENT_ID,
            REMOTE_CLIENT_SECRET=CLIENT_SECRET,
            REMOTE_REDIRECT_URI=REDIRECT_URI,
            REMOTE_OAUTH_CODEC_KEYS=TEST_KEYS,
            REMOTE_OAUTH_TASK_QUEUE=task_queue,
            REMOTE_OAUTH_TOKEN_TASK_QUEUE=task_queue,
        )
        yield Cli(stack=stack, env=env)


async def test_help_explains_every_command() -> None:
    """`--help` lists the commands, and each command's help describes it."""
    top = await run("--help", env=base_env())
    assert top.code == 0
    for command in ("onboard", "status", "token", "offboard", "retry", "worker", "web", "sandbox", "keygen"):
        assert command in top.out
    onboard = await run("onboard", "--help", env=base_env())
    assert onboard.code == 0
    assert "connect link" in onboard.out


async def test_keygen_prints_a_256_bit_key() -> None:
    """keygen prints `kid:base64` with a 32-byte key."""
    done = await run("keygen", "2026-11", env=base_env())
    kid, key = done.out.strip().split(":")
    assert (done.code, kid, len(base64.b64decode(key))) == (0, "2026-11", 32)


async def test_no_codec_key_is_a_clear_error() -> None:
    """Without REMOTE_OAUTH_CODEC_KEYS the CLI refuses, says which variable, and exits 1."""
    done = await run("status", "acme", env=base_env(TEMPORAL_ADDRESS="127.0.0.1:1"))
    assert done.code == 1
    assert done.err.startswith("error: REMOTE_OAUTH_CODEC_KEYS")
    assert "Traceback" not in done.err


async def test_onboard_status_token_offboard(cli: Cli) -> None:
    """A company's whole life from the command line: link, consent, status, token, offboard."""
    ref = f"cli-{cli.stack.task_queue[-8:]}"
    first, second = await cli("onboard", ref), await cli("onboard", ref)
    assert (first.code, second.code) == (0, 0)
    assert first.out == second.out
    assert first.out.startswith(f"{cli.stack.sandbox.url}{SPEC.authorize.path}?")

    link = await cli.stack.oauth.onboard(ref)
    assert (await cli.stack.oauth.complete_consent(await cli.stack.approve(link))).phase is Phase.ACTIVE

    status = await cli("status", ref, "--json")
    document = json.loads(status.out)
    assert (status.code, document["phase"], document["company_ref"]) == (0, "active", ref)
    table = await cli("status")
    assert ref in table.out
    assert "STATE" in table.out.splitlines()[0]

    token = await cli("token", ref)
    introspection = await cli.stack.http.post("/sandbox/introspect", json={"token": token.out.strip()})
    assert (token.code, introspection.json()["active"]) == (0, True)
    grant = json.loads((await cli("token", ref, "--json")).out)
    assert "refresh_token" not in grant
    assert grant["company_id"] == document["company_id"]

    gone = await cli("offboard", ref, "--reason", "test")
    assert (gone.code, gone.out.strip()) == (0, f"{ref} is offboarded")


async def test_unknown_company_and_bad_reference(cli: Cli) -> None:
    """An unknown company and a malformed reference are one-line errors with exit code 1."""
    unknown = await cli("token", "nobody-here")
    assert unknown.code == 1
    assert (
        unknown.err.strip()
        == "error: no onboarding workflow for company 'nobody-here': run `remote-oauth onboard`"
    )
    bad = await cli("onboard", "bad ref!")
    assert bad.code == 1
    assert "invalid company reference" in bad.err


async def test_worker_stops_cleanly_on_sigterm(cli: Cli) -> None:
    """`remote-oauth worker` polls until SIGTERM, then shuts down gracefully with exit code 0."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker", env=cli.env, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None
    seen = b""
    while b"worker polling" not in seen:
        line = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert line, f"worker exited early: {seen.decode()}"
        seen += line
    proc.send_signal(signal.SIGTERM)
    rest = await asyncio.wait_for(proc.stderr.read(), 30)
    assert await proc.wait() == 0
    assert b"shutting down" in rest
    assert CLIENT_SECRET.encode() not in seen + rest


@pytest.mark.parametrize("command", ["worker", "web"])
async def test_processes_refuse_to_start_without_a_key(command: str) -> None:
    """The worker and the web app refuse to start without codec keys, so no token is written in clear."""
    done = await run(command, env=base_env(TEMPORAL_ADDRESS="127.0.0.1:1"))
    assert done.code == 1
    assert "REMOTE_OAUTH_CODEC_KEYS" in done.err


async def test_partner_token_and_stop(cli: Cli) -> None:
    """A partner token from the command line; --stop ends its workflow, and a later call starts a new one."""
    token = await cli("partner-token", "--scope", "company:read")
    introspection = (
        await cli.stack.http.post("/sandbox/introspect", json={"token": token.out.strip()})
    ).json()
    assert (token.code, introspection["kind"], introspection["active"]) == (0, "partner", True)
    stopped = await cli("partner-token", "--scope", "company:read", "--stop")
    assert stopped.code == 0
    assert stopped.out.strip().endswith("(company:read) is stopped")
    again = await cli("partner-token", "--scope", "company:read")
    assert again.code == 0
    assert again.out.strip() != token.out.strip()
    assert (await cli("partner-token", "--scope", "company:read", "--stop")).code == 0


async def test_assertion_token_and_magic_link(cli: Cli) -> None:
    """Acting as a connected company's admin, and a sign-in link for that admin, from the command line."""
    ref = f"cli-links-{cli.stack.task_queue[-8:]}"
    link = await cli.stack.oauth.onboard(ref)
    assert (await cli.stack.oauth.complete_consent(await cli.stack.approve(link))).phase is Phase.ACTIVE
    admin = (await cli.stack.oauth.status(ref)).user_id
    assert admin is not None

    acting = await cli("assertion-token", "--company", ref, "--scope", "company:read")
    introspection = (
        await cli.stack.http.post("/sandbox/introspect", json={"token": acting.out.strip()})
    ).json()
    assert (acting.code, introspection["active"], introspection.get("user_id")) == (0, True, admin)
    two = await cli("assertion-token", "--company", ref, "--user", admin)
    assert (two.code, two.err.strip()) == (2, "error: give exactly one of --company, --user and --employment")

    signed_in = await cli("magic-link", ref, "--user", admin, "--path", "/dashboard")
    assert signed_in.code == 0
    assert signed_in.out.startswith(("https://", "http://"))
    refused = await cli("magic-link", ref, "--user", "not-a-uuid")
    assert refused.code == 1
    assert "user_id must be a UUID" in refused.err
    await cli.stack.oauth.offboard(ref)
