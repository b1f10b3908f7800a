"""The sandbox gateway as one Starlette (ASGI) app."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.admin import admin_routes
from sandbox.config import SandboxConfig
from sandbox.consent import authorize_page, decide
from sandbox.resources import companies, magic_link
from sandbox.state_file import StateFile
from sandbox.store import SandboxStore
from sandbox.token_endpoint import token_endpoint

__all__ = ["create_app"]


async def _magic_landing(request: Request) -> Response:
    """Where magic links lead, so a generated link can be opened in a browser."""
    del request
    return HTMLResponse("<!doctype html><title>Signed in</title><p>Signed in to the Remote sandbox.</p>")


class SaveBeforeAnswering:
    """ASGI middleware: a request that may change state has it saved before its answer starts.

    Saving before the response (not after) means a client never holds a token the file does not know.
    Only ``GET /oauth/authorize`` among reads changes anything (an auto-approved consent issues a code).
    """

    def __init__(self, app: ASGIApp, store: SandboxStore, state_file: StateFile) -> None:
        self._app = app
        self._store = store
        self._file = state_file

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            scope["method"] in {"GET", "HEAD"} and scope["path"] != "/oauth/authorize"
        ):
            await self._app(scope, receive, send)
            return

        async def saving_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._file.save(self._store)
            await send(message)

        await self._app(scope, receive, saving_send)


def create_app(
    config: SandboxConfig | None = None,
    *,
    clock: Callable[[], float] = time.time,
    state_file: StateFile | None = None,
) -> Starlette:
    """A sandbox with its own state (``app.state.sandbox``), on ``clock`` for every time rule.

    With ``state_file`` the state starts from that file and is saved to it as it changes; without, it lives
    in memory only (tests, benchmarks).
    """
    routes = [
        Route("/oauth/authorize", authorize_page, methods=["GET"]),
        Route("/oauth/consent", decide, methods=["POST"]),
        Route("/oauth2/token", token_endpoint, methods=["POST"]),
        Route("/v1/magic-link", magic_link, methods=["POST"]),
        Route("/v1/companies", companies, methods=["GET"]),
        Route("/magic/{link_id}", _magic_landing, methods=["GET"]),
        *admin_routes(),
    ]
    store = SandboxStore(config or SandboxConfig(), clock=clock)
    middleware = []
    if state_file is not None:
        state_file.load(store)
        middleware.append(Middleware(SaveBeforeAnswering, store=store, state_file=state_file))
    app = Starlette(routes=routes, middleware=middleware)
    app.state.sandbox = store
    return app
