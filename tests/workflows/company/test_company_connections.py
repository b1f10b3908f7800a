"""Connected companies as partners manage them: reconnect for new scopes while tokens keep working, narrowing
through a refresh, and the partner's metadata in status and webhook events (time-skipping server, sandbox)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from sandbox.config import DEFAULT_SCOPE
from tests.support.scene import scene
from tests.support.stack import Stack
from workflows.types.company import Callback, Phase
from workflows.types.errors import ErrorType, InvalidInputError, NotReadyError

NARROW = "company:read employment:read"


async def introspect(stack: Stack, access_token: str) -> dict[str, object]:
    response = await stack.http.post("/sandbox/introspect", json={"token": access_token})
    body: dict[str, object] = response.json()
    return body


async def connected(stack: Stack, ref: str, company_name: str | None = None) -> str:
    """Onboard and consent; the Remote company id."""
    link = await stack.oauth.onboard(ref)
    result = await stack.oauth.complete_consent(await stack.approve(link, company_name=company_name))
    assert result.phase is Phase.ACTIVE, result.message
    company_id = (await stack.oauth.status(ref)).company_id
    assert company_id is not None
    return company_id


async def test_reconnect_with_a_narrower_scope_while_tokens_keep_working(stack: Stack) -> None:
    """A reconnect link leaves the company active: tokens keep working until the admin consents again,
    then the new grant (with the new scope) replaces the old one, for the same Remote company."""
    company_id = await connected(stack, "acme")
    before = await stack.oauth.status("acme")
    assert (before.scope, before.reconnect_expires_at) == (DEFAULT_SCOPE, None)
    old = await stack.oauth.token("acme")

    link = await stack.oauth.reconnect("acme", scope=NARROW)
    assert link.phase is Phase.ACTIVE
    assert link.connect_url is not None
    assert link.authorize_url is not None
    assert "scope=company%3Aread+employment%3Aread" in link.authorize_url
    waiting = await stack.oauth.status("acme")
    assert (waiting.phase, waiting.scope) == (Phase.ACTIVE, DEFAULT_SCOPE)
    assert waiting.reconnect_expires_at is not None
    # The web app's consent page finds the reconnect link (the connect link leads there).
    assert (await stack.oauth.consent_page("acme")).authorize_url == link.authorize_url
    during = await stack.oauth.token("acme")
    assert during.access_token == old.access_token
    assert (await introspect(stack, during.access_token))["active"] is True
    async with httpx.AsyncClient(base_url=stack.sandbox.url, auth=stack.oauth.auth("acme")) as api:
        assert (await api.get("/v1/companies")).status_code == 200  # API calls go on while consent is asked

    callback = await stack.approve(link, company_name="Acme acme")
    assert (await stack.oauth.token("acme")).access_token == old.access_token  # still, until the exchange
    result = await stack.oauth.complete_consent(callback)
    assert (result.phase, result.message) == (Phase.ACTIVE, "reconnected")

    after = await stack.oauth.status("acme")
    assert (after.phase, after.scope, after.company_id) == (Phase.ACTIVE, NARROW, company_id)
    assert after.reconnect_expires_at is None
    assert after.last_error is None
    fresh = await stack.oauth.token("acme")
    assert fresh.access_token != old.access_token
    seen = await introspect(stack, fresh.access_token)
    assert (seen["active"], seen["scope"], seen["company_id"]) == (True, NARROW, company_id)
    async with httpx.AsyncClient(base_url=stack.sandbox.url, auth=stack.oauth.auth("acme")) as api:
        answer = await api.get("/v1/companies")
    assert (answer.status_code, answer.request.headers["authorization"]) == (
        200,
        f"Bearer {fresh.access_token}",
    )
    # The link is single-use: replaying the callback changes nothing.
    with pytest.raises(NotReadyError) as replayed:
        await stack.oauth.complete_consent(callback)
    assert replayed.value.kind is ErrorType.CALLBACK_REJECTED
    # A later refresh keeps the new grant's scope.
    await stack.env.sleep(timedelta(hours=1, minutes=5))
    later = await stack.oauth.status("acme")
    assert (later.refreshes, later.scope) == (1, NARROW)


async def test_reconnect_by_another_company_keeps_the_grant(stack: Stack) -> None:
    """Consent for another Remote company through a reconnect link binds nothing: the current grant stays."""
    company_id = await connected(stack, "pinned")
    old = await stack.oauth.token("pinned")
    link = await stack.oauth.reconnect("pinned")
    result = await stack.oauth.complete_consent(await stack.approve(link, company_name="Evil Corp"))
    assert (result.phase, result.error_type) == (Phase.ACTIVE, ErrorType.COMPANY_MISMATCH)
    status = await stack.oauth.status("pinned")
    assert (status.phase, status.company_id, status.last_error_type) == (
        Phase.ACTIVE,
        company_id,
        ErrorType.COMPANY_MISMATCH,
    )
    assert status.last_error is not None
    assert "the current grant stays" in status.last_error
    assert (await stack.oauth.token("pinned")).access_token == old.access_token
    assert (await introspect(stack, old.access_token))["active"] is True


async def test_a_denied_reconnect_keeps_the_grant(stack: Stack) -> None:
    await connected(stack, "denied")
    old = await stack.oauth.token("denied")
    link = await stack.oauth.reconnect("denied", scope=NARROW)
    state = (await stack.approve(link)).state
    result = await stack.oauth.complete_consent(Callback(state=state, error="access_denied"))
    assert (result.phase, result.error_type) == (Phase.ACTIVE, "access_denied")
    status = await stack.oauth.status("denied")
    assert (status.phase, status.scope, status.reconnect_expires_at) == (Phase.ACTIVE, DEFAULT_SCOPE, None)
    assert (await stack.oauth.token("denied")).access_token == old.access_token


async def test_reconnect_refuses_what_it_cannot_do(stack: Stack) -> None:
    """Reconnect is for connected companies, with scopes spelt as scopes."""
    await stack.oauth.onboard("waiting")
    with pytest.raises(NotReadyError) as waiting:
        await stack.oauth.reconnect("waiting")
    assert waiting.value.kind is ErrorType.TOKEN_UNAVAILABLE
    assert "onboard gives a company waiting for consent its link" in str(waiting.value)
    with pytest.raises(InvalidInputError) as bad:
        await stack.oauth.reconnect("waiting", scope="company:read; DROP")
    assert "space-separated scopes" in str(bad.value)


async def test_narrow_scope_through_a_refresh(stack: Stack) -> None:
    """Narrowing needs no admin: one refresh with ``scope`` (RFC 6749 section 6), kept by later refreshes;
    a wider scope is refused before anything is written."""
    await connected(stack, "narrow")
    status = await stack.oauth.narrow_scope("narrow", NARROW)
    assert (status.phase, status.scope, status.refreshes) == (Phase.ACTIVE, NARROW, 1)
    token = await stack.oauth.token("narrow")
    assert (await introspect(stack, token.access_token))["scope"] == NARROW
    await stack.env.sleep(timedelta(hours=1, minutes=5))
    later = await stack.oauth.status("narrow")
    assert (later.refreshes, later.scope) == (2, NARROW)
    with pytest.raises(NotReadyError) as wider:
        await stack.oauth.narrow_scope("narrow", "company:read company:write")
    assert wider.value.kind is ErrorType.INVALID_INPUT
    assert "use reconnect" in str(wider.value)
    assert (await stack.oauth.status("narrow")).refreshes == 2
    # A reconnect after narrowing asks for the narrowed scopes by default.
    link = await stack.oauth.reconnect("narrow")
    assert link.authorize_url is not None
    assert "scope=company%3Aread+employment%3Aread" in link.authorize_url


async def test_metadata_round_trip_through_status_and_a_webhook(
    own_time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    """The partner's metadata is kept with the company, replaced by a later onboard, shown in status and
    carried in every webhook event; bad metadata is refused before anything starts."""
    async with scene(own_time_skipping_env, task_queue) as sc, sc.workers():
        stack = sc.stack
        with pytest.raises(InvalidInputError) as bad:
            await stack.oauth.onboard("meta", metadata={"Tenant": "x"})
        assert "invalid metadata key" in str(bad.value)
        with pytest.raises(InvalidInputError):
            await stack.oauth.onboard("meta", metadata={"tenant": "line\nbreak"})
        link = await stack.oauth.onboard("meta", metadata={"tenant_id": "t-42", "owner.email": "a@b.example"})
        assert (await stack.oauth.status("meta")).metadata == {
            "owner.email": "a@b.example",
            "tenant_id": "t-42",
        }
        await stack.oauth.onboard("meta", metadata={"tenant_id": "t-43"})
        await stack.oauth.onboard("meta")  # None keeps it
        assert (await stack.oauth.status("meta")).metadata == {"tenant_id": "t-43"}

        await stack.oauth.complete_consent(await stack.approve(link))
        status = await stack.oauth.status("meta")
        await stack.http.post(f"/sandbox/companies/{status.company_id}/revoke", json={})
        await stack.env.sleep(timedelta(hours=1, minutes=5))
        assert await sc.hook.wait_for(1) == ["revoked"]
        assert sc.hook.events[0]["metadata"] == {"tenant_id": "t-43"}
        assert sc.hook.authentic == [True]
        revoked = await stack.oauth.status("meta")
        assert (revoked.phase, revoked.metadata) == (Phase.CONSENT_REVOKED, {"tenant_id": "t-43"})


async def test_a_reconnect_link_opened_after_its_state_expired_still_works(stack: Stack) -> None:
    """A reconnect stays asked for until used: the consent page renews an expired state (as for onboarding),
    with the scope the reconnect asked for."""
    await connected(stack, "later")
    first = await stack.oauth.reconnect("later", scope=NARROW)
    await stack.env.sleep(timedelta(minutes=20))  # past REMOTE_OAUTH_STATE_TTL (15 min)
    assert (await stack.oauth.status("later")).reconnect_expires_at is not None  # still pending
    page = await stack.oauth.consent_page("later")
    assert page.authorize_url is not None
    assert page.authorize_url != first.authorize_url
    assert "scope=company%3Aread+employment%3Aread" in page.authorize_url
    with pytest.raises(NotReadyError) as stale:  # the expired state itself is refused
        await stack.oauth.complete_consent(await stack.approve(first))
    assert stale.value.kind in (ErrorType.CALLBACK_REJECTED, ErrorType.CONSENT_STATE_EXPIRED)
    renewed = dataclasses.replace(first, authorize_url=page.authorize_url)
    result = await stack.oauth.complete_consent(await stack.approve(renewed, company_name="Acme later"))
    assert result.message == "reconnected"
    assert (await stack.oauth.status("later")).scope == NARROW
    # A new reconnect replaces a pending one: without a scope it asks for the company's scope setting (now
    # NARROW, since the reconnect was consented), not the pending reconnect's.
    await stack.oauth.reconnect("later", scope="company:read")
    again = await stack.oauth.reconnect("later")
    assert again.authorize_url is not None
    assert "scope=company%3Aread+employment%3Aread" in again.authorize_url
