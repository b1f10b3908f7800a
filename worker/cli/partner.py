"""``remote-oauth`` commands for tokens and links that act for the partner or a subject, not a company's consent."""

from __future__ import annotations

from typing import Annotated

import typer

from worker import context
from worker.cli.checks import (
    TokenMinTtl,
    check_path,
    check_ref,
    check_uuid,
    fail,
    min_ttl_option,
    within_lifetime,
)
from worker.cli.jobs import Ref, print_grant, run_job
from workflows.types.partner import PartnerStatus
from workflows.types.tokens import TokenGrant


def _user(value: str | None) -> str | None:
    return check_uuid("--user", value)


def _employment(value: str | None) -> str | None:
    return check_uuid("--employment", value)


def register(app: typer.Typer) -> None:
    """Add these commands to the ``remote-oauth`` app."""
    app.command("partner-token")(partner_token)
    app.command("assertion-token")(assertion_token)
    app.command("magic-link")(magic_link)


def partner_token(
    scope: Annotated[
        str | None, typer.Option(help="Scopes of the partner token (default: none asked).")
    ] = None,
    min_ttl: TokenMinTtl = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole grant (expiry, scope).")] = False,
    stop: Annotated[
        bool, typer.Option("--stop", help="Stop keeping this token fresh instead (its workflow ends).")
    ] = False,
) -> None:
    """Print a partner-scoped token (client credentials), kept fresh by its own workflow.

    The first call starts that workflow (one per REMOTE_CLIENT_ID and scope set); --stop ends it.
    """
    if stop:

        async def stop_job(ctx: context.AppContext) -> PartnerStatus:
            return await ctx.oauth.partner_stop(scope)

        final = run_job(stop_job)
        typer.echo(f"partner token {final.key} ({final.scope or 'no scope'}) is {final.phase}")
        return

    async def job(ctx: context.AppContext) -> TokenGrant:
        return await within_lifetime(
            lambda ttl: ctx.oauth.partner_token(scope, min_ttl=ttl), min_ttl, "partner"
        )

    print_grant(run_job(job), as_json)


def assertion_token(
    *,
    company: Annotated[
        str | None,
        typer.Option(help="Act as the admin who connected this company (REF).", callback=check_ref),
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="Act as this company manager (user UUID).", callback=_user)
    ] = None,
    employment: Annotated[
        str | None, typer.Option(help="Act as this employee (employment UUID).", callback=_employment)
    ] = None,
    scope: Annotated[str | None, typer.Option(help="Scopes to ask for.")] = None,
    min_ttl: Annotated[
        float,
        typer.Option(
            help="Seconds the token must still be valid (0 to 3600).", callback=min_ttl_option(3600)
        ),
    ] = 60.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole grant (expiry, scope, ids).")
    ] = False,
) -> None:
    """Print a JWT-bearer token acting as a company manager or an employee (give exactly one subject).

    Tokens are cached per subject and scopes and shared by every caller until near expiry.
    """
    if sum(x is not None for x in (company, user, employment)) != 1:
        raise fail("give exactly one of --company, --user and --employment", code=2)

    async def job(ctx: context.AppContext) -> TokenGrant:
        return await ctx.oauth.assertion_token(
            company, user_id=user, employment_id=employment, scope=scope, min_ttl=min_ttl
        )

    print_grant(run_job(job), as_json)


def magic_link(
    company_ref: Ref,
    user: Annotated[str | None, typer.Option(help="A company admin's user UUID.", callback=_user)] = None,
    employment: Annotated[
        str | None, typer.Option(help="An invited employee's employment UUID.", callback=_employment)
    ] = None,
    path: Annotated[
        str | None,
        typer.Option(
            help="Where the link lands, e.g. /dashboard (the gateway's default).", callback=check_path
        ),
    ] = None,
) -> None:
    """Print a passwordless sign-in link for a company admin (--user) or an invited employee (--employment)."""
    if (user is None) == (employment is None):
        raise fail("give exactly one of --user and --employment", code=2)

    async def job(ctx: context.AppContext) -> str:
        return await ctx.oauth.magic_link(company_ref, user_id=user, employment_id=employment, path=path)

    typer.echo(run_job(job))


__all__ = ["register"]
