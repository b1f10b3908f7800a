"""``remote-oauth dev``: the whole stack on 127.0.0.1 in one command, for a first run and for demos.

It starts the Temporal dev server (bundled binary, persistent SQLite file, our search attributes, the UI
with a codec server so payloads are readable), the sandbox gateway (its consents kept in a SQLite file too,
so a restart keeps every company connected), the worker and the web app as child processes, prints where
to click, and stops them all on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from sandbox.config import SandboxConfig
from worker import context, temporal
from worker.dev.demo import demo
from worker.dev.files import (
    DevPaths,
    default_data_dir,
    hold_lock,
    load_or_create_connect_key,
    load_or_create_keys,
    write_env_file,
    write_stack_file,
    write_temporal_config,
)
from worker.dev.stack import Child, ChildSpec, choose_port, start, stop_all, wait_listening
from workflows import company_effects
from workflows.types.errors import ConfigurationError

__all__ = ["Ports", "dev_command"]

SANDBOX = SandboxConfig()
SEARCH_ATTRIBUTES = tuple(f"{key.name}=Keyword" for key in company_effects.SEARCH_ATTRIBUTES)
_DROPPED_ENV = ("REMOTE_CLIENT_SECRET_FILE", "REMOTE_OAUTH_CODEC_KEYS_FILE")


@dataclass(frozen=True)
class Ports:
    """Where each piece listens on 127.0.0.1."""

    temporal: int
    ui: int
    codec: int
    sandbox: int
    web: int
    metrics: int
    """The worker's Prometheus metrics (also how the dev process knows the worker started)."""

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}"


def cli_settings(ports: Ports, keys: str, paths: DevPaths, connect_key: str = "") -> dict[str, str]:
    """The settings every piece and the CLI share (written to the env file for other shells)."""
    return {
        "REMOTE_GATEWAY_URL": ports.url(ports.sandbox),
        "REMOTE_CLIENT_ID": SANDBOX.client_id,
        "REMOTE_CLIENT_SECRET": SANDBOX.client_secret,
        "REMOTE_REDIRECT_URI": f"{ports.url(ports.web)}/oauth/callback",
        "REMOTE_OAUTH_CODEC_KEYS": keys,
        "REMOTE_OAUTH_CONNECT_KEYS": connect_key,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{ports.temporal}",
        "TEMPORAL_NAMESPACE": "default",
        "TEMPORAL_CONFIG_FILE": str(paths.temporal_config),
    }


def child_env(base: Mapping[str, str], settings: Mapping[str, str]) -> dict[str, str]:
    """The parent's environment without any Temporal profile or secret file of the user's, plus ours."""
    env = {k: v for k, v in base.items() if not k.startswith("TEMPORAL_") and k not in _DROPPED_ENV}
    env.update(settings)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def stack_specs(
    ports: Ports, paths: DevPaths, env: Mapping[str, str], *, token_ttl: int, auto_approve: bool
) -> tuple[list[ChildSpec], list[ChildSpec]]:
    """(infrastructure, applications): the second wave needs Temporal up, and stops before it."""
    cli = (sys.executable, "-m", "worker.cli.app")
    ui_origins = (ports.url(ports.ui), f"http://localhost:{ports.ui}")
    server = [temporal.temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1"]
    server += [
        "--port",
        str(ports.temporal),
        "--ui-port",
        str(ports.ui),
        "--db-filename",
        str(paths.database),
    ]
    server += ["--ui-codec-endpoint", ports.url(ports.codec), "--ui-disable-news-fetch"]
    for attribute in SEARCH_ATTRIBUTES:
        server += ["--search-attribute", attribute]
    sandbox = [*cli, "sandbox", "--port", str(ports.sandbox), "--token-ttl", str(token_ttl)]
    sandbox += ["--redirect-uri", env["REMOTE_REDIRECT_URI"], "--state-file", str(paths.sandbox_state)]
    if auto_approve:
        sandbox.append("--auto-approve")
    infra = [
        ChildSpec("temporal", tuple(server), env, ports.temporal),
        ChildSpec(
            "codec",
            (sys.executable, "-m", "worker.dev.codec", str(ports.codec), *ui_origins),
            env,
            ports.codec,
        ),
        ChildSpec("sandbox", tuple(sandbox), env, ports.sandbox),
    ]
    apps = [
        ChildSpec("worker", (*cli, "worker", "--metrics-port", str(ports.metrics)), env, ports.metrics),
        ChildSpec("web", (*cli, "web", "--port", str(ports.web)), env, ports.web),
    ]
    return infra, apps


def banner(ports: Ports, paths: DevPaths, seconds: float, *, auto_approve: bool, try_link: str) -> str:
    ui = ports.url(ports.ui)
    consent = (
        'the sandbox approves at once (--demo) and you land on "Connected"'
        if auto_approve
        else "the sandbox's consent page (Remote's stand-in): press Approve, you land on \"Connected\""
    )
    return f"""
remote-oauth dev is up in {seconds:.1f} s; data in {paths.root}

  Try it:       {try_link}
                -> {consent}
  Temporal UI:  {ui}  (payloads decrypted by the codec server at {ports.url(ports.codec)})
  Sandbox:      {ports.url(ports.sandbox)}  client id {SANDBOX.client_id}, secret {SANDBOX.client_secret}
  Logs:         {paths.logs}/{{temporal,codec,sandbox,worker,web}}.log

Then, in another shell:
  source {paths.env_file}
  remote-oauth status
  remote-oauth token acme
  remote-oauth magic-link acme --user <user_id from `remote-oauth status acme --json`>

Ctrl-C stops everything.
"""


async def _until(stop: asyncio.Event, work: asyncio.Future[object] | asyncio.Task[None]) -> bool:
    """Wait for ``work`` unless ``stop`` comes first; True when it finished."""
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if work in done:
        work.result()
        return True
    work.cancel()
    return False


async def _supervise(children: list[Child], stop: asyncio.Event) -> int:
    """Until a signal (exit 0) or a child exits by itself (exit 1)."""
    while not stop.is_set():
        for child in children:
            code = child.process.poll()
            if code is not None:
                typer.echo(f"{child.spec.name} exited with code {code}; see {child.log}. Stopping.", err=True)
                return 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.5)
    return 0


