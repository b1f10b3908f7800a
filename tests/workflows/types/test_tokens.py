"""Token response rules: what is normalised, what is refused, and how a TokenGrant is dated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from workflows.types.tokens import MalformedTokenError, NormalisedToken, normalise_token_response, token_grant

BASE: dict[str, Any] = {"access_token": "at-1", "token_type": "bearer", "expires_in": 3600}


def normalise(**changes: Any) -> NormalisedToken:
    document = {**BASE, **changes}
    return normalise_token_response(
        {k: v for k, v in document.items() if v is not _DROP}, default_lifetime=1800
    )


_DROP = object()


@pytest.mark.parametrize("token_type", ["bearer", "Bearer", "BEARER"])
def test_token_type_is_case_insensitive(token_type: str) -> None:
    """RFC 6749: ``Bearer`` from the live gateway is ``bearer``."""
    assert normalise(token_type=token_type).document["token_type"] == "bearer"


@pytest.mark.parametrize(("raw", "seconds"), [(3600, 3600), ("3600", 3600), (" 60 ", 60), (120.0, 120)])
def test_expires_in_accepts_integers_and_numeric_strings(raw: object, seconds: int) -> None:
    """Integers, integral floats and numeric strings become an int."""
    assert normalise(expires_in=raw) == NormalisedToken(document={**BASE, "expires_in": seconds})


def test_missing_expires_in_uses_the_default_lifetime() -> None:
    """No expires_in (or null): the configured default, flagged."""
    assert normalise(expires_in=_DROP) == NormalisedToken(
        document={**BASE, "expires_in": 1800}, expires_in_defaulted=True
    )
    assert normalise(expires_in=None).expires_in_defaulted is True


def test_unknown_fields_are_kept_for_the_model() -> None:
    """user_id (not in the spec's schema) and anything else survive normalisation."""
    document = normalise(user_id="u-1", company_id="c-1", refresh_token="rt", scope="a b", extra=[1]).document
    assert document == {
        **BASE,
        "user_id": "u-1",
        "company_id": "c-1",
        "refresh_token": "rt",
        "scope": "a b",
        "extra": [1],
    }


def test_empty_optional_fields_are_dropped() -> None:
    """An empty refresh_token or a null scope means absent."""
    assert normalise(refresh_token="", scope=None).document == BASE


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "JSON array, not an object"),
        ("token", "JSON string, not an object"),
        (None, "JSON null, not an object"),
        ({**BASE, "access_token": ""}, "no access_token"),
        ({k: v for k, v in BASE.items() if k != "access_token"}, "no access_token"),
        ({**BASE, "access_token": 5}, "no access_token"),
        ({**BASE, "token_type": "mac"}, "token_type 'mac'"),
        ({k: v for k, v in BASE.items() if k != "token_type"}, "token_type 'null'"),
        ({**BASE, "expires_in": 0}, "must be positive"),
        ({**BASE, "expires_in": -5}, "must be positive"),
        ({**BASE, "expires_in": "-5"}, "must be positive"),
        ({**BASE, "expires_in": True}, "boolean"),
        ({**BASE, "expires_in": "NaN"}, "finite"),
        ({**BASE, "expires_in": "inf"}, "finite"),
        ({**BASE, "expires_in": 1.5}, "whole number"),
        ({**BASE, "expires_in": "soon"}, "not a number"),
        ({**BASE, "expires_in": [3600]}, "array"),
        ({**BASE, "expires_in": 10**12}, "century"),
        ({**BASE, "refresh_token": 7}, "refresh_token is a number"),
        ({**BASE, "company_id": {}}, "company_id is a object"),
    ],
)
def test_malformed_responses_are_refused(document: object, message: str) -> None:
    """Each broken rule raises MalformedTokenError naming the problem."""
    with pytest.raises(MalformedTokenError) as err:
        normalise_token_response(document, default_lifetime=3600)
    assert message in str(err.value)


def test_errors_never_echo_the_access_token() -> None:
    """A refused response's message carries no token value."""
    with pytest.raises(MalformedTokenError) as err:
        normalise_token_response(
            {**BASE, "access_token": "SECRET-TOKEN", "expires_in": -1}, default_lifetime=1
        )
    assert "SECRET-TOKEN" not in str(err.value)


def test_token_grant_dates_from_the_request() -> None:
    """expires_at = issued_at + expires_in; token_type lower-cased; repr hides tokens."""
    issued = datetime(2026, 5, 22, 12, 0, tzinfo=UTC)
    grant = token_grant(
        access_token="at-secret",
        token_type="Bearer",
        expires_in=3600,
        issued_at=issued,
        refresh_token="rt-secret",
        company_id="c",
        user_id="u",
    )
    assert grant.expires_at == issued + timedelta(hours=1)
    assert grant.token_type == "bearer"
    assert grant.ttl(issued + timedelta(minutes=10)) == timedelta(minutes=50)
    assert "secret" not in repr(grant)
