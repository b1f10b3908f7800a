"""Running ``remote-oauth dev`` as a user does: a real subprocess on free ports, stopped with SIGINT."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from worker.dev.files import DevPaths

__all__ = ["DevStack", "dev_argv", "running_dev"]

PORT_FLAGS = (
    "--temporal-port",
    "--ui-port",
    "--codec-port",
    "--sandbox-port",
    "--web-port",
    "--metrics-port",
)
CONNECT = re.compile(r"Try it:\s+(http://127\.0\.0\.1:\d+/connect/acme\?session=v1\.\S+)")


@dataclass(frozen=True)
class DevStack:
    """A running ``remote-oauth dev`` subprocess and what it printed."""

    process: subprocess.Popen[str]
    connect_url: str
    paths: DevPaths

    def children(self) -> dict[str, int]:
        """The pid of each child process, by name, from the stack file."""
        stack = json.loads(self.paths.stack_file.read_text())
        children: dict[str, int] = stack["children"]
        return children

    def env(self) -> dict[str, str]:
        """The settings a shell gets from ``source .remote-oauth/dev/env``."""
        pairs = (
            shlex.split(line.removeprefix("export "))[0]
            for line in self.paths.env_file.read_text().splitlines()
        )
        settings = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
        return {**{k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}, **settings}


def dev_argv(data_dir: Path, *extra: str) -> list[str]:
    """``remote-oauth dev`` on ``data_dir`` with every port chosen by the OS."""
    ports = [arg for flag in PORT_FLAGS for arg in (flag, "0")]
    return [sys.executable, "-m", "worker.cli.app", "dev", "--data-dir", str(data_dir), *ports, *extra]


PORT_RACE = "address already in use"
"""A free port the OS named was taken by another process before a child bound it (the dev server picks its
HTTP API port itself): a race of the machine, not of the stack, so the start is tried once more."""


@contextlib.contextmanager
def running_dev(data_dir: Path, *extra: str, deadline_s: float = 60.0) -> Iterator[DevStack]:
    """Start ``remote-oauth dev`` on free ports; yield once it printed the connect link; SIGINT it after."""
    for attempt in (1, 2):
        process, url, seen = _start(data_dir, extra, deadline_s)
        if url is not None or attempt == 2 or PORT_RACE not in "".join(seen):
            break
        _stop(process)
    try:
        assert url is not None, "no connect link printed:\n" + "".join(seen)
        yield DevStack(process=process, connect_url=url, paths=DevPaths(data_dir))
    finally:
        _stop(process)


def _start(
    data_dir: Path, extra: tuple[str, ...], deadline_s: float
) -> tuple[subprocess.Popen[str], str | None, list[str]]:
    """The process, the connect link it printed (None if it did not in time), and what it printed."""
    process = subprocess.Popen(
        dev_argv(data_dir, *extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    assert process.stdout is not None
    deadline = time.monotonic() + deadline_s
    seen: list[str] = []
    url = None
    while url is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        found = CONNECT.search(line)
        url = found.group(1) if found else None
    return process, url, seen


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
