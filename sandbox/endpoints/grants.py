"""The four grants of ``POST /oauth2/token``, each turning a validated request into tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sandbox.config import SCOPE_TOKEN
from sandbox.endpoints.errors import OAuthError
from sandbox.state.records import AccessToken, Grant
from sandbox.state.store import SandboxStore

__all__ = [
    "AssertionSubject",
    "IssuedTokens",
    "grant_assertion",
    "grant_client_credentials",
    "grant_code",
    "grant_refresh",
    "parse_scope",
]


@dataclass(frozen=True)
class IssuedTokens:
    """What a successful grant hands back, before it is rendered as JSON."""

    access: AccessToken
    refresh_token: str | None = None


@dataclass(frozen=True)
class AssertionSubject:
    """Who a verified JWT assertion acts as: a company manager or an employee."""

    user_id: str | None = None
    employment_id: str | None = None


def parse_scope(scope: str) -> tuple[str, ...]:
    """The scopes of a space-separated list; ``invalid_scope`` if one is not spelt like Remote's."""
    scopes = tuple(scope.split())
    if not scopes or not all(SCOPE_TOKEN.fullmatch(one) for one in scopes):
        raise OAuthError("invalid_scope", "scope must be space-separated tokens like company:read")
    return scopes


def _narrowed(requested: str | None, granted: str) -> str:
    """The requested scope if it stays within what was granted (RFC 6749 section 6)."""
    if requested is None:
        return granted
    if not set(parse_scope(requested)) <= set(granted.split()):
        raise OAuthError("invalid_scope", "the requested scope exceeds what the company granted")
    return requested


def grant_code(store: SandboxStore, *, code: str, redirect_uri: str | None) -> IssuedTokens:
    """Redeem an authorization code; a replay revokes everything the first redemption issued."""
    found = store.codes.get(code)
    if found is None:
        raise OAuthError("invalid_grant", "unknown authorization code")
    if found.grant_id is not None:
        store.revoke_grant(store.grants[found.grant_id])
        raise OAuthError(
            "invalid_grant", "authorization code already used; tokens issued from it are revoked"
        )
    if store.clock() >= found.expires_at:
        raise OAuthError("invalid_grant", "authorization code expired")
    if found.redirect_uri != redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri does not match the one used at authorization")
    if store.companies[found.company_id].revoked:
        raise OAuthError("invalid_grant", "the company revoked its consent")
    grant = Grant(
        id=str(uuid.uuid4()),
        company_id=found.company_id,
        user_id=found.user_id,
        client_id=found.client_id,
        scope=found.scope,
    )
    store.grants[grant.id] = grant
    found.grant_id = grant.id
    access = store.mint_access_token(
        "company", scope=grant.scope, company_id=grant.company_id, user_id=grant.user_id, grant=grant
    )
    return IssuedTokens(access, store.mint_refresh_token(grant).token)


def grant_refresh(store: SandboxStore, *, refresh_token: str, scope: str | None) -> IssuedTokens:
    """Mint a new access token; rotate the refresh token as ``refresh_rotation`` says."""
    now = store.clock()
    refresh = store.refresh_tokens.get(refresh_token)
    if refresh is None:
        raise OAuthError("invalid_grant", "unknown refresh token")
    grant = store.grants[refresh.grant_id]
    if refresh.revoked or grant.revoked:
        raise OAuthError("invalid_grant", "refresh token revoked (consent withdrawn or code replayed)")
    if refresh.dies_at is not None and now >= refresh.dies_at:
        raise OAuthError("invalid_grant", "refresh token was rotated and is no longer valid")
    granted = _narrowed(scope, grant.scope)
    grant.refresh_requests += 1
    mode = store.config.refresh_rotation
    if mode == "off":
        # Remote's live behaviour: the same refresh token comes back and lives on.
        returned = refresh.token
    else:
        grace = 0 if mode == "strict" else store.config.rotation_grace_seconds
        for older in store.refresh_tokens.values():
            if older.grant_id == grant.id and (older.dies_at is None or older.dies_at > now + grace):
                older.dies_at = now + grace
        grant.rotation_generation += 1
        returned = store.mint_refresh_token(grant).token
    access = store.mint_access_token(
        "company", scope=granted, company_id=grant.company_id, user_id=grant.user_id, grant=grant
    )
    return IssuedTokens(access, returned)


def grant_client_credentials(store: SandboxStore, *, scope: str | None) -> IssuedTokens:
    """A partner token: acts across all consented companies, never refreshed."""
    granted = " ".join(parse_scope(scope)) if scope is not None else "partner"
    return IssuedTokens(store.mint_access_token("partner", scope=granted))


def grant_assertion(store: SandboxStore, subject: AssertionSubject, *, scope: str | None) -> IssuedTokens:
    """A token acting as the asserted manager or employee of a company that consented."""
    for company in store.companies.values():
        if company.revoked:
            continue
        if subject.user_id is not None and subject.user_id == company.admin_user_id:
            break
        if subject.employment_id is not None and subject.employment_id in company.employments:
            break
    else:
        raise OAuthError("invalid_grant", "the subject is not a user or employment of a consenting company")
    granted = _narrowed(scope, company.scope)
    access = store.mint_access_token(
        "assertion",
        scope=granted,
        company_id=company.id,
        user_id=subject.user_id,
        employment_id=subject.employment_id,
    )
    return IssuedTokens(access)
