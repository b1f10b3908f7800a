"""JWT assertions: every claim Remote checks, verified with pyjwt; subjects; key handling."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from workflows.io.settings import Settings
from workflows.io.signing import AssertionSigner, company_manager_subject, employment_subject
from workflows.types.errors import ConfigurationError

# 32+ bytes, so pyjwt's key-length warning (an error under this suite's settings) stays quiet when verifying.
SECRET = "a-test-client-secret-of-32-bytes-or-more"
USER = "0b5a3c2e-1f4d-4e6a-9b7c-8d9e0f1a2b3c"
ALL_CLAIMS = ["iss", "sub", "aud", "iat", "exp", "jti"]


def settings(**env: str) -> Settings:
    return Settings.from_env(
        {"REMOTE_GATEWAY_URL": "https://gateway.example", "REMOTE_CLIENT_ID": "client-1", **env}
    )


def test_hs256_claims_verify_with_pyjwt() -> None:
    """Signed with the client secret: iss, sub, aud, iat, exp (5 minutes), jti and scope all present."""
    signer = AssertionSigner.from_settings(settings(REMOTE_CLIENT_SECRET=SECRET))
    now = time.time()
    token = signer.assertion(company_manager_subject(USER), now=now, scope="company:read")
    claims = jwt.decode(
        token,
        SECRET,
        algorithms=["HS256"],
        audience="https://gateway.example/auth",
        options={"require": ALL_CLAIMS},
    )
    assert claims == {
        "iss": "client-1",
        "sub": f"urn:remote-api:company-manager:user:{USER}",
        "aud": "https://gateway.example/auth",
        "iat": int(now),
        "exp": int(now) + 300,
        "jti": claims["jti"],
        "scope": "company:read",
    }
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}


def test_wrong_audience_is_rejected_by_the_verifier() -> None:
    """The audience is enforced, so the test above cannot pass by accident."""
    signer = AssertionSigner.from_settings(settings(REMOTE_CLIENT_SECRET=SECRET))
    token = signer.assertion(employment_subject(USER), now=time.time())
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, SECRET, algorithms=["HS256"], audience="https://other/auth")


def test_jti_is_unique_over_ten_thousand_assertions() -> None:
    """A fresh uuid4 per assertion: a retried attempt is never a replay."""
    signer = AssertionSigner.from_settings(settings(REMOTE_CLIENT_SECRET=SECRET))
    jtis = {signer.claims("urn:remote-api:x", now=0)["jti"] for _ in range(10_000)}
    assert len(jtis) == 10_000


def test_lifetime_is_configurable_and_never_over_ten_minutes() -> None:
    """REMOTE_ASSERTION_LIFETIME sets exp - iat; the signer clamps to 600 whatever it is given."""
    short = AssertionSigner.from_settings(
        settings(REMOTE_CLIENT_SECRET=SECRET, REMOTE_ASSERTION_LIFETIME="60")
    )
    assert short.claims("s", now=1000)["exp"] == 1060
    forced = AssertionSigner(client_id="c", audience="a", alg="HS256", key=b"k", lifetime=3600)
    assert forced.claims("s", now=1000)["exp"] == 1600


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_private_key_algorithms_verify_with_the_public_key(alg: str, tmp_path: Path) -> None:
    """RS256/ES256 sign with REMOTE_ASSERTION_KEY_FILE; the public key verifies every claim."""
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if alg == "RS256"
        else ec.generate_private_key(ec.SECP256R1())
    )
    path = _pem(private, tmp_path / "key.pem")
    signer = AssertionSigner.from_settings(
        settings(REMOTE_ASSERTION_ALG=alg, REMOTE_ASSERTION_KEY_FILE=str(path))
    )
    token = signer.assertion(employment_subject(USER), now=time.time())
    claims = jwt.decode(
        token,
        private.public_key(),
        algorithms=[alg],
        audience="https://gateway.example/auth",
        options={"require": ALL_CLAIMS},
    )
    assert claims["sub"] == f"urn:remote-api:employee:employment:{USER}"
    assert "scope" not in claims


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "REMOTE_CLIENT_SECRET"),
        ({"REMOTE_ASSERTION_ALG": "RS256"}, "REMOTE_ASSERTION_KEY_FILE"),
    ],
)
def test_missing_keys_name_the_variable(env: dict[str, str], named: str) -> None:
    """No secret (HS256) or no key file (RS256): ConfigurationError naming what to set."""
    with pytest.raises(ConfigurationError) as err:
        AssertionSigner.from_settings(settings(**env))
    assert named in str(err.value)


def test_missing_client_id_is_named() -> None:
    """iss needs the client id."""
    with pytest.raises(ConfigurationError, match="REMOTE_CLIENT_ID"):
        AssertionSigner.from_settings(Settings.from_env({"REMOTE_CLIENT_SECRET": SECRET}))


def test_unusable_key_file_is_refused(tmp_path: Path) -> None:
    """A file that is no private key fails clearly, without echoing its content."""
    path = tmp_path / "key.pem"
    path.write_text("not a key at all")
    with pytest.raises(ConfigurationError) as err:
        AssertionSigner.from_settings(
            settings(REMOTE_ASSERTION_ALG="ES256", REMOTE_ASSERTION_KEY_FILE=str(path))
        )
    assert "not a key" not in str(err.value)
    assert "REMOTE_ASSERTION_KEY_FILE" in str(err.value)


def test_signer_repr_hides_the_key() -> None:
    """repr shows who signs, never the key."""
    signer = AssertionSigner.from_settings(settings(REMOTE_CLIENT_SECRET=SECRET))
    assert SECRET not in repr(signer)


def test_subjects() -> None:
    """Subjects follow Remote's URNs and canonicalise the UUID."""
    assert company_manager_subject(USER.upper()) == f"urn:remote-api:company-manager:user:{USER}"
    assert employment_subject(USER) == f"urn:remote-api:employee:employment:{USER}"


@pytest.mark.parametrize(
    "bad", ["", "not-a-uuid", "0b5a3c2e1f4d4e6a9b7c8d9e0f1a2b3c", f"{{{USER}}}", USER + "0"]
)
def test_subjects_refuse_non_uuids(bad: str) -> None:
    """Only canonical 8-4-4-4-12 UUIDs make a subject."""
    with pytest.raises(ValueError, match="UUID"):
        company_manager_subject(bad)
    with pytest.raises(ValueError, match="UUID"):
        employment_subject(bad)
