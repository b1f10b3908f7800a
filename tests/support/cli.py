"""Running the ``remote-oauth`` command line as a real process, in an environment of the test's own."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass

from tests.support.stack import CLIENT_ID, CLIENT_SECRET, CONNECT_KEY, REDIRECT_URI, Stack
from tests.support.temporal import TEST_KEYS

__all__ = ["CLI", "Done", "base_env", "run", "stack_env"]

CLI = [sys.executable, "-m", "worker.cli.app"]


@dataclass(frozen=True)
class Done:
    """How a command ended: exit code, standard output and standard error."""

    code: int
    out: str
    err: str


def base_env(**extra: str) -> dict[str, str]:
    """The process environment without any REMOTE_*/TEMPORAL_* setting of the machine, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMOTE_", "TEMPORAL_"))}
    return {**env, **extra}


def stack_env(stack: Stack, *, task_queue: str | None = None) -> dict[str, str]:
    """The environment of a CLI process that talks to ``stack`` (its queue, or ``task_queue``)."""
    queue = task_queue or stack.task_queue
    return base_env(
        TEMPORAL_ADDRESS=stack.env.client.service_client.config.target_host,
        REMOTE_GATEWAY_URL=stack.sandbox.url,
        REMOTE_CLIENT_ID=CLIENT_ID,
        REMOTE_CLIENT_SECRET=CLIENT_SECRET,
        REMOTE_REDIRECT_URI=REDIRECT_URI,
        REMOTE_OAUTH_CODEC_KEYS=TEST_KEYS,
        REMOTE_OAUTH_CONNECT_KEYS=CONNECT_KEY,
        REMOTE_OAUTH_TASK_QUEUE=queue,
        REMOTE_OAUTH_TOKEN_TASK_QUEUE=queue,
    )


async def run(*args: str, env: dict[str, str], stdin: str | None = None) -> Done:
    """Run ``remote-oauth ARGS`` with exactly ``env`` (and ``stdin``); its exit code and output (fails after
    60 s)."""
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(None if stdin is None else stdin.encode()), 60)
    assert proc.returncode is not None
    return Done(proc.returncode, out.decode(), err.decode())
