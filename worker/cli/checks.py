"""Checks of the command line's own values, so a bad input is one line naming the flag, and exit code 1.

The API below the CLI checks the same things, but names its parameters (``min_ttl_seconds``, ``user_id``);
a user typed ``--min-ttl`` and ``--user``, so the CLI checks first and speaks in its own words. Exit codes:
0 done, 1 an error (a bad value, a refused operation, a failure), 2 the command line itself is malformed
(an unknown option, a missing argument: Click's usage message).
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer

from workflows.types.company import validate_company_ref
from workflows.types.connection import validate_metadata
from workflows.types.errors import ErrorType, RemoteOAuthError
from workflows.types.tokens import TokenGrant

__all__ = [
    "InputError",
    "TokenMinTtl",
    "check_path",
    "check_ref",
    "check_uuid",
    "fail",
    "min_ttl_option",
    "parse_meta",
    "ref_problem",
    "uuid_form",
    "within_lifetime",
]

_PATH = re.compile(r"(/[A-Za-z0-9_-]+)+")
_SHOWN = 40
"""How much of a refused value an error repeats."""


class InputError(RemoteOAuthError):
    """A value given on the command line that the command cannot use; the message names its flag."""

    default_kind = ErrorType.INVALID_INPUT


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` to stderr and return the ``Exit`` to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _shown(value: str) -> str:
    return repr(value[:_SHOWN] + ("..." if len(value) > _SHOWN else ""))


def ref_problem(value: str) -> str | None:
    """Why ``value`` is not a company reference (the line every command prints), or None if it is one."""
    try:
        validate_company_ref(value)
    except ValueError:
        return (
            f"invalid company reference {_shown(value)}: use 1-128 letters, digits or . _ @ : - "
            "(starting with a letter or digit)"
        )
    return None


def check_ref(value: str | None) -> str | None:
    """A typer callback: the company reference, or one line and exit 1."""
    if value is None:
        return None
    reason = ref_problem(value)
    if reason is not None:
        raise fail(reason)
    return value


def parse_meta(pairs: list[str] | None) -> dict[str, str] | None:
    """``--meta key=value`` options as metadata (None when none was given), or one line and exit 1."""
    if not pairs:
        return None
    meta: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq:
            raise fail(f"--meta takes key=value, not {_shown(pair)}")
        if key in meta:
            raise fail(f"--meta names {_shown(key)} twice")
        meta[key] = value
    try:
        return validate_metadata(meta)
    except ValueError as err:
        raise fail(f"--meta: {err}") from None


def uuid_form(value: str) -> str | None:
    """``value`` as a canonical UUID if it is one in its 8-4-4-4-12 form (any case), else None."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    return str(parsed) if str(parsed) == value.lower() else None


def check_uuid(flag: str, value: str | None) -> str | None:
    """``value`` if it is a UUID in its 8-4-4-4-12 form, else one line naming ``flag`` and exit 1."""
    if value is None:
        return None
    if uuid_form(value) is None:
        raise fail(f"{flag} must be a UUID like 3fa85f64-5717-4562-b3fc-2c963f66afa6, not {_shown(value)}")
    return value


def check_path(value: str | None) -> str | None:
    """A typer callback for ``--path``: the gateway's rule, checked before anything is sent."""
    if value is not None and not _PATH.fullmatch(value):
        raise fail(
            f"--path must start with /, have no trailing /, and use segments of letters, digits, _ and -, "
            f"not {_shown(value)}"
        )
    return value


def min_ttl_option(upper: int) -> Callable[[float], float]:
    """A typer callback for ``--min-ttl`` between 0 and ``upper`` seconds."""

    def check(value: float) -> float:
        if not math.isfinite(value) or not 0 <= value <= upper:
            raise fail(f"--min-ttl must be between 0 and {upper} seconds, not {value:g}")
        return value

    return check


TokenMinTtl = Annotated[
    float,
    typer.Option(
        help="Seconds the token must still be valid (0 to 86400, and at most the token lifetime).",
        callback=min_ttl_option(86400),
    ),
]
"""``--min-ttl`` of the commands that print a kept token (``token``, ``partner-token``)."""


async def within_lifetime(
    get: Callable[[float], Awaitable[TokenGrant]], min_ttl: float, what: str
) -> TokenGrant:
    """The token ``get(min_ttl)`` returns, after checking that such a token can exist at all.

    A ``--min-ttl`` longer than the tokens live could never be met: every call would refresh and still fall
    short. The current token (``get(0)``: a query when it has not expired) tells the lifetime.

    Raises:
        InputError: ``min_ttl`` exceeds the token lifetime.
    """
    current = await get(0.0)
    lifetime = (current.expires_at - current.issued_at).total_seconds()
    if min_ttl > lifetime:
        raise InputError(
            f"--min-ttl {min_ttl:g} is longer than {what} tokens live ({lifetime:.0f} s), so no refresh "
            f"could meet it; ask for at most {math.floor(lifetime)}"
        )
    if min_ttl <= 0:
        return current
    return await get(min_ttl)
