"""Commands imported only when run: ``remote-oauth token`` loads neither the sandbox nor the dev stack.

Each is registered as a stand-in that takes its arguments as they are and hands them, ``--help`` included,
to the real command once its module is imported. ``remote-oauth --help`` lists it from the one-line summary
kept here (a test holds it equal to the command's own docstring), so listing imports nothing either.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer

__all__ = ["LAZY", "LazyCommand", "alone", "register"]


@dataclass(frozen=True)
class LazyCommand:
    """Where a command's function lives, and the first paragraph of its help for the command list."""

    module: str
    function: str
    summary: str

    def load(self) -> Callable[..., Any]:
        function: Callable[..., Any] = getattr(importlib.import_module(self.module), self.function)
        return function


LAZY: dict[str, LazyCommand] = {
    "sandbox": LazyCommand(
        "sandbox.cli",
        "sandbox_command",
        "Run a local stand-in for Remote's OAuth gateway, with dev credentials and an admin API under "
        "/sandbox/.",
    ),
    "dev": LazyCommand(
        "worker.dev.run",
        "dev_command",
        "Run the whole stack locally (Temporal dev server + UI, sandbox gateway, worker, web app) until "
        "Ctrl-C.",
    ),
    "codec-server": LazyCommand(
        "worker.cli.codec_server",
        "codec_server_command",
        "Serve POST /encode and /decode for the Temporal UI, with a token required off loopback.",
    ),
}


def register(app: typer.Typer) -> None:
    """Add a stand-in for each lazy command to the ``remote-oauth`` app."""
    for name, lazy in LAZY.items():
        app.command(
            name,
            help=lazy.summary,
            add_help_option=False,  # --help goes to the real command, with its options
            context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        )(_stand_in(name))


def alone(name: str) -> typer.Typer:
    """An app of the real command ``name`` alone (its module imported now): its arguments are its own."""
    one = typer.Typer(add_completion=False)
    one.command(name)(LAZY[name].load())
    return one


def _stand_in(name: str) -> Callable[[typer.Context], None]:
    def run(ctx: typer.Context) -> None:
        # Usage reads "remote-oauth sandbox [OPTIONS]", as if the real command had been registered.
        alone(name)(ctx.args, prog_name=ctx.command_path)

    return run
