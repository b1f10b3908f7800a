"""A small fake of Remote's token endpoint: what it issued, what it still accepts, and every way it answers.

The model decides how each request is answered (an ``Answer``); the gateway's own state still wins where the
real one's would (a dead refresh token or a spent code is ``invalid_grant`` whatever the answer said). Its
error descriptions quote the secrets they are about, as a hostile gateway might, so the activities' redaction
is part of what the model checks. Plain data: the model deep-copies it to run a twin world.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs

import httpx
from hypothesis import strategies as st

from workflows.types.activity import IssuedState, IssueStateInput

__all__ = ["CLIENT_SECRET", "COMPANIES", "GATEWAY", "Answer", "FakeGateway", "answers"]

CLIENT_SECRET = "model-client-secret-0123456789abcdef"  # 32+ bytes: an HS256 key pyjwt accepts
COMPANIES = {"A": "6f1c1e8a-3b0e-4c53-9f5e-2d7f3a9b8c10", "B": "0b5a3c2e-1f4d-4e6a-9b7c-8d9e0f1a2b3c"}
"""The two Remote companies whose admins may approve a connect link (by the model's short names)."""
GATEWAY = "https://gateway.model"
CODE_TTL = timedelta(minutes=10)
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Answer:
    """How the gateway answers one request.

    ``kind``: ``grant``; ``lost`` (granted, then the connection drops before the answer); ``invalid_grant``
    (the grant is withdrawn at Remote); ``invalid_client``; ``rate_limited`` (429 with ``retry_after``);
    ``server_error`` (503); ``timeout`` (no answer within the HTTP timeout); ``hold`` (not yet: the
    request waits for a later answer, so other steps happen while it is in flight).
    """

    kind: str = "grant"
    lifetime: int = 3600
    """``expires_in`` of a granted token."""
    refresh: str = "same"
    """A refresh's refresh token: ``same`` back (Remote), ``rotate`` (the old one dies), ``omit`` (none sent)."""
    retry_after: int = 7


def answers() -> st.SearchStrategy[Answer]:
    """Every way the gateway answers, granted answers weighted up so tokens do get issued."""
    granted = st.builds(
        Answer,
        kind=st.sampled_from(["grant", "grant", "lost"]),
        lifetime=st.sampled_from([3600, 900, 120]),
        refresh=st.sampled_from(["same", "rotate", "omit"]),
    )
    failed = st.builds(
        Answer,
        kind=st.sampled_from(["invalid_grant", "invalid_client", "rate_limited", "server_error", "timeout"]),
        retry_after=st.sampled_from([7, 600]),
    )
    return st.one_of(granted, granted, granted, failed, failed, st.just(Answer(kind="hold")))


@dataclass
class _Code:
    company: str
    expires_at: datetime
    grant: int | None = None
    dead: bool = False


@dataclass
class _Refresh:
    grant: int
    dies_at: datetime | None = None


@dataclass
class FakeGateway:
    """Companies, codes, grants and refresh tokens, and the answers to token requests."""

    revoked: set[str] = field(default_factory=set)
    """Companies (short names) whose consent was withdrawn at Remote."""
    codes: dict[str, _Code] = field(default_factory=dict)
    grants: dict[int, str] = field(default_factory=dict)
    """Grant id -> company; a revoked grant is removed."""
    refresh_tokens: dict[str, _Refresh] = field(default_factory=dict)
    issued: list[str] = field(default_factory=list)
    """Every secret it issued (codes, access and refresh tokens), for the leak check."""
    requests: list[str] = field(default_factory=list)
    """The grant type of every token request, in order."""
    states: int = 0
    """Consent states issued so far (``issue_state`` is faked with the gateway, as its authorize page)."""
    _count: int = 0
    _grant_ids: int = 0

    def _mint(self, kind: str) -> str:
        self._count += 1
        secret = f"{kind}{self._count:04d}Zq9"
        self.issued.append(secret)
        return secret

    def consent(self, company: str, now: datetime) -> str:
        """An admin of ``company`` approved: the code Remote redirects back with."""
        code = self._mint("code")
        self.codes[code] = _Code(company=company, expires_at=now + CODE_TTL)
        return code

    def issue_state(self, request: IssueStateInput) -> IssuedState:
        """What the ``issue_state`` activity makes, numbered instead of random so twin worlds agree."""
        self.states += 1
        state = f"{request.company_ref}.s{self.states}"
        return IssuedState(state=state, authorize_url=f"{GATEWAY}/auth/oauth2/authorize?state={state}")

    def revoke(self, company: str) -> None:
        """The company withdrew its consent at Remote: its grants and their refresh tokens die."""
        self.revoked.add(company)
        for grant, owner in list(self.grants.items()):
            if owner == company:
                del self.grants[grant]

    def accepts(self, refresh_token: str | None, now: datetime) -> bool:
        """Whether a refresh with ``refresh_token`` would be granted now."""
        found = self.refresh_tokens.get(refresh_token or "")
        return (
            found is not None
            and found.grant in self.grants
            and (found.dies_at is None or now < found.dies_at)
        )

    # -- answering -----------------------------------------------------------------------------------

    def respond(self, request: httpx.Request, answer: Answer, now: datetime) -> httpx.Response:
        """The answer to a token request (``lost`` and ``timeout`` are the caller's to act out)."""
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        grant_type = form.get("grant_type", "")
        self.requests.append(grant_type)
        if answer.kind == "rate_limited":
            body = {"error": "rate_limited", "error_description": "slow down"}
            return httpx.Response(429, json=body, headers={"Retry-After": str(answer.retry_after)})
        if answer.kind in ("server_error", "timeout"):
            return httpx.Response(503, text="<html><body>busy</body></html>")
        if answer.kind == "invalid_client":
            said = f"client {form.get('client_id')} with secret {CLIENT_SECRET} is not registered"
            return _error(401, "invalid_client", said)
        if grant_type == "authorization_code":
            return self._exchange(form["code"], answer, now)
        if grant_type == "refresh_token":
            return self._refresh(form["refresh_token"], answer, now)
        if answer.kind == "invalid_grant":
            return _error(400, "invalid_grant", "the subject is not allowed")
        return _token(self._mint("at"), answer.lifetime)

    def _exchange(self, code: str, answer: Answer, now: datetime) -> httpx.Response:
        found = self.codes.get(code)
        if found is None or found.dead or now >= found.expires_at or found.company in self.revoked:
            return _error(400, "invalid_grant", f"code {code} is not valid")
        if found.grant is not None:
            # RFC 6749 section 4.1.2: a code used twice revokes what it granted.
            self.grants.pop(found.grant, None)
            return _error(400, "invalid_grant", f"code {code} was already used")
        if answer.kind == "invalid_grant":
            found.dead = True
            return _error(400, "invalid_grant", f"code {code} expired")
        self._grant_ids += 1
        grant = self._grant_ids
        self.grants[grant] = found.company
        found.grant = grant
        refresh = self._mint("rt")
        self.refresh_tokens[refresh] = _Refresh(grant)
        company_id = COMPANIES[found.company]
        return _token(self._mint("at"), answer.lifetime, refresh=refresh, company_id=company_id)

    def _refresh(self, refresh: str, answer: Answer, now: datetime) -> httpx.Response:
        if not self.accepts(refresh, now):
            return _error(400, "invalid_grant", f"refresh token {refresh} is not valid")
        found = self.refresh_tokens[refresh]
        if answer.kind == "invalid_grant":
            self.grants.pop(found.grant, None)
            return _error(400, "invalid_grant", f"refresh token {refresh} was revoked")
        sent: str | None = refresh
        if answer.refresh == "rotate":
            found.dies_at = now
            sent = self._mint("rt")
            self.refresh_tokens[sent] = _Refresh(found.grant)
        elif answer.refresh == "omit":
            sent = None
        company_id = COMPANIES[self.grants[found.grant]]
        return _token(self._mint("at"), answer.lifetime, refresh=sent, company_id=company_id)


def _token(
    access: str, lifetime: int, *, refresh: str | None = None, company_id: str | None = None
) -> httpx.Response:
    body: dict[str, object] = {"access_token": access, "token_type": "Bearer", "expires_in": lifetime}
    if refresh is not None:
        body["refresh_token"] = refresh
    if company_id is not None:
        body["company_id"] = company_id
    return httpx.Response(
        200, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )


def _error(status: int, error: str, description: str) -> httpx.Response:
    return httpx.Response(status, json={"error": error, "error_description": description})
