"""A response the generated model refuses is a MalformedResponse naming the field, whatever the spec's enum."""

from __future__ import annotations

import importlib
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from generated_client.remote_magic_link_api.models import MagicLinkResponse
from generated_client.remote_oauth_api.models import ExchangeOAuthTokenBody, ExchangeOAuthTokenResponse200
from tests import ROOT
from workflows.io.activities import ClientCredentialsInput, TokenActivities
from workflows.io.gateway.spec_model import FieldError, build_model
from workflows.io.settings import Settings
from workflows.types.errors import ErrorType
from workflows.types.tokens import normalise_token_response

sys.path.insert(0, str(ROOT / "scripts"))
import regenerate_client

ENV = {
    "REMOTE_GATEWAY_URL": "https://gateway.test",
    "REMOTE_CLIENT_ID": "client-1",
    "REMOTE_CLIENT_SECRET": "secret-1",
}
TOKEN = {"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600}


@pytest.fixture
def enum_changed_client(tmp_path: Path) -> Iterator[object]:
    """The OAuth spec with ``token_type``'s enum changed to ``[Bearer]``, generated and importable."""
    specs, out = tmp_path / "openapi", tmp_path / "pkgs"
    specs.mkdir()
    shutil.copy(ROOT / "openapi" / "config.yml", specs)
    text = (ROOT / "openapi" / "remote-oauth-api.yml").read_text(encoding="utf-8")
    text, count = re.subn(r"token_type: \{[^}]*\}", "token_type: { type: string, enum: [Bearer] }", text)
    assert count == 1
    (specs / "remote-oauth-api.yml").write_text(text, encoding="utf-8")
    assert regenerate_client.main(["--specs", str(specs), "--out", str(out)]) == 0
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("remote_oauth_api.models")
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == "remote_oauth_api" or m.startswith("remote_oauth_api.")]:
            del sys.modules[name]


async def _client_credentials(body: object) -> ApplicationError:
    """Run the client-credentials activity against a gateway answering 200 with ``body``; its error."""

    async def gateway(request: httpx.Request) -> httpx.Response:
        del request
        return httpx.Response(200, json=body)

    settings = Settings.from_env(ENV)
    transport = httpx.MockTransport(gateway)
    async with httpx.AsyncClient(transport=transport, base_url=settings.gateway_url) as http:
        acts = TokenActivities(settings, http)
        with pytest.raises(ApplicationError) as err:
            await ActivityEnvironment().run(acts.client_credentials, ClientCredentialsInput())
    return err.value


async def test_a_changed_token_type_enum_names_token_type(
    enum_changed_client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spec enum ``[Bearer]``: the activity refuses the normalised ``bearer`` as token_type, not as company_id."""
    model = enum_changed_client.ExchangeOAuthTokenResponse200  # type: ignore[attr-defined]
    # The activity's model, as if generated from the changed spec.
    monkeypatch.setattr("workflows.io.gateway.token_endpoint.ExchangeOAuthTokenResponse200", model)
    err = await _client_credentials({**TOKEN, "company_id": "6f1c1e8a-3b0e-4c53-9f5e-2d7f3a9b8c10"})
    assert (err.type, err.message) == (
        ErrorType.MALFORMED_RESPONSE,
        "client credentials request: malformed response "
        "(token_type is 'bearer', not one of the spec's values (Bearer)); retrying in case it was a glitch",
    )
    document = normalise_token_response(TOKEN, default_lifetime=3600).document
    with pytest.raises(FieldError) as refused:
        build_model(model, document)
    assert refused.value.field == "token_type"


def test_any_enum_names_its_field() -> None:
    """Whatever the enum, the refused value names its own field and the spec's values."""
    with pytest.raises(FieldError) as err:
        build_model(ExchangeOAuthTokenBody, {"grant_type": "password", "client_id": "c"})
    assert (err.value.field, str(err.value)) == (
        "grant_type",
        "grant_type is 'password', not one of the spec's values (authorization_code, client_credentials, "
        "refresh_token, urn:ietf:params:oauth:grant-type:jwt-bearer)",
    )


async def test_a_bad_company_id_names_company_id() -> None:
    """Through the activity: a company_id that is no UUID is a MalformedResponse saying so."""
    err = await _client_credentials({**TOKEN, "company_id": "not-a-uuid"})
    assert err.type == ErrorType.MALFORMED_RESPONSE
    assert "(company_id is not a UUID)" in err.message


def test_missing_and_unfit_fields() -> None:
    """A missing required field is named; a shape with no field to blame says which model it misfits."""
    with pytest.raises(FieldError, match=r"^access_token is missing$"):
        build_model(ExchangeOAuthTokenResponse200, {"token_type": "bearer", "expires_in": 60})
    with pytest.raises(FieldError) as err:
        build_model(MagicLinkResponse, {"data": "x"})
    assert (err.value.field, str(err.value)) == (
        None,
        "the response does not fit the spec's MagicLinkResponse (ValueError)",
    )


def test_a_fitting_document_builds_the_model() -> None:
    """No error, no copy: the generated model as from_dict makes it."""
    document = normalise_token_response(TOKEN, default_lifetime=3600).document
    built = build_model(ExchangeOAuthTokenResponse200, document)
    assert built.to_dict() == ExchangeOAuthTokenResponse200.from_dict(document).to_dict()
