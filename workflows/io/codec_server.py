"""The codec server: ``POST /encode`` and ``POST /decode`` over HTTP, so the Temporal UI can show payloads.

Without an authorizer it decrypts for anyone who can reach it, so it answers only on a loopback ``Host`` (or
one it is told of); with one, every request must carry a token it accepts: :class:`BearerToken`, one token
from a file (for a proxy or a script), or :class:`IssuerTokens`, the Temporal UI user's own access token (the
UI sends it as ``Authorization: Bearer`` with ``TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true``), a JWT signed by a
key the configured OIDC issuer publishes, naming that issuer, unexpired and, when configured, for the
audience. A refusal reason never quotes the token. CORS headers go only to the UI's origin. The encryption
itself is ``workflows.io.codec``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import jwt
from google.protobuf import json_format
from jwt import PyJWKSet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payload, Payloads

from workflows.io.codec import EncryptionCodec, Keyring
from workflows.io.settings import is_loopback
from workflows.io.settings_read import is_secure_url
from workflows.types.errors import ConfigurationError

__all__ = ["ALGORITHMS", "Authorizer", "BearerToken", "IssuerTokens", "any_of", "bearer", "codec_app"]

_MAX_CODEC_REQUEST_BYTES = 4 * 1024 * 1024
_CORS_HEADERS = "Content-Type, X-Namespace, Authorization"


Authorizer = Callable[[str | None], Awaitable[str | None]]
"""Takes the ``Authorization`` header (None when absent); answers None to allow, else why not."""

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
"""Asymmetric only: an issuer's published key must never verify a token signed with itself as an HMAC key."""
MIN_TOKEN_LENGTH = 32
_KEYS_TTL = 600.0
"""Seconds a fetched JWKS is used before it is fetched again."""
_REFETCH_AFTER = 30.0
"""An unknown ``kid`` fetches the JWKS again (the issuer rotated), at most this often."""
_LEEWAY = 30


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class BearerToken:
    """One token from a file, compared in constant time (as digests, so its length leaks nothing either)."""

    def __init__(self, token: str) -> None:
        if len(token) < MIN_TOKEN_LENGTH:
            raise ConfigurationError(
                f"the codec server's token must be at least {MIN_TOKEN_LENGTH} characters "
                "(e.g. `openssl rand -base64 32`)"
            )
        self._digest = hashlib.sha256(token.encode()).digest()

    def __repr__(self) -> str:
        return "BearerToken('**********')"

    @classmethod
    def from_file(cls, path: str) -> BearerToken:
        """The token in ``path`` (surrounding whitespace dropped).

        Raises:
            ConfigurationError: the file cannot be read, or holds too short a token.
        """
        try:
            text = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigurationError(f"--token-file: cannot read {path} ({type(err).__name__})") from None
        return cls(text)

    async def __call__(self, header: str | None) -> str | None:
        token = bearer(header)
        if token is None:
            return "no bearer token"
        if hmac.compare_digest(hashlib.sha256(token.encode()).digest(), self._digest):
            return None
        return "wrong bearer token"


