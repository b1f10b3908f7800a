"""``--state-file``: a sandbox restarted on the same file keeps its companies, grants and tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from typer.testing import CliRunner

import sandbox.cli
from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.state.file import StateFile
from sandbox.state.store import SandboxStore
from sandbox.testing import FakeClock, asgi_client
from tests.support.sandbox import cli_app, connect, refresh

CONFIG = SandboxConfig()


async def introspect(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    body: dict[str, Any] = (await client.post("/sandbox/introspect", json={"token": token})).json()
    return body


async def test_a_restarted_sandbox_keeps_consents_and_tokens(tmp_path: Path) -> None:
    """Companies, the access token and the refresh token of a grant work after a restart on the file."""
    clock = FakeClock()
    first = StateFile(tmp_path / "sandbox.db")
    async with asgi_client(create_app(CONFIG, clock=clock, state_file=first)) as client:
        tokens = await connect(client, "Acme")
        companies = (await client.get("/sandbox/companies")).json()
    first.close()
    assert (tmp_path / "sandbox.db").stat().st_mode & 0o777 == 0o600

    again = StateFile(tmp_path / "sandbox.db")
    async with asgi_client(create_app(CONFIG, clock=clock, state_file=again)) as client:
        assert (await client.get("/sandbox/companies")).json() == companies
        api = await client.get("/v1/companies", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert api.status_code == 200
        refreshed = await refresh(client, tokens["refresh_token"])
        assert refreshed.status_code == 200
        assert (await introspect(client, refreshed.json()["access_token"]))["active"] is True
        grants = (await client.get("/sandbox/grants")).json()["grants"]
        assert [(g["company_id"], g["refresh_requests"], g["revoked"]) for g in grants] == [
            (companies["companies"][0]["id"], 1, False)
        ]
    again.close()


async def test_revocation_and_reset_are_kept_too(tmp_path: Path) -> None:
    """A revoked company stays revoked across a restart, and a reset leaves an empty file."""
    clock = FakeClock()
    path = tmp_path / "sandbox.db"
    state = StateFile(path)
    async with asgi_client(create_app(CONFIG, clock=clock, state_file=state)) as client:
        tokens = await connect(client, "Acme")
        company_id = (await client.get("/sandbox/companies")).json()["companies"][0]["id"]
        assert (await client.post(f"/sandbox/companies/{company_id}/revoke", json={})).status_code == 200
    state.close()

    state = StateFile(path)
    async with asgi_client(create_app(CONFIG, clock=clock, state_file=state)) as client:
        refused = await refresh(client, tokens["refresh_token"])
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
        assert (await client.get("/sandbox/companies")).json()["companies"][0]["revoked"] is True
        await client.post("/sandbox/reset", json={})
    state.close()

    state = StateFile(path)
    async with asgi_client(create_app(CONFIG, clock=clock, state_file=state)) as client:
        assert (await client.get("/sandbox/companies")).json() == {"companies": []}
    state.close()


async def test_expired_tokens_are_not_kept(tmp_path: Path) -> None:
    """What no longer works is left out of the file, and is refused after a restart as before."""
    clock = FakeClock()
    path = tmp_path / "sandbox.db"
    state = StateFile(path)
    async with asgi_client(create_app(CONFIG, clock=clock, state_file=state)) as client:
        tokens = await connect(client, "Acme")
        clock.advance(CONFIG.token_ttl + 1)
        assert (await refresh(client, tokens["refresh_token"])).status_code == 200
    state.close()
    kinds = StateFile(path)
    rows = sorted(kind for (kind,) in kinds._db.execute("SELECT kind FROM records"))
    kinds.close()
    assert rows == ["access", "company", "grant", "refresh"]  # the first access token is gone


async def test_without_a_state_file_state_is_in_memory_only() -> None:
    """The standalone default keeps state in memory: a second app starts empty."""
    async with asgi_client(create_app(CONFIG)) as client:
        await connect(client, "Acme")
    async with asgi_client(create_app(CONFIG)) as client:
        assert (await client.get("/sandbox/companies")).json() == {"companies": []}


def test_the_command_saves_to_its_state_file_when_it_stops(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`remote-oauth sandbox --state-file F` starts from F and saves to it when the server stops, even what
    no answer saved (a ``commit_then_drop`` grant)."""
    stores: list[SandboxStore] = []

    class Server:
        def __init__(self, app: Starlette) -> None:
            self.store: SandboxStore = app.state.sandbox

        def run(self) -> None:
            stores.append(self.store)
            if len(stores) == 1:
                self.store.consent("Acme", "company:read")  # changed without an answer

    monkeypatch.setattr(sandbox.cli, "build_server", lambda app, **_: Server(app))
    path = tmp_path / "state.db"
    for _ in range(2):
        result = CliRunner().invoke(cli_app, ["sandbox", "--state-file", str(path)])
        assert result.exit_code == 0, result.output
    assert f"state file:     {path}" in result.output
    assert [company.name for company in stores[1].companies.values()] == ["Acme"]
