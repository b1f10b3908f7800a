"""Codec key rotation end to end: new key first, `remote-oauth rotate-keys`, old key removed, and every
workflow still replays and hands out tokens (dev server, real processes for the command and the last worker)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.support.cli import base_env, run
from tests.support.stack import CLIENT_ID, CLIENT_SECRET, CONNECT_KEY, EXACT, REDIRECT_URI, Stack, make_stack
from worker.api import KeyRotation, RemoteOAuth, TokenCache
from worker.runner import running_workers
from worker.temporal import with_converter
from workflows.io.codec import Keyring, data_converter
from workflows.io.connect_session import ConnectLinks
from workflows.types.company import Phase

OLD = "2026-05:Xb6sfxafdYzyfowlIYuiRwC6WWcQxHqIY8o7bXUPxrw="
NEW = "2026-11:iUNZFiySnPozEypd5m4KCSBP35YWWWPtCUIjoUGF/Ho="
BOTH = f"{NEW},{OLD}"
SCOPE = "rotation:end_to_end"
"""The partner token's own scope: its workflow id is no other test's (a running one would be joined)."""


def _client(stack: Stack, keys: str) -> Client:
    return with_converter(stack.client, data_converter(Keyring.parse(keys)))


def _oauth(stack: Stack, keys: str) -> RemoteOAuth:
    """The API as a process holding ``keys`` builds it (no token cache: every read reaches a workflow)."""
    return RemoteOAuth(
        _client(stack, keys),
        task_queue=stack.task_queue,
        company_settings=EXACT,
        client_id=stack.settings.client_id,
        links=ConnectLinks.from_settings(stack.settings),
        token_cache=TokenCache(0),
    )


def _workers(stack: Stack, keys: str) -> contextlib.AbstractAsyncContextManager[object]:
    return running_workers(_client(stack, keys), stack.settings, stack.worker_options)


def _env(stack: Stack, env: WorkflowEnvironment, keys: str) -> dict[str, str]:
    return base_env(
        TEMPORAL_ADDRESS=env.client.service_client.config.target_host,
        REMOTE_GATEWAY_URL=stack.sandbox.url,
        REMOTE_CLIENT_ID=CLIENT_ID,
        REMOTE_CLIENT_SECRET=CLIENT_SECRET,
        REMOTE_REDIRECT_URI=REDIRECT_URI,
        REMOTE_OAUTH_CODEC_KEYS=keys,
        REMOTE_OAUTH_CONNECT_KEYS=CONNECT_KEY,
        REMOTE_OAUTH_TASK_QUEUE=stack.task_queue,
        REMOTE_OAUTH_TOKEN_TASK_QUEUE=stack.task_queue,
    )


@contextlib.asynccontextmanager
async def _worker_process(env: dict[str, str]) -> AsyncIterator[None]:
    """`python -m worker` with ``env``, polling for the life of the context, then stopped with SIGTERM."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker", env=env, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None
    seen = b""
    try:
        while b"worker polling" not in seen:
            line = await asyncio.wait_for(proc.stderr.readline(), 30)
            assert line, f"worker exited early: {seen.decode()}"
            seen += line
        yield
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)


async def test_rotation_end_to_end(dev_server_env: WorkflowEnvironment, task_queue: str) -> None:
    """Workflows written under the old key, rotated onto the new one, then served by a worker without it."""
    async with make_stack(dev_server_env, task_queue, start_workers=False, max_cached_workflows=0) as stack:
        # 1. Everything runs with the old key: two connected companies, one awaiting consent, a partner
        # token and an assertion token.
        old = _oauth(stack, OLD)
        async with _workers(stack, OLD):
            for ref in ("rot-a", "rot-b"):
                link = await old.onboard(ref)
                assert (await old.complete_consent(await stack.approve(link))).phase is Phase.ACTIVE
            waiting = await old.onboard("rot-waiting")
            before = {ref: await old.token(ref) for ref in ("rot-a", "rot-b")}
            partner = await old.partner_token(SCOPE)
            assertion = await old.assertion_token("rot-a")

        # 2. The new key first everywhere; rotate-keys lists the five, then carries them forward.
        async with _workers(stack, BOTH):
            env = _env(stack, dev_server_env, BOTH)
            listed = await run("rotate-keys", "--dry-run", "--json", env=env)
            assert listed.code == 1, listed.err
            report = json.loads(listed.out)
            assert (report["key_id"], report["running"], report["done"]) == ("2026-11", 5, 0)
            assert {tuple(h["key_ids"]) for h in report["holders"]} == {("2026-05",)}
            rotated = await run("rotate-keys", "--wait", "60", env=env)
            assert rotated.code == 0, rotated.out + rotated.err
            assert rotated.out.splitlines() == [
                "current key 2026-11: 5 of 5 running workflows done (0 already on it, 5 carried forward)",
                "no running workflow needs a key other than 2026-11: the older keys can leave "
                "REMOTE_OAUTH_CODEC_KEYS",
            ]
            again = await run("rotate-keys", "--json", env=env)
            assert (again.code, json.loads(again.out)["already"]) == (0, 5)

        # 3. The old key removed: a worker process starts with the new key alone, and every workflow
        # replays its current run (no cache) and hands out a new token; the waiting company connects.
        new = _oauth(stack, NEW)
        async with _worker_process(_env(stack, dev_server_env, NEW)):
            for ref, token in before.items():
                fresh = await new.token_after_rejection(ref, token)
                assert fresh.access_token != token.access_token
                assert (await new.status(ref)).phase is Phase.ACTIVE
            result = await new.complete_consent(await stack.approve(waiting))
            assert result.phase is Phase.ACTIVE, result.message
            assert (await new.token("rot-waiting")).access_token
            renewed = await new.partner_token_after_rejection(partner, SCOPE)
            assert renewed.access_token != partner.access_token
            minted = await new.assertion_token_after_rejection(assertion, "rot-a")
            assert minted.access_token != assertion.access_token
            rotation = KeyRotation(_client(stack, NEW), Keyring.parse(NEW), task_queue=task_queue)
            final = await rotation.rotate(wait=timedelta(0), carry=False)
            assert (final.running, final.holders) == (5, ())
            await new.partner_stop(SCOPE)
