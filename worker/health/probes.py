"""Liveness and readiness probes: ``/healthz`` says the process is up, ``/readyz`` that it reaches Temporal.

Both the web app and the worker (on its metrics port) answer them. Liveness touches nothing, so an orchestrator
never restarts a healthy process because Temporal is down; readiness asks Temporal's gRPC health service with a
short deadline and answers 503 while it cannot, so a load balancer stops sending customers to a web app that
could not finish their consent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.client import Client
from temporalio.service import RPCError

__all__ = [
    "READY_TIMEOUT_SECONDS",
    "free_loopback_port",
    "health_routes",
    "serving",
    "temporal_unreachable",
    "worker_health_app",
]

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 2.0
"""How long ``/readyz`` waits for Temporal: a probe's own timeout is usually a few seconds."""
_NO_STORE = {"Cache-Control": "no-store"}


async def temporal_unreachable(client: Client, *, deadline: float = READY_TIMEOUT_SECONDS) -> str | None:
    """None when Temporal's health service answers SERVING within ``deadline`` seconds; else why not (no secret in it)."""
    try:
        serving = await client.service_client.check_health(timeout=timedelta(seconds=deadline))
    except RPCError as err:
        return f"Temporal did not answer ({err.status.name})"
    except RuntimeError as err:  # a lazy client whose first connection fails
        return f"Temporal could not be reached ({type(err).__name__})"
    return None if serving else "Temporal answered NOT_SERVING"


def health_routes(client: Callable[[], Client]) -> list[Route]:
    """``GET /healthz`` (always 200) and ``GET /readyz`` (200 when Temporal answers, else 503 with why)."""

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"}, headers=_NO_STORE)

    async def readyz(_: Request) -> Response:
        problem = await temporal_unreachable(client())
        if problem is None:
            return JSONResponse({"status": "ready"}, headers=_NO_STORE)
        log.warning("not ready: %s", problem)
        return JSONResponse({"status": "unavailable", "reason": problem}, status_code=503, headers=_NO_STORE)

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]


def worker_health_app(client: Client, *, metrics_url: str | None = None) -> Starlette:
    """What the worker serves on its metrics port: the probes, and ``/metrics`` from the SDK runtime.

    The runtime's Prometheus exporter listens on a loopback port of its own (``metrics_url``); ``/metrics``
    here passes its text through, so one port serves scrapes and probes.
    """
    routes = health_routes(lambda: client)
    if metrics_url is not None:
        exporter = metrics_url
        # httpx logs every request at INFO: a scrape every 15 s would bury the worker's own log lines.
        logging.getLogger("httpx").addFilter(lambda record: exporter not in record.getMessage())

        async def metrics(_: Request) -> Response:
            async with httpx.AsyncClient(timeout=READY_TIMEOUT_SECONDS) as http:
                try:
                    answer = await http.get(exporter)
                except httpx.HTTPError as err:
                    return Response(f"metrics exporter unavailable ({type(err).__name__})\n", status_code=503)
            return Response(
                answer.content,
                status_code=answer.status_code,
                media_type=answer.headers.get("content-type", "text/plain"),
            )

        routes.append(Route("/metrics", metrics, methods=["GET"]))
    return Starlette(routes=routes)


def free_loopback_port() -> int:
    """A port nothing listens on now, for the runtime's exporter behind ``/metrics`` (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves SIGTERM/SIGINT to the process (the worker's graceful shutdown)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(app: Starlette, *, host: str, port: int) -> AsyncIterator[uvicorn.Server]:
    """Serve ``app`` for the life of the context, next to the worker, without taking its signals.

    Raises:
        OSError: nothing listens after startup (the port is taken; uvicorn logged why).
    """
    config = uvicorn.Config(app, host=host, port=port, access_log=False, log_level="warning", lifespan="off")
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            raise OSError(f"cannot serve health and metrics on {host}:{port}")
        await asyncio.sleep(0.01)
    try:
        yield server
    finally:
        server.should_exit = True
        await task
