"""The sandbox JWT assertion grant: signatures, issuer, audience, times, subjects and replays."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.contract import load_contract
from sandbox.testing import FakeClock, asgi_client, hs256_assertion

SPEC = load_contract()
"""Paths and methods as the specs in openapi/ put them (never hard-coded: a spec bump moves them)."""

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
BASE_URL = "http://sandbox.test"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_EC_KEY = ec.generate_private_key(ec.SECP256R1())


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    """The PEM of a private key's public half."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


CONFIG = SandboxConfig(public_keys=(pem(RSA_KEY), pem(EC_KEY)))


@dataclass
class Sandbox:
    """An in-process sandbox with one consented company and one invited employment."""

    client: httpx.AsyncClient
    clock: FakeClock
    company_id: str
    user_id: str
    employment_id: str


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A sandbox whose company ``Acme`` consented with the default scope."""
    clock = FakeClock()
    async with asgi_client(create_app(CONFIG, clock=clock), base_url=BASE_URL) as client:
        company = (await client.post("/sandbox/companies", json={"name": "Acme"})).json()
        employment = await client.post(f"/sandbox/companies/{company['company_id']}/employments", json={})
        yield Sandbox(
            client, clock, company["company_id"], company["user_id"], employment.json()["employment_id"]
        )


def claims(sandbox: Sandbox, **overrides: Any) -> dict[str, Any]:
    """Valid assertion claims acting as the company manager, with some changed."""
    now = int(sandbox.clock())
    base = {
        "iss": CONFIG.client_id,
        "aud": f"{BASE_URL}/auth",
        "sub": f"urn:remote-api:company-manager:user:{sandbox.user_id}",
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    return {**base, **overrides}


async def grant(sandbox: Sandbox, assertion: str, **extra: str) -> httpx.Response:
    """Post an assertion grant, authenticating with client_id only (the JWT carries the proof)."""
    data = {"grant_type": JWT_BEARER, "client_id": CONFIG.client_id, "assertion": assertion, **extra}
    return await sandbox.client.post(SPEC.token.path, data=data)


async def error_of(sandbox: Sandbox, assertion: str) -> tuple[int, str]:
    """The status and OAuth error code of a rejected assertion."""
    response = await grant(sandbox, assertion)
    return response.status_code, response.json().get("error", "")


# Accepted assertions


async def test_hs256_manager_assertion_gives_a_company_token_without_refresh(sandbox: Sandbox) -> None:
    """An HS256 assertion for the manager yields company_id and user_id and no refresh_token."""
    response = await grant(sandbox, hs256_assertion(claims(sandbox), CONFIG.client_secret))
    body = response.json()
    assert response.status_code == 200
    assert body == {
        "access_token": body["access_token"],
        "token_type": "bearer",
        "expires_in": 3600,
        "scope": "company:read company:write employment:read employment:write magic_link:write",
        "company_id": sandbox.company_id,
        "user_id": sandbox.user_id,
    }
    introspected = (
        await sandbox.client.post("/sandbox/introspect", json={"token": body["access_token"]})
    ).json()
    assert (introspected["active"], introspected["kind"]) == (True, "assertion")


@pytest.mark.parametrize("prefix", ["urn:remote-api:employee:employment:", "urn:remote-api:employment:"])
async def test_employee_assertions_name_the_employment(sandbox: Sandbox, prefix: str) -> None:
    """Both employee subject spellings act as the employment, in its company."""
    assertion = hs256_assertion(claims(sandbox, sub=prefix + sandbox.employment_id), CONFIG.client_secret)
    body = (await grant(sandbox, assertion)).json()
    assert (body["company_id"], body["employment_id"]) == (sandbox.company_id, sandbox.employment_id)
    assert "user_id" not in body
    assert "refresh_token" not in body


async def test_a_scope_claim_narrows_the_token(sandbox: Sandbox) -> None:
    """The optional ``scope`` claim becomes the token's scope."""
    assertion = hs256_assertion(claims(sandbox, scope="company:read"), CONFIG.client_secret)
    assert (await grant(sandbox, assertion)).json()["scope"] == "company:read"


async def test_rs256_and_es256_verify_with_registered_keys(sandbox: Sandbox) -> None:
    """RS256 and ES256 assertions verify against the registered public keys."""
    rs = jwt.encode(claims(sandbox), RSA_KEY, algorithm="RS256")
    es = jwt.encode(claims(sandbox), EC_KEY, algorithm="ES256")
    assert (await grant(sandbox, rs)).status_code == 200
    assert (await grant(sandbox, es)).status_code == 200


