"""The generated client against real token responses served on 127.0.0.1, and where ``Bearer`` is handled.

The client authenticates with HTTP Basic: every spec dialect allows it (the live one requires an
``AuthenticatedClient`` for the token operation), and the sandbox accepts it whatever the spec.
"""

from __future__ import annotations

import httpx
import pytest

from generated_client.remote_oauth_api import AuthenticatedClient
from generated_client.remote_oauth_api.api.o_auth import exchange_o_auth_token
from generated_client.remote_oauth_api.models import (
    ExchangeOAuthTokenBody,
    ExchangeOAuthTokenBodyGrantType,
    ExchangeOAuthTokenResponse200,
    ExchangeOAuthTokenResponse200TokenType,
    ExchangeOAuthTokenResponse400,
)
from sandbox.config import SandboxConfig
from sandbox.contract import load_contract
from sandbox.testing import running_sandbox
from workflows.io.gateway.token_endpoint import basic_credentials
from workflows.types.tokens import normalise_token_response

SPEC = load_contract()
"""Paths and methods as the specs in openapi/ put them (never hard-coded: a spec bump moves them)."""

CONFIG = SandboxConfig()


def _client_credentials() -> ExchangeOAuthTokenBody:
    return ExchangeOAuthTokenBody(
        grant_type=ExchangeOAuthTokenBodyGrantType.CLIENT_CREDENTIALS,
        client_id=CONFIG.client_id,
        client_secret=CONFIG.client_secret,
    )


def _basic_client(url: str, *, raise_on_unexpected_status: bool = False) -> AuthenticatedClient:
    """A generated client sending the registered client's Basic credentials."""
    scheme, _, credentials = basic_credentials(CONFIG.client_id, CONFIG.client_secret).partition(" ")
    return AuthenticatedClient(
        base_url=url, token=credentials, prefix=scheme, raise_on_unexpected_status=raise_on_unexpected_status
    )


async def test_parses_a_real_200() -> None:
    """A client-credentials 200 from the sandbox parses into the generated 200 model."""
    async with running_sandbox(CONFIG) as sandbox:
        client = _basic_client(sandbox.url, raise_on_unexpected_status=True)
        body = ExchangeOAuthTokenBody(
            grant_type=ExchangeOAuthTokenBodyGrantType.CLIENT_CREDENTIALS, client_id=CONFIG.client_id
        )
        async with client:
            response = await exchange_o_auth_token.asyncio_detailed(client=client, body=body)
    assert response.status_code == 200
    parsed = response.parsed
    assert isinstance(parsed, ExchangeOAuthTokenResponse200)
    assert parsed.token_type is ExchangeOAuthTokenResponse200TokenType.BEARER
    assert parsed.expires_in == 3600
    assert len(parsed.access_token) >= 32
    assert response.headers["cache-control"] == "no-store"


async def test_parses_a_real_400() -> None:
    """An unsupported grant's 400 parses into the generated 400 model with the RFC 6749 error code."""
    async with running_sandbox(CONFIG) as sandbox:
        client = _basic_client(sandbox.url)
        async with client:
            response = await exchange_o_auth_token.asyncio_detailed(
                client=client,
                body=ExchangeOAuthTokenBody(
                    grant_type=ExchangeOAuthTokenBodyGrantType.REFRESH_TOKEN,
                    client_id=CONFIG.client_id,
                    refresh_token="not-a-refresh-token",
                ),
            )
    assert response.status_code == 400
    parsed = response.parsed
    assert isinstance(parsed, ExchangeOAuthTokenResponse400)
    assert parsed.error == "invalid_grant"


async def test_capitalised_bearer_is_normalised_before_the_generated_model() -> None:
    """The live gateway's ``Bearer`` crashes the seed's generated enum; our parsing layer lower-cases it first.

    The live dialect's enum lists ``Bearer`` too; either way the normalised document parses as ``bearer``.
    """
    bearer = SandboxConfig(token_type="Bearer")
    async with running_sandbox(bearer) as sandbox, httpx.AsyncClient(base_url=sandbox.url) as http:
        raw = await http.post(SPEC.token.path, data=_client_credentials().to_dict())
    document = raw.json()
    assert document["token_type"] == "Bearer"
    if "Bearer" in {member.value for member in ExchangeOAuthTokenResponse200TokenType}:
        assert str(ExchangeOAuthTokenResponse200.from_dict(document).token_type) == "Bearer"
    else:
        with pytest.raises(ValueError, match="Bearer"):
            ExchangeOAuthTokenResponse200.from_dict(document)

    normalised = normalise_token_response(document, default_lifetime=3600)
    parsed = ExchangeOAuthTokenResponse200.from_dict(normalised.document)
    assert parsed.token_type is ExchangeOAuthTokenResponse200TokenType.BEARER
    assert parsed.access_token == document["access_token"]
