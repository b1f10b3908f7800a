"""``remote-oauth onboard``: a connect link for one company's admin, or one per company of a file."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer

from worker import context
from worker.api.companies import Onboarding
from worker.cli.checks import check_ref, fail, parse_meta
from worker.cli.companies.bulk import DEFAULT_CONCURRENCY, Concurrency, Outcome, run_bulk
from worker.cli.companies.refs import FromFile, read_refs
from worker.cli.jobs import Ref, jsonable, run_job
from workflows.io.connect_session import KEYGEN_HINT
from workflows.types.company import CompanySettings, CompanyStatus, RefreshPolicy
from workflows.types.errors import ConfigurationError

__all__ = ["onboard", "reconnect"]


def _no_link_possible() -> ConfigurationError:
    return ConfigurationError(f"no connect link can be made: {KEYGEN_HINT}")


def _needs_links(ctx: context.AppContext) -> None:
    """A bulk onboard without connect keys would start every workflow and fail every ref: refuse first."""
    if ctx.oauth.links is None:
        raise _no_link_possible()


def _line(link: Onboarding, as_json: bool) -> Outcome:
    """A bulk onboard's output for one ref: ``REF<TAB>URL`` (a note on stderr when no consent is needed), or
    one JSON object a line."""
    if as_json:
        fields = {
            "company_ref": link.company_ref,
            "phase": str(link.phase),
            "connect_url": link.connect_url,
            "expires_at": jsonable(link.expires_at),
        }
        return Outcome(out=json.dumps(fields))
    if link.authorize_url is None:
        return Outcome(note=f"{link.company_ref} is {link.phase}: no consent needed")
    if link.connect_url is None:
        raise _no_link_possible()
    return Outcome(out=f"{link.company_ref}\t{link.connect_url}")


def onboard(
    company_ref: Annotated[
        str | None,
        typer.Argument(
            metavar="REF",
            help="Your own reference for the company (letters, digits, . _ @ : -).",
            callback=check_ref,
        ),
    ] = None,
    *,
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
    meta: Annotated[
        list[str] | None,
        typer.Option(
            "--meta",
            metavar="KEY=VALUE",
            help="Your own metadata for the company (repeat for more; replaces what it had). Not for secrets.",
        ),
    ] = None,
    from_file: FromFile = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="One JSON object a company: company_ref, phase, connect_url, expires_at."
        ),
    ] = False,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
) -> None:
    """Start (or join) a company's onboarding and print a connect link for its admin.

    The link is on your web app (REMOTE_OAUTH_PUBLIC_URL, by default the origin of REMOTE_REDIRECT_URI),
    signed with REMOTE_OAUTH_CONNECT_KEYS and valid for REMOTE_OAUTH_CONNECT_TTL; each run prints a new one.
    Send it to the company's admin only: whoever opens it first can consent.

    With --from FILE (or - for stdin): every company of the file, with the same options, printing
    REF<TAB>LINK a line (a company that needs no consent is noted on stderr), or JSON lines with --json.
    A ref listed twice is onboarded once.
    """
    if (company_ref is None) == (from_file is None):
        raise fail("give exactly one of REF and --from", code=2)
    metadata = parse_meta(meta)
    if company_id is not None and from_file is not None:
        raise fail("--company-id pins one company: it cannot apply to every company of --from", code=2)

    def settings(ctx: context.AppContext) -> CompanySettings:
        return dataclasses.replace(
            context.company_settings(ctx.settings),
            scope=scope,
            refresh_policy=RefreshPolicy.ON_DEMAND if on_demand else RefreshPolicy.PROACTIVE,
        )

    if from_file is not None:

        async def each(ctx: context.AppContext, ref: str) -> Outcome:
            link = await ctx.oauth.onboard(ref, settings=settings(ctx), renew=renew, metadata=metadata)
            return _line(link, as_json)

        run_bulk(read_refs(from_file), each, concurrency=concurrency, before=_needs_links)
        return

    assert company_ref is not None  # exactly one of the two is given (checked above)
    one = company_ref

    async def job(ctx: context.AppContext) -> None:
        link = await ctx.oauth.onboard(
            one, settings=settings(ctx), renew=renew, company_id=company_id, metadata=metadata
        )
        if as_json:
            typer.echo(_line(link, as_json=True).out)
        elif link.authorize_url is None:
            typer.echo(f"{one} is {link.phase}: no consent needed")
        elif link.connect_url is None:
            raise _no_link_possible()
        else:
            typer.echo(link.connect_url)

    run_job(job)


def reconnect(
    company_ref: Ref,
    scope: Annotated[
        str | None, typer.Option(help="Scopes to ask for (default: the company's current scopes).")
    ] = None,
    narrow: Annotated[
        bool,
        typer.Option("--narrow", help="Narrow the token to --scope now, through a refresh: no admin needed."),
    ] = False,
) -> None:
    """Give a connected company a new connect link (more scopes, or another admin), or narrow its scopes.

    The company keeps using its current token until its admin consents through the new link, and the new
    grant replaces it only if that consent is for the same Remote company. With --narrow --scope S the
    token is narrowed to S through a refresh (within what was granted), and the granted scope is printed.
    """
    if narrow and scope is None:
        raise fail("--narrow needs --scope: the scopes to keep", code=2)

    if narrow:
        assert scope is not None  # checked above

        async def narrowed(ctx: context.AppContext) -> CompanyStatus:
            return await ctx.oauth.narrow_scope(company_ref, scope)

        status = run_job(narrowed)
        typer.echo(f"{company_ref} now has scope {status.scope or '(none named by the gateway)'}")
        return

    async def job(ctx: context.AppContext) -> Onboarding:
        return await ctx.oauth.reconnect(company_ref, scope=scope)

    link = run_job(job)
    if link.connect_url is None:
        raise fail(f"no connect link can be made: {KEYGEN_HINT}")
    typer.echo(link.connect_url)
