"""The sandbox's whole in-memory state, reachable as ``app.state.sandbox``.

Every method here is synchronous, so on the app's single event loop each one is atomic: no lock is
needed because no ``await`` ever sits between reading state and writing it.
"""

from __future__ import annotations

import secrets
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from starlette.types import Scope

from sandbox.config import SandboxConfig
from sandbox.state.faults import FaultPlan
from sandbox.state.ratelimit import RateLimiter
from sandbox.state.records import (
    AccessToken,
    AuthorizationCode,
    Company,
    ConsentRequest,
    Employment,
    Grant,
    RefreshToken,
    TokenKind,
)

__all__ = ["GRANT_TYPES", "ConnectionDropper", "SandboxStore"]

GRANT_TYPES = (
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
)
CONSENT_REQUEST_TTL = 600.0

ConnectionDropper = Callable[[Scope], bool]
"""Closes the socket a request came on, without a response; True if it could."""


class SandboxStore:
    """Companies, codes, grants, tokens, counters and scheduled faults of one sandbox."""

    def __init__(self, config: SandboxConfig, *, clock: Callable[[], float]) -> None:
        self.initial_config = config
        self.clock = clock
        self.drop_connection: ConnectionDropper | None = None
        """Set by whoever serves the app (``sandbox.server``); in-process transports have none."""
        self.limiter = RateLimiter(clock)
        self.faults = FaultPlan()
        self.reset()

    def reset(self) -> None:
        """Forget everything and return to the configuration the app was created with."""
        self.config = self.initial_config
        self.companies: dict[str, Company] = {}
        self.consent_requests: dict[str, ConsentRequest] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.grants: dict[str, Grant] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.seen_jtis: dict[str, float] = {}
        self.token_requests: Counter[str] = Counter(dict.fromkeys(GRANT_TYPES, 0))
        self.token_responses: Counter[str] = Counter()
        self.rate_limited = 0
        self.magic_links = 0
        self.dropped_connections = 0
        self.limiter.clear()
        self.faults.clear()

    # Consent

    def open_consent(self, *, redirect_uri: str, scope: str, state: str | None, company_name: str) -> str:
        """Remember a validated authorize request until the admin decides; returns its id."""
        request_id = secrets.token_urlsafe(24)
        self.consent_requests[request_id] = ConsentRequest(
            id=request_id,
            redirect_uri=redirect_uri,
            scope=scope,
            state=state,
            company_name=company_name,
            expires_at=self.clock() + CONSENT_REQUEST_TTL,
        )
        return request_id

    def take_consent(self, request_id: str) -> ConsentRequest | None:
        """The waiting request with this id, used up so a form cannot be posted twice."""
        request = self.consent_requests.pop(request_id, None)
        if request is None or self.clock() >= request.expires_at:
            return None
        return request

    def consent(self, company_name: str, scope: str) -> Company:
        """The company that just approved: a new one, or the one that approved under this name before."""
        for company in self.companies.values():
            if company.name == company_name:
                company.revoked = False
                company.scope = scope
                return company
        company = Company(
            id=str(uuid.uuid4()), name=company_name, admin_user_id=str(uuid.uuid4()), scope=scope
        )
        self.companies[company.id] = company
        return company

    def issue_code(self, company: Company, *, redirect_uri: str, scope: str) -> str:
        """A fresh single-use authorization code for an approved consent."""
        code = secrets.token_urlsafe(32)
        self.codes[code] = AuthorizationCode(
            code=code,
            client_id=self.config.client_id,
            redirect_uri=redirect_uri,
            company_id=company.id,
            user_id=company.admin_user_id,
            scope=scope,
            expires_at=self.clock() + self.config.code_ttl,
        )
        return code

    # Tokens

    def mint_access_token(
        self,
        kind: TokenKind,
        *,
        scope: str,
        company_id: str | None = None,
        user_id: str | None = None,
        employment_id: str | None = None,
        grant: Grant | None = None,
    ) -> AccessToken:
        """A new opaque access token living ``token_ttl`` seconds from now."""
        token = AccessToken(
            token=secrets.token_urlsafe(32),
            kind=kind,
            client_id=self.config.client_id,
            scope=scope,
            expires_at=self.clock() + self.config.token_ttl,
            company_id=company_id,
            user_id=user_id,
            employment_id=employment_id,
            grant_id=None if grant is None else grant.id,
        )
        self.access_tokens[token.token] = token
        if grant is not None:
            grant.access_tokens_issued += 1
        return token

    def mint_refresh_token(self, grant: Grant) -> RefreshToken:
        """A new refresh token for ``grant``, one rotation generation later."""
        refresh = RefreshToken(
            token=secrets.token_urlsafe(32), grant_id=grant.id, generation=grant.rotation_generation
        )
        self.refresh_tokens[refresh.token] = refresh
        return refresh

    def live_access_token(self, token: str) -> AccessToken | None:
        """The access token if it still works: known, unexpired, and its grant and consent not revoked."""
        access = self.access_tokens.get(token)
        if access is None or access.revoked or self.clock() >= access.expires_at:
            return None
        if access.grant_id is not None and self.grants[access.grant_id].revoked:
            return None
        if access.company_id is not None and self.companies[access.company_id].revoked:
            return None
        return access

    def revoke_grant(self, grant: Grant) -> None:
        """Kill a grant and every token issued from it."""
        grant.revoked = True
        for access in self.access_tokens.values():
            if access.grant_id == grant.id:
                access.revoked = True
        for refresh in self.refresh_tokens.values():
            if refresh.grant_id == grant.id:
                refresh.revoked = True

    # Admin

    def revoke_company(self, company_id: str) -> bool:
        """Withdraw a company's consent: its grants, refresh tokens and access tokens all stop working."""
        company = self.companies.get(company_id)
        if company is None:
            return False
        company.revoked = True
        for grant in self.grants.values():
            if grant.company_id == company_id:
                self.revoke_grant(grant)
        # Assertion tokens have no grant; mark them so a later re-consent does not revive them.
        for access in self.access_tokens.values():
            if access.company_id == company_id:
                access.revoked = True
        return True

    def add_employment(self, company_id: str, status: str) -> Employment | None:
        """A new employment in ``company_id``, or None when there is no such company."""
        company = self.companies.get(company_id)
        if company is None:
            return None
        employment = Employment(id=str(uuid.uuid4()), status=status)
        company.employments[employment.id] = employment
        return employment

    def expire_access_tokens(self, company_id: str) -> int:
        """Make a company's live access tokens expire now; returns how many there were."""
        now = self.clock()
        expired = 0
        for access in self.access_tokens.values():
            if access.company_id == company_id and access.expires_at > now:
                access.expires_at = now
                expired += 1
        return expired

    def describe_companies(self) -> list[dict[str, Any]]:
        """Companies as ``GET /sandbox/companies`` lists them."""
        return [
            {
                "id": company.id,
                "name": company.name,
                "user_ids": [company.admin_user_id],
                "scope": company.scope,
                "employments": [asdict(employment) for employment in company.employments.values()],
                "revoked": company.revoked,
            }
            for company in self.companies.values()
        ]

    def describe_grants(self) -> list[dict[str, Any]]:
        """Grants as ``GET /sandbox/grants`` lists them, with how many refresh tokens each has had."""
        described = []
        for grant in self.grants.values():
            refresh = [r for r in self.refresh_tokens.values() if r.grant_id == grant.id]
            described.append(
                {
                    "grant_id": grant.id,
                    "company_id": grant.company_id,
                    "user_id": grant.user_id,
                    "scope": grant.scope,
                    "access_tokens_issued": grant.access_tokens_issued,
                    "refresh_requests": grant.refresh_requests,
                    "refresh_tokens_issued": len(refresh),
                    "rotation_generation": grant.rotation_generation,
                    "revoked": grant.revoked,
                }
            )
        return described

    def stats(self) -> dict[str, Any]:
        """Counters for tests that assert, say, exactly one refresh."""
        return {
            "token_requests": dict(self.token_requests),
            "token_responses": dict(self.token_responses),
            "rate_limited": self.rate_limited,
            "magic_links": self.magic_links,
            "dropped_connections": self.dropped_connections,
        }

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662-like facts about an access or refresh token."""
        access = self.access_tokens.get(token)
        if access is not None:
            return {
                "active": self.live_access_token(token) is not None,
                "kind": access.kind,
                "company_id": access.company_id,
                "user_id": access.user_id,
                "employment_id": access.employment_id,
                "scope": access.scope,
                "exp": int(access.expires_at),
                "client_id": access.client_id,
            }
        refresh = self.refresh_tokens.get(token)
        if refresh is None:
            return {"active": False}
        grant = self.grants[refresh.grant_id]
        dead = (
            refresh.revoked
            or grant.revoked
            or (refresh.dies_at is not None and self.clock() >= refresh.dies_at)
        )
        return {
            "active": not dead,
            "kind": "refresh",
            "company_id": grant.company_id,
            "user_id": grant.user_id,
            "scope": grant.scope,
            "exp": None if refresh.dies_at is None else int(refresh.dies_at),
            "client_id": grant.client_id,
            "generation": refresh.generation,
        }
