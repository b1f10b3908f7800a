"""The sandbox gateway as one Starlette (ASGI) app."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from sandbox.admin import admin_routes
from sandbox.config import SandboxConfig
from sandbox.consent import authorize_page, decide
from sandbox.resources import companies, magic_link
from sandbox.store import SandboxStore
from sandbox.token_endpoint import token_endpoint

__all__ = ["create_app"]


async def _magic_landing(request: Request) -> Response:
    """Where magic links lead, so a generated link can be opened in a browser."""
    del request
    return HTMLResponse("<!doctype html><title>Signed in</title><p>Signed in to the Remote sandbox.</p>")


def create_app(config: SandboxConfig | None = None, *, clock: Callable[[], float] = time.time) -> Starlette:
    """A fresh sandbox with its own state (``app.state.sandbox``), on ``clock`` for every time rule."""
    routes = [
        Route("/oauth/authorize", authorize_page, methods=["GET"]),
        Route("/oauth/consent", decide, methods=["POST"]),
        Route("/oauth2/token", token_endpoint, methods=["POST"]),
        Route("/v1/magic-link", magic_link, methods=["POST"]),
        Route("/v1/companies", companies, methods=["GET"]),
        Route("/magic/{link_id}", _magic_landing, methods=["GET"]),
        *admin_routes(),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = SandboxStore(config or SandboxConfig(), clock=clock)
    return app
