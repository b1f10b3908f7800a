"""The `remote-oauth` command line, run as a real process against the dev server and the sandbox."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from sandbox.config import SandboxConfig
from tests.support.cli import Done, base_env, run, stack_env
from tests.support.stack import (
    CLIENT_SECRET,
    Stack,
    make_stack,
    settings_for,
)
from tests.support.temporal import fresh_task_queue
from worker.api import RemoteOAuth
from worker.runner import WorkerOptions, running_workers
from workflows.io.settings import Secret
from workflows.types.company import CompanySettings, Phase


@dataclass(frozen=True)
class Cli:
    stack: Stack
    env: dict[str, str]

    async def __call__(self, *args: str) -> Done:
        return await run(*args, env=self.env)


@pytest_asyncio.fixture(loop_scope="session")
async def cli(dev_server_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Cli]:
    async with make_stack(dev_server_env, task_queue, config=SandboxConfig(auto_approve=True)) as stack:
        env = stack_env(stack)
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
    assert first.out != second.out  # each run mints its own signed link to the same open consent
    for printed in (first.out, second.out):
        assert printed.startswith(f"http://127.0.0.1:8000/connect/{ref}?session=v1.")

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
    assert (refused.code, refused.err) == (
        1,
        "error: --user must be a UUID like 3fa85f64-5717-4562-b3fc-2c963f66afa6, not 'not-a-uuid'\n",
    )
    await cli.stack.oauth.offboard(ref)


def one_line_error(done: Done, code: int = 1) -> str:
    """The single stderr line of a refused command (asserting there is one, no output and ``code``)."""
    assert (done.code, done.out) == (code, ""), done
    lines = done.err.splitlines()
    assert len(lines) == 1, done.err
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    "ref", ["acme corp", "a" * 300, "", "Acme/../x", "caf\u00e9", "-x", "acme\n", "_acme"]
)
async def test_a_refused_company_ref_is_one_line(ref: str) -> None:
    """Every malformed reference is one line and exit 1, before any connection (none is configured)."""
    line = one_line_error(await run("token", "--", ref, env=base_env()))
    assert line.startswith("error: invalid company reference ")
    assert line.endswith(": use 1-128 letters, digits or . _ @ : - (starting with a letter or digit)")
    assert len(line) < 160


@pytest.mark.parametrize(
    "args",
    [
        ("onboard", "acme corp"),
        ("status", "acme corp"),
        ("offboard", "acme corp"),
        ("retry", "acme corp"),
        ("magic-link", "acme corp", "--user", "3fa85f64-5717-4562-b3fc-2c963f66afa6"),
        ("assertion-token", "--company", "acme corp"),
    ],
)
async def test_every_command_checks_its_ref(args: tuple[str, ...]) -> None:
    """The same check and message for every command that takes a company."""
    assert one_line_error(await run(*args, env=base_env())).startswith(
        "error: invalid company reference 'acme corp'"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("token", "acme", "--min-ttl", "-5"),
            "error: --min-ttl must be between 0 and 86400 seconds, not -5",
        ),
        (
            ("token", "acme", "--min-ttl", "nan"),
            "error: --min-ttl must be between 0 and 86400 seconds, not nan",
        ),
        (
            ("partner-token", "--min-ttl", "90000"),
            "error: --min-ttl must be between 0 and 86400 seconds, not 90000",
        ),
        (
            ("assertion-token", "--company", "acme", "--min-ttl", "3601"),
            "error: --min-ttl must be between 0 and 3600 seconds, not 3601",
        ),
        (
            ("assertion-token", "--employment", "42"),
            "error: --employment must be a UUID like 3fa85f64-5717-4562-b3fc-2c963f66afa6, not '42'",
        ),
        (
            ("magic-link", "acme", "--user", "3fa85f64-5717-4562-b3fc-2c963f66afa6", "--path", "/x/"),
            "error: --path must start with /, have no trailing /, and use segments of letters, digits, _ and -, "
            "not '/x/'",
        ),
    ],
)
async def test_a_refused_value_names_the_flag(args: tuple[str, ...], expected: str) -> None:
    """Bad values are one line naming the CLI's own flag (not the API's parameter), exit 1."""
    assert one_line_error(await run(*args, env=base_env())) == expected


async def test_a_malformed_command_line_is_a_usage_error() -> None:
    """Click's own convention: exit 2 and a usage message for an unknown option or a missing argument."""
    for args in (("token", "-x"), ("token",), ("token", "acme", "--min-ttl", "soon")):
        done = await run(*args, env=base_env())
        assert done.code == 2, done
        assert "Usage: " in done.err
    subject = await run("magic-link", "acme", env=base_env())
    assert one_line_error(subject, code=2) == "error: give exactly one of --user and --employment"


async def test_refused_operations_say_why(cli: Cli) -> None:
    """retry on a company that is not misconfigured, --min-ttl beyond the token lifetime, a second offboard."""
    ref = f"cli-ops-{cli.stack.task_queue[-8:]}"
    link = await cli.stack.oauth.onboard(ref)
    assert (await cli.stack.oauth.complete_consent(await cli.stack.approve(link))).phase is Phase.ACTIVE

    assert one_line_error(await cli("retry", ref)) == (
        f"error: {ref} is active, not misconfigured: retry is for a company whose settings were refused "
        "(see `remote-oauth status`)"
    )
    before = (await cli.stack.http.get("/sandbox/stats")).json()["token_requests"]["refresh_token"]
    too_long = await cli("token", ref, "--min-ttl", "4000")
    assert one_line_error(too_long) == (
        f"error: --min-ttl 4000 is longer than {ref}'s tokens live (3600 s), so no refresh could meet it; "
        "ask for at most 3600"
    )
    assert (await cli.stack.http.get("/sandbox/stats")).json()["token_requests"]["refresh_token"] == before

    first, second = await cli("offboard", ref), await cli("offboard", ref)
    assert (first.code, first.out) == (0, f"{ref} is offboarded\n")
    assert (second.code, second.out, second.err) == (0, f"{ref} is already offboarded\n", "")


async def test_retry_of_a_misconfigured_company_says_what_was_wrong(cli: Cli) -> None:
    """A worker with a refused secret leaves a company misconfigured; `retry` asks it again, exit 0."""
    queue = fresh_task_queue()
    settings = dataclasses.replace(settings_for(cli.stack.sandbox), client_secret=Secret("a-wrong-secret"))
    opts = WorkerOptions(task_queue=queue, token_task_queue=queue, graceful_shutdown_seconds=0)
    oauth = RemoteOAuth(
        cli.stack.env.client, task_queue=queue, company_settings=CompanySettings(token_task_queue=queue)
    )
    ref = f"cli-retry-{queue[-8:]}"
    env = {**cli.env, "REMOTE_OAUTH_TASK_QUEUE": queue, "REMOTE_OAUTH_TOKEN_TASK_QUEUE": queue}
    async with running_workers(cli.stack.env.client, settings, opts):
        result = await oauth.complete_consent(await cli.stack.approve(await oauth.onboard(ref)))
        assert result.phase is Phase.MISCONFIGURED
        error = (await oauth.status(ref)).last_error
        done = await run("retry", ref, env=env)
        assert (done.code, done.err) == (0, "")
        assert done.out == f"{ref} retries now (it was misconfigured: {error})\n"
        await oauth.offboard(ref)
