"""``python -m worker.dev.guard PARENT_PID CMD...``: run CMD, and stop it when ``remote-oauth dev`` dies.

A Ctrl-C or SIGTERM lets ``dev`` stop its children itself; a SIGKILL (or a crash) does not, and its Temporal
server, sandbox, worker and web app would live on, holding their ports. Each child therefore runs under
this guard, which notices that its parent is gone (it is re-parented) and stops the child: SIGTERM, then
SIGKILL after ``GRACE`` seconds. Signals sent to the guard alone are passed on; the guard exits with the
child's status.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from types import FrameType

POLL = 0.5
"""Seconds between checks that the parent still lives."""
GRACE = 10.0
"""Seconds the child gets to stop after SIGTERM before it is killed."""


def _stop(child: subprocess.Popen[bytes]) -> int:
    child.terminate()
    try:
        return child.wait(timeout=GRACE)
    except subprocess.TimeoutExpired:
        child.kill()
        return child.wait()


def guard(parent: int, argv: list[str]) -> int:
    """Run ``argv`` until it exits, or until ``parent`` is no longer this process's parent."""
    # Handlers first: a signal that arrives while the child starts is held and passed on once it runs.
    held: list[int] = []
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _frame: FrameType | None) -> None:
        if child is None:
            held.append(signum)
        elif child.poll() is None:
            child.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    child = subprocess.Popen(argv)  # same process group: a signal to the group reaches both
    for signum in held:
        child.send_signal(signum)
    code: int | None = None
    while code is None:
        try:
            code = child.wait(timeout=POLL)
        except subprocess.TimeoutExpired:
            if os.getppid() != parent:
                code = _stop(child)
    return code if code >= 0 else 128 - code


def main(args: list[str]) -> int:
    if len(args) < 2 or not args[0].isdigit():
        print("usage: python -m worker.dev.guard PARENT_PID CMD [ARG...]", file=sys.stderr)
        return 2
    return guard(int(args[0]), args[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
