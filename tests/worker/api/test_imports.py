"""Importing companies connected elsewhere: refresh tokens made by a direct OAuth flow against the sandbox (as
another token store would have), proven by the first refresh (time-skipping server, sandbox over 127.0.0.1)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import pytest

from sandbox.config import DEFAULT_SCOPE
from tests.support.sandbox import connect
from tests.support.stack import Stack
from worker.api import ImportedCompany, ImportResult, InvalidInputError
from workflows.types.company import Phase
from workflows.types.errors import ConfigurationError, ErrorType, NotFoundError, NotReadyError


async def elsewhere(stack: Stack, name: str, scope: str | None = None) -> ImportedCompany:
    """A company connected by another token store: its own consent and code exchange, straight to Remote."""
    body = await connect(stack.http, company_name=name, scope=scope)
    return ImportedCompany(
        company_ref=name.lower().replace(" ", "-"),
        refresh_token=body["refresh_token"],
        company_id=body.get("company_id"),
        user_id=body.get("user_id"),
        scope=body.get("scope"),
    )


async def test_an_imported_company_is_active_after_its_first_refresh(stack: Stack) -> None:
    company = await elsewhere(stack, "Imported One")
    outcome = await stack.oauth.import_company(company)
    assert (outcome.company_ref, outcome.result, outcome.phase) == (
        "imported-one",
        ImportResult.IMPORTED,
        Phase.ACTIVE,
    )
    status = await stack.oauth.status("imported-one")
    assert (status.phase, status.company_id, status.scope, status.refreshes) == (
        Phase.ACTIVE,
        company.company_id,
        DEFAULT_SCOPE,
        1,
    )
    token = await stack.oauth.token("imported-one")
    seen = (await stack.http.post("/sandbox/introspect", json={"token": token.access_token})).json()
    assert (seen["active"], seen["company_id"]) == (True, company.company_id)
    # From now on it is kept like any other company: refreshed before expiry.
    await stack.env.sleep(timedelta(hours=1, minutes=5))
    assert (await stack.oauth.status("imported-one")).refreshes == 2
    assert "refresh_token" not in repr(company)
    assert company.refresh_token not in repr(company)


async def test_a_refused_token_leaves_the_company_revoked_with_a_link(stack: Stack) -> None:
    company = await elsewhere(stack, "Revoked Elsewhere")
    await stack.http.post(f"/sandbox/companies/{company.company_id}/revoke", json={})
    outcome = await stack.oauth.import_company(company)
    assert (outcome.result, outcome.phase) == (ImportResult.REFUSED, Phase.CONSENT_REVOKED)
    assert company.refresh_token not in outcome.detail
    status = await stack.oauth.status("revoked-elsewhere")
    assert status.phase is Phase.CONSENT_REVOKED
    assert status.authorize_url is not None
    # A new consent by the same company brings it back.
    link = await stack.oauth.onboard("revoked-elsewhere")
    result = await stack.oauth.complete_consent(await stack.approve(link, company_name="Revoked Elsewhere"))
    assert result.phase is Phase.ACTIVE


async def test_a_connected_company_is_never_overwritten_without_replace(stack: Stack) -> None:
    first = await elsewhere(stack, "Twice")
    assert (await stack.oauth.import_company(first)).result is ImportResult.IMPORTED
    token = await stack.oauth.token("twice")
    second = await elsewhere(stack, "Twice")
    kept = await stack.oauth.import_company(second)
    assert (kept.result, kept.phase) == (ImportResult.ALREADY_PRESENT, Phase.ACTIVE)
    assert "--replace" in kept.detail
    assert (await stack.oauth.token("twice")).access_token == token.access_token
    replaced = await stack.oauth.import_company(second, replace=True)
    assert (replaced.result, replaced.phase) == (ImportResult.REPLACED, Phase.ACTIVE)
    assert (await stack.oauth.token("twice")).access_token != token.access_token


async def test_a_company_waiting_for_consent_takes_the_imported_grant(stack: Stack) -> None:
    """Only a connected company needs ``replace``: one still waiting for consent gets the token."""
    await stack.oauth.onboard("waiting-one", metadata={"tenant_id": "t-9"})
    company = await elsewhere(stack, "Waiting One")
    outcome = await stack.oauth.import_company(company)
    assert (outcome.result, outcome.phase) == (ImportResult.REPLACED, Phase.ACTIVE)


async def test_a_pinned_company_keeps_its_pin(stack: Stack) -> None:
    """A ref pinned while it waits for consent: an import naming no company is held to the pin (another
    company's token is refused by its first refresh), one naming another company needs ``replace``."""
    pinned = await elsewhere(stack, "Pinned Co")
    other = await elsewhere(stack, "Other Co")
    await stack.oauth.onboard("pinned-co", company_id=pinned.company_id)
    with pytest.raises(InvalidInputError) as named:
        await stack.oauth.import_company(dataclasses.replace(other, company_ref="pinned-co"))
    assert "--replace" in str(named.value)
    assert other.refresh_token not in str(named.value)
    unnamed = ImportedCompany(company_ref="pinned-co", refresh_token=other.refresh_token)
    held = await stack.oauth.import_company(unnamed)
    assert (held.result, held.phase) == (ImportResult.REFUSED, Phase.CONSENT_REVOKED)
    assert (await stack.oauth.status("pinned-co")).company_id == pinned.company_id
    right = dataclasses.replace(pinned, company_ref="pinned-co", company_id=None)
    assert (await stack.oauth.import_company(right)).phase is Phase.ACTIVE


async def test_import_keeps_metadata_and_pins_the_company(stack: Stack) -> None:
    company = await elsewhere(stack, "Meta Co", scope="company:read")
    with_meta = ImportedCompany(
        company_ref="meta-co",
        refresh_token=company.refresh_token,
        company_id=company.company_id,
        scope="company:read",
        metadata={"tenant_id": "t-1"},
    )
    assert (await stack.oauth.import_company(with_meta)).result is ImportResult.IMPORTED
    status = await stack.oauth.status("meta-co")
    assert (status.metadata, status.scope) == ({"tenant_id": "t-1"}, "company:read")
    # A reconnect link asks for the imported scope, and another company's consent is refused.
    link = await stack.oauth.reconnect("meta-co")
    assert link.authorize_url is not None
    assert "scope=company%3Aread" in link.authorize_url
    result = await stack.oauth.complete_consent(await stack.approve(link, company_name="Someone Else"))
    assert result.error_type == ErrorType.COMPANY_MISMATCH


async def test_an_import_naming_another_company_binds_nothing(stack: Stack) -> None:
    """A file whose company_id does not match the token's company: the first refresh is refused as a mismatch."""
    company = await elsewhere(stack, "Mixed Up")
    wrong = ImportedCompany(
        company_ref="mixed-up", refresh_token=company.refresh_token, company_id=str(uuid.uuid4())
    )
    outcome = await stack.oauth.import_company(wrong)
    assert (outcome.result, outcome.phase) == (ImportResult.REFUSED, Phase.CONSENT_REVOKED)
    status = await stack.oauth.status("mixed-up")
    assert (status.company_id, status.last_error_type) == (wrong.company_id, ErrorType.COMPANY_MISMATCH)
    assert status.authorize_url is not None
    with pytest.raises(NotReadyError):
        await stack.oauth.token("mixed-up")


@pytest.mark.parametrize(
    ("change", "error", "says"),
    [
        ({"company_ref": "bad ref"}, InvalidInputError, "invalid company reference"),
        ({"refresh_token": ""}, InvalidInputError, "refresh token is empty"),
        ({"refresh_token": "two words"}, InvalidInputError, "not one word"),
        ({"scope": "company:read;"}, InvalidInputError, "space-separated scopes"),
        ({"metadata": {"Bad": "x"}}, InvalidInputError, "invalid metadata key"),
        ({"company_id": "acme"}, ConfigurationError, "not a UUID"),
    ],
)
async def test_bad_rows_are_refused_before_anything_starts(
    stack: Stack, change: dict[str, object], error: type[Exception], says: str
) -> None:
    fields: dict[str, object] = {"company_ref": "row", "refresh_token": "rt-secret-value", **change}
    with pytest.raises(error) as refused:
        await stack.oauth.import_company(ImportedCompany(**fields))  # type: ignore[arg-type]
    assert says in str(refused.value)
    assert "rt-secret-value" not in str(refused.value)
    with pytest.raises(NotFoundError):  # nothing was started
        await stack.oauth.status("row")


async def test_an_import_without_a_company_id_is_bound_by_its_first_refresh(stack: Stack) -> None:
    """The gateway's answer names the company: from then on the ref is pinned to it, so consent for another
    company through a reconnect link is refused."""
    company = await elsewhere(stack, "Unnamed Co")
    unnamed = ImportedCompany(company_ref="unnamed-co", refresh_token=company.refresh_token)
    assert (await stack.oauth.import_company(unnamed)).result is ImportResult.IMPORTED
    status = await stack.oauth.status("unnamed-co")
    assert (status.company_id, status.user_id) == (company.company_id, company.user_id)
    link = await stack.oauth.reconnect("unnamed-co")
    result = await stack.oauth.complete_consent(await stack.approve(link, company_name="Someone Else"))
    assert result.error_type == ErrorType.COMPANY_MISMATCH
    assert (await stack.oauth.status("unnamed-co")).company_id == company.company_id
