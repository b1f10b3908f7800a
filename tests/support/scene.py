"""A stack whose test starts and swaps the workers (a wrong secret, then the fix), with the partner's
webhook receiver listening on 127.0.0.1; and serving any ASGI app there (a web app, a receiver)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp
from temporalio.testing import WorkflowEnvironment

from tests.support.stack import CLIENT_SECRET, EXACT, Stack, make_stack, settings_for
from workflows.io.notify import verify
from workflows.io.settings import Settings
from workflows.types.company import CompanySettings

__all__ = ["WEBHOOK_SECRET", "Receiver", "Scene", "free_port", "receiver", "scene", "serving"]

WEBHOOK_SECRET = "webhook-secret-for-tests-only"


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextlib.asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """``app`` on 127.0.0.1 for the life of the context; yields its base URL (no trailing slash)."""
    server = uvicorn.Server(uvicorn.Config(app, port=0, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server stopped before it started"
        await asyncio.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


@dataclass
class Receiver:
    """A partner's webhook endpoint on 127.0.0.1 that keeps what it was sent."""

    url: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    authentic: list[bool] = field(default_factory=list)

    async def wait_for(self, count: int) -> list[str]:
        """The event names once ``count`` arrived (fails after 10 s)."""
        deadline = asyncio.get_running_loop().time() + 10
        while len(self.events) < count:
            assert asyncio.get_running_loop().time() < deadline, f"webhook got {self.names()}"
            await asyncio.sleep(0.01)
        return self.names()

    def names(self) -> list[str]:
        """The names of the events received so far, in order."""
        return [event["event"] for event in self.events]


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver that checks each event's signature against ``WEBHOOK_SECRET``."""
    got = Receiver()

    async def hook(request: Request) -> Response:
        body = await request.body()
        got.authentic.append(
            verify(
                WEBHOOK_SECRET,
                request.headers["x-remote-oauth-timestamp"],
                body,
                request.headers["x-remote-oauth-signature"],
            )
        )
        got.events.append(json.loads(body))
        return Response(status_code=204)

    async with serving(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        got.url = f"{url}/hook"
        yield got


@dataclass(frozen=True)
class Scene:
    """The stack (no workers running yet) and the webhook receiver its workers notify."""

    stack: Stack
    hook: Receiver

    def settings(self, *, secret: str = CLIENT_SECRET) -> Settings:
        """The workers' settings with the webhook, and ``secret`` as the client secret."""
        return settings_for(
            self.stack.sandbox,
            REMOTE_CLIENT_SECRET=secret,
            REMOTE_OAUTH_WEBHOOK_URL=self.hook.url,
            REMOTE_OAUTH_WEBHOOK_SECRET=WEBHOOK_SECRET,
        )

    def workers(self, *, secret: str = CLIENT_SECRET) -> contextlib.AbstractAsyncContextManager[object]:
        """The workers for the life of the context, sending ``secret`` to the gateway."""
        return self.stack.workers(self.settings(secret=secret))


@contextlib.asynccontextmanager
async def scene(
    env: WorkflowEnvironment, task_queue: str, settings: CompanySettings = EXACT
) -> AsyncIterator[Scene]:
    """Sticky execution is off (no workflow cache), so a replacement worker gets every task at once."""
    async with (
        receiver() as hook,
        make_stack(
            env, task_queue, company_settings=settings, max_cached_workflows=0, start_workers=False
        ) as stack,
    ):
        yield Scene(stack=stack, hook=hook)