async def run_stack(
    paths: DevPaths,
    requested: tuple[int | None, ...],
    *,
    demo_count: int,
    token_ttl: int,
    startup_seconds: float,
) -> int:
    """Start the stack, serve until stopped, stop everything; returns the exit code."""
    paths.prepare()
    with hold_lock(paths):
        keys = load_or_create_keys(paths.codec_keys)
        taken: set[int] = set()
        names = ("temporal", "ui", "codec", "sandbox", "web", "metrics")
        preferred = (7233, 8233, 8081, 8090, 8000, 9464)
        ports = Ports(
            *(choose_port(n, w, p, taken) for n, w, p in zip(names, requested, preferred, strict=True))
        )
        settings = cli_settings(ports, keys, paths, load_or_create_connect_key(paths.connect_key))
        write_temporal_config(paths.temporal_config, settings["TEMPORAL_ADDRESS"])
        # The interpreter's own folder: in a venv it holds the `remote-oauth` script too.
        write_env_file(paths.env_file, settings, Path(sys.executable).parent)
        env = child_env(os.environ, settings)
        auto_approve = demo_count > 0
        infra_specs, app_specs = stack_specs(
            ports, paths, env, token_ttl=token_ttl, auto_approve=auto_approve
        )

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        began = time.monotonic()
        infra: list[Child] = []
        apps: list[Child] = []

        def record() -> None:
            pids = {c.spec.name: c.pid for c in infra + apps}
            write_stack_file(paths.stack_file, {"pid": os.getpid(), "ports": vars(ports), "children": pids})

        try:
            infra = [start(spec, paths.logs) for spec in infra_specs]
            record()
            deadline = began + startup_seconds
            if not await _until(stop, asyncio.ensure_future(wait_listening(infra, deadline))):
                return 0
            apps = [start(spec, paths.logs) for spec in app_specs]
            record()
            if not await _until(stop, asyncio.ensure_future(wait_listening(apps, deadline))):
                return 0
            ctx = await context.load(env)
            acme = await ctx.oauth.onboard("acme")  # a signed connect link, as a partner's backend mints it
            try_link = acme.connect_url or "acme is connected already: remote-oauth token acme"
            seconds = time.monotonic() - began
            typer.echo(banner(ports, paths, seconds, auto_approve=auto_approve, try_link=try_link))
            demo_task: asyncio.Task[None] | None = None
            if demo_count:
                demo_task = asyncio.create_task(demo(ctx.oauth, demo_count, sys.stdout))
            code = await _supervise(infra + apps, stop)
            if demo_task is not None:
                demo_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await demo_task
            return code
        finally:
            typer.echo("stopping the dev stack ...", err=True)
            await stop_all([apps, infra])
            paths.stack_file.unlink(missing_ok=True)
            typer.echo(
                f"stopped; workflows ({paths.database.name}) and the sandbox's consents "
                f"({paths.sandbox_state.name}) are kept in {paths.root}",
                err=True,
            )


def dev_command(
    *,
    demo_companies: Annotated[
        int,
        typer.Option(
            "--demo", metavar="N", min=0, help="Onboard N synthetic companies and show a live table."
        ),
    ] = 0,
    token_ttl: Annotated[
        int,
        typer.Option(
            metavar="SECONDS",
            min=1,
            help="The sandbox's access-token lifetime (60: refreshes within a minute).",
        ),
    ] = SANDBOX.token_ttl,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where the dev data lives (default: .remote-oauth/dev of the project or cwd)."),
    ] = None,
    temporal_port: Annotated[int | None, typer.Option(help="Temporal gRPC port (0: any free one).")] = None,
    ui_port: Annotated[int | None, typer.Option(help="Temporal UI port.")] = None,
    codec_port: Annotated[int | None, typer.Option(help="Codec server port (for the UI).")] = None,
    sandbox_port: Annotated[int | None, typer.Option(help="Sandbox gateway port.")] = None,
    web_port: Annotated[int | None, typer.Option(help="Web app port (connect link and callback).")] = None,
    metrics_port: Annotated[int | None, typer.Option(help="Worker metrics port.")] = None,
    startup_timeout: Annotated[float, typer.Option(help="Seconds the stack may take to start.")] = 90.0,
) -> None:
    """Run the whole stack locally (Temporal dev server + UI, sandbox gateway, worker, web app) until Ctrl-C.

    Ports default to 7233, 8233, 8081, 8090, 8000 and 9464, or any free port when one is taken; a port given
    explicitly must be free (0 picks any).
    """
    paths = DevPaths(data_dir.resolve() if data_dir else default_data_dir(os.environ, Path.cwd()))
    requested = (temporal_port, ui_port, codec_port, sandbox_port, web_port, metrics_port)
    try:
        code = asyncio.run(
            run_stack(
                paths,
                requested,
                demo_count=demo_companies,
                token_ttl=token_ttl,
                startup_seconds=startup_timeout,
            )
        )
    except ConfigurationError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    raise typer.Exit(code)
