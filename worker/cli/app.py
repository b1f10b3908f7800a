"""The ``remote-oauth`` command line."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict
from datetime import datetime
from typing import Annotated

import typer

from worker import context
from worker.cli import doctor as cli_doctor
from worker.cli import keys as cli_keys
from worker.cli import lazy as cli_lazy
from worker.cli import partner as cli_partner
from worker.cli import processes as cli_processes
from worker.cli.checks import InputError, TokenMinTtl, check_ref, within_lifetime
from worker.cli.jobs import Ref, jsonable, print_grant, run_job
from worker.shutdown import exit_process
from workflows.io.codec import generate_key
from workflows.io.connect_session import KEYGEN_HINT, generate_connect_key
from workflows.types.company import CompanyStatus, Phase, RefreshPolicy
from workflows.types.errors import ConfigurationError
from workflows.types.tokens import TokenGrant
from workflows.types.untrusted import printable

app = typer.Typer(
    name="remote-oauth",
    help=(
        "The durable OAuth 2.0 token lifecycle for partners of Remote's API.\n\n"
        "Settings come from the environment (REMOTE_*, REMOTE_OAUTH_*, TEMPORAL_*); see docs/settings.md."
    ),
    no_args_is_help=True,
    add_completion=False,
)


def _age(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


def status_table(rows: list[CompanyStatus]) -> str:
    """The `list` command's table: one line per company, stored text made printable."""
    header = ("COMPANY", "STATE", "REMOTE COMPANY ID", "EXPIRES", "NEXT REFRESH", "REFRESHES", "LAST ERROR")
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
        )
        for s in rows
    ]
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in lines)


@app.command()
def onboard(
    company_ref: Ref,
    scope: Annotated[
        str | None, typer.Option(help="Scopes to ask for (default: REMOTE_OAUTH_SCOPES).")
    ] = None,
    on_demand: Annotated[
        bool, typer.Option("--on-demand", help="Refresh only when a token is asked for (saves rate budget).")
    ] = False,
    renew: Annotated[
        bool, typer.Option(help="Issue a new consent state even if the current one is valid.")
    ] = False,
    company_id: Annotated[
        str | None,
        typer.Option(
            "--company-id",
            help="Pin the ref to this Remote company id (UUID): consent from any other company never binds.",
        ),
    ] = None,
) -> None:
    """Start (or join) a company's onboarding and print a connect link for its admin.

    The link is on your web app (REMOTE_OAUTH_PUBLIC_URL, by default the origin of REMOTE_REDIRECT_URI),
    signed with REMOTE_OAUTH_CONNECT_KEYS and valid for REMOTE_OAUTH_CONNECT_TTL; each run prints a new one.
    Send it to the company's admin only: whoever opens it first can consent.
    """

    async def job(ctx: context.AppContext) -> None:
        settings = dataclasses.replace(
            context.company_settings(ctx.settings),
            scope=scope,
            refresh_policy=RefreshPolicy.ON_DEMAND if on_demand else RefreshPolicy.PROACTIVE,
        )
        link = await ctx.oauth.onboard(company_ref, settings=settings, renew=renew, company_id=company_id)
        if link.authorize_url is None:
            typer.echo(f"{company_ref} is {link.phase}: no consent needed")
        elif link.connect_url is None:
            raise ConfigurationError(f"no connect link can be made: {KEYGEN_HINT}")
        else:
            typer.echo(link.connect_url)

    run_job(job)


@app.command()
def status(
    company_ref: Annotated[
        str | None, typer.Argument(help="One company; omit for a table of all.", callback=check_ref)
    ] = None,
    state: Annotated[Phase | None, typer.Option(help="Only companies in this state.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show one company's status, or a table of every company (optionally filtered by state)."""

    async def job(ctx: context.AppContext) -> list[CompanyStatus]:
        if company_ref is not None:
            return [await ctx.oauth.status(company_ref)]
        return await ctx.oauth.list(state)

    rows = run_job(job)
    if as_json:
        payload = [jsonable(asdict(r)) for r in rows]
        typer.echo(json.dumps(payload[0] if company_ref else payload, indent=2))
    else:
        typer.echo(status_table(rows))


@app.command()
def token(
    company_ref: Ref,
    min_ttl: TokenMinTtl = 60.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole grant (expiry, scope, ids).")
    ] = False,
) -> None:
    """Print a fresh access token for a company (refreshing first if it would expire within --min-ttl)."""

    async def job(ctx: context.AppContext) -> TokenGrant:
        return await within_lifetime(
            lambda ttl: ctx.oauth.token(company_ref, min_ttl=ttl), min_ttl, f"{company_ref}'s"
        )

    print_grant(run_job(job), as_json)


@app.command()
def offboard(
    company_ref: Ref,
    reason: Annotated[str, typer.Option(help="Recorded in the webhook event.")] = "",
) -> None:
    """Forget a company's tokens and end its workflow (a company offboarded already stays so: exit 0)."""

    async def job(ctx: context.AppContext) -> tuple[CompanyStatus, bool]:
        current = await ctx.oauth.status(company_ref)
        if current.phase is Phase.OFFBOARDED:
            return current, False
        return await ctx.oauth.offboard(company_ref, reason=reason), True

    final, changed = run_job(job)
    typer.echo(
        f"{final.company_ref} is {final.phase}"
        if changed
        else f"{final.company_ref} is already {final.phase}"
    )


@app.command()
def retry(company_ref: Ref) -> None:
    """Ask a misconfigured company to try again now (after fixing the settings); refused in any other state."""

    async def job(ctx: context.AppContext) -> CompanyStatus:
        current = await ctx.oauth.status(company_ref)
        if current.phase is not Phase.MISCONFIGURED:
            raise InputError(
                f"{company_ref} is {current.phase}, not misconfigured: retry is for a company whose "
                "settings were refused (see `remote-oauth status`)"
            )
        await ctx.oauth.retry(company_ref)
        return current

    was = run_job(job)
    typer.echo(f"{company_ref} retries now (it was misconfigured: {was.last_error or 'no error recorded'})")


cli_partner.register(app)
cli_processes.register(app)
cli_keys.register(app)
cli_doctor.register(app)


@app.command()
def keygen(
    kid: Annotated[str, typer.Argument(help="A short key id, e.g. the date: 2026-11.")] = "k1",
    connect: Annotated[
        bool, typer.Option("--connect", help="A key for REMOTE_OAUTH_CONNECT_KEYS instead (no key id).")
    ] = False,
) -> None:
    """Print a new codec key entry for REMOTE_OAUTH_CODEC_KEYS (put it first to make it current).

    With --connect: a new key for REMOTE_OAUTH_CONNECT_KEYS (connect links and browser bindings).
    """
    typer.echo(generate_connect_key() if connect else generate_key(kid))


cli_lazy.register(app)  # sandbox and dev: imported only when run


def main(args: list[str] | None = None, *, cli: typer.Typer = app, prog_name: str | None = None) -> None:
    """Console-script entry point; ends with ``worker.shutdown.exit_process`` (sdk-python#300).

    ``cli`` is another app to run the same way (``python -m worker`` runs one of the worker command alone).
    """
    code: int
    try:
        cli(args, prog_name=prog_name)
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    exit_process(code)


if __name__ == "__main__":
    main()
