"""``remote-oauth import``: companies connected elsewhere, from a file of refresh tokens (never from argv)."""

from __future__ import annotations

from typing import Annotated

import typer

from worker import context
from worker.api import ImportResult
from worker.cli.companies.bulk import DEFAULT_CONCURRENCY, Concurrency, Outcome, Summary, run_bulk
from worker.cli.companies.import_file import Format, ImportFileError, ImportRow, format_of, parse
from worker.cli.companies.refs import read_text, refused, source_name
from workflows.types.company import Phase
from workflows.types.errors import NotFoundError

__all__ = ["import_companies"]

_GONE = (Phase.OFFBOARDED, Phase.EXPIRED)
"""Phases of a workflow that has ended: an import starts a new one, as for a ref never seen."""


def _rows(source: str, fmt: Format | None) -> list[ImportRow]:
    """Every row of the file, or every problem (by line and field) and exit 1: nothing is imported."""
    name = source_name(source)
    try:
        return parse(read_text(source), format_of(source, fmt))
    except ImportFileError as err:
        lines = [f"{name} {problem}" if problem.startswith("line ") else problem for problem in err.problems]
        raise refused(lines, f"{len(lines)} problem(s) in {name}") from None


def _imported_line(summary: Summary) -> str:
    counts = summary.tallies
    replaced = counts.get(ImportResult.REPLACED, 0)
    imported = counts.get(ImportResult.IMPORTED, 0) + replaced
    return (
        f"imported {imported}"
        + (f" ({replaced} replaced)" if replaced else "")
        + f", refused {counts.get(ImportResult.REFUSED, 0)}"
        + f", already present {counts.get(ImportResult.ALREADY_PRESENT, 0)}, failed {summary.failed}"
    )


def _dry_run_line(summary: Summary) -> str:
    counts = summary.tallies
    return (
        f"dry run: would import {counts.get('would_import', 0)}, would replace {counts.get('would_replace', 0)}"
        f", already present {counts.get(ImportResult.ALREADY_PRESENT, 0)}, failed {summary.failed}; "
        "nothing was imported"
    )


async def _dry_run(ctx: context.AppContext, ref: str, *, replace: bool) -> Outcome:
    """What importing ``ref`` would do, from its status alone (nothing is started or sent)."""
    try:
        current = await ctx.oauth.status(ref)
    except NotFoundError:
        return Outcome(out=f"{ref}\twould import", tally="would_import")
    if current.phase in _GONE:
        return Outcome(out=f"{ref}\twould import\t(was {current.phase})", tally="would_import")
    if current.phase.has_token and not replace:
        return Outcome(out=f"{ref}\talready_present\t{current.phase}", tally=ImportResult.ALREADY_PRESENT)
    return Outcome(out=f"{ref}\twould replace\t{current.phase}", tally="would_replace")


async def _import(ctx: context.AppContext, row: ImportRow, *, replace: bool) -> Outcome:
    outcome = await ctx.oauth.import_company(row.company(), replace=replace)
    line = f"{row.ref}\t{outcome.result}\t{outcome.phase}"
    if outcome.result is ImportResult.REFUSED:
        # The company waits for consent again: the partner sends its admin this link, as after onboard.
        link = await ctx.oauth.onboard(row.ref)
        line += f"\t{link.connect_url or '-'}"
    return Outcome(out=line, tally=outcome.result)


def import_companies(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE|-",
            help="JSON lines (.jsonl, .json) or CSV (.csv) of companies; - reads stdin (give --format).",
        ),
    ],
    *,
    fmt: Annotated[
        Format | None,
        typer.Option("--format", help="The file's format when its name does not say (always for stdin)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Check the file and say what each row would do; import nothing."),
    ] = False,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="Overwrite a company that is already connected (its grant is replaced)."
        ),
    ] = False,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
) -> None:
    """Bring in companies connected elsewhere (another token store) from their refresh tokens.

    Fields: ref and refresh_token, and optionally company_id, user_id, scope, expires_at, meta. Every row
    is checked before anything is imported (problems name the line and field, never a token). Each company
    starts active, and its first refresh proves the token: a token the gateway refuses leaves the company
    consent_revoked, and its line ends with a new connect link for its admin. Refused tokens are an
    expected part of a migration: the exit code is 0 unless the file is invalid or an import failed.
    A connected company is never overwritten without --replace. Prints REF<TAB>RESULT<TAB>STATE a row.
    """
    rows = {row.ref: row for row in _rows(source, fmt)}
    if dry_run:

        async def check(ctx: context.AppContext, ref: str) -> Outcome:
            return await _dry_run(ctx, ref, replace=replace)

        run_bulk(list(rows), check, concurrency=concurrency, summary_line=_dry_run_line)
        return

    async def each(ctx: context.AppContext, ref: str) -> Outcome:
        return await _import(ctx, rows[ref], replace=replace)

    run_bulk(list(rows), each, concurrency=concurrency, summary_line=_imported_line)
