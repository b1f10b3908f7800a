"""A worker as a real process (``python -m worker``): for crashes that are real and memory that is its own."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from typing import IO

from temporalio.client import Client

from bench.stack import settings_for
from sandbox.testing import RunningSandbox

__all__ = ["peak_rss_mb_of", "start_worker", "stop_worker", "worker_env", "worker_process"]

STOP_SECONDS = 10.0


def worker_env(client: Client, sandbox: RunningSandbox, keys: str, queue: str) -> dict[str, str]:
    settings = settings_for(sandbox)
    keep = {
        name: value for name, value in os.environ.items() if not name.startswith(("TEMPORAL_", "REMOTE_"))
    }
    return keep | {
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": client.namespace,
        "REMOTE_OAUTH_CODEC_KEYS": keys,
        "REMOTE_GATEWAY_URL": sandbox.url,
        "REMOTE_CLIENT_ID": settings.client_id or "",
        "REMOTE_CLIENT_SECRET": sandbox.store.initial_config.client_secret,
        "REMOTE_REDIRECT_URI": settings.redirect_uri or "",
        "REMOTE_OAUTH_TASK_QUEUE": queue,
        "REMOTE_OAUTH_TOKEN_TASK_QUEUE": queue,
        "REMOTE_OAUTH_TOKEN_RATE_PER_MINUTE": "100000",
    }


async def start_worker(env: dict[str, str], log: IO[bytes]) -> asyncio.subprocess.Process:
    """A worker process writing to ``log``."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker", env=env, stdout=log, stderr=log
    )


async def stop_worker(process: asyncio.subprocess.Process) -> None:
    """SIGTERM (a graceful stop), SIGKILL after ``STOP_SECONDS``; nothing when already dead."""
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), STOP_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()


@contextlib.asynccontextmanager
async def worker_process(env: dict[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    """A worker process; stopped with SIGTERM on exit unless already dead."""
    with tempfile.TemporaryFile() as log:
        process = await start_worker(env, log)
        try:
            yield process
        finally:
            await stop_worker(process)


def peak_rss_mb_of(pid: int) -> float:
    """A live process's peak resident set (VmHWM), in MB; NaN where /proc is not available."""
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")
