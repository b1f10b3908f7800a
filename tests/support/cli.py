"""Running the ``remote-oauth`` command line as a real process, in an environment of the test's own."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass

__all__ = ["CLI", "Done", "base_env", "run"]

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


async def run(*args: str, env: dict[str, str]) -> Done:
    """Run ``remote-oauth ARGS`` with exactly ``env``; its exit code and output (fails after 60 s)."""
    proc = await asyncio.create_subprocess_exec(
        *CLI, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return Done(proc.returncode, out.decode(), err.decode())
