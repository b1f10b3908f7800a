"""TokenActivities: the only code that talks HTTP to Remote's gateway (and to the partner's webhook).

Each activity checks its input, sends one request and turns the answer into our dataclasses; the token
endpoint's request and answer are ``workflows.io.gateway.token_endpoint``'s, the magic link's are read here (capped,
then the generated model). Every failure leaves as an ``ApplicationError`` typed by
``workflows.io.gateway.classify``. Secrets come from the worker's settings, never from inputs, and never
reach a message or a log.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from generated_client.remote_magic_link_api.api.magic_link import create_magic_link
from generated_client.remote_magic_link_api.models.magic_link_response import MagicLinkResponse
from generated_client.remote_oauth_api.api.o_auth import authorize
from generated_client.remote_oauth_api.models.authorize_response_type import AuthorizeResponseType
from workflows.io import notify
from workflows.io.connect_session import KEYGEN_HINT, ConnectLinks
from workflows.io.gateway import classify, heartbeat, transport
from workflows.io.gateway.magic_link_params import magic_link_params
from workflows.io.gateway.token_endpoint import GrantType, check_readable, read_grant, token_request
from workflows.io.settings import Settings
from workflows.io.signing import AssertionSigner
from workflows.io.telemetry import gateway as telemetry
from workflows.types.activity import (
    AssertionInput,
    ClientCredentialsInput,
    ExchangeCodeInput,
    IssuedState,
    IssueStateInput,
    MagicLinkInput,
    MagicLinkResult,
    NotifyInput,
    NotifyResult,
    RefreshInput,
)
from workflows.types.company import company_mismatch_message
from workflows.types.errors import ConfigurationError, ErrorType
from workflows.types.tokens import TokenGrant
from workflows.types.untrusted import Redactor

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TokenActivities:
    """Built once per worker with its settings and HTTP client; every method is one activity."""

    def __init__(
        self, settings: Settings, http: httpx.AsyncClient, *, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._settings = settings
        self._http = http
        self._clock = clock
        self._links = ConnectLinks.from_settings(settings)

    @staticmethod
    def http_client(settings: Settings) -> httpx.AsyncClient:
        """The HTTP client the worker should build once and close on shutdown."""
        return transport.http_client(base_url=settings.gateway_url, timeout=settings.http_timeout)

    # -- token grants --------------------------------------------------------------------------------

    @activity.defn(name="ExchangeCode")
    async def exchange_code(self, request: ExchangeCodeInput) -> TokenGrant:
        """Exchange an authorization code (sent with the configured redirect URI, byte for byte)."""
        redirect_uri = self._settings.redirect_uri
        if redirect_uri is None:
            raise classify.misconfigured(
                "REMOTE_REDIRECT_URI is not set; it must be sent with the code exchange"
            )
        fields = {"code": request.code, "redirect_uri": redirect_uri}
        grant = await self._grant(GrantType.AUTHORIZATION_CODE, "authorization code exchange", fields)
        expected = request.expected_company_id
        if expected is not None and grant.company_id != expected:
            # The tokens are dropped here, so they never reach history, state or a caller.
            raise ApplicationError(
                company_mismatch_message(expected, grant.company_id),
                type=ErrorType.COMPANY_MISMATCH,
                non_retryable=True,
            )
        return grant

    @activity.defn(name="Refresh")
    async def refresh(self, request: RefreshInput) -> TokenGrant:
        """Renew with a refresh token; without a new one in the answer, the given one stays valid."""
        fields = {"refresh_token": request.refresh_token, "scope": request.scope}
        try:
            return await self._grant(
                GrantType.REFRESH_TOKEN, "refresh token request", fields, keep_refresh=request.refresh_token
            )
        except ApplicationError as err:
            attempt = classify.attempt()
            if err.type != ErrorType.INVALID_GRANT or attempt <= 1:
                raise
            # Never silent: with a rotating gateway, an earlier attempt may have been answered (and the old
            # refresh token retired) with the response lost on the way back.
            raise ApplicationError(
                f"{err.message}; refused on attempt {attempt}: an earlier attempt's response was probably "
                "lost after the gateway rotated the refresh token",
                type=ErrorType.INVALID_GRANT,
                non_retryable=True,
            ) from None

    @activity.defn(name="ClientCredentials")
    async def client_credentials(self, request: ClientCredentialsInput) -> TokenGrant:
        """A partner-scoped token."""
        fields = {"scope": request.scope}
        return await self._grant(GrantType.CLIENT_CREDENTIALS, "client credentials request", fields)

    @activity.defn(name="Assertion")
    async def assertion(self, request: AssertionInput) -> TokenGrant:
        """A token acting as ``request.subject``, with an assertion signed here (fresh ``jti`` per attempt)."""
        try:
            signer = AssertionSigner.from_settings(self._settings)
        except ConfigurationError as err:
            raise classify.misconfigured(f"JWT assertion: {err}") from None
        if not request.subject.startswith("urn:remote-api:"):
            raise classify.rejected(
                "JWT assertion: subject must be a urn:remote-api: subject (see workflows.io.signing)"
            )
        signed = signer.assertion(request.subject, now=self._clock().timestamp(), scope=request.scope)
        fields = {"assertion": signed, "scope": request.scope}
        return await self._grant(
            GrantType.URNIETFPARAMSOAUTHGRANT_TYPEJWT_BEARER, "JWT assertion request", fields
        )

    async def _grant(
        self,
        grant_type: GrantType,
        what: str,
        fields: Mapping[str, str | None],
        *,
        keep_refresh: str | None = None,
    ) -> TokenGrant:
        kind = telemetry.grant_kind(grant_type.value)
        try:
            request = token_request(self._settings, grant_type, what, fields, keep_refresh=keep_refresh)
            issued_at = self._clock()
            raw = await self._send(request.kwargs, request.headers, what, request.redact, kind)
            grant = read_grant(
                request,
                raw,
                issued_at=issued_at,
                clock=self._clock,
                default_lifetime=self._settings.default_token_lifetime,
            )
        except ApplicationError as err:
            telemetry.grant_failed(kind, err)
            raise
        telemetry.grant(kind, "ok")
        if grant.expires_in_defaulted:
            log.warning(
                "%s: the response has no expires_in; assuming REMOTE_DEFAULT_TOKEN_LIFETIME (%d s)",
                what,
                self._settings.default_token_lifetime,
            )
        return grant

    # -- the Remote API ------------------------------------------------------------------------------

    @activity.defn(name="CreateMagicLink")
    async def create_magic_link(self, request: MagicLinkInput) -> MagicLinkResult:
        """A passwordless sign-in link for a company admin or an employee; input is checked before sending."""
        what = "magic link request"
        params = magic_link_params(request)
        request_kwargs = create_magic_link._get_kwargs(body=params)  # spec-built request; parsed below
        headers = {"Authorization": f"Bearer {request.access_token}"}
        redact = Redactor([request.access_token])
        raw = await self._send(request_kwargs, headers, what, redact, "magic_link")
        if not 200 <= raw.status <= 299:
            raise classify.api_failure(
                raw.status,
                raw.headers,
                None if raw.too_large else raw.json(),
                what,
                now=self._clock(),
                redact=redact,
            )
        check_readable(raw, what)
        document = raw.json()
        try:
            if not isinstance(document, dict):
                raise TypeError
            url = MagicLinkResponse.from_dict(document).data.url
        except (KeyError, ValueError, TypeError, AttributeError):
            raise classify.malformed(what, 'expected {"data": {"url": ...}}') from None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise classify.malformed(what, "the link is not an http(s) URL")
        return MagicLinkResult(url=url)

    # -- no network ----------------------------------------------------------------------------------

    @activity.defn(name="IssueState")
    async def issue_state(self, request: IssueStateInput) -> IssuedState:
        """A fresh ``state`` (256 bits) and the authorize URL carrying it; never made in a workflow."""
        settings = self._settings
        if settings.client_id is None:
            raise classify.misconfigured("connect link: REMOTE_CLIENT_ID is not set")
        if settings.redirect_uri is None:
            raise classify.misconfigured("connect link: REMOTE_REDIRECT_URI is not set")
        # `<ref>.<random>`: the ref routes the callback to its workflow (company_ref_from_state); the random
        # part (URL-safe base64, no dots) is what makes it unguessable.
        nonce = secrets.token_urlsafe(32)
        state = f"{request.company_ref}.{nonce}" if request.company_ref else nonce
        request_kwargs = authorize._get_kwargs(
            client_id=settings.client_id,
            response_type=AuthorizeResponseType.CODE,
            redirect_uri=settings.redirect_uri,
            scope=request.scope or settings.scopes,
            state=state,
        )
        url = httpx.URL(settings.gateway_url + request_kwargs["url"], params=request_kwargs["params"])
        return IssuedState(state=state, authorize_url=str(url), ttl_seconds=settings.state_ttl)

    @activity.defn(name="Notify")
    async def notify(self, request: NotifyInput) -> NotifyResult:
        """Deliver a consent event to the partner's signed webhook (or only log it when none is set)."""
        settings = self._settings
        secret = settings.webhook_secret.reveal() if settings.webhook_secret else None
        connect_url = None
        if request.link_open and self._links is not None:
            connect_url, _ = self._links.link(request.company_ref, now=self._clock())
        elif request.link_open:
            log.warning("%s: no connect link in the event: %s", request.company_ref, KEYGEN_HINT)
        try:
            note = notify.Notification(
                event=request.event,
                company_ref=request.company_ref,
                state=request.state,
                occurred_at=request.occurred_at,
                detail=request.detail,
                connect_url=connect_url,
                remote_company_id=request.remote_company_id,
                metadata=request.metadata or {},
            )
            delivered = await notify.send(self._http, settings.webhook_url, secret, note)
        except ConfigurationError as err:
            raise classify.misconfigured(f"webhook: {err}") from None
        except ValueError as err:
            raise classify.rejected(f"webhook: {classify.clean(str(err))}") from None
        except httpx.HTTPStatusError as err:
            raise ApplicationError(
                f"webhook: the receiver answered HTTP {err.response.status_code}; retrying",
                type=ErrorType.SERVER_ERROR,
            ) from None
        except (httpx.RequestError, TimeoutError) as err:
            raise classify.transport_failure(err, "webhook") from None
        return NotifyResult(delivered=delivered)

    async def _send(
        self,
        request_kwargs: dict[str, Any],
        headers: dict[str, str],
        what: str,
        redact: Redactor,
        operation: str,
    ) -> transport.RawResponse:
        try:
            with telemetry.request(request_kwargs, operation) as call, heartbeat.while_slow():
                raw = await transport.send(
                    self._http, request_kwargs, deadline=self._settings.http_timeout, extra_headers=headers
                )
                call.answered(raw.status)
        except (httpx.RequestError, TimeoutError) as err:
            # from None: the chained httpx error carries the request, whose headers hold credentials.
            raise classify.transport_failure(err, what, redact) from None
        log.info("%s: HTTP %d (attempt %d)", what, raw.status, classify.attempt())
        return raw


__all__ = [
    "AssertionInput",
    "ClientCredentialsInput",
    "ExchangeCodeInput",
    "IssueStateInput",
    "IssuedState",
    "MagicLinkInput",
    "MagicLinkResult",
    "NotifyInput",
    "NotifyResult",
    "RefreshInput",
    "TokenActivities",
]
