"""Talking to an in-process sandbox as its clients do (consent, then the code exchange; a refresh), and its
``sandbox`` command on a root app of its own."""

from __future__ import annotations

from typing import Any

import httpx
import typer

import sandbox.cli
from sandbox.config import SandboxConfig
from sandbox.contract import load_contract
from sandbox.testing import connect_company

__all__ = ["cli_app", "connect", "refresh"]

SPEC = load_contract()
CONFIG = SandboxConfig()
SECRET_FORM = {"client_id": CONFIG.client_id, "client_secret": CONFIG.client_secret}


async def connect(
    client: httpx.AsyncClient, company_name: str = "Acme", scope: str | None = None
) -> dict[str, Any]:
    """Consent as ``company_name`` (for ``scope``, else the default) and exchange the code; the token response."""
    code = (await connect_company(client, company_name=company_name, scope=scope)).code
    assert code is not None
    data = {
        **SECRET_FORM,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CONFIG.redirect_uris[0],
    }
    body: dict[str, Any] = (await client.post(SPEC.token.path, data=data)).json()
    return body


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    """One refresh request."""
    data = {**SECRET_FORM, "grant_type": "refresh_token", "refresh_token": refresh_token}
    return await client.post(SPEC.token.path, data=data)


# A root app of our own, so these tests do not depend on the rest of the CLI importing cleanly.
cli_app = typer.Typer()
cli_app.command("sandbox")(sandbox.cli.sandbox_command)


@cli_app.callback()
def _root() -> None:
    """Keep typer in multi-command mode."""
