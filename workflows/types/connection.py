"""Managing a company's connection once it exists: reconnecting, narrowing its scopes, the partner's metadata.

Pure values and checks (the Temporal boundary of the company workflow's connection updates); the API checks
input with the same functions before it reaches a workflow, so a bad value is one clear error, not a retry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from temporalio.exceptions import ApplicationError

from workflows.types.errors import ErrorType

__all__ = [
    "MAX_METADATA_ENTRIES",
    "MAX_METADATA_VALUE",
    "NarrowRequest",
    "ReconnectRequest",
    "check_scope",
    "invalid_input",
    "scope_within",
    "validate_metadata",
]

MAX_METADATA_ENTRIES = 32
MAX_METADATA_VALUE = 256
_META_KEY = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_SCOPE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


@dataclass(frozen=True)
class ReconnectRequest:
    """Open a new consent link for a connected company; its current token stays in use until it is used."""

    scope: str | None = None
    """The scopes the new consent asks for; None asks for the company's current ``scope`` setting."""


@dataclass(frozen=True)
class NarrowRequest:
    """Narrow a connected company's token to ``scope`` through a refresh (no admin needed)."""

    scope: str


def invalid_input(err: ValueError) -> ApplicationError:
    """A check's refusal as an update validator raises it: typed ``InvalidInput``, so callers branch on it."""
    return ApplicationError(str(err), type=ErrorType.INVALID_INPUT, non_retryable=True)


def check_scope(scope: str) -> str:
    """``scope`` as the token endpoint is sent it: space-separated scope tokens, one space between.

    Raises:
        ValueError: empty, or a token with characters no scope has.
    """
    tokens = scope.split()
    if not tokens or len(tokens) > 32 or not all(_SCOPE.fullmatch(token) for token in tokens):
        raise ValueError(
            f"invalid scope {scope[:60]!r}: use space-separated scopes like 'company:read employment:read'"
        )
    return " ".join(tokens)


def scope_within(requested: str, granted: str | None) -> bool:
    """Whether every scope of ``requested`` is in ``granted`` (unknown ``granted``: cannot tell, so False)."""
    return granted is not None and set(requested.split()) <= set(granted.split())


def validate_metadata(meta: Mapping[str, str]) -> dict[str, str]:
    """The partner's metadata as the company keeps it, checked.

    Keys are lower-case names (``tenant_id``, ``owner.email``); values printable text of at most
    ``MAX_METADATA_VALUE`` characters, at most ``MAX_METADATA_ENTRIES`` of them. Metadata is shown in status
    and webhook events: it is not a place for secrets.

    Raises:
        ValueError: says which key or value is wrong and what is allowed.
    """
    if len(meta) > MAX_METADATA_ENTRIES:
        raise ValueError(f"at most {MAX_METADATA_ENTRIES} metadata entries, not {len(meta)}")
    checked: dict[str, str] = {}
    for key, value in meta.items():
        if not isinstance(key, str) or not _META_KEY.fullmatch(key):
            raise ValueError(
                f"invalid metadata key {str(key)[:40]!r}: use 1-64 lower-case letters, digits or . _ - "
                "(starting with a letter)"
            )
        if not isinstance(value, str):
            raise ValueError(f"metadata {key}: the value must be text")
        if len(value) > MAX_METADATA_VALUE or not value.isprintable():
            raise ValueError(
                f"metadata {key}: the value must be printable text of at most {MAX_METADATA_VALUE} characters"
            )
        checked[key] = value
    return dict(sorted(checked.items()))