class IssuerTokens:
    """JWT access tokens of one OIDC issuer, verified with the keys its discovery document points at."""

    def __init__(
        self,
        issuer: str,
        *,
        http: httpx.AsyncClient,
        audience: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not is_secure_url(urlsplit(issuer)):
            raise ConfigurationError("--issuer must be an https:// URL (http:// only to loopback)")
        self.issuer = issuer
        self.audience = audience
        self._http = http
        self._clock = clock
        self._keys: PyJWKSet | None = None
        self._fetched_at = float("-inf")

    async def _fetch(self) -> PyJWKSet:
        discovery = await self._http.get(f"{self.issuer.rstrip('/')}/.well-known/openid-configuration")
        discovery.raise_for_status()
        jwks_uri = discovery.json()["jwks_uri"]
        if not isinstance(jwks_uri, str) or not is_secure_url(urlsplit(jwks_uri)):
            raise ValueError("the issuer's jwks_uri is not an https URL")
        answer = await self._http.get(jwks_uri)
        answer.raise_for_status()
        return PyJWKSet.from_dict(answer.json())

    async def _keyset(self, *, refetch: bool) -> PyJWKSet:
        age = self._clock() - self._fetched_at
        if self._keys is None or age > _KEYS_TTL or (refetch and age > _REFETCH_AFTER):
            self._keys = await self._fetch()
            self._fetched_at = self._clock()
        return self._keys

    async def _key(self, kid: str | None) -> jwt.PyJWK | None:
        for refetch in (False, True):
            keys = await self._keyset(refetch=refetch)
            found = [key for key in keys.keys if kid is None or key.key_id == kid]
            if len(found) == 1 or (kid is not None and found):
                return found[0]
        return None

    async def __call__(self, header: str | None) -> str | None:
        token = bearer(header)
        if token is None:
            return "no bearer token"
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = await self._key(kid if isinstance(kid, str) else None)
        except jwt.PyJWTError:
            return "not a JWT"
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as err:
            return f"the issuer's keys could not be read ({type(err).__name__})"
        if key is None:
            return "signed with a key the issuer does not publish"
        try:
            jwt.decode(
                token,
                key=key,
                algorithms=list(ALGORITHMS),
                issuer=self.issuer,
                audience=self.audience,
                leeway=_LEEWAY,
                options={"require": ["exp", "iss"], "verify_aud": self.audience is not None},
            )
        except jwt.PyJWTError as err:
            return f"access token refused ({type(err).__name__})"
        return None


def any_of(authorizers: Sequence[Authorizer]) -> Authorizer:
    """Allowed when one of ``authorizers`` allows; else the reasons of all."""

    async def check(header: str | None) -> str | None:
        reasons = []
        for authorize in authorizers:
            reason = await authorize(header)
            if reason is None:
                return None
            reasons.append(reason)
        return "; ".join(dict.fromkeys(reasons))

    return check


def codec_app(
    keyring: Keyring,
    *,
    allowed_origins: Collection[str],
    allowed_hosts: Collection[str] = (),
    authorize: Authorizer | None = None,
) -> Starlette:
    """A Temporal codec server (``POST /encode``, ``POST /decode``) so the Temporal UI can show payloads.

    Without ``authorize`` it decrypts for anyone who can reach it: bind it to 127.0.0.1 (the dev stack).
    Requests whose ``Host`` is not a loopback name or address (or one of ``allowed_hosts``) are then refused:
    a web page cannot reach it through DNS rebinding, where the browser sends the attacker's host name. With
    ``authorize``, every ``POST`` needs an ``Authorization`` header it accepts (401 otherwise), on any
    ``Host``. CORS answers only ``allowed_origins`` (the UI's origin); a preflight needs no token, as
    browsers send none.
    """
    codec = EncryptionCodec(keyring)
    origins = frozenset(allowed_origins)
    hosts = frozenset(host.lower() for host in allowed_hosts)

    def host_allowed(request: Request) -> bool:
        try:
            name = urlsplit(f"//{request.headers.get('host', '')}").hostname or ""
        except ValueError:  # an unbalanced "[" in a hostile Host header
            return False
        return authorize is not None or is_loopback(name) or name in hosts

    def cors(request: Request, response: Response) -> Response:
        origin = request.headers.get("origin")
        if origin is not None and origin in origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = _CORS_HEADERS
        response.headers["Vary"] = "Origin"
        return response

    def endpoint(
        transform: Callable[[Sequence[Payload]], Awaitable[list[Payload]]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            if not host_allowed(request):
                return JSONResponse({"error": "this codec server answers only on its loopback address"}, 421)
            if request.method == "OPTIONS":
                return cors(request, Response(status_code=200))
            if authorize is not None:
                refused = await authorize(request.headers.get("authorization"))
                if refused is not None:
                    return cors(
                        request,
                        JSONResponse(
                            {"error": f"unauthorized: {refused}"},
                            status_code=401,
                            headers={"WWW-Authenticate": "Bearer"},
                        ),
                    )
            body = await request.body()
            if len(body) > _MAX_CODEC_REQUEST_BYTES:
                return cors(request, JSONResponse({"error": "request too large"}, status_code=413))
            try:
                payloads = json_format.Parse(body, Payloads())
                result = Payloads(payloads=await transform(payloads.payloads))
            except (json_format.ParseError, UnicodeDecodeError):
                return cors(request, JSONResponse({"error": "body is not JSON Payloads"}, status_code=400))
            except ConfigurationError as err:
                return cors(request, JSONResponse({"error": str(err)}, status_code=400))
            text = json_format.MessageToJson(result, indent=None)
            return cors(request, Response(text, media_type="application/json"))

        return handle

    return Starlette(
        routes=[
            Route("/encode", endpoint(codec.encode), methods=["POST", "OPTIONS"]),
            Route("/decode", endpoint(codec.decode), methods=["POST", "OPTIONS"]),
        ]
    )
