"""The magic-link request body, checked as the gateway would check it, so a bad input never costs a request."""

from __future__ import annotations

import re
import uuid

from generated_client.remote_magic_link_api.models.magic_link_params import MagicLinkParams
from generated_client.remote_magic_link_api.types import UNSET as LINK_UNSET
from workflows.io.gateway.classify import rejected
from workflows.types.activity import MagicLinkInput

_PATH = re.compile(r"(/[A-Za-z0-9_-]+)+")


def check_magic_link(request: MagicLinkInput) -> None:
    """Refuse input the gateway would refuse, with the activity's own ``RequestRejected`` error (no request)."""
    magic_link_params(request)


def magic_link_params(request: MagicLinkInput) -> MagicLinkParams:
    """The spec's body, after the checks the gateway would make (so a bad input never costs a request)."""
    what = "magic link request"
    if not request.access_token:
        raise rejected(f"{what}: no access token given; pass the company's current token")
    if (request.user_id is None) == (request.employment_id is None):
        raise rejected(f"{what}: give exactly one of user_id (company admin) and employment_id (employee)")
    name, value = (
        ("user_id", request.user_id) if request.user_id else ("employment_id", request.employment_id)
    )
    try:
        parsed = uuid.UUID(str(value))
    except ValueError:
        raise rejected(f"{what}: {name} must be a UUID") from None
    if str(parsed) != str(value).lower():
        raise rejected(f"{what}: {name} must be a UUID in its 8-4-4-4-12 form")
    path = request.path
    if path is not None and not _PATH.fullmatch(path):
        raise rejected(
            f"{what}: path must start with /, have no trailing /, and use segments of letters, digits, _ and -"
        )
    params = MagicLinkParams(path=LINK_UNSET if path is None else path)
    if name == "user_id":
        params.user_id = parsed
    else:
        params.employment_id = parsed
    return params


__all__ = ["check_magic_link", "magic_link_params"]
