"""JWT assertions for the jwt-bearer grant (RFC 7523), signed inside an activity with the worker's key.

Remote verifies: ``iss`` = client id, ``aud`` = ``{gateway}/auth``, ``exp`` at most 10 minutes ahead,
``iat``, and ``sub`` naming a company manager or an employment. A fresh ``jti`` on every attempt means a
retried request is never a replay.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jwt.algorithms import get_default_algorithms
from jwt.exceptions import InvalidKeyError
from jwt.utils import base64url_encode

from workflows.io.settings import ASSERTION_ALGS, MAX_ASSERTION_LIFETIME, Settings
from workflows.types.errors import ConfigurationError

COMPANY_MANAGER_PREFIX = "urn:remote-api:company-manager:user:"
EMPLOYMENT_PREFIX = "urn:remote-api:employee:employment:"


def _uuid(value: str, what: str) -> str:
    try:
        parsed = uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise ValueError(f"{what} must be a UUID") from None
    if str(parsed) != value.strip().lower():
        raise ValueError(f"{what} must be a UUID in its canonical 8-4-4-4-12 form")
    return str(parsed)


def company_manager_subject(user_id: str) -> str:
    """``sub`` for acting as a company manager: ``urn:remote-api:company-manager:user:<uuid>``.

    Raises:
        ValueError: ``user_id`` is not a UUID.
    """
    return COMPANY_MANAGER_PREFIX + _uuid(user_id, "user_id")


def employment_subject(employment_id: str) -> str:
    """``sub`` for acting as an employee: ``urn:remote-api:employee:employment:<uuid>``.

    Raises:
        ValueError: ``employment_id`` is not a UUID.
    """
    return EMPLOYMENT_PREFIX + _uuid(employment_id, "employment_id")


@dataclass(frozen=True)
class AssertionSigner:
    """Signs assertions for one client; built from settings when an activity needs one."""

    client_id: str
    audience: str
    alg: str
    key: Any
    """The prepared signing key (bytes for HS256, a private key object otherwise); never printed."""
    lifetime: int = 300

    def __repr__(self) -> str:
        return f"AssertionSigner(client_id={self.client_id!r}, audience={self.audience!r}, alg={self.alg!r})"

    @classmethod
    def from_settings(cls, settings: Settings) -> AssertionSigner:
        """The signer the settings describe.

        Raises:
            ConfigurationError: the client id, the client secret (HS256) or a usable private key
                (RS256/ES256) is missing; the message names the variable to set.
        """
        if settings.client_id is None:
            raise ConfigurationError("REMOTE_CLIENT_ID is not set")
        alg = settings.assertion_alg
        if alg not in ASSERTION_ALGS:
            raise ConfigurationError(f"REMOTE_ASSERTION_ALG must be one of {', '.join(ASSERTION_ALGS)}")
        algorithm = get_default_algorithms()[alg]
        if alg == "HS256":
            if settings.client_secret is None:
                raise ConfigurationError(
                    "REMOTE_CLIENT_SECRET (or REMOTE_CLIENT_SECRET_FILE) is not set; HS256 assertions are signed with it"
                )
            key = algorithm.prepare_key(settings.client_secret.reveal())
        else:
            if settings.assertion_key is None:
                raise ConfigurationError(f"REMOTE_ASSERTION_KEY_FILE is not set; {alg} assertions need it")
            try:
                key = algorithm.prepare_key(settings.assertion_key.reveal())
            except (InvalidKeyError, ValueError, TypeError):
                raise ConfigurationError(
                    f"REMOTE_ASSERTION_KEY_FILE does not hold a PEM private key usable for {alg}"
                ) from None
            if not hasattr(key, "sign"):
                raise ConfigurationError(
                    f"REMOTE_ASSERTION_KEY_FILE holds a public key; {alg} needs the private key"
                )
        lifetime = min(settings.assertion_lifetime, MAX_ASSERTION_LIFETIME)
        return cls(
            client_id=settings.client_id,
            audience=settings.assertion_audience,
            alg=alg,
            key=key,
            lifetime=lifetime,
        )

    def claims(self, subject: str, *, now: float, scope: str | None = None) -> dict[str, Any]:
        """The claims of one assertion issued at ``now`` (unix seconds), with a fresh ``jti``."""
        issued = int(now)
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "sub": subject,
            "aud": self.audience,
            "iat": issued,
            "exp": issued + min(self.lifetime, MAX_ASSERTION_LIFETIME),
            "jti": str(uuid.uuid4()),
        }
        if scope:
            claims["scope"] = scope
        return claims

    def sign(self, claims: Mapping[str, Any]) -> str:
        """The compact JWS of ``claims``.

        Signed with pyjwt's algorithm objects rather than ``jwt.encode``: that one warns
        (``InsecureKeyLengthWarning``) on client secrets shorter than 32 bytes, which are the gateway's
        to choose, not ours, and a warning per token request helps nobody.
        """
        header = {"alg": self.alg, "typ": "JWT"}
        segments = [
            base64url_encode(json.dumps(header, separators=(",", ":")).encode()),
            base64url_encode(json.dumps(dict(claims), separators=(",", ":")).encode()),
        ]
        signing_input = b".".join(segments)
        signature = get_default_algorithms()[self.alg].sign(signing_input, self.key)
        return b".".join([*segments, base64url_encode(signature)]).decode()

    def assertion(self, subject: str, *, now: float, scope: str | None = None) -> str:
        """A signed assertion for ``subject``, valid from ``now`` for ``lifetime`` seconds."""
        return self.sign(self.claims(subject, now=now, scope=scope))


__all__ = [
    "COMPANY_MANAGER_PREFIX",
    "EMPLOYMENT_PREFIX",
    "AssertionSigner",
    "company_manager_subject",
    "employment_subject",
]
