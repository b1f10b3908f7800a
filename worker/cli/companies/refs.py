"""Reading the files bulk commands take (``--from FILE`` or ``-`` for stdin), checked before anything runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from worker.cli.checks import fail, ref_problem

__all__ = ["FromFile", "read_refs", "read_text", "source_name"]

SHOWN_ERRORS = 20
"""How many bad lines a refused file lists before saying how many more there are."""

FromFile = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="FILE|-",
        help="Every company ref in FILE (or stdin for -): one a line; blank lines and # comments skipped.",
    ),
]


def source_name(source: str) -> str:
    return "stdin" if source == "-" else source


def read_text(source: str) -> str:
    """The whole of ``source`` (a path, or ``-`` for stdin) as UTF-8 text, or one line naming it and exit 1."""
    try:
        if source == "-":
            return sys.stdin.read()
        return Path(source).read_text(encoding="utf-8-sig")  # a spreadsheet's byte-order mark is not data
    except UnicodeDecodeError:
        raise fail(f"cannot read {source_name(source)}: it is not UTF-8 text") from None
    except OSError as err:
        raise fail(f"cannot read {source_name(source)}: {err.strerror or type(err).__name__}") from None


def refused(problems: list[str], what: str) -> typer.Exit:
    """Print the first problems of a refused file (one ``error:`` line each) and return the exit to raise."""
    for line in problems[:SHOWN_ERRORS]:
        typer.echo(f"error: {line}", err=True)
    more = len(problems) - SHOWN_ERRORS
    tail = f" ({more} more not shown)" if more > 0 else ""
    return fail(f"{what}: nothing was done{tail}")


def read_refs(source: str) -> list[str]:
    """The refs of ``source`` in order, each once; a bad ref anywhere refuses the whole file.

    A ref listed twice is done once, and a note on stderr says which (a list assembled from several
    sources often repeats one; doing it twice would only print the same line twice).
    """
    name = source_name(source)
    refs: dict[str, int] = {}
    repeated: list[str] = []
    problems: list[str] = []
    for number, raw in enumerate(read_text(source).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        reason = ref_problem(line)
        if reason is not None:
            problems.append(f"{name} line {number}: {reason}")
        elif line in refs:
            repeated.append(f"{line} (lines {refs[line]} and {number})")
        else:
            refs[line] = number
    if problems:
        raise refused(problems, f"{len(problems)} invalid line(s) in {name}")
    if repeated:
        typer.echo(f"note: listed more than once, done once: {', '.join(repeated)}", err=True)
    return list(refs)
