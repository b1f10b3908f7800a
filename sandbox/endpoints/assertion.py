"""Verifying the JWT of the assertion grant (RFC 7523) as Remote's gateway does."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from sandbox.config import SandboxConfig
from sandbox.endpoints.errors import OAuthError
from sandbox.endpoints.grants import AssertionSubject

__all__ = ["LEEWAY_SECONDS", "MAX_LIFETIME_SECONDS", "VerifiedAssertion", "verify_assertion"]

MAX_LIFETIME_SECONDS = 600
"""Remote accepts an ``exp`` at most ten minutes ahead."""
LEEWAY_SECONDS = 30
"""Clock skew forgiven on every time claim."""

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_MANAGER = re.compile(rf"urn:remote-api:company-manager:user:({_UUID})")
_EMPLOYEE = re.compile(rf"urn:remote-api:(?:employee:)?employment:({_UUID})")


@dataclass(frozen=True)
class VerifiedAssertion:
    """The claims that matter once signature, issuer, audience and times have been checked."""

    subject: AssertionSubject
    scope: str | None
    jti: str | None
    exp: float


def _invalid(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


def _signature_ok(assertion: str, alg: str, config: SandboxConfig) -> bool:
    """Check the signature with the client secret (HS256) or a registered public key (RS256/ES256).

    HS256 is checked with ``hmac`` rather than pyjwt, whose minimum-key-length warning would fire on the
    (deliberately short) dev secret and fail any test suite that turns warnings into errors.
    """
    signing_input, _, signature_b64 = assertion.rpartition(".")
    try:
        signature = jwt.utils.base64url_decode(signature_b64)
    except ValueError:
        return False
    if alg == "HS256":
        expected = hmac.new(config.client_secret.encode(), signing_input.encode(), hashlib.sha256).digest()
        return hmac.compare_digest(expected, signature)
    for pem in config.public_keys:
        key = load_pem_public_key(pem.encode())
        if alg == "RS256" and isinstance(key, rsa.RSAPublicKey):
            if RSAAlgorithm(RSAAlgorithm.SHA256).verify(signing_input.encode(), key, signature):
                return True
        elif (
            alg == "ES256"
            and isinstance(key, ec.EllipticCurvePublicKey)
            and ECAlgorithm(ECAlgorithm.SHA256).verify(signing_input.encode(), key, signature)
        ):
            return True
    return False


def _claims(assertion: str, config: SandboxConfig) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except (jwt.PyJWTError, json.JSONDecodeError, ValueError) as err:
        raise _invalid(f"assertion is not a well-formed JWT ({err})") from err
    alg = header.get("alg")
    if alg not in ("HS256", "RS256", "ES256"):
        raise _invalid("assertion must be signed with HS256, RS256 or ES256")
    if not _signature_ok(assertion, alg, config):
        raise _invalid("assertion signature does not verify")
    return claims


def _time(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    # bool is an int subclass; a JSON true is not a time.
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _invalid(f"assertion needs a numeric {name} claim")
    return float(value)


def _subject(sub: object) -> AssertionSubject:
    """Who ``sub`` names: ``company-manager:user:<uuid>`` or ``[employee:]employment:<uuid>``."""
    manager = _MANAGER.fullmatch(sub) if isinstance(sub, str) else None
    if manager:
        return AssertionSubject(user_id=manager.group(1).lower())
    employee = _EMPLOYEE.fullmatch(sub) if isinstance(sub, str) else None
    if employee:
        return AssertionSubject(employment_id=employee.group(1).lower())
    raise _invalid("sub must name a company manager user or an employment")


def _remember_jti(jti: object, *, exp: float, now: float, seen_jtis: dict[str, float]) -> None:
    """Refuse a ``jti`` seen before; forget those whose assertions have expired, as they cannot return."""
    if not isinstance(jti, str):
        raise _invalid("jti must be a string")
    for old in [key for key, expiry in seen_jtis.items() if expiry < now - LEEWAY_SECONDS]:
        del seen_jtis[old]
    if jti in seen_jtis:
        raise _invalid("assertion jti already used")
    seen_jtis[jti] = exp


def verify_assertion(
    assertion: str, *, config: SandboxConfig, audience: str, now: float, seen_jtis: dict[str, float]
) -> VerifiedAssertion:
    """Verify everything Remote checks; remembers the ``jti`` so the same assertion cannot be replayed."""
    claims = _claims(assertion, config)
    if claims.get("iss") != config.client_id:
        raise _invalid("iss must be the client id")
    aud = claims.get("aud")
    if aud != audience and not (isinstance(aud, list) and audience in aud):
        raise _invalid(f"aud must be {audience}")
    exp, iat = _time(claims, "exp"), _time(claims, "iat")
    if exp <= now - LEEWAY_SECONDS:
        raise _invalid("assertion expired")
    if exp > now + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
        raise _invalid("exp may be at most 10 minutes ahead")
    if iat > now + LEEWAY_SECONDS:
        raise _invalid("iat is in the future")
    if "nbf" in claims and _time(claims, "nbf") > now + LEEWAY_SECONDS:
        raise _invalid("assertion not valid yet (nbf)")
    subject = _subject(claims.get("sub"))
    scope = claims.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise _invalid("scope claim must be a string")
    jti = claims.get("jti")
    if jti is not None:
        _remember_jti(jti, exp=exp, now=now, seen_jtis=seen_jtis)
    return VerifiedAssertion(subject=subject, scope=scope, jti=jti, exp=exp)
