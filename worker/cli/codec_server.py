"""``remote-oauth codec-server``: the codec server for a production Temporal UI, with authentication.

The dev stack runs the same app on 127.0.0.1 with no token. Here a token is required (a bearer token from a
file, or the UI user's access token checked against an OIDC issuer) unless it binds only to loopback, so a
codec server that can decrypt every company's tokens never answers strangers.
"""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import httpx
import typer
import uvicorn

from worker.context import keyring_from
from workflows.io.codec_server import Authorizer, BearerToken, IssuerTokens, any_of, codec_app
from workflows.io.settings import Settings, is_loopback
from workflows.types.errors import ConfigurationError, RemoteOAuthError

__all__ = ["codec_server_command"]


def codec_server_command(
    *,
    host: Annotated[str, typer.Option(help="Interface to listen on (non-loopback only with a token).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8081,
    ui_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--ui-origin",
            envvar="REMOTE_OAUTH_CODEC_UI_ORIGIN",
            help="The Temporal UI's origin (e.g. https://temporal.partner.example), the only one CORS allows; "
            "repeatable.",
        ),
    ] = None,
    token_file: Annotated[
        str | None,
        typer.Option(
            envvar="REMOTE_OAUTH_CODEC_TOKEN_FILE", help="A file holding the bearer token callers must send."
        ),
    ] = None,
    issuer: Annotated[
        str | None,
        typer.Option(
            envvar="REMOTE_OAUTH_CODEC_ISSUER",
            help="Accept the UI user's access token (TEMPORAL_CODEC_PASS_ACCESS_TOKEN) when this OIDC issuer "
            "signed it.",
        ),
    ] = None,
    audience: Annotated[
        str | None,
        typer.Option(envvar="REMOTE_OAUTH_CODEC_AUDIENCE", help="The `aud` those access tokens must carry."),
    ] = None,
) -> None:
    """Serve POST /encode and /decode for the Temporal UI, with a token required off loopback.

    Keys come from REMOTE_OAUTH_CODEC_KEYS(_FILE). Without --token-file or --issuer it binds only to a
    loopback interface. Put TLS in front of it (a reverse proxy) when the UI's users reach it over a network.
    """
    try:
        asyncio.run(
            _serve(
                host=host,
                port=port,
                origins=ui_origin or [],
                token_file=token_file,
                issuer=issuer,
                audience=audience,
            )
        )
    except RemoteOAuthError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None


async def _serve(
    *,
    host: str,
    port: int,
    origins: list[str],
    token_file: str | None,
    issuer: str | None,
    audience: str | None,
) -> None:
    keyring = keyring_from(Settings.from_env(os.environ))
    if keyring is None:
        raise ConfigurationError(
            "REMOTE_OAUTH_CODEC_KEYS (or REMOTE_OAUTH_CODEC_KEYS_FILE) is not set: the codec server needs the "
            "keys every other process has"
        )
    if audience is not None and issuer is None:
        raise ConfigurationError("--audience applies to --issuer's access tokens: set --issuer too")
    async with httpx.AsyncClient(timeout=10.0) as http:
        authorizers: list[Authorizer] = []
        if token_file is not None:
            authorizers.append(BearerToken.from_file(token_file))
        if issuer is not None:
            authorizers.append(IssuerTokens(issuer, audience=audience, http=http))
        if not authorizers and not is_loopback(host):
            raise ConfigurationError(
                f"without --token-file or --issuer the codec server binds only to loopback, not {host}: "
                "give it a token, or keep --host 127.0.0.1"
            )
        app = codec_app(
            keyring, allowed_origins=origins, authorize=any_of(authorizers) if authorizers else None
        )
        config = uvicorn.Config(app, host=host, port=port, access_log=False, log_level="info")
        await uvicorn.Server(config).serve()