async def test_the_configured_issuer_sets_the_audience() -> None:
    """With ``issuer`` configured the audience is ``{issuer}/auth``, whatever the request's host."""
    clock = FakeClock()
    config = SandboxConfig(issuer="https://gateway.remote-sandbox.com")
    async with asgi_client(create_app(config, clock=clock)) as client:
        company = (await client.post("/sandbox/companies", json={"name": "Acme"})).json()
        sandbox = Sandbox(client, clock, company["company_id"], company["user_id"], "")
        right = claims(sandbox, aud="https://gateway.remote-sandbox.com/auth")
        wrong = claims(sandbox)
        assert (await grant(sandbox, hs256_assertion(right, config.client_secret))).status_code == 200
        assert await error_of(sandbox, hs256_assertion(wrong, config.client_secret)) == (400, "invalid_grant")


async def test_exp_up_to_ten_minutes_plus_leeway_is_accepted(sandbox: Sandbox) -> None:
    """``exp`` 630 s ahead (10 minutes plus 30 s leeway) passes."""
    now = int(sandbox.clock())
    assertion = hs256_assertion(claims(sandbox, exp=now + 630), CONFIG.client_secret)
    assert (await grant(sandbox, assertion)).status_code == 200


# Rejected assertions


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"exp": 1_800_000_631}, id="exp-too-far-ahead"),
        pytest.param({"exp": 1_799_999_970}, id="expired-beyond-leeway"),
        pytest.param({"iat": 1_800_000_031}, id="iat-in-the-future"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"iat": None}, id="no-iat"),
        pytest.param({"iss": "someone-else"}, id="wrong-iss"),
        pytest.param({"aud": "http://sandbox.test"}, id="wrong-aud"),
        pytest.param({"sub": "user-1"}, id="bad-sub"),
        pytest.param({"sub": f"urn:remote-api:company-manager:user:{uuid.UUID(int=1)}"}, id="unknown-user"),
        pytest.param({"scope": "payroll:write"}, id="scope-beyond-consent"),
    ],
)
async def test_bad_claims_are_invalid_grant(sandbox: Sandbox, overrides: dict[str, Any]) -> None:
    """Each broken claim makes the assertion invalid_grant."""
    fields = {name: value for name, value in claims(sandbox, **overrides).items() if value is not None}
    status, error = await error_of(sandbox, hs256_assertion(fields, CONFIG.client_secret))
    assert (status, error) == (400, "invalid_scope" if "scope" in overrides else "invalid_grant")


async def test_a_wrong_signature_is_invalid_grant(sandbox: Sandbox) -> None:
    """HS256 with another secret, ES256 with an unregistered key and alg none are refused."""
    header, payload, _ = hs256_assertion(claims(sandbox), CONFIG.client_secret).split(".")
    none_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    unsigned = f"{none_header}.{payload}."
    assert header != none_header
    assert await error_of(sandbox, hs256_assertion(claims(sandbox), "another-secret")) == (
        400,
        "invalid_grant",
    )
    assert await error_of(sandbox, jwt.encode(claims(sandbox), OTHER_EC_KEY, algorithm="ES256")) == (
        400,
        "invalid_grant",
    )
    assert await error_of(sandbox, unsigned) == (400, "invalid_grant")
    assert await error_of(sandbox, "not-a-jwt") == (400, "invalid_grant")


async def test_a_replayed_jti_is_invalid_grant(sandbox: Sandbox) -> None:
    """The same assertion (same jti) works once."""
    assertion = hs256_assertion(claims(sandbox), CONFIG.client_secret)
    assert (await grant(sandbox, assertion)).status_code == 200
    assert await error_of(sandbox, assertion) == (400, "invalid_grant")


async def test_a_revoked_company_cannot_be_asserted(sandbox: Sandbox) -> None:
    """After revocation the manager subject no longer names a consenting company."""
    await sandbox.client.post(f"/sandbox/companies/{sandbox.company_id}/revoke", json={})
    assert await error_of(sandbox, hs256_assertion(claims(sandbox), CONFIG.client_secret)) == (
        400,
        "invalid_grant",
    )


async def test_wrong_client_credentials_are_checked_when_given(sandbox: Sandbox) -> None:
    """Client authentication is optional for assertions, but a wrong secret is still invalid_client."""
    assertion = hs256_assertion(claims(sandbox), CONFIG.client_secret)
    response = await grant(sandbox, assertion, client_secret="wrong")
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
