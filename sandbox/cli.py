"""``remote-oauth sandbox``: run the local stand-in for Remote's OAuth gateway."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.contract import ContractError, load_contract
from sandbox.server import build_server
from sandbox.state.file import StateFile

__all__ = ["sandbox_command"]

_DEFAULTS = SandboxConfig()


class TokenType(enum.StrEnum):
    """How ``token_type`` is spelt in token responses."""

    bearer = "bearer"
    Bearer = "Bearer"


class Rotation(enum.StrEnum):
    """What a refresh does to the refresh token."""

    off = "off"
    strict = "strict"
    grace = "grace"


def sandbox_command(
    *,
    host: Annotated[
        str, typer.Option(help="Interface to listen on; keep 127.0.0.1 unless you know why.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8090,
    client_id: Annotated[str, typer.Option(help="The registered client's id.")] = _DEFAULTS.client_id,
    client_secret: Annotated[
        str, typer.Option(help="The client's secret (also the HS256 key of its JWT assertions).")
    ] = _DEFAULTS.client_secret,
    redirect_uri: Annotated[
        list[str] | None,
        typer.Option(help="A registered redirect URI, compared byte for byte; repeat to register several."),
    ] = None,
    token_ttl: Annotated[
        int, typer.Option(metavar="SECONDS", min=1, help="Access-token lifetime, sent as expires_in.")
    ] = _DEFAULTS.token_ttl,
    token_type: Annotated[
        TokenType,
        typer.Option(help="token_type in responses: 'bearer' (the spec) or 'Bearer' (the live gateway)."),
    ] = TokenType.bearer,
    refresh_rotation: Annotated[
        Rotation,
        typer.Option(
            help="off: the same refresh token comes back (Remote's behaviour); strict: a new one each "
            "refresh, the old one dies at once; grace: a new one, the old one lives 60 s more."
        ),
    ] = Rotation.off,
    rate_limit_per_minute: Annotated[
        int, typer.Option(metavar="N", min=1, help="Requests per client id per minute before 429.")
    ] = _DEFAULTS.rate_limit_per_minute,
    auto_approve: Annotated[
        bool,
        typer.Option("--auto-approve", help="Approve consent at once instead of showing the consent page."),
    ] = False,
    state_file: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="Keep companies, grants and tokens in this SQLite file across restarts (default: memory only).",
        ),
    ] = None,
) -> None:
    """Run a local stand-in for Remote's OAuth gateway, with dev credentials and an admin API under /sandbox/."""
    config = SandboxConfig(
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=tuple(redirect_uri or _DEFAULTS.redirect_uris),
        token_ttl=token_ttl,
        token_type=token_type.value,
        refresh_rotation=refresh_rotation.value,
        rate_limit_per_minute=rate_limit_per_minute,
        auto_approve=auto_approve,
    )
    base = f"http://{host}:{port}"
    # A local sandbox with dev credentials: printing them is the point, so a developer can paste them.
    typer.echo(f"Remote OAuth sandbox on {base}")
    typer.echo(f"  client id:      {config.client_id}")
    typer.echo(f"  client secret:  {config.client_secret}")
    for uri in config.redirect_uris:
        typer.echo(f"  redirect URI:   {uri}")
    try:
        spec = load_contract()
    except ContractError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"  authorize:      {base}{spec.authorize.path}")
    typer.echo(f"  token:          {base}{spec.token.path}")
    typer.echo(f"  magic link:     {base}{spec.magic_link.path}")
    typer.echo(f"  admin API:      {base}/sandbox/  (stats, grants, faults, settings, reset)")
    saved = None if state_file is None else StateFile(state_file)
    if saved is not None:
        typer.echo(f"  state file:     {saved.path}")
    app = create_app(config, state_file=saved, contract=spec)
    try:
        build_server(app, host=host, port=port, log_level="info").run()
    finally:
        if saved is not None:
            # A dropped connection (the commit_then_drop fault) answers nothing, so save what it changed.
            saved.save(app.state.sandbox)
            saved.close()
