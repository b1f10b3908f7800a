"""Importing a company connected elsewhere: its workflow starts ``active`` from a refresh token, and the first
refresh proves that token (a refused one leaves the company ``consent_revoked`` with a new link, as usual).

The refresh token reaches Temporal only inside the workflow's start input, which the payload codec encrypts
like every other token; it never appears in a status, an error or a ``repr``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from worker.api.companies.checked import checked_metadata, checked_scope, pinned_company_id
from worker.api.fresh import FreshTokens
from worker.api.rpc import not_ready
from workflows.company import CompanyConsentWorkflow
from workflows.types.company import (
    CompanyInput,
    CompanyMemory,
    CompanySettings,
    CompanyStatus,
    Phase,
    validate_company_ref,
)
from workflows.types.errors import ErrorType, InvalidInputError, NotReadyError
from workflows.types.kept_token import FreshnessRequest
from workflows.types.tokens import TokenGrant

__all__ = ["MAX_REFRESH_TOKEN", "ImportOutcome", "ImportResult", "ImportedCompany", "import_company"]

MAX_REFRESH_TOKEN = 4096
"""Longer than any refresh token a gateway issues; a longer value is a wrong column, not a token."""


@dataclass(frozen=True)
class ImportedCompany:
    """One company connected outside remote-oauth (another token store, a home-made cron)."""

    company_ref: str
    refresh_token: str = field(repr=False)
    company_id: str | None = None
    """Remote's company id (a UUID) if known: the first refresh must then name the same company."""
    user_id: str | None = None
    scope: str | None = None
    """The scopes that were granted; also what a later connect link asks for."""
    expires_at: datetime | None = None
    """When the other store's access token expires; informational: the import refreshes at once anyway."""
    metadata: Mapping[str, str] = field(default_factory=dict)


class ImportResult(StrEnum):
    IMPORTED = "imported"
    """The first refresh worked: the company is active."""
    REPLACED = "replaced"
    """An existing workflow of the ref was replaced (``replace``, or it was not connected), and is active."""
    REFUSED = "refused"
    """The gateway refused the refresh token: the company is ``consent_revoked`` with a new connect link."""
    ALREADY_PRESENT = "already_present"
    """The ref is already connected; nothing changed (pass ``replace`` to overwrite it)."""


@dataclass(frozen=True)
class ImportOutcome:
    company_ref: str
    result: ImportResult
    phase: Phase
    detail: str


def _checked(company: ImportedCompany) -> ImportedCompany:
    try:
        validate_company_ref(company.company_ref)
    except ValueError as err:
        raise InvalidInputError(str(err)) from None
    token = company.refresh_token
    if (
        not token
        or len(token) > MAX_REFRESH_TOKEN
        or not token.isprintable()
        or any(c.isspace() for c in token)
    ):
        # Never quote it: the value is a credential (or the wrong column of one).
        raise InvalidInputError(
            f"{company.company_ref}: the refresh token is empty, too long or not one word"
        )
    if company.expires_at is not None and company.expires_at.tzinfo is None:
        raise InvalidInputError(f"{company.company_ref}: expires_at needs a UTC offset")
    return dataclasses.replace(
        company,
        company_id=pinned_company_id(company.company_id),
        scope=checked_scope(company.scope) if company.scope is not None else None,
        metadata=checked_metadata(company.metadata) or {},
    )


def _start_input(company: ImportedCompany, settings: CompanySettings, now: datetime) -> CompanyInput:
    """An active company whose token is already due: its run loop (or the first caller) refreshes at once."""
    token = TokenGrant(
        access_token="",  # never handed out: it expired when it was made, so every read refreshes first
        token_type="bearer",  # noqa: S106 - an OAuth token type
        issued_at=now,
        expires_at=now,
        refresh_token=company.refresh_token,
        scope=company.scope,
        company_id=company.company_id,
        user_id=company.user_id,
    )
    memory = CompanyMemory(
        phase=Phase.ACTIVE,
        token=token,
        company_id=company.company_id,
        user_id=company.user_id,
        metadata=dict(company.metadata) or None,
    )
    scoped = dataclasses.replace(settings, scope=company.scope or settings.scope)
    return CompanyInput(company_ref=company.company_ref, settings=scoped, memory=memory)


async def import_company(
    client: Client,
    handle_for: Callable[[str], WorkflowHandle[CompanyConsentWorkflow, CompanyStatus]],
    company: ImportedCompany,
    *,
    task_queue: str,
    settings: CompanySettings,
    replace: bool,
    tokens: FreshTokens,
) -> ImportOutcome:
    """Start ``company``'s workflow from its refresh token and wait for the first refresh's verdict."""
    company = _checked(company)
    ref = company.company_ref
    handle = handle_for(ref)
    existing = await _running_status(handle)
    if existing is not None and existing.phase.has_token and not replace:
        detail = f"{ref} is already {existing.phase}; pass replace (--replace) to overwrite its grant"
        return ImportOutcome(ref, ImportResult.ALREADY_PRESENT, existing.phase, detail)
    if existing is not None and existing.company_id is not None and not replace:
        # A ref pinned (onboard --company-id) while it waits for consent keeps its pin.
        if company.company_id not in (None, existing.company_id):
            raise InvalidInputError(
                f"{ref} is pinned to Remote company {existing.company_id}, the import names "
                f"{company.company_id}: pass replace (--replace) to overwrite the pin"
            )
        company = dataclasses.replace(company, company_id=existing.company_id)
    policy = (
        WorkflowIDConflictPolicy.FAIL if existing is None else WorkflowIDConflictPolicy.TERMINATE_EXISTING
    )
    started = await client.start_workflow(
        CompanyConsentWorkflow.run,
        _start_input(company, settings, datetime.now(UTC)),
        id=handle.id,
        task_queue=task_queue,
        id_conflict_policy=policy,
    )
    tokens.evict_group(ref)
    result = ImportResult.IMPORTED if existing is None else ImportResult.REPLACED
    try:
        await started.execute_update(CompanyConsentWorkflow.ensure_fresh, FreshnessRequest(min_ttl_seconds=0))
    except WorkflowUpdateFailedError as err:
        status = await started.query(CompanyConsentWorkflow.status)
        if status.phase is Phase.CONSENT_REVOKED:
            detail = (
                f"the gateway refused the refresh token ({status.last_error}); a new connect link is open"
            )
            return ImportOutcome(ref, ImportResult.REFUSED, status.phase, detail)
        refused = not_ready(err)
        raise NotReadyError(
            f"{ref} was imported but its first refresh did not work: {refused} "
            f"(it is {status.phase}; see `remote-oauth status {ref}`)",
            kind=refused.kind or ErrorType.TOKEN_UNAVAILABLE,
        ) from None
    return ImportOutcome(ref, result, Phase.ACTIVE, "the first refresh worked")


async def _running_status(
    handle: WorkflowHandle[CompanyConsentWorkflow, CompanyStatus],
) -> CompanyStatus | None:
    """The status of the ref's running workflow, or None when none runs (an ended one is only history)."""
    try:
        if (await handle.describe()).status is not WorkflowExecutionStatus.RUNNING:
            return None
        return await handle.query(CompanyConsentWorkflow.status)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
