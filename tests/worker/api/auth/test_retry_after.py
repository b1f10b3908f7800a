"""Reading ``Retry-After`` (RFC 9110 section 10.2.3) and the bounds of ``RateLimitRetry``, and the flow's order
of 401 and 429 handling, against scripted responses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from worker.api.auth import BearerAuth, RateLimitRetry, retry_after_seconds
from workflows.types.tokens import TokenGrant

NOW = datetime(2026, 11, 29, 17, 0, 0, tzinfo=UTC)
SERVER_DATE = "Sun, 29 Nov 2026 17:00:10 GMT"
"""The server's clock runs 10 s ahead of ours."""


def too_many(retry_after: str | None = None, date: str | None = None) -> httpx.Response:
    headers = {name: value for name, value in (("Retry-After", retry_after), ("Date", date)) if value}
    return httpx.Response(429, headers=headers)


@pytest.mark.parametrize(
    ("retry_after", "date", "seconds"),
    [
        ("7", None, 7.0),
        (" 0 ", None, 0.0),
        ("Sun, 29 Nov 2026 17:00:40 GMT", SERVER_DATE, 30.0),  # IMF-fixdate, from the server's own Date
        ("Sunday, 29-Nov-26 17:00:40 GMT", SERVER_DATE, 30.0),  # obsolete RFC 850
        ("Sun Nov 29 17:00:40 2026", SERVER_DATE, 30.0),  # obsolete asctime, GMT without saying so
        ("Sun, 29 Nov 2026 17:00:40 GMT", None, 40.0),  # no Date: from our clock
        ("Sun, 29 Nov 2026 17:00:40 GMT", "garbage", 40.0),
        ("Sun, 29 Nov 2026 16:59:00 GMT", None, 0.0),  # already past
        ("1.5", None, None),
        ("-1", None, None),
        ("soon", None, None),
        (None, None, None),
    ],
)
def test_retry_after_is_delta_seconds_or_an_http_date(
    retry_after: str | None, date: str | None, seconds: float | None
) -> None:
    """Delta-seconds as given; an HTTP-date in any of its three forms, less the response's Date (else now);
    anything else is no answer."""
    assert retry_after_seconds(too_many(retry_after, date), now=lambda: NOW) == seconds


def test_the_policy_waits_within_its_bounds() -> None:
    """What is asked up to ``max_wait``; the default doubling when nothing usable is asked, capped; never
    past ``max_retries``."""
    policy = RateLimitRetry(max_retries=4, max_wait=5.0, default_wait=2.0)
    assert [policy.wait_before_retry(too_many("5"), n) for n in range(5)] == [5.0, 5.0, 5.0, 5.0, None]
    assert policy.wait_before_retry(too_many("6"), 0) is None
    assert [policy.wait_before_retry(too_many(), n) for n in range(4)] == [2.0, 4.0, 5.0, 5.0]
    assert RateLimitRetry(max_retries=0).wait_before_retry(too_many("1"), 0) is None


def test_a_policy_with_negative_bounds_is_refused() -> None:
    with pytest.raises(ValueError, match="must be 0 or more"):
        RateLimitRetry(max_wait=-1)


def grant(access_token: str) -> TokenGrant:
    return TokenGrant(
        access_token=access_token,
        token_type="bearer",
        expires_at=datetime(2026, 11, 29, 18, tzinfo=UTC),
        issued_at=NOW,
    )


async def test_only_one_401_per_request_gets_a_new_token_whatever_429s_come_between() -> None:
    """401, 429, 401: one replacement, one wait, and the second 401 goes to the caller."""
    answers: Iterator[httpx.Response] = iter([httpx.Response(401), too_many("3"), httpx.Response(401)])
    sent: list[str] = []
    waits: list[float] = []
    tokens = iter(["first", "second"])

    def gateway(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["authorization"])
        return next(answers)

    async def current(_: float) -> TokenGrant:
        return grant(next(tokens, "second"))

    async def replace(rejected: TokenGrant) -> TokenGrant:
        assert rejected.access_token == "first"
        return grant(next(tokens))

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    auth = BearerAuth(current, replace, rate_limit=RateLimitRetry(sleep=sleep))
    async with httpx.AsyncClient(transport=httpx.MockTransport(gateway), auth=auth) as api:
        response = await api.get("https://gateway.example/v1/companies")
    assert [r.status_code for r in [*response.history, response]] == [401, 429, 401]
    assert (sent, waits) == (["Bearer first", "Bearer second", "Bearer second"], [3.0])
