"""Serving the sandbox with uvicorn, which is also what lets ``commit_then_drop`` close a socket."""

from __future__ import annotations

import uvicorn
from starlette.applications import Starlette
from starlette.types import Scope

from sandbox.state.store import ConnectionDropper, SandboxStore

__all__ = ["build_server"]


def _connection_dropper(server: uvicorn.Server) -> ConnectionDropper:
    """Close the connection a request arrived on, found among uvicorn's open connections by peer address.

    ASGI offers no way to hang up without answering, and an app exception makes uvicorn send a 500,
    so the socket is closed from outside the app. ``server_state.connections`` is uvicorn's own
    bookkeeping (stable since 0.13); if it ever changes, the fault degrades to an exception (a 500).
    """

    def drop(scope: Scope) -> bool:
        client = scope.get("client")
        if client is None:
            return False
        for connection in list(server.server_state.connections):
            if getattr(connection, "client", None) == tuple(client):
                connection.transport.close()
                return True
        return False

    return drop


def build_server(app: Starlette, *, host: str, port: int, log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for ``app`` that can also hang up on a request (the ``commit_then_drop`` fault)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    store: SandboxStore = app.state.sandbox
    store.drop_connection = _connection_dropper(server)
    return server
