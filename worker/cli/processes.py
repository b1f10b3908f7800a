"""``remote-oauth worker`` and ``web``: the long-lived processes, started from the command line.

Each imports its process (``worker.runner``, ``worker.web`` with uvicorn) only when it runs, so the other
commands stay quick to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import typer

from worker import context, preflight
from workflows.io.settings import Settings
from workflows.types.errors import RemoteOAuthError

__all__ = ["register", "web", "worker"]


def register(app: typer.Typer) -> None:
    """Add these commands to the ``remote-oauth`` app."""
    app.command("worker")(worker)
    app.command("web")(web)


def worker(
    metrics_port: Annotated[
        int | None,
        typer.Option(
            envvar="REMOTE_OAUTH_METRICS_PORT",
            help="Serve Prometheus /metrics and the /healthz and /readyz probes on this port.",
        ),
    ] = None,
    metrics_host: Annotated[
        str,
        typer.Option(
            envvar="REMOTE_OAUTH_METRICS_HOST",
            help="Interface of the metrics port (0.0.0.0 for a pod's probes).",
        ),
    ] = "127.0.0.1",
) -> None:
    """Run the Temporal worker until SIGTERM/SIGINT (workflows and rate-limited gateway calls)."""
    from temporalio.runtime import Runtime  # noqa: PLC0415  (only this command needs a runtime)

    from worker import runner, temporal  # noqa: PLC0415
    from worker.health import probes as health  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The runtime's exporter listens on a loopback port of its own; the metrics port serves it and the probes.
    exporter = health.free_loopback_port() if metrics_port else None
    runtime: Runtime | None = temporal.runtime_with_metrics(exporter) if exporter else None

    async def go() -> None:
        preflight.check(Settings.from_env(os.environ), preflight.WORKER, "worker")
        ctx = await context.load(os.environ, runtime=runtime)
        async with contextlib.AsyncExitStack() as stack:
            if metrics_port:
                probes = health.worker_health_app(
                    ctx.client, metrics_url=f"http://127.0.0.1:{exporter}/metrics"
                )
                await stack.enter_async_context(health.serving(probes, host=metrics_host, port=metrics_port))
            await runner.serve(ctx.client, ctx.settings, runner.options_from(ctx.settings))

    _serve(go)


def web(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve /connect/{company}, the OAuth callback (the path of REMOTE_REDIRECT_URI), /healthz and /readyz."""
    import uvicorn  # noqa: PLC0415  (only this command serves HTTP)

    from worker.web import create_web_app  # noqa: PLC0415

    async def go() -> None:
        preflight.check(Settings.from_env(os.environ), preflight.WEB, "web")
        ctx = await context.load(os.environ, lazy=True)
        assert ctx.settings.redirect_uri is not None  # preflight checked it
        oauth = ctx.oauth
        assert oauth.links is not None  # preflight checked REMOTE_OAUTH_CONNECT_KEYS
        web_app = create_web_app(oauth, redirect_uri=ctx.settings.redirect_uri, links=oauth.links)
        # No access log: the callback's query string carries the code and state.
        config = uvicorn.Config(web_app, host=host, port=port, access_log=False, log_level="info")
        await uvicorn.Server(config).serve()

    _serve(go)


def _serve(process: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a long-lived process until it stops; a settings error is one line and exit 1."""
    try:
        asyncio.run(process())
    except RemoteOAuthError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
