"""Remote's token endpoint, without the sending: the request of one grant and the grant read from its answer.

The form is built by the generated client's operation (method, path, form encoding from the spec) with the
client's authentication (``client_secret_post`` or HTTP Basic, one per request); the answer is read here,
normalised by ``workflows.types.tokens`` and only then handed to the generated model, which would crash on
``"Bearer"`` or a malformed body. Every secret of the request, and any token in the answer, is cut out of
whatever the gateway says before it reaches a message.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from generated_client.remote_oauth_api.api.o_auth import exchange_o_auth_token
from generated_client.remote_oauth_api.models.exchange_o_auth_token_body import ExchangeOAuthTokenBody
from generated_client.remote_oauth_api.models.exchange_o_auth_token_body_grant_type import (
    ExchangeOAuthTokenBodyGrantType as GrantType,
)
from generated_client.remote_oauth_api.models.exchange_o_auth_token_response_200 import (
    ExchangeOAuthTokenResponse200,
)
from generated_client.remote_oauth_api.types import Unset
from workflows.io.gateway import classify, transport
from workflows.io.gateway.spec_model import FieldError, build_model
from workflows.io.settings import Settings, TokenAuthMethod
from workflows.types.tokens import MalformedTokenError, TokenGrant, normalise_token_response, token_grant
from workflows.types.untrusted import Redactor

__all__ = ["GrantType", "TokenRequest", "basic_credentials", "check_readable", "read_grant", "token_request"]


def basic_credentials(client_id: str, secret: str) -> str:
    """``Basic base64(urlencode(id):urlencode(secret))`` (RFC 6749 section 2.3.1)."""
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def check_readable(raw: transport.RawResponse, what: str) -> None:
    """A 2xx body we could not read (too large, or in an encoding we cannot undo) is a malformed response."""
    if raw.too_large:
        raise classify.malformed(what, f"body larger than {transport.MAX_BODY_BYTES // 1024} KiB")
    if raw.undecodable is not None:
        raise classify.malformed(what, raw.undecodable)


@dataclass(frozen=True)
class TokenRequest:
    """One grant's request, ready to send, and what to cut out of the answer."""

    what: str
    """What the request is, for messages (``"refresh token request"``)."""
    kwargs: dict[str, Any] = field(repr=False)
    """The generated operation's request (method, URL, form body)."""
    headers: dict[str, str] = field(repr=False)
    """Extra headers: the Basic credential, when the client authenticates that way."""
    sent: list[str | None] = field(repr=False)
    """Every secret the request carries."""
    basic: tuple[str, str] | None = field(repr=False)
    """Client id and secret, whose Basic forms an echo would show, when a secret was sent."""
    keep_refresh: str | None = field(default=None, repr=False)
    """The refresh token that stays valid when the answer brings no new one."""

    @property
    def redact(self) -> Redactor:
        """Cuts this request's secrets out of the gateway's text."""
        return Redactor(self.sent, basic=self.basic)


def token_request(
    settings: Settings,
    grant_type: GrantType,
    what: str,
    fields: Mapping[str, str | None],
    *,
    keep_refresh: str | None = None,
) -> TokenRequest:
    """The request of one grant with the client's credentials from ``settings`` (``fields`` set when not None).

    Raises:
        ApplicationError: ``Misconfigured`` when the client id, or a secret the grant needs, is not set.
    """
    if settings.client_id is None:
        raise classify.misconfigured(f"{what}: REMOTE_CLIENT_ID is not set")
    secret = settings.client_secret
    if secret is None and grant_type is not GrantType.URNIETFPARAMSOAUTHGRANT_TYPEJWT_BEARER:
        raise classify.misconfigured(
            f"{what}: REMOTE_CLIENT_SECRET (or REMOTE_CLIENT_SECRET_FILE) is not set"
        )
    # The spec requires client_id in the body whichever way the client authenticates.
    body = ExchangeOAuthTokenBody(grant_type=grant_type, client_id=settings.client_id)
    for name, value in fields.items():
        if value is not None:
            setattr(body, name, value)
    headers: dict[str, str] = {}
    revealed = secret.reveal() if secret is not None else None
    if revealed is not None:
        if settings.token_auth_method is TokenAuthMethod.CLIENT_SECRET_BASIC:
            headers["Authorization"] = basic_credentials(settings.client_id, revealed)
        else:
            body.client_secret = revealed
    # The generated operation builds the request (method, path, form encoding) from the spec; we send it
    # ourselves because its _parse_response would crash on "Bearer" and on malformed bodies.
    return TokenRequest(
        what=what,
        kwargs=exchange_o_auth_token._get_kwargs(body=body),
        headers=headers,
        sent=[revealed, *fields.values()],
        basic=(settings.client_id, revealed) if revealed is not None else None,
        keep_refresh=keep_refresh,
    )


def read_grant(
    request: TokenRequest,
    raw: transport.RawResponse,
    *,
    issued_at: datetime,
    clock: Callable[[], datetime],
    default_lifetime: int,
) -> TokenGrant:
    """The grant in the answer to ``request``, its lifetime counted from ``issued_at``.

    Raises:
        ApplicationError: the gateway refused (typed by its status and ``error``, a 2xx carrying ``error``
            included) or the answer is malformed.
    """
    what, redact = request.what, request.redact
    document = None if raw.too_large else raw.json()
    if isinstance(document, dict):
        # A body with an error may still carry tokens (and quote them in its description).
        returned = [document.get("access_token"), document.get("refresh_token")]
        redact = Redactor(request.sent + [t for t in returned if isinstance(t, str)], basic=request.basic)
    if not 200 <= raw.status <= 299 or (isinstance(document, dict) and "error" in document):
        # A 2xx carrying "error" is a failure too, classified by its code (server_error is retried).
        raise classify.token_failure(raw.status, raw.headers, document, what, now=clock(), redact=redact)
    check_readable(raw, what)
    if document is None:
        raise classify.malformed(what, f"HTTP {raw.status} body is not JSON")
    try:
        normalised = normalise_token_response(document, default_lifetime=default_lifetime)
        model = build_model(ExchangeOAuthTokenResponse200, normalised.document)
    except (MalformedTokenError, FieldError) as err:
        raise classify.malformed(what, str(err), redact) from None
    user_id = model.additional_properties.get("user_id")
    return token_grant(
        access_token=model.access_token,
        token_type=model.token_type.value,
        expires_in=model.expires_in,
        issued_at=issued_at,
        refresh_token=model.refresh_token if isinstance(model.refresh_token, str) else request.keep_refresh,
        scope=model.scope if isinstance(model.scope, str) else None,
        company_id=None if isinstance(model.company_id, Unset) else str(model.company_id),
        user_id=user_id if isinstance(user_id, str) else None,
        expires_in_defaulted=normalised.expires_in_defaulted,
    )
