"""The sandbox serves what the specs in openapi/ say: its routes and required token fields come from them."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.contract import GENERATED, ContractError, load_contract, operations
from sandbox.testing import FakeClock, asgi_client
from tests import ROOT
from workflows.io.gateway.token_endpoint import basic_credentials

CONFIG = SandboxConfig()
SPEC = load_contract()


def _yaml(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe", pure=True).load(path.read_bytes())
    return loaded


def test_the_contract_is_what_the_yaml_says() -> None:
    """Read through the generated client's parsed specs, every operation is the one in openapi/*.yml."""
    from_yaml = {}
    for path in sorted((ROOT / "openapi").glob("*.yml")):
        if path.name != "config.yml":
            from_yaml.update(operations(_yaml(path)))
    assert {op.operation_id: op for op in (SPEC.authorize, SPEC.token, SPEC.magic_link)} == {
        name: from_yaml[name] for name in ("authorize", "exchangeOAuthToken", "createMagicLink")
    }
    token = from_yaml["exchangeOAuthToken"]
    spec = _yaml(ROOT / "openapi" / "remote-oauth-api.yml")
    body = spec["paths"][token.path]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    assert token.required == tuple(body["schema"]["required"])


async def test_a_moved_spec_moves_the_routes() -> None:
    """A contract with other paths: the sandbox answers there, and no longer at the old ones."""
    moved = dataclasses.replace(
        SPEC,
        authorize=dataclasses.replace(SPEC.authorize, path="/v2/authorize"),
        token=dataclasses.replace(SPEC.token, path="/v2/token"),
    )
    form = {
        "grant_type": "client_credentials",
        "client_id": CONFIG.client_id,
        "client_secret": CONFIG.client_secret,
    }
    async with asgi_client(create_app(CONFIG, clock=FakeClock(), contract=moved)) as client:
        assert (await client.post("/v2/token", data=form)).status_code == 200
        assert (await client.post(SPEC.token.path, data=form)).status_code == 404
        params = {
            "client_id": CONFIG.client_id,
            "response_type": "code",
            "redirect_uri": CONFIG.redirect_uris[0],
        }
        assert (await client.get("/v2/authorize", params=params)).status_code == 200
        assert (await client.get(SPEC.authorize.path, params=params)).status_code == 404


async def test_required_fields_follow_the_spec() -> None:
    """A field the spec requires is invalid_request when missing; a Basic-authenticated client_id counts."""
    stricter = dataclasses.replace(
        SPEC, token=dataclasses.replace(SPEC.token, required=("grant_type", "client_id", "scope"))
    )
    basic = {"Authorization": basic_credentials(CONFIG.client_id, CONFIG.client_secret)}
    async with asgi_client(create_app(CONFIG, clock=FakeClock(), contract=stricter)) as client:
        missing = await client.post(SPEC.token.path, data={"grant_type": "client_credentials"}, headers=basic)
        assert missing.status_code == 400
        assert missing.json() == {"error": "invalid_request", "error_description": "missing parameter: scope"}
        data = {"grant_type": "client_credentials", "scope": "company:read"}
        assert (await client.post(SPEC.token.path, data=data, headers=basic)).status_code == 200


def test_a_spec_without_an_operation_is_refused(tmp_path: Path) -> None:
    """Without the token operation in the generated specs, the sandbox does not start and says why."""
    for package in ("remote_oauth_api", "remote_magic_link_api"):
        (tmp_path / package).mkdir()
        shutil.copy(GENERATED / package / "openapi.json", tmp_path / package)
    parsed = tmp_path / "remote_oauth_api" / "openapi.json"
    spec = json.loads(parsed.read_text())
    del spec["paths"][SPEC.token.path]
    parsed.write_text(json.dumps(spec))
    with pytest.raises(
        ContractError, match=r"no operation exchangeOAuthToken in .*: run scripts/regenerate_client"
    ):
        load_contract(tmp_path)
