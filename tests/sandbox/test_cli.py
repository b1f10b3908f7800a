"""``remote-oauth sandbox``: its options, the configuration they build and what it prints."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from typer.testing import CliRunner

import sandbox.cli
from sandbox.config import SandboxConfig
from sandbox.contract import load_contract
from tests.support.sandbox import cli_app

SPEC = load_contract()
"""Paths and methods as the specs in openapi/ put them (never hard-coded: a spec bump moves them)."""


@dataclass
class FakeServer:
    """Stands in for uvicorn so the command returns instead of serving forever."""

    app: Starlette
    host: str
    port: int
    runs: list[bool] = field(default_factory=list)

    def run(self) -> None:
        """Record that the command would have served."""
        self.runs.append(True)


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> list[FakeServer]:
    """Every server the command builds, instead of a real uvicorn."""
    built: list[FakeServer] = []

    def build(app: Starlette, *, host: str, port: int, log_level: str) -> FakeServer:
        del log_level
        built.append(FakeServer(app, host, port))
        return built[-1]

    monkeypatch.setattr(sandbox.cli, "build_server", build)
    return built


def test_help_explains_every_option() -> None:
    """``remote-oauth sandbox --help`` lists each option with its help text."""
    result = CliRunner().invoke(cli_app, ["sandbox", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0
    for option, words in [
        ("--host", "Interface to listen on"),
        ("--port", "Port to listen on"),
        ("--client-id", "registered client's id"),
        ("--client-secret", "HS256 key"),
        ("--redirect-uri", "repeat to register several"),
        ("--token-ttl", "Access-token lifetime"),
        ("--token-type", "'Bearer' (the live gateway)"),
        ("--refresh-rotation", "the same refresh token comes back"),
        ("--rate-limit-per-minute", "Requests per client id per minute"),
        ("--auto-approve", "Approve consent at once"),
    ]:
        assert option in result.output
        assert words in result.output


def test_defaults_serve_the_dev_client_on_127_0_0_1_8090(servers: list[FakeServer]) -> None:
    """Without options the sandbox uses the dev credentials on 127.0.0.1:8090 and prints them."""
    result = CliRunner().invoke(cli_app, ["sandbox"])
    assert result.exit_code == 0, result.output
    assert [(server.host, server.port, server.runs) for server in servers] == [("127.0.0.1", 8090, [True])]
    assert servers[0].app.state.sandbox.config == SandboxConfig()
    assert "client id:      remote-oauth-dev" in result.output
    assert "client secret:  dev-secret-not-for-production" in result.output
    assert "redirect URI:   http://127.0.0.1:8000/oauth/callback" in result.output
    assert f"token:          http://127.0.0.1:8090{SPEC.token.path}" in result.output


def test_options_build_the_configuration(servers: list[FakeServer]) -> None:
    """Every option lands in the sandbox's configuration."""
    args = [
        "sandbox",
        "--port", "9001",
        "--client-id", "partner",
        "--client-secret", "s3cret",
        "--redirect-uri", "http://127.0.0.1:1/a",
        "--redirect-uri", "http://127.0.0.1:1/b",
        "--token-ttl", "60",
        "--token-type", "Bearer",
        "--refresh-rotation", "grace",
        "--rate-limit-per-minute", "10",
        "--auto-approve",
    ]  # fmt: skip
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    assert servers[0].app.state.sandbox.config == SandboxConfig(
        client_id="partner",
        client_secret="s3cret",
        redirect_uris=("http://127.0.0.1:1/a", "http://127.0.0.1:1/b"),
        token_ttl=60,
        token_type="Bearer",
        refresh_rotation="grace",
        rate_limit_per_minute=10,
        auto_approve=True,
    )


def test_an_unknown_rotation_mode_is_refused(servers: list[FakeServer]) -> None:
    """Typer rejects values outside off|strict|grace before anything starts."""
    result = CliRunner().invoke(cli_app, ["sandbox", "--refresh-rotation", "sometimes"])
    assert result.exit_code == 2
    assert servers == []


def test_the_remote_oauth_cli_runs_the_command(servers: list[FakeServer]) -> None:
    """``remote-oauth sandbox`` is the same command, with the same options (imported only when it runs)."""
    from worker.cli.app import app as remote_oauth

    result = CliRunner().invoke(remote_oauth, ["sandbox", "--port", "8123", "--token-ttl", "60"])
    assert result.exit_code == 0, result.output
    assert (servers[0].port, servers[0].app.state.sandbox.config.token_ttl, servers[0].runs) == (
        8123,
        60,
        [True],
    )
