"""``worker.context.run``: a script's exit code survives the exit the Temporal SDK can crash."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import sys
from worker.context import run

async def main() -> None:
    print("ran", flush=True)
    {body}

run(main)
print("never printed: run ends the process")
"""


@pytest.mark.parametrize(
    ("body", "code", "stderr"),
    [
        ("pass", 0, ""),
        ("raise RuntimeError('boom')", 1, "RuntimeError: boom"),
        ("sys.exit(3)", 3, ""),
        ("sys.exit('refused: no key')", 1, "refused: no key"),
    ],
)
def test_run_ends_the_process_with_mains_exit_code(body: str, code: int, stderr: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(body=body)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == code, done.stderr
    assert done.stdout == "ran\n"
    assert stderr in done.stderr
