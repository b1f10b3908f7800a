"""One operation per company, a few at a time: per-ref results in input order, a progress bar, a summary.

Bulk commands print what a single command prints, one line per ref (results on stdout, failures on stderr as
``REF: reason``, in the order the refs were given, each as soon as the refs before it are done), then
``done: N ok, N failed`` on stderr. A failure of one ref never stops the others; any failure makes the exit
code 1. The progress bar is drawn only when stderr is a terminal, so a pipe or a log file never sees it.
"""

from __future__ import annotations

import asyncio
import math
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, TextIO

import typer

from worker import context
from worker.cli.checks import fail
from worker.cli.jobs import problem, run_job

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MAX_CONCURRENCY",
    "Concurrency",
    "Outcome",
    "Progress",
    "Summary",
    "run_bulk",
    "run_each",
]

DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 64
"""Each operation is a few Temporal calls; more at once mostly queues at the frontend and the worker."""


def _concurrency(value: int) -> int:
    if not 1 <= value <= MAX_CONCURRENCY:
        raise fail(f"--concurrency must be between 1 and {MAX_CONCURRENCY}, not {value}")
    return value


Concurrency = Annotated[
    int,
    typer.Option(
        help=f"Companies handled at once (1 to {MAX_CONCURRENCY}).", callback=_concurrency, show_default=True
    ),
]


@dataclass(frozen=True)
class Outcome:
    """What one ref's operation has to say: a line for stdout and/or a note for stderr (either may be None)."""

    out: str | None = None
    note: str | None = None
    tally: str | None = None
    """What kind of success this was, counted for the summary (``imported``, ``refused``...)."""


@dataclass(frozen=True)
class Summary:
    """How a bulk run ended."""

    ok: int
    failed: int
    tallies: Mapping[str, int] = field(default_factory=dict)
    """How many successes of each ``Outcome.tally``."""

    @property
    def line(self) -> str:
        return f"done: {self.ok} ok, {self.failed} failed"


class Progress:
    """A one-line bar on a terminal (``[#####-----] 12/50``), cleared before any other line is written."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO) -> None:
        self._total = total
        self._done = 0
        self._stream = stream

    @classmethod
    def on_terminal(cls, total: int, stream: TextIO | None = None) -> Progress | None:
        """A bar on ``stream`` (stderr) if it is a terminal, else None: pipes and files never see one."""
        stream = sys.stderr if stream is None else stream
        return cls(total, stream) if stream.isatty() else None

    def draw(self) -> None:
        filled = math.floor(self.WIDTH * self._done / self._total) if self._total else self.WIDTH
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self._stream.write(f"\r[{bar}] {self._done}/{self._total}")
        self._stream.flush()

    def clear(self) -> None:
        self._stream.write("\r\x1b[K")
        self._stream.flush()

    def advance(self) -> None:
        self._done += 1
        self.draw()


class _Printer:
    """Prints each ref's lines in input order as soon as every ref before it is done."""

    def __init__(self, refs: Sequence[str], progress: Progress | None) -> None:
        self._refs = refs
        self._progress = progress
        self._finished: dict[int, tuple[Outcome | None, str | None]] = {}
        self._next = 0
        self.ok = 0
        self.failed = 0
        self.tallies: Counter[str] = Counter()

    def finished(self, index: int, outcome: Outcome | None, reason: str | None) -> None:
        self._finished[index] = (outcome, reason)
        if self._progress is not None:
            self._progress.clear()
        while self._next in self._finished:
            done, why = self._finished.pop(self._next)
            self._print(self._refs[self._next], done, why)
            self._next += 1
        if self._progress is not None:
            self._progress.advance()

    def _print(self, ref: str, outcome: Outcome | None, reason: str | None) -> None:
        if outcome is None:
            self.failed += 1
            typer.echo(f"{ref}: {reason}", err=True)
            return
        self.ok += 1
        if outcome.tally is not None:
            self.tallies[outcome.tally] += 1
        if outcome.out is not None:
            typer.echo(outcome.out)
        if outcome.note is not None:
            typer.echo(outcome.note, err=True)


async def run_each(
    refs: Sequence[str],
    operation: Callable[[str], Awaitable[Outcome]],
    *,
    concurrency: int,
    progress: Progress | None = None,
) -> Summary:
    """Run ``operation`` once per ref, ``concurrency`` at a time, printing as described above.

    A known failure (what ``run_job`` prints as one line) fails only its ref; anything else is a bug and
    stops the run with its traceback.
    """
    printer = _Printer(refs, progress)
    pending = iter(range(len(refs)))  # shared: each worker takes the next ref not yet taken

    async def work() -> None:
        for index in pending:
            try:
                outcome = await operation(refs[index])
            except Exception as err:
                reason = problem(err)
                if reason is None:
                    raise
                printer.finished(index, None, reason)
            else:
                printer.finished(index, outcome, None)

    if progress is not None and refs:
        progress.draw()
    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, len(refs))):
            group.create_task(work())
    if progress is not None:
        progress.clear()
    return Summary(ok=printer.ok, failed=printer.failed, tallies=dict(printer.tallies))


def run_bulk(
    refs: Sequence[str] | Callable[[context.AppContext], Awaitable[Sequence[str]]],
    operation: Callable[[context.AppContext, str], Awaitable[Outcome]],
    *,
    concurrency: int,
    before: Callable[[context.AppContext], None] | None = None,
    summary_line: Callable[[Summary], str] = lambda summary: summary.line,
) -> None:
    """Connect once, run ``operation`` for every ref (given, or found once connected), print the summary,
    and exit 1 if any ref failed. ``before`` may refuse the whole run first (it raises one of our errors)."""

    async def job(ctx: context.AppContext) -> Summary:
        if before is not None:
            before(ctx)
        chosen = refs if isinstance(refs, Sequence) else await refs(ctx)
        return await run_each(
            chosen,
            lambda ref: operation(ctx, ref),
            concurrency=concurrency,
            progress=Progress.on_terminal(len(chosen)),
        )

    summary = run_job(job)
    typer.echo(summary_line(summary), err=True)
    if summary.failed:
        raise typer.Exit(1)
