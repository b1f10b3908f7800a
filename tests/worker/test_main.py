"""``python -m worker``: the worker process, whose ``--help`` prints the worker's options."""

from __future__ import annotations

import subprocess
import sys

from tests.support.cli import base_env


def python_m_worker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        env=base_env(COLUMNS="200"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_prints_the_workers_help() -> None:
    """``--help`` prints usage and options, exit 0, and starts nothing."""
    done = python_m_worker("--help")
    assert (done.returncode, done.stderr) == (0, "")
    assert "Usage: python -m worker [OPTIONS]" in done.stdout
    assert "Run the Temporal worker until SIGTERM/SIGINT" in done.stdout
    assert "--metrics-port" in done.stdout


def test_no_arguments_runs_the_worker() -> None:
    """With no arguments it is the worker: here it refuses to start without its settings (exit 1)."""
    done = python_m_worker()
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("error: remote-oauth worker cannot start without REMOTE_CLIENT_ID")
