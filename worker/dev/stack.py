"""Child processes of ``remote-oauth dev``: start, wait until they listen, stop them all.

Each child runs in its own process group (``start_new_session``), so a Ctrl-C in the terminal reaches only
the dev process, which then stops the children in order (the worker before the Temporal server it drains
to) and kills whatever outlives a deadline, grandchildren included: nothing is left behind. Each child runs
under ``worker.dev.guard``, which stops it should the dev process die without doing so (SIGKILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workflows.types.errors import ConfigurationError

__all__ = ["Child", "ChildSpec", "StackError", "choose_port", "start", "stop_all", "wait_listening"]

HOST = "127.0.0.1"


class StackError(ConfigurationError):
    """A piece of the dev stack could not start (a port in use, a child that exited)."""


@dataclass(frozen=True)
class ChildSpec:
    """How to run one piece of the stack."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(repr=False)
    port: int
    """Where it listens once ready (127.0.0.1)."""


@dataclass(frozen=True)
class Child:
    """A started piece: its process and the log file its output goes to."""

    spec: ChildSpec
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid


def port_free(port: int) -> bool:
    """Whether a server could listen on ``port`` now.

    The servers we start (uvicorn, Go's net package) bind with ``SO_REUSEADDR``, so the probe does too: a
    port held only by TIME-WAIT sockets of a stack stopped a moment ago is free for them, and the stack
    keeps its preferred ports (and the links already handed out) across a quick restart.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def choose_port(name: str, requested: int | None, preferred: int, taken: set[int]) -> int:
    """``requested`` if given (0: any free port), else ``preferred`` when free, else any free port.

    Raises:
        StackError: an explicitly requested port is in use.
    """
    if requested is not None and requested != 0:
        if requested in taken or not port_free(requested):
            raise StackError(f"port {requested} ({name}) is in use; pick another or pass 0 for a free one")
        taken.add(requested)
        return requested
    if requested is None and preferred not in taken and port_free(preferred):
        taken.add(preferred)
        return preferred
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if port not in taken:
            taken.add(port)
            return port


def start(spec: ChildSpec, log_dir: Path) -> Child:
    """Start a child under ``worker.dev.guard``, so it stops even if this process is SIGKILLed."""
    log = log_dir / f"{spec.name}.log"
    guarded = (sys.executable, "-m", "worker.dev.guard", str(os.getpid()), *spec.argv)
    with log.open("ab") as out:
        process = subprocess.Popen(
            guarded,
            env=dict(spec.env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Child(spec=spec, process=process, log=log)


def log_tail(child: Child, lines: int = 15) -> str:
    try:
        text = child.log.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


async def wait_listening(children: Sequence[Child], deadline: float) -> None:
    """Return once every child accepts TCP connections on its port.

    Raises:
        StackError: a child exited, or the deadline (``time.monotonic()``) passed.
    """
    pending = list(children)
    while pending:
        for child in list(pending):
            code = child.process.poll()
            if code is not None:
                raise StackError(
                    f"{child.spec.name} exited with code {code} while starting; {child.log}:\n{log_tail(child)}"
                )
            try:
                _, writer = await asyncio.open_connection(HOST, child.spec.port)
            except OSError:
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            pending.remove(child)
        if pending and time.monotonic() > deadline:
            names = ", ".join(c.spec.name for c in pending)
            raise StackError(
                f"{names} did not start listening in time; see the logs in {pending[0].log.parent}"
            )
        if pending:
            await asyncio.sleep(0.1)


def _signal_group(child: Child, sig: int) -> None:
    # The group outlives its leader while a grandchild lives, so signal it even after the leader exited.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, sig)


def _group_alive(child: Child) -> bool:
    child.process.poll()  # reap the leader if it exited
    try:
        os.killpg(child.pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def _stop_wave(children: Sequence[Child], grace: float) -> None:
    for child in children:
        _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not any(_group_alive(c) for c in children):
            break
        await asyncio.sleep(0.05)
    for child in children:
        if _group_alive(child):
            _signal_group(child, signal.SIGKILL)
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=2)


async def stop_all(waves: Sequence[Sequence[Child]], grace: float = 12.0) -> None:
    """Stop children wave by wave (SIGTERM, then SIGKILL after ``grace`` seconds), waiting for each wave."""
    for wave in waves:
        if wave:
            await _stop_wave(wave, grace)
