"""``RemoteOAuth``: the app-facing Python API, one facade over a small client per kind of token.

Example::

    oauth = RemoteOAuth(temporal_client, task_queue="remote-oauth")
    link = await oauth.onboard("acme")            # send link.connect_url to Acme's admin
    async with httpx.AsyncClient(auth=oauth.auth("acme")) as http:
        await http.get("https://gateway.remote.com/v1/companies")
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Unpack

from temporalio.client import Client

from worker.api.assertion import AssertionTokens
from worker.api.auth import DEFAULT_MIN_TTL, AuthOptions, BearerAuth, CompanyAuth
from worker.api.companies.connections import CompanyConnections
from worker.api.companies.tokens import CompanyTokens, Onboarding
from worker.api.fresh import FreshTokens
from worker.api.magic_links import MagicLinks
from worker.api.partner import PartnerTokens
from worker.api.token_cache import TokenCache
from workflows.assertion_tokens import AssertionTokenSettings
from workflows.io.connect_session import ConnectLinks
from workflows.types.company import (
    Callback,
    CallbackResult,
    CompanySettings,
    CompanyStatus,
    ConnectLink,
    Phase,
)
from workflows.types.kept_token import FreshnessRequest
from workflows.types.partner import PartnerSettings, PartnerStatus
from workflows.types.tokens import TokenGrant

__all__ = ["RemoteOAuth"]


class RemoteOAuth(CompanyConnections):
    """Talks to the token workflows through a Temporal client (built with the payload codec).

    ``client_id`` (REMOTE_CLIENT_ID) keys the partner-token workflows (only its hash reaches Temporal);
    ``token_cache`` holds every token of every kind this instance hands out (one instance per process).
    """

    def __init__(
        self,
        client: Client,
        *,
        task_queue: str,
        company_settings: CompanySettings | None = None,
        client_id: str | None = None,
        partner_settings: PartnerSettings | None = None,
        assertion_settings: AssertionTokenSettings | None = None,
        links: ConnectLinks | None = None,
        token_cache: TokenCache | None = None,
    ) -> None:
        self._client = client
        self._links = links
        self._task_queue = task_queue
        self._tokens = TokenCache() if token_cache is None else token_cache
        self._fresh_tokens = fresh = FreshTokens(self._tokens)
        self._fresh = fresh.fresh
        self._company_settings = settings = company_settings or CompanySettings()
        queue = settings.token_task_queue
        self._companies = CompanyTokens(
            client, task_queue=task_queue, settings=settings, links=links, tokens=fresh
        )
        self._partner = PartnerTokens(
            client,
            task_queue=task_queue,
            client_id=client_id,
            settings=partner_settings or PartnerSettings(token_task_queue=queue),
            tokens=fresh,
        )
        self._assertion = AssertionTokens(
            client,
            task_queue=task_queue,
            settings=assertion_settings or AssertionTokenSettings(token_task_queue=queue),
            tokens=fresh,
            status=self._companies.status,
        )
        self._magic_links = MagicLinks(
            client, task_queue=task_queue, token_task_queue=queue, companies=self._companies
        )

    @property
    def client(self) -> Client:
        return self._client

    @property
    def links(self) -> ConnectLinks | None:  # None without REMOTE_OAUTH_CONNECT_KEYS
        return self._links

    # -- companies -----------------------------------------------------------------------------------

    async def onboard(
        self,
        company_ref: str,
        *,
        settings: CompanySettings | None = None,
        renew: bool = False,
        company_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Onboarding:
        """Start (or join) the company's workflow and return a fresh connect link for its admin; idempotent.

        ``company_id`` pins the ref to that Remote company before anyone consents: consent given for any
        other company is then refused and dropped. ``metadata`` (the partner's own, e.g. a tenant id)
        replaces the company's; None keeps it. A connected company gets no link (see ``reconnect``).

        Raises:
            ConfigurationError: ``company_id`` is not a UUID.
            InvalidInputError: ``metadata`` is not valid (``workflows.types.connection.validate_metadata``).
            NotReadyError: the ref is already bound to another Remote company than ``company_id``.
        """
        return await self._companies.onboard(
            company_ref, settings=settings, renew=renew, company_id=company_id, metadata=metadata
        )

    async def consent_page(self, company_ref: str) -> ConnectLink:
        """Where a valid connect link sends the browser: the open consent (or reconnect) link; starts nothing.

        Raises:
            NotFoundError: no running workflow for the ref (offboarded, expired, never onboarded).
            NotReadyError: the workflow refuses (being offboarded).
        """
        return await self._companies.consent_page(company_ref)

    async def complete_consent(self, callback: Callback) -> CallbackResult:
        """Deliver an OAuth callback to the workflow that issued its ``state``.

        Raises:
            NotFoundError: the state names no running company workflow.
            NotReadyError: the workflow rejected the callback (``kind``: ``ConsentStateExpired``,
                ``CallbackRejected``...).
        """
        return await self._companies.complete_consent(callback)

    async def status(self, company_ref: str, *, rpc_timeout: timedelta | None = None) -> CompanyStatus:
        """The company's state, expiry, next refresh, last error and Remote ids (a query: no history)."""
        return await self._companies.status(company_ref, rpc_timeout=rpc_timeout)

    async def list(
        self, phase: Phase | None = None, *, metadata: Mapping[str, str] | None = None
    ) -> list[CompanyStatus]:
        """Every running company of this task queue (only in ``phase``, only with every ``metadata`` pair)."""
        return await self._companies.list(phase, metadata)

    async def token(self, company_ref: str, *, min_ttl: float = DEFAULT_MIN_TTL) -> TokenGrant:
        """A token valid for at least ``min_ttl`` seconds: from this process's token cache when it holds one
        (no Temporal call); else one query shared by every caller that missed, and only a stale token costs an
        update: the workflow runs at most one refresh however many callers ask at once."""
        # The hit path is what a read costs: the cache's own lookup, before any other await.
        cached = self._fresh(company_ref, min_ttl)
        if cached is not None:
            return cached
        return await self._companies.token(company_ref, min_ttl=min_ttl)

    async def token_after_rejection(self, company_ref: str, rejected: TokenGrant) -> TokenGrant:
        """A new token after a Remote API answered 401 to ``rejected`` (one refresh fleet-wide); evicts exactly
        ``rejected`` from the token cache."""
        return await self._companies.after_rejection(company_ref, rejected)

    async def _ensure_fresh(self, company_ref: str, request: FreshnessRequest) -> TokenGrant:
        """The company's ``ensure_fresh`` update past the cache (the bench forces refreshes with it)."""
        return await self._companies.ensure_fresh(company_ref, request)

    async def offboard(self, company_ref: str, *, reason: str = "") -> CompanyStatus:
        """Forget the company's tokens and end its workflow; returns its final status."""
        return await self._companies.offboard(company_ref, reason=reason)

    async def retry(self, company_ref: str) -> None:
        """Ask a misconfigured company to try again now."""
        await self._companies.retry(company_ref)

    def auth(self, company_ref: str, **options: Unpack[AuthOptions]) -> CompanyAuth:
        """An ``httpx.Auth`` acting as this company (``httpx.AsyncClient``, or ``httpx.Client`` in a thread):
        a 401 refreshes once, a 429 is waited out; ``options``: ``min_ttl``, ``rate_limit``, ``loop``."""
        return CompanyAuth(self, company_ref, **options)

    # -- partner tokens (client credentials) ---------------------------------------------------------

    async def partner_token(
        self, scope: str | None = None, *, min_ttl: float = DEFAULT_MIN_TTL
    ) -> TokenGrant:
        """A partner-scoped token valid for at least ``min_ttl`` seconds (starts its workflow if needed).

        Raises:
            ConfigurationError: no client id was given.
            NotReadyError: the token workflow is misconfigured or cannot get a token now.
        """
        return await self._partner.token(scope, min_ttl=min_ttl)

    async def partner_token_after_rejection(
        self, rejected: TokenGrant, scope: str | None = None
    ) -> TokenGrant:
        """A new partner token after a Remote API answered 401 to ``rejected`` (one grant fleet-wide)."""
        return await self._partner.after_rejection(rejected, scope)

    async def partner_status(self, scope: str | None = None) -> PartnerStatus:
        """The partner token's phase, expiry, next refresh and last error."""
        return await self._partner.status(scope)

    async def partner_retry(self, scope: str | None = None) -> None:
        """Ask a misconfigured partner token to try again now."""
        await self._partner.retry(scope)

    async def partner_stop(self, scope: str | None = None) -> PartnerStatus:
        """Stop keeping this partner token fresh (its workflow ends); asking for it later starts a new one."""
        return await self._partner.stop(scope)

    def partner_auth(self, scope: str | None = None, **options: Unpack[AuthOptions]) -> BearerAuth:
        """An ``httpx.Auth`` carrying the partner token (401 and 429 as by ``auth``)."""
        return self._partner.auth(scope, **options)

    # -- assertion tokens (acting as a company manager or an employee) --------------------------------

    async def assertion_subject(
        self, company_ref: str | None = None, *, user_id: str | None = None, employment_id: str | None = None
    ) -> str:
        """The ``sub`` to act as: an employment, a given user, or the admin who connected ``company_ref``."""
        return await self._assertion.subject(company_ref, user_id=user_id, employment_id=employment_id)

    async def assertion_token(
        self,
        company_ref: str | None = None,
        *,
        user_id: str | None = None,
        employment_id: str | None = None,
        scope: str | None = None,
        min_ttl: float = DEFAULT_MIN_TTL,
    ) -> TokenGrant:
        """A JWT-bearer token for a subject, shared fleet-wide and reused until near expiry.

        A cache hit costs no call, not even the status query that names ``company_ref``'s admin.

        Raises:
            RequestRejectedError: the subject is invalid, or the gateway refused the assertion.
            NotReadyError: ``company_ref`` has not completed consent (no admin user is known).
        """
        return await self._assertion.token(
            company_ref, user_id=user_id, employment_id=employment_id, scope=scope, min_ttl=min_ttl
        )

    async def assertion_token_after_rejection(
        self,
        rejected: TokenGrant,
        company_ref: str | None = None,
        *,
        user_id: str | None = None,
        employment_id: str | None = None,
        scope: str | None = None,
    ) -> TokenGrant:
        """A new assertion token after a Remote API answered 401 to ``rejected`` (one mint fleet-wide)."""
        return await self._assertion.after_rejection(
            rejected, company_ref, user_id=user_id, employment_id=employment_id, scope=scope
        )

    def assertion_auth(
        self,
        company_ref: str | None = None,
        *,
        user_id: str | None = None,
        employment_id: str | None = None,
        scope: str | None = None,
        **options: Unpack[AuthOptions],
    ) -> BearerAuth:
        """An ``httpx.Auth`` acting as a subject (see ``assertion_token``); 401 and 429 as by ``auth``."""
        return self._assertion.auth(
            company_ref, user_id=user_id, employment_id=employment_id, scope=scope, **options
        )

    # -- magic links ---------------------------------------------------------------------------------

    async def magic_link(
        self,
        company_ref: str,
        *,
        user_id: str | None = None,
        employment_id: str | None = None,
        path: str | None = None,
    ) -> str:
        """A passwordless sign-in URL for the company's admin (``user_id``) or an invited employee.

        Input is checked before anything is sent; a 401 refreshes the company's token once and retries.

        Raises:
            RequestRejectedError: invalid input, or the gateway refused it (422, 403: not enabled...).
            NotReadyError: the company has no usable token.
        """
        return await self._magic_links.link(
            company_ref, user_id=user_id, employment_id=employment_id, path=path
        )
