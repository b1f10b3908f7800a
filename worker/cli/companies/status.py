"""``remote-oauth status``: one company, or a table of every company."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Annotated

import typer

from worker import context
from worker.cli.checks import check_ref, parse_meta
from worker.cli.jobs import jsonable, run_job
from workflows.types.company import CompanyStatus, Phase
from workflows.types.untrusted import printable

__all__ = ["status", "status_table"]


def _age(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


def status_table(rows: list[CompanyStatus], *, scope: bool = False) -> str:
    """The `list` command's table: one line per company, stored text made printable; ``scope`` adds the
    granted scopes (the one-company view: a column of them would make the table unreadable)."""
    header: tuple[str, ...] = (
        "COMPANY",
        "STATE",
        "REMOTE COMPANY ID",
        "EXPIRES",
        "NEXT REFRESH",
        "REFRESHES",
        "LAST ERROR",
    )
    header += ("SCOPE",) if scope else ()
    lines = [header] + [
        (
            s.company_ref,
            str(s.phase),
            s.company_id or "-",
            _age(s.expires_at),
            _age(s.next_refresh_at),
            str(s.refreshes),
            # Stored text may quote a gateway or a browser: no escape sequence reaches the terminal.
            printable(s.last_error or "-", 60),
            *((s.scope or "-",) if scope else ()),
        )
        for s in rows
    ]
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in lines)


def status(
    company_ref: Annotated[
        str | None, typer.Argument(help="One company; omit for a table of all.", callback=check_ref)
    ] = None,
    state: Annotated[Phase | None, typer.Option(help="Only companies in this state.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    meta: Annotated[
        list[str] | None,
        typer.Option(
            "--meta",
            metavar="KEY=VALUE",
            help="Only companies with this metadata (repeat: all must match); not searchable in Temporal.",
        ),
    ] = None,
) -> None:
    """Show one company's status, or a table of every company (optionally filtered by state or metadata).

    Metadata is encrypted with everything else, so Temporal cannot search it: --meta reads every listed
    company's status and keeps those that match.
    """
    wanted = parse_meta(meta) or {}

    async def job(ctx: context.AppContext) -> list[CompanyStatus]:
        if company_ref is not None:
            one = await ctx.oauth.status(company_ref)
            return [one] if wanted.items() <= one.metadata.items() else []
        return await ctx.oauth.list(state, metadata=wanted or None)

    rows = run_job(job)
    if as_json:
        payload = [jsonable(asdict(r)) for r in rows]
        typer.echo(json.dumps(payload[0] if company_ref and payload else payload, indent=2))
    else:
        typer.echo(status_table(rows, scope=company_ref is not None))
