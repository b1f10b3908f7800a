"""What every ``remote-oauth`` command that talks to Temporal shares: one job, clean errors, JSON output."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer
from temporalio.service import RPCError

from worker import context
from worker.cli.checks import check_ref
from workflows.types.errors import RemoteOAuthError
from workflows.types.tokens import TokenGrant
from workflows.types.untrusted import printable

T = TypeVar("T")
Ref = Annotated[
    str,
    typer.Argument(
        metavar="REF",
        help="Your own reference for the company (letters, digits, . _ @ : -).",
        callback=check_ref,
    ),
]


def run_job(job: Callable[[context.AppContext], Awaitable[T]]) -> T:
    """Connect, run one job, and turn known failures into a one-line error and exit code 1.

    Every error of ours (``RemoteOAuthError``: Temporal unreachable too) is one line; ``ValueError`` is how
    the API's own input checks refuse a value the CLI did not check first.
    """

    async def go() -> T:
        ctx = await context.load(os.environ)
        return await job(ctx)

    try:
        return asyncio.run(go())
    except (RemoteOAuthError, ValueError, RPCError) as err:
        typer.echo(f"error: {problem(err)}", err=True)
        raise typer.Exit(1) from None


def problem(err: Exception) -> str | None:
    """The one line (without ``error: ``) a known failure is reported as; None for anything else (a bug).

    Single commands print it after ``error: ``, bulk commands after the company's ref.
    """
    if isinstance(err, RemoteOAuthError | ValueError):
        return printable(str(err), 500)  # may quote stored gateway text
    if isinstance(err, RPCError):
        return f"Temporal said {err.status.name}: {printable(err.message, 500)}"
    return None


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def print_grant(grant: TokenGrant, as_json: bool) -> None:
    """The access token alone, or the whole grant as JSON: every command that prints a token uses this."""
    if as_json:
        fields = asdict(grant)
        fields.pop("refresh_token", None)  # the refresh token never leaves the workflow through the CLI
        typer.echo(json.dumps(jsonable(fields), indent=2))
    else:
        typer.echo(grant.access_token)


__all__ = ["Ref", "jsonable", "print_grant", "problem", "run_job"]
