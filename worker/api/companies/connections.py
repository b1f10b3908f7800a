"""Managing connected companies: a new consent for new scopes, narrowing through a refresh, importing.

A part of ``RemoteOAuth`` (which inherits it), kept apart so the facade stays readable; every method here
acts on one company's workflow through ``CompanyTokens``.
"""

from __future__ import annotations

from temporalio.client import Client

from worker.api.companies.imports import ImportedCompany, ImportOutcome, import_company
from worker.api.companies.tokens import CompanyTokens, Onboarding
from worker.api.fresh import FreshTokens
from workflows.types.company import CompanySettings, CompanyStatus

__all__ = ["CompanyConnections"]


class CompanyConnections:
    """Reconnect, narrow and import; mixed into ``RemoteOAuth``, which sets these attributes."""

    _client: Client
    _companies: CompanyTokens
    _fresh_tokens: FreshTokens
    _task_queue: str
    _company_settings: CompanySettings

    async def reconnect(self, company_ref: str, *, scope: str | None = None) -> Onboarding:
        """A new connect link for a connected company (new scopes, or consent by another admin).

        The company keeps handing out its current token; the new consent replaces the grant only once its
        code is exchanged, for the same Remote company (any other is refused, the grant kept). ``scope``
        defaults to the company's current scope setting. Returns the link like ``onboard`` does.

        Raises:
            InvalidInputError: ``scope`` is not a list of scopes.
            NotReadyError: the company is not connected (``onboard`` gives a waiting company its link).
            NotFoundError: no workflow for the ref.
        """
        return await self._companies.reconnect(company_ref, scope=scope)

    async def narrow_scope(self, company_ref: str, scope: str) -> CompanyStatus:
        """Narrow a connected company's token to ``scope`` now, through a refresh (RFC 6749 section 6).

        No admin is needed; every later refresh asks for the same scopes, and a later connect link too.
        Returns the status after the refresh (``scope`` is what the gateway granted).

        Raises:
            InvalidInputError: ``scope`` is not a list of scopes.
            NotReadyError: not connected, ``scope`` is not within the granted one (``reconnect`` widens), or
                the refresh failed (the scopes are then left as they were).
        """
        return await self._companies.narrow_scope(company_ref, scope)

    async def import_company(
        self, company: ImportedCompany, *, replace: bool = False, settings: CompanySettings | None = None
    ) -> ImportOutcome:
        """Bring in a company connected elsewhere, from its refresh token; see ``worker.api.companies.imports``.

        The first refresh proves the token before this returns: ``IMPORTED`` (active), ``REFUSED`` (the
        gateway refused it: ``consent_revoked`` with a new connect link), ``ALREADY_PRESENT`` (a connected
        company is never overwritten unless ``replace``), ``REPLACED``.

        Raises:
            InvalidInputError: a field cannot be used (the message never repeats the token).
            ConfigurationError: ``company_id`` is not a UUID.
            NotReadyError: imported, but the first refresh failed otherwise (misconfigured, gateway down).
        """
        return await import_company(
            self._client,
            self._companies.handle,
            company,
            task_queue=self._task_queue,
            settings=settings or self._company_settings,
            replace=replace,
            tokens=self._fresh_tokens,
        )
