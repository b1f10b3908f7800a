"""What the API checks before any workflow sees it, so a bad value is one ``InvalidInputError`` naming it.

The workflows check the same rules again (a client of an older version may call them); here the checks run
first, before anything is started or written.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from workflows.types.connection import check_scope, validate_metadata
from workflows.types.errors import ConfigurationError, InvalidInputError

__all__ = ["checked_metadata", "checked_scope", "pinned_company_id"]


def pinned_company_id(company_id: str | None) -> str | None:
    """A Remote company id to pin, in the canonical form the gateway's answers are compared in.

    Raises:
        ConfigurationError: not a UUID.
    """
    if company_id is None:
        return None
    try:
        return str(uuid.UUID(company_id))
    except ValueError:
        raise ConfigurationError(
            f"company id {company_id[:40]!r} is not a UUID (Remote company ids are)"
        ) from None


def checked_scope(scope: str) -> str:
    """``scope`` normalised, or ``InvalidInputError`` saying what a scope looks like."""
    try:
        return check_scope(scope)
    except ValueError as err:
        raise InvalidInputError(str(err)) from None


def checked_metadata(metadata: Mapping[str, str] | None) -> dict[str, str] | None:
    """The partner's metadata checked (None stays None: nothing to change), or ``InvalidInputError``."""
    if metadata is None:
        return None
    try:
        return validate_metadata(metadata)
    except ValueError as err:
        raise InvalidInputError(str(err)) from None
