"""The codec server with authentication: a bearer token from a file, or the Temporal UI user's access token
checked against an OIDC issuer (discovery and JWKS served in-process); refusals carry CORS for the UI's
origin only, a preflight needs no token, and an authenticated server answers on any host name."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workflows.io.codec import Keyring
from workflows.io.codec_server import BearerToken, IssuerTokens, any_of, codec_app
from workflows.types.errors import ConfigurationError

KEYS = Keyring.parse("a:" + base64.b64encode(bytes(range(32))).decode())
ORIGIN = "https://temporal.partner.example"
TOKEN = "codec-token-for-tests-0123456789abcdef"
ISSUER = "http://127.0.0.1:9400/realms/ops"
AUDIENCE = "temporal-ui"
BODY = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "ImhlbGxvIg=="}]}
SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _issuer_app() -> Starlette:
    """An OIDC issuer's discovery document and JWKS (one RSA key, kid ``k1``)."""
    jwk = {**RSAAlgorithm.to_jwk(SIGNING_KEY.public_key(), as_dict=True), "kid": "k1", "alg": "RS256"}

    async def discovery(_: Request) -> Response:
        return JSONResponse({"issuer": ISSUER, "jwks_uri": f"{ISSUER}/protocol/openid-connect/certs"})

    async def certs(_: Request) -> Response:
        return JSONResponse({"keys": [jwk]})

    return Starlette(
        routes=[
            Route("/realms/ops/.well-known/openid-configuration", discovery),
            Route("/realms/ops/protocol/openid-connect/certs", certs),
        ]
    )


def access_token(key: Any = SIGNING_KEY, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ops-user", "iat": now, "exp": now + 300, **claims}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


@pytest_asyncio.fixture(loop_scope="session")
async def codec() -> AsyncIterator[httpx.AsyncClient]:
    """A codec server accepting the file token or the issuer's access tokens, reached by its public name."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_issuer_app())) as issuer_http:
        authorize = any_of([BearerToken(TOKEN), IssuerTokens(ISSUER, audience=AUDIENCE, http=issuer_http)])
        app = codec_app(KEYS, allowed_origins=[ORIGIN], authorize=authorize)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://codec.partner.example"
        ) as http:
            yield http


async def _post(http: httpx.AsyncClient, token: str | None, origin: str = ORIGIN) -> httpx.Response:
    headers = {"Origin": origin} | ({"Authorization": f"Bearer {token}"} if token else {})
    return await http.post("/encode", json=BODY, headers=headers)


async def test_a_request_without_a_token_is_refused(codec: httpx.AsyncClient) -> None:
    """No token, a wrong one, or a non-bearer header: 401 naming why (never the token), nothing encoded;
    the UI's origin still gets its CORS header so it can show the refusal, another origin gets none."""
    refused = [
        await _post(codec, None),
        await _post(codec, "wrong-token"),
        await codec.post("/decode", json=BODY, headers={"Authorization": f"Basic {TOKEN}", "Origin": ORIGIN}),
    ]
    assert [r.status_code for r in refused] == [401, 401, 401]
    assert all(r.headers["www-authenticate"] == "Bearer" for r in refused)
    assert refused[0].json() == {"error": "unauthorized: no bearer token"}
    assert refused[1].json() == {"error": "unauthorized: wrong bearer token; not a JWT"}
    assert all("payloads" not in r.text and TOKEN not in r.text for r in refused)
    assert refused[0].headers["access-control-allow-origin"] == ORIGIN
    stranger = await _post(codec, None, origin="https://evil.example")
    assert stranger.status_code == 401
    assert not [name for name in stranger.headers if name.startswith("access-control-")]


async def test_the_file_token_is_accepted_on_any_host(codec: httpx.AsyncClient) -> None:
    """With the token, the codec server encodes, on its public host name (no loopback rule once
    authenticated), with CORS for the UI's origin."""
    answer = await _post(codec, TOKEN)
    assert answer.status_code == 200
    assert answer.json()["payloads"][0]["metadata"]["encryption-key-id"] == "YQ=="
    assert answer.headers["access-control-allow-origin"] == ORIGIN


async def test_a_preflight_needs_no_token(codec: httpx.AsyncClient) -> None:
    """Browsers send no Authorization on a CORS preflight: it is answered for the UI's origin alone."""
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    allowed = await codec.options("/decode", headers={"Origin": ORIGIN, **preflight})
    other = await codec.options("/decode", headers={"Origin": "https://evil.example", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-headers"] == "Content-Type, X-Namespace, Authorization"
    assert not [name for name in other.headers if name.startswith("access-control-")]


async def test_the_ui_users_access_token_is_checked_against_the_issuer(codec: httpx.AsyncClient) -> None:
    """A token the issuer signed for the audience passes; another issuer, audience or key, an expired
    token, or an HMAC-signed token (whatever its key) are refused."""
    forged_hs256 = jwt.api_jws.PyJWS().encode(
        b'{"iss":"' + ISSUER.encode() + b'","exp":9999999999}',
        b"x" * 32,
        algorithm="HS256",
        headers={"kid": "k1"},
    )
    assert (await _post(codec, access_token())).status_code == 200
    refusals = {
        "issuer": await _post(codec, access_token(iss="https://other.example")),
        "audience": await _post(codec, access_token(aud="another-app")),
        "key": await _post(codec, access_token(OTHER_KEY)),
        "expired": await _post(codec, access_token(exp=int(time.time()) - 3600)),
        "hs256": await _post(codec, forged_hs256),
    }
    assert {name: r.status_code for name, r in refusals.items()} == dict.fromkeys(refusals, 401)
    assert "InvalidIssuerError" in refusals["issuer"].json()["error"]
    assert "InvalidAudienceError" in refusals["audience"].json()["error"]
    assert "InvalidSignatureError" in refusals["key"].json()["error"]
    assert "ExpiredSignatureError" in refusals["expired"].json()["error"]
    assert "InvalidAlgorithmError" in refusals["hs256"].json()["error"]


def test_a_short_token_or_a_plain_http_issuer_is_refused() -> None:
    """A guessable token or an issuer reached in clear over a network is a configuration error."""
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        BearerToken("short")
    with pytest.raises(ConfigurationError, match="--issuer must be an https:// URL"):
        IssuerTokens("http://idp.example", http=httpx.AsyncClient())
