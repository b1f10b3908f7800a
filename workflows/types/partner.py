"""What a partner-token workflow is started with, keeps, and reports: its ids, phases and dataclasses."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from workflows.schedule import RefreshTiming
from workflows.types.kept_token import KeptTokenMemory

WORKFLOW_ID_PREFIX = "remote-oauth-partner:"


def normalise_scope(scope: str | None) -> str | None:
    """The scope set in one spelling (sorted, unique), so ``"a b"`` and ``"b a"`` share a workflow."""
    tokens = sorted(set((scope or "").split()))
    return " ".join(tokens) or None


def partner_key(client_id: str, scope: str | None) -> str:
    """A non-secret key of (client id, scope set): the first 16 hex digits of a SHA-256."""
    material = f"{client_id}\n{normalise_scope(scope) or ''}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def partner_workflow_id(key: str) -> str:
    """The one workflow id of a partner token; ``key`` comes from ``partner_key``."""
    return WORKFLOW_ID_PREFIX + key


class PartnerPhase(StrEnum):
    """Where a partner token is in its lifecycle."""

    STARTING = "starting"
    ACTIVE = "active"
    REFRESHING = "refreshing"
    MISCONFIGURED = "misconfigured"
    STOPPED = "stopped"
    """Stopped by its operator: the workflow has ended; asking for the token again starts a new one."""

    @property
    def has_token(self) -> bool:
        return self in (PartnerPhase.ACTIVE, PartnerPhase.REFRESHING)


@dataclass(frozen=True)
class StopPartnerToken:
    """Stop keeping a partner token fresh (a scope set no longer used): its workflow ends."""


@dataclass(frozen=True)
class PartnerSettings:
    """Behaviour of a partner-token workflow, carried across continue-as-new."""

    timing: RefreshTiming = field(default_factory=RefreshTiming)
    misconfigured_retry_seconds: float = 3600.0
    """How long a misconfigured partner token waits before trying again on its own."""
    failed_refresh_retry_seconds: float = 60.0
    """After a grant whose retries ran out on transient errors, wait this long and try again."""
    cycles_per_run: int = 100
    """Continue-as-new after this many grants, keeping each run's history bounded."""
    token_task_queue: str | None = None
    """Task queue of token-endpoint activities (rate limited fleet-wide); None: the workflow's own."""


@dataclass(frozen=True, kw_only=True)
class PartnerMemory(KeptTokenMemory):
    """Everything a run hands to the next one through continue-as-new: the kept token and its phase."""

    phase: PartnerPhase = PartnerPhase.STARTING


@dataclass(frozen=True)
class PartnerInput:
    """Start (or continue) a partner token's workflow."""

    key: str
    """``partner_key(client_id, scope)``: names the token without carrying the client id."""
    scope: str | None = None
    settings: PartnerSettings = field(default_factory=PartnerSettings)
    memory: PartnerMemory | None = None
    """Set only by continue-as-new."""


@dataclass(frozen=True)
class PartnerStatus:
    """What a partner needs to see about its partner-scoped token."""

    key: str
    scope: str | None
    phase: PartnerPhase
    expires_at: datetime | None
    last_refresh_at: datetime | None
    next_refresh_at: datetime | None
    refreshes: int
    """Successful client-credentials grants, the first one included."""
    last_error: str | None
    last_error_type: str | None


__all__ = [
    "WORKFLOW_ID_PREFIX",
    "PartnerInput",
    "PartnerMemory",
    "PartnerPhase",
    "PartnerSettings",
    "PartnerStatus",
    "StopPartnerToken",
    "normalise_scope",
    "partner_key",
    "partner_workflow_id",
]
