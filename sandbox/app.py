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
from sandbox.contract import Contract, load_contract
from sandbox.resources import companies, magic_link
from sandbox.store import SandboxStore
from sandbox.token_endpoint import token_endpoint

__all__ = ["create_app"]


async def _magic_landing(request: Request) -> Response:
    """Where magic links lead, so a generated link can be opened in a browser."""
    del request
    return HTMLResponse("<!doctype html><title>Signed in</title><p>Signed in to the Remote sandbox.</p>")


def create_app(
    config: SandboxConfig | None = None,
    *,
    clock: Callable[[], float] = time.time,
    contract: Contract | None = None,
) -> Starlette:
    """A fresh sandbox with its own state (``app.state.sandbox``), on ``clock`` for every time rule.

    The authorize, token and magic-link routes are where the specs put them (``app.state.contract``, by
    default read from openapi/ through the generated client): a regenerated spec bump moves them.
    """
    spec = contract or load_contract()
    routes = [
        Route(spec.authorize.path, authorize_page, methods=[spec.authorize.method]),
        Route("/oauth/consent", decide, methods=["POST"]),
        Route(spec.token.path, token_endpoint, methods=[spec.token.method]),
        Route(spec.magic_link.path, magic_link, methods=[spec.magic_link.method]),
        Route("/v1/companies", companies, methods=["GET"]),
        Route("/magic/{link_id}", _magic_landing, methods=["GET"]),
        *admin_routes(),
    ]
    app = Starlette(routes=routes)
    app.state.contract = spec
    app.state.sandbox = SandboxStore(config or SandboxConfig(), clock=clock)
    return app
