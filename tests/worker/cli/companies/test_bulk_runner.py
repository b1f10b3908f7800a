"""The bulk runner alone: order, failures, the concurrency bound, the progress bar (fake operations)."""

from __future__ import annotations

import asyncio
import io

import pytest

from worker.cli.companies.bulk import Outcome, Progress, run_each
from workflows.types.errors import NotFoundError


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


async def test_lines_come_in_input_order_and_failures_alone(capsys: pytest.CaptureFixture[str]) -> None:
    """Refs finish in any order, lines print in the refs' order; a failure is ``REF: reason`` on stderr."""
    delays = {"a": 0.03, "b": 0.0, "c": 0.01, "d": 0.0}

    async def operation(ref: str) -> Outcome:
        await asyncio.sleep(delays[ref])  # finish out of order on purpose
        if ref == "c":
            raise NotFoundError("no onboarding workflow for company 'c'")
        return Outcome(out=f"{ref} ok", note=f"{ref} noted" if ref == "d" else None)

    summary = await run_each(list(delays), operation, concurrency=4)
    captured = capsys.readouterr()
    assert (summary.ok, summary.failed, summary.line) == (3, 1, "done: 3 ok, 1 failed")
    assert captured.out == "a ok\nb ok\nd ok\n"
    assert captured.err == "c: no onboarding workflow for company 'c'\nd noted\n"


async def test_at_most_concurrency_operations_at_once() -> None:
    """However many refs, no more than ``concurrency`` operations run at the same time."""
    running, peak = 0, 0

    async def operation(ref: str) -> Outcome:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0)
        running -= 1
        return Outcome()

    summary = await run_each([f"r{n}" for n in range(40)], operation, concurrency=3)
    assert (summary.ok, peak) == (40, 3)


async def test_a_bug_is_not_a_failed_ref() -> None:
    """An exception that is not one of ours stops the run with its traceback instead of a summary line."""

    async def operation(ref: str) -> Outcome:
        raise KeyError(ref)

    with pytest.raises(ExceptionGroup) as err:
        await run_each(["a"], operation, concurrency=2)
    assert isinstance(err.value.exceptions[0], KeyError)


async def test_the_progress_bar_draws_on_a_terminal_and_clears_itself(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """On a terminal the bar counts to the total, is cleared before each line and at the end; never on a pipe."""
    assert Progress.on_terminal(2, io.StringIO()) is None
    screen = Terminal()
    bar = Progress.on_terminal(2, screen)
    assert bar is not None

    async def operation(ref: str) -> Outcome:
        return Outcome(out=ref)

    await run_each(["a", "b"], operation, concurrency=1, progress=bar)
    empty, half, full = "-" * 30, "#" * 15 + "-" * 15, "#" * 30
    clear = "\r\x1b[K"
    assert screen.getvalue() == (
        f"\r[{empty}] 0/2" + clear + f"\r[{half}] 1/2" + clear + f"\r[{full}] 2/2" + clear
    )
    assert capsys.readouterr().out == "a\nb\n"
