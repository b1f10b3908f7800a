"""What the kept-token core hands a caller: a token that answers the request, or the reason it cannot.

Regression tests of the defect the lifecycle model found (issue 19): a token with less than the asked
``min_ttl`` left was handed out after a failed refresh or a short grant, and a 401 report could get the
rejected token back.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.workflows.test_kept_token import HOUR, T0, grant, kept
from workflows.types.kept_token import FreshnessRequest, token_digest

ASK_10_MIN = FreshnessRequest(min_ttl_seconds=600)


def test_a_token_with_min_ttl_left_is_handed_out() -> None:
    """Exactly ``min_ttl`` left is enough."""
    assert kept(grant()).handout(ASK_10_MIN, T0 + HOUR - timedelta(seconds=600)) == grant()


def test_a_short_grant_is_refused_with_the_lifetime_the_gateway_gives() -> None:
    """A fresh grant that lives less than asked: the caller learns the lifetime and what to ask instead."""
    short = kept(grant(lifetime=timedelta(seconds=120)))
    assert short.handout(ASK_10_MIN, T0) == (
        "the gateway issues tokens that live 120 s, less than the 600 s asked: ask for a shorter min_ttl_seconds"
    )


def test_a_token_gone_short_while_refresh_fails_is_refused_with_the_failure() -> None:
    """After a failed refresh the token still lives, but not long enough: refused, saying why."""
    state = kept(grant(), last_error="rate limited (HTTP 429)")
    assert state.handout(ASK_10_MIN, T0 + HOUR - timedelta(seconds=300)) == (
        "the token has 300 s left, less than the 600 s asked: the last refresh failed (rate limited (HTTP 429)) "
        "and is retried on its own; ask again later"
    )


def test_the_token_a_caller_saw_rejected_is_never_handed_back() -> None:
    """A 401 report whose refresh failed is refused; a report about a replaced token gets the new one."""
    state = kept(grant("abc"), last_error="gateway down")
    rejected = FreshnessRequest(rejected_token_sha256=token_digest(grant("abc")))
    assert state.handout(rejected, T0) == (
        "the token the caller saw rejected is still the only one: the last refresh failed (gateway down) and is "
        "retried on its own; ask again later"
    )
    old = FreshnessRequest(rejected_token_sha256=token_digest(grant("older")))
    assert state.handout(old, T0) == grant("abc")


@pytest.mark.parametrize(("error", "reason"), [(None, "none was granted yet"), ("down", "the last refresh")])
def test_no_unexpired_token_is_refused(error: str | None, reason: str) -> None:
    """Expired (or none at all): refused whatever was asked, even a 401 report about an older token."""
    for state in (kept(grant(), last_error=error), kept(None, last_error=error)):
        old = FreshnessRequest(rejected_token_sha256=token_digest(grant("older")))
        for ask in (FreshnessRequest(min_ttl_seconds=0), old):
            refusal = state.handout(ask, T0 + HOUR)
            assert isinstance(refusal, str)
            assert refusal.startswith(f"no unexpired token: {reason}")
