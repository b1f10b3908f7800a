"""Client authentication at the token endpoint: ``client_secret`` in the body or HTTP Basic, never both."""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from urllib.parse import unquote

from sandbox.config import SandboxConfig
from sandbox.endpoints.errors import OAuthError

__all__ = ["BASIC_CHALLENGE", "ClientClaim", "authenticate", "claim_client"]

BASIC_CHALLENGE = 'Basic realm="remote-oauth-sandbox"'


@dataclass(frozen=True)
class ClientClaim:
    """Who a token request says it is, before the secret has been checked."""

    client_id: str | None
    secret: str | None
    basic: bool
    """Whether the claim came in an ``Authorization: Basic`` header (401s must then challenge)."""


def _basic(header: str) -> tuple[str, str]:
    """Decode ``base64(urlencode(id):urlencode(secret))`` as RFC 6749 section 2.3.1 spells it."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError("invalid_request", "only HTTP Basic client authentication is supported")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as err:
        raise OAuthError("invalid_request", "malformed Basic credentials") from err
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError("invalid_request", "malformed Basic credentials")
    return unquote(client_id), unquote(secret)


def claim_client(form: dict[str, str], authorization: str | None) -> ClientClaim:
    """Read the claimed client from the header or body; both methods at once is ``invalid_request``."""
    body_id, body_secret = form.get("client_id"), form.get("client_secret")
    if authorization is None:
        return ClientClaim(client_id=body_id, secret=body_secret, basic=False)
    client_id, secret = _basic(authorization)
    if body_secret is not None:
        raise OAuthError(
            "invalid_request", "use one client authentication method, not Basic and client_secret"
        )
    if body_id is not None and body_id != client_id:
        raise OAuthError("invalid_request", "client_id in the body differs from the Basic credentials")
    return ClientClaim(client_id=client_id, secret=secret, basic=True)


def authenticate(claim: ClientClaim, config: SandboxConfig, *, secret_required: bool = True) -> None:
    """Raise 401 ``invalid_client`` unless the claim names the registered client with its secret.

    The assertion grant may omit the secret (``secret_required=False``): its JWT, signed with that
    secret or a registered key, authenticates the client instead (RFC 7523 section 3.1).
    """
    headers = {"WWW-Authenticate": BASIC_CHALLENGE} if claim.basic else {}
    if claim.client_id is None or (claim.secret is None and secret_required):
        raise OAuthError("invalid_client", "client authentication required", status=401, headers=headers)
    id_ok = hmac.compare_digest(claim.client_id.encode(), config.client_id.encode())
    secret_ok = claim.secret is None or hmac.compare_digest(
        claim.secret.encode(), config.client_secret.encode()
    )
    if not (id_ok and secret_ok):
        raise OAuthError("invalid_client", "unknown client or wrong secret", status=401, headers=headers)
