"""``remote-oauth`` commands for companies: onboarding, reconnecting, status, offboarding, retry and import,
one or many at once."""

from __future__ import annotations

import typer

from worker.cli.companies.importing import import_companies
from worker.cli.companies.lifecycle import offboard, retry
from worker.cli.companies.onboard import onboard, reconnect
from worker.cli.companies.status import status, status_table

__all__ = ["register", "status_table"]


def register(app: typer.Typer) -> None:
    """Add the company commands to the ``remote-oauth`` app (``token`` stays with the app itself)."""
    app.command()(onboard)
    app.command()(reconnect)
    app.command()(status)
    app.command()(offboard)
    app.command()(retry)
    app.command("import")(import_companies)
