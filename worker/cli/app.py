"""The ``remote-oauth`` command line."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

import typer

from sandbox.cli import sandbox_command
from worker import context, preflight
from worker.cli import partner as cli_partner
from worker.cli.checks import InputError, TokenMinTtl, check_ref, within_lifetime
from worker.cli.jobs import Ref, jsonable, run_job
from worker.dev.run import dev_command
from worker.shutdown import exit_process
from workflows.io.codec import generate_key
from workflows.io.connect_session import KEYGEN_HINT, generate_connect_key
from workflows.io.settings import Settings
from workflows.types.company import CompanyStatus, Phase, RefreshPolicy
from workflows.types.errors import ConfigurationError, RemoteOAuthError
from workflows.types.untrusted import printable

app = typer.Typer(
    name="remote-oauth",
    help=(
        "The durable OAuth 2.0 token lifecycle for partners of Remote's API.\n\n"
        "Settings come from the environment (REMOTE_*, REMOTE_OAUTH_*, TEMPORAL_*); see the README."
    ),
    no_args_is_help=True,
    add_completion=False,
)


def _age(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


def _table(rows: list[CompanyStatus]) -> str:
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
        typer.echo(_table(rows))


@app.command()
def token(
    company_ref: Ref,
    min_ttl: TokenMinTtl = 60.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole grant (expiry, scope, ids).")
    ] = False,
) -> None:
    """Print a fresh access token for a company (refreshing first if it would expire within --min-ttl)."""

    async def job(ctx: context.AppContext) -> Any:
        return await within_lifetime(
            lambda ttl: ctx.oauth.token(company_ref, min_ttl=ttl), min_ttl, f"{company_ref}'s"
        )

    grant = run_job(job)
    if as_json:
        fields = asdict(grant)
        fields.pop("refresh_token", None)  # the refresh token never leaves the workflow through the CLI
        typer.echo(json.dumps(jsonable(fields), indent=2))
    else:
        typer.echo(grant.access_token)


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


@app.command()
def worker(
    metrics_port: Annotated[
        int | None,
        typer.Option(envvar="REMOTE_OAUTH_METRICS_PORT", help="Serve Prometheus metrics on 127.0.0.1:PORT."),
    ] = None,
) -> None:
    """Run the Temporal worker until SIGTERM/SIGINT (workflows and rate-limited gateway calls)."""
    from temporalio.runtime import Runtime  # noqa: PLC0415  (only this command needs a runtime)

    from worker import runner, temporal  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runtime: Runtime | None = temporal.runtime_with_metrics(metrics_port) if metrics_port else None

    async def go() -> None:
        preflight.check(Settings.from_env(os.environ), preflight.WORKER, "worker")
        ctx = await context.load(os.environ, runtime=runtime)
        await runner.serve(ctx.client, ctx.settings, runner.options_from(ctx.settings))

    _serve(go)


@app.command()
def web(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve /connect/{company}, the OAuth callback (the path of REMOTE_REDIRECT_URI) and /healthz."""
    import uvicorn  # noqa: PLC0415  (only this command serves HTTP)

    from worker.web import create_web_app  # noqa: PLC0415

    async def go() -> None:
        preflight.check(Settings.from_env(os.environ), preflight.WEB, "web")
        ctx = await context.load(os.environ, lazy=True)
        assert ctx.settings.redirect_uri is not None  # preflight checked it
        oauth = ctx.oauth
        assert oauth.links is not None  # preflight checked REMOTE_OAUTH_CONNECT_KEYS
        web_app = create_web_app(oauth, redirect_uri=ctx.settings.redirect_uri, links=oauth.links)
        # No access log: the callback's query string carries the code and state.
        config = uvicorn.Config(web_app, host=host, port=port, access_log=False, log_level="info")
        await uvicorn.Server(config).serve()

    _serve(go)


def _serve(process: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a long-lived process (worker, web app) until it stops; a settings error is one line and exit 1."""
    try:
        asyncio.run(process())
    except RemoteOAuthError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None


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


app.command("sandbox")(sandbox_command)
app.command("dev")(dev_command)


def main(args: list[str] | None = None) -> None:
    """Console-script entry point; ends with ``worker.shutdown.exit_process`` (sdk-python#300)."""
    code: int
    try:
        app(args)
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    exit_process(code)


if __name__ == "__main__":
    main()
