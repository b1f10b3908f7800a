"""``remote-oauth doctor``: check a deployment before its first company does, one line per check."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

__all__ = ["doctor", "register"]


def register(app: typer.Typer) -> None:
    """Add the command to the ``remote-oauth`` app."""
    app.command("doctor")(doctor)


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check this deployment's settings end to end: ✓ or ✗ per check, each ✗ with its fix; exit 1 on any ✗.

    Settings, Temporal (envconfig), the namespace's search attributes, the codec keys against a sample of
    history, the gateway, the client's credentials (one real client-credentials grant: one request of the
    client id's rate budget), the redirect URI's web app (/healthz) and the webhook (a signed `test` event).
    """
    from worker.health.doctor import diagnose  # noqa: PLC0415  (only doctor needs it)
    from worker.health.report import Status, render_json, render_text  # noqa: PLC0415

    checks = asyncio.run(diagnose(os.environ))
    typer.echo(render_json(checks) if as_json else render_text(checks))
    if any(check.status is Status.FAIL for check in checks):
        raise typer.Exit(1)
