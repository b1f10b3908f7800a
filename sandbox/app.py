"""The sandbox gateway as one Starlette (ASGI) app."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from sandbox.config import SandboxConfig
from sandbox.contract import Contract, load_contract
from sandbox.endpoints.admin import admin_routes
from sandbox.endpoints.consent import authorize_page, decide
from sandbox.endpoints.resources import companies, magic_link
from sandbox.endpoints.token import token_endpoint
from sandbox.state.file import SaveBeforeAnswering, StateFile
from sandbox.state.store import SandboxStore

__all__ = ["create_app"]


async def _magic_landing(request: Request) -> Response:
    """Where magic links lead, so a generated link can be opened in a browser."""
    del request
    return HTMLResponse("<!doctype html><title>Signed in</title><p>Signed in to the Remote sandbox.</p>")


def create_app(
    config: SandboxConfig | None = None,
    *,
    clock: Callable[[], float] = time.time,
    state_file: StateFile | None = None,
    contract: Contract | None = None,
) -> Starlette:
    """A sandbox with its own state (``app.state.sandbox``), on ``clock`` for every time rule.

    With ``state_file`` the state starts from that file and is saved to it as it changes; without, it lives
    in memory only (tests, benchmarks). The authorize, token and magic-link routes are where the specs put
    them (``app.state.contract``, by default read from openapi/ through the generated client): a regenerated
    spec bump moves them.
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
    store = SandboxStore(config or SandboxConfig(), clock=clock)
    middleware = []
    if state_file is not None:
        state_file.load(store)
        middleware.append(
            Middleware(
                SaveBeforeAnswering, store=store, state_file=state_file, authorize_path=spec.authorize.path
            )
        )
    app = Starlette(routes=routes, middleware=middleware)
    app.state.contract = spec
    app.state.sandbox = store
    return app
