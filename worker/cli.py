"""The ``remote-oauth`` command line."""

from __future__ import annotations

import typer

from sandbox.cli import sandbox_command

app = typer.Typer(
    name="remote-oauth",
    help=(
        "The durable OAuth 2.0 token lifecycle for partners of Remote's API.\n\n"
        "Settings come from the environment (REMOTE_*, REMOTE_OAUTH_*, TEMPORAL_*); see the README."
    ),
    no_args_is_help=True,
    add_completion=False,
)


app.command("sandbox")(sandbox_command)


@app.callback()
def _root() -> None:
    """Keep typer in multi-command mode even while only one command exists."""


def main() -> None:
    """Console-script entry point."""
    app()
