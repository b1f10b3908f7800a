"""The IssueState activity: a fresh state and the authorize URL carrying it, made without a request."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sandbox.contract import load_contract
from tests.support.scripted_gateway import run
from workflows.io.activities import IssueStateInput
from workflows.io.settings import Settings

SPEC = load_contract()
"""Paths and methods as the specs in openapi/ put them (never hard-coded: a spec bump moves them)."""


async def test_issue_state_builds_the_authorize_url() -> None:
    """A fresh 256-bit state; the authorize URL carries the spec's parameters, redirect URI exact."""
    issued, gateway = await run("issue_state", IssueStateInput(company_ref="acme", scope="company:read"))
    again, _ = await run("issue_state", IssueStateInput())
    assert gateway.requests == []
    assert len(issued.state) >= 43
    assert issued.state != again.state
    parts = urlsplit(issued.authorize_url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "gateway.test", SPEC.authorize.path)
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "client_id": "client:1",
        "response_type": "code",
        "redirect_uri": "https://partner.test/oauth/callback?tenant=a%2Fb",
        "scope": "company:read",
        "state": issued.state,
    }
    assert issued.ttl_seconds == 900
    assert parse_qs(urlsplit(again.authorize_url).query)["scope"] == [Settings.from_env({}).scopes]
    assert issued.state not in repr(issued)
