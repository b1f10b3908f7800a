"""The sandbox consent flow at ``/oauth/authorize``: validation, the consent page, approve and deny."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandbox.app import create_app
from sandbox.config import DEFAULT_SCOPE, SandboxConfig
from sandbox.contract import load_contract
from sandbox.testing import FakeClock, asgi_client, connect_company

SPEC = load_contract()
"""Paths and methods as the specs in openapi/ put them (never hard-coded: a spec bump moves them)."""

CONFIG = SandboxConfig()
REDIRECT = CONFIG.redirect_uris[0]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """An in-process default sandbox."""
    async with asgi_client(create_app(CONFIG, clock=FakeClock())) as client:
        yield client


def authorize_params(**overrides: str) -> dict[str, str]:
    """A valid authorize query, with some parameters changed."""
    return {
        "client_id": CONFIG.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "state": "st-1",
        **overrides,
    }


def query_of(location: str) -> dict[str, str]:
    """The query parameters of a redirect target, one value each."""
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


# Validation


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "stranger"},
        {"redirect_uri": "http://127.0.0.1:8000/oauth/callback/"},
        {"redirect_uri": "https://evil.example/cb"},
    ],
)
async def test_unknown_client_or_redirect_uri_gets_an_error_page_not_a_redirect(
    client: httpx.AsyncClient, overrides: dict[str, str]
) -> None:
    """An unverifiable client or redirect URI is a 400 HTML page, never a redirect."""
    response = await client.get(SPEC.authorize.path, params=authorize_params(**overrides))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "location" not in response.headers


async def test_missing_client_id_gets_an_error_page(client: httpx.AsyncClient) -> None:
    """Without client_id there is nobody to redirect to: an error page."""
    params = authorize_params()
    del params["client_id"]
    response = await client.get(SPEC.authorize.path, params=params)
    assert response.status_code == 400
    assert "location" not in response.headers


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "Company:Read"}, "invalid_scope"),
        ({"scope": "company:read:extra"}, "invalid_scope"),
        ({"scope": ""}, "invalid_scope"),
    ],
)
async def test_other_errors_redirect_with_error_and_state(
    client: httpx.AsyncClient, overrides: dict[str, str], error: str
) -> None:
    """A bad response_type or scope goes back to redirect_uri with ``error`` and ``state``."""
    response = await client.get(SPEC.authorize.path, params=authorize_params(**overrides))
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    assert query_of(location)["error"] == error
    assert query_of(location)["state"] == "st-1"


# Consent page


async def test_consent_page_names_company_and_scopes_with_a_plain_form(client: httpx.AsyncClient) -> None:
    """The page shows the company, each requested scope and Approve/Deny buttons in a POST form."""
    params = authorize_params(company_name="Globex", scope="company:read magic_link:write")
    response = await client.get(SPEC.authorize.path, params=params)
    page = response.text
    assert response.status_code == 200
    assert "<h1>Connect Globex</h1>" in page
    assert "<li><code>company:read</code></li>" in page
    assert "<li><code>magic_link:write</code></li>" in page
    assert '<form method="post" action="/oauth/consent">' in page
    assert '<button type="submit" name="decision" value="approve">Approve</button>' in page
    assert '<button type="submit" name="decision" value="deny">Deny</button>' in page
    assert "<script" not in page


async def test_reflected_values_are_escaped(client: httpx.AsyncClient) -> None:
    """A company name with markup is shown as text, not executed."""
    response = await client.get(
        SPEC.authorize.path, params=authorize_params(company_name="<script>x</script>")
    )
    assert "<script>" not in response.text
    assert "Connect &lt;script&gt;x&lt;/script&gt;" in response.text


async def test_a_generated_company_name_is_used_when_none_is_given(client: httpx.AsyncClient) -> None:
    """Without company_name the page invents one like ``Acme 3f2a``."""
    response = await client.get(SPEC.authorize.path, params=authorize_params())
    assert re.search(r"<h1>Connect Acme [0-9a-f]{4}</h1>", response.text)


async def test_a_remote_oauth_state_names_the_company(client: httpx.AsyncClient) -> None:
    """A ``<ref>.<random>`` state (remote-oauth's) names the company after the partner's reference."""
    response = await client.get(SPEC.authorize.path, params={**authorize_params(), "state": "globex.Zm9v"})
    assert "<title>Connect globex</title>" in response.text
    assert "<h1>Connect globex</h1>" in response.text


# Decisions


async def test_approve_redirects_with_code_and_state(client: httpx.AsyncClient) -> None:
    """Approve sends the browser to redirect_uri with a code and the same state."""
    connected = await connect_company(client, company_name="Initech", state="xyz")
    assert connected.location.startswith(REDIRECT + "?")
    assert connected.state == "xyz"
    assert connected.code is not None
    assert len(connected.code) >= 40
    assert connected.error is None


async def test_deny_redirects_with_access_denied(client: httpx.AsyncClient) -> None:
    """Deny sends the browser back with ``error=access_denied`` and the state, and no code."""
    connected = await connect_company(client, company_name="Initech", state="xyz", decision="deny")
    assert (connected.error, connected.state, connected.code) == ("access_denied", "xyz", None)


async def test_an_existing_query_string_in_redirect_uri_is_kept() -> None:
    """A registered redirect URI with its own query keeps it, with code and state appended."""
    config = SandboxConfig(redirect_uris=("http://127.0.0.1:8000/cb?tenant=7",), auto_approve=True)
    async with asgi_client(create_app(config, clock=FakeClock())) as client:
        connected = await connect_company(client, config=config, state="s")
    assert connected.location.startswith("http://127.0.0.1:8000/cb?tenant=7&code=")
    assert connected.location.endswith("&state=s")


async def test_a_consent_form_cannot_be_posted_twice(client: httpx.AsyncClient) -> None:
    """The consent request is single-use: a second post is an error page."""
    page = await client.get(SPEC.authorize.path, params=authorize_params())
    found = re.search(r'name="request_id" value="([^"]+)"', page.text)
    assert found is not None
    form = {"request_id": found.group(1), "decision": "approve"}
    assert (await client.post("/oauth/consent", data=form)).status_code == 302
    assert (await client.post("/oauth/consent", data=form)).status_code == 400


async def test_consent_creates_a_company_and_reuses_it_by_name(client: httpx.AsyncClient) -> None:
    """The same company_name consenting twice keeps its company and admin user ids."""
    await connect_company(client, company_name="Umbrella")
    await connect_company(client, company_name="Umbrella")
    await connect_company(client, company_name="Hooli")
    listed = (await client.get("/sandbox/companies")).json()["companies"]
    assert [company["name"] for company in listed] == ["Umbrella", "Hooli"]
    assert re.fullmatch(r"[0-9a-f-]{36}", listed[0]["id"])
    assert len(listed[0]["user_ids"]) == 1
    assert listed[0]["scope"] == DEFAULT_SCOPE


# Auto-approve


async def test_auto_approve_redirects_without_a_page() -> None:
    """With auto_approve configured, authorize answers with the redirect straight away."""
    config = SandboxConfig(auto_approve=True)
    async with asgi_client(create_app(config, clock=FakeClock())) as client:
        response = await client.get(SPEC.authorize.path, params=authorize_params(company_name="Stark"))
        listed = (await client.get("/sandbox/companies")).json()["companies"]
    assert response.status_code == 302
    assert set(query_of(response.headers["location"])) == {"code", "state"}
    assert [company["name"] for company in listed] == ["Stark"]


async def test_auto_approve_0_still_shows_the_page() -> None:
    """``auto_approve=0`` shows the consent page even on an auto-approving sandbox."""
    config = SandboxConfig(auto_approve=True)
    async with asgi_client(create_app(config, clock=FakeClock())) as client:
        response = await client.get(SPEC.authorize.path, params=authorize_params(auto_approve="0"))
    assert response.status_code == 200


async def test_auto_approve_1_is_ignored_unless_configured(client: httpx.AsyncClient) -> None:
    """A query parameter alone cannot skip consent on a sandbox that asks for it."""
    response = await client.get(SPEC.authorize.path, params=authorize_params(auto_approve="1"))
    assert response.status_code == 200
    assert "Approve" in response.text


async def test_consent_page_cannot_be_framed(client: httpx.AsyncClient) -> None:
    """A page framing the consent page (to trick a click on Approve) is refused by CSP and X-Frame-Options."""
    response = await client.get(SPEC.authorize.path, params=authorize_params(company_name="Globex"))
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
