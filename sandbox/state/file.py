"""A sandbox's consents in one SQLite file, so a restarted ``remote-oauth dev`` keeps every company connected.

Remote keeps its grants across our restarts; a sandbox that forgot them would answer ``invalid_grant`` to the
next refresh and turn every company ``consent_revoked``. What a restart must keep is saved: companies (with
their admin users and employments), grants, live refresh and access tokens, and unexpired codes. Counters,
rate-limit windows, scheduled faults and open consent pages start afresh. The whole state is rewritten in
one transaction before each answer to a request that may change it (dev-sized: a few hundred rows).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.state.records import AccessToken, AuthorizationCode, Company, Employment, Grant, RefreshToken
from sandbox.state.store import SandboxStore

__all__ = ["SaveBeforeAnswering", "StateFile"]

_SCHEMA = "CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, body TEXT NOT NULL)"


class StateFile:
    """Loads a store from, and saves it to, one SQLite file (created 0600 on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        # The sandbox serves from one event loop, but uvicorn may call from its shutdown path too.
        self._db = sqlite3.connect(path, check_same_thread=False)
        with self._db:
            self._db.execute(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def load(self, store: SandboxStore) -> None:
        """Replace what ``store`` holds with what the file holds."""
        store.reset()
        for kind, body in self._db.execute("SELECT kind, body FROM records ORDER BY rowid"):
            fields: dict[str, Any] = json.loads(body)
            if kind == "company":
                employments = fields.pop("employments")
                company = Company(**fields)
                company.employments = {key: Employment(**value) for key, value in employments.items()}
                store.companies[company.id] = company
            elif kind == "grant":
                grant = Grant(**fields)
                store.grants[grant.id] = grant
            elif kind == "code":
                code = AuthorizationCode(**fields)
                store.codes[code.code] = code
            elif kind == "refresh":
                refresh = RefreshToken(**fields)
                store.refresh_tokens[refresh.token] = refresh
            elif kind == "access":
                access = AccessToken(**fields)
                store.access_tokens[access.token] = access

    def save(self, store: SandboxStore) -> None:
        """Write what ``store`` holds now, replacing what the file held, in one transaction."""
        rows = [(kind, json.dumps(asdict(record))) for kind, record in _durable(store)]
        with self._db:
            self._db.execute("DELETE FROM records")
            self._db.executemany("INSERT INTO records (kind, body) VALUES (?, ?)", rows)


def _durable(store: SandboxStore) -> Iterator[tuple[str, Any]]:
    """What outlives a restart; dead tokens and spent codes are left out (unknown is refused alike)."""
    now = store.clock()
    for company in store.companies.values():
        yield "company", company
    for grant in store.grants.values():
        yield "grant", grant
    for code in store.codes.values():
        if now < code.expires_at:
            yield "code", code
    for refresh in store.refresh_tokens.values():
        if not refresh.revoked and (refresh.dies_at is None or now < refresh.dies_at):
            yield "refresh", refresh
    for access in store.access_tokens.values():
        if not access.revoked and now < access.expires_at:
            yield "access", access


class SaveBeforeAnswering:
    """ASGI middleware: a request that may change state has it saved before its answer starts.

    Saving before the response (not after) means a client never holds a token the file does not know.
    Only the authorize endpoint among reads changes anything (an auto-approved consent issues a code); its
    path is the spec's (``authorize_path``), so a spec bump that moves it keeps it saved.
    """

    def __init__(self, app: ASGIApp, store: SandboxStore, state_file: StateFile, authorize_path: str) -> None:
        self._app = app
        self._store = store
        self._file = state_file
        self._authorize_path = authorize_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            scope["method"] in {"GET", "HEAD"} and scope["path"] != self._authorize_path
        ):
            await self._app(scope, receive, send)
            return

        async def saving_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._file.save(self._store)
            await send(message)

        await self._app(scope, receive, saving_send)
