"""The app-facing Python API: ``RemoteOAuth`` and the types its methods take, return and raise.

Everything an application needs is importable from here (``from worker.api import RemoteOAuth``); the
modules beside it are the facade's private parts, one per kind of token.
"""

from worker.api.auth import DEFAULT_MIN_TTL, BearerAuth, CompanyAuth, RateLimitRetry
from worker.api.companies import Onboarding
from worker.api.companies.imports import ImportedCompany, ImportOutcome, ImportResult
from worker.api.remote_oauth import RemoteOAuth
from worker.api.rotation import KeyHolder, KeyRotation, RotationReport
from worker.api.token_cache import TokenCache
from workflows.types.company import (
    Callback,
    CallbackResult,
    CompanySettings,
    CompanyStatus,
    ConnectLink,
    Phase,
)
from workflows.types.errors import (
    ConfigurationError,
    ErrorType,
    InvalidInputError,
    NotFoundError,
    NotReadyError,
    RemoteOAuthError,
    RequestRejectedError,
    TemporalUnavailableError,
)
from workflows.types.partner import PartnerStatus
from workflows.types.tokens import TokenGrant

__all__ = [
    "DEFAULT_MIN_TTL",
    "BearerAuth",
    "Callback",
    "CallbackResult",
    "CompanyAuth",
    "CompanySettings",
    "CompanyStatus",
    "ConfigurationError",
    "ConnectLink",
    "ErrorType",
    "ImportOutcome",
    "ImportResult",
    "ImportedCompany",
    "InvalidInputError",
    "KeyHolder",
    "KeyRotation",
    "NotFoundError",
    "NotReadyError",
    "Onboarding",
    "PartnerStatus",
    "Phase",
    "RateLimitRetry",
    "RemoteOAuth",
    "RemoteOAuthError",
    "RequestRejectedError",
    "RotationReport",
    "TemporalUnavailableError",
    "TokenCache",
    "TokenGrant",
]
