"""``remote-oauth offboard`` and ``retry``: for one company, or for many (a file, or every misconfigured one)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

from worker import context
from worker.cli.checks import InputError, check_ref, fail
from worker.cli.companies.bulk import DEFAULT_CONCURRENCY, Concurrency, Outcome, run_bulk
from worker.cli.companies.refs import FromFile, read_refs
from worker.cli.jobs import run_job
from workflows.types.company import CompanyStatus, Phase

__all__ = ["offboard", "retry"]

OptionalRef = Annotated[
    str | None,
    typer.Argument(
        metavar="REF",
        help="Your own reference for the company (letters, digits, . _ @ : -).",
        callback=check_ref,
    ),
]


def offboard(
    company_ref: OptionalRef = None,
    reason: Annotated[str, typer.Option(help="Recorded in the webhook event.")] = "",
    from_file: FromFile = None,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
) -> None:
    """Forget a company's tokens and end its workflow (a company offboarded already stays so: exit 0).

    With --from FILE (or - for stdin): every company of the file, with the same --reason.
    """
    if (company_ref is None) == (from_file is None):
        raise fail("give exactly one of REF and --from", code=2)

    async def each(ctx: context.AppContext, ref: str) -> Outcome:
        current = await ctx.oauth.status(ref)
        if current.phase is Phase.OFFBOARDED:
            return Outcome(out=f"{ref} is already {current.phase}")
        final = await ctx.oauth.offboard(ref, reason=reason)
        return Outcome(out=f"{final.company_ref} is {final.phase}")

    if from_file is not None:
        run_bulk(read_refs(from_file), each, concurrency=concurrency)
        return
    assert company_ref is not None  # exactly one of the two is given (checked above)
    one = company_ref

    async def job(ctx: context.AppContext) -> Outcome:
        return await each(ctx, one)

    typer.echo(run_job(job).out)


async def _retried(ctx: context.AppContext, ref: str) -> Outcome:
    """Ask a misconfigured company to try again; any other state is refused (nothing to retry)."""
    current: CompanyStatus = await ctx.oauth.status(ref)
    if current.phase is not Phase.MISCONFIGURED:
        raise InputError(
            f"{ref} is {current.phase}, not misconfigured: retry is for a company whose "
            "settings were refused (see `remote-oauth status`)"
        )
    await ctx.oauth.retry(ref)
    return Outcome(
        out=f"{ref} retries now (it was misconfigured: {current.last_error or 'no error recorded'})"
    )


async def _misconfigured(ctx: context.AppContext) -> Sequence[str]:
    return [found.company_ref for found in await ctx.oauth.list(Phase.MISCONFIGURED)]


def retry(
    company_ref: OptionalRef = None,
    state: Annotated[
        Phase | None,
        typer.Option(help="Every company in this state instead of one REF (only misconfigured has a retry)."),
    ] = None,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
) -> None:
    """Ask a misconfigured company to try again now (after fixing the settings); refused in any other state.

    With --state misconfigured: every misconfigured company, e.g. after fixing REMOTE_CLIENT_SECRET.
    """
    if (company_ref is None) == (state is None):
        raise fail("give exactly one of REF and --state misconfigured", code=2)
    if state is not None:
        if state is not Phase.MISCONFIGURED:
            raise fail(
                f"retry --state takes only misconfigured, not {state}: only a misconfigured company waits "
                "for a retry (see `remote-oauth status --state`)"
            )
        run_bulk(
            _misconfigured,
            _retried,
            concurrency=concurrency,
            summary_line=lambda done: done.line if done.ok or done.failed else "no company is misconfigured",
        )
        return
    assert company_ref is not None  # exactly one of the two is given (checked above)
    one = company_ref

    async def job(ctx: context.AppContext) -> Outcome:
        return await _retried(ctx, one)

    typer.echo(run_job(job).out)
