"""The ``remote-oauth`` command line."""

from __future__ import annotations

from typing import Annotated

import typer

from worker import context
from worker.cli import companies as cli_companies
from worker.cli import doctor as cli_doctor
from worker.cli import keys as cli_keys
from worker.cli import lazy as cli_lazy
from worker.cli import partner as cli_partner
from worker.cli import processes as cli_processes
from worker.cli.checks import TokenMinTtl, within_lifetime
from worker.cli.companies import status_table
from worker.cli.jobs import Ref, print_grant, run_job
from worker.shutdown import exit_process
from workflows.io.codec import generate_key
from workflows.io.connect_session import generate_connect_key
from workflows.types.tokens import TokenGrant

__all__ = ["app", "main", "status_table"]

app = typer.Typer(
    name="remote-oauth",
    help=(
        "The durable OAuth 2.0 token lifecycle for partners of Remote's API.\n\n"
        "Settings come from the environment (REMOTE_*, REMOTE_OAUTH_*, TEMPORAL_*); see docs/settings.md."
    ),
    no_args_is_help=True,
    add_completion=False,
)


cli_companies.register(app)


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
