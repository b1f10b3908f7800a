"""Webhook notifications: signed bodies a receiver can verify, failures that make the activity retry."""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from workflows.io.notify import Notification, check_webhook_url, send, verify
from workflows.types.errors import ConfigurationError

SECRET = "whsec-test-0123456789"
STAMP = 1_767_225_600  # 2026-01-01T00:00:00Z
NOTE = Notification(
    event="revoked",
    company_ref="acme-42",
    state="consent_revoked",
    occurred_at=datetime(2026, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=1))),
    detail="invalid_grant from the token endpoint",
    connect_url="https://partner.example/connect/acme-42?state=s3cret-state",
    metadata={"tenant_id": "t-1"},
)
BODY = (
    b'{"company_ref":"acme-42","connect_url":"https://partner.example/connect/acme-42?state=s3cret-state",'
    b'"detail":"invalid_grant from the token endpoint","event":"revoked","metadata":{"tenant_id":"t-1"},'
    b'"occurred_at":"2026-01-01T00:30:00+00:00","remote_company_id":null,"state":"consent_revoked"}'
)


class Receiver:
    """A partner's webhook endpoint that records what it got and answers with a chosen status."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        self.requests.append((dict(request.headers), await request.body()))
        headers = {"Location": "https://elsewhere.example/"} if 300 <= self.status < 400 else None
        return Response(status_code=self.status, headers=headers)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app))


async def test_send_posts_a_signed_compact_body() -> None:
    """The receiver gets the exact body, event, timestamp and an HMAC over ``timestamp.body``."""
    receiver = Receiver()
    async with receiver.client() as http:
        assert await send(http, "https://partner.example/hook", SECRET, NOTE, timestamp=STAMP) is True
    [(headers, body)] = receiver.requests
    assert body == BODY
    expected = hmac.new(SECRET.encode(), b"1767225600." + BODY, hashlib.sha256).hexdigest()
    assert {
        name: headers[name] for name in headers if name.startswith(("x-remote-oauth-", "content-type"))
    } == {
        "content-type": "application/json",
        "x-remote-oauth-event": "revoked",
        "x-remote-oauth-timestamp": "1767225600",
        "x-remote-oauth-signature": f"sha256={expected}",
    }
    assert verify(
        SECRET, headers["x-remote-oauth-timestamp"], body, headers["x-remote-oauth-signature"], now=STAMP
    )


async def test_send_signs_with_the_current_time_by_default() -> None:
    """Without a pinned timestamp the delivery passes ``verify`` with its default freshness window."""
    receiver = Receiver(status=200)
    async with receiver.client() as http:
        assert await send(http, "https://partner.example/hook", SECRET, NOTE)
    [(headers, body)] = receiver.requests
    assert verify(SECRET, headers["x-remote-oauth-timestamp"], body, headers["x-remote-oauth-signature"])


def test_verify_rejects_forgeries_and_replays() -> None:
    """A wrong secret, altered body, moved timestamp, stale delivery or malformed header fails."""
    signature = "sha256=" + hmac.new(SECRET.encode(), b"1767225600." + BODY, hashlib.sha256).hexdigest()
    assert verify(SECRET, "1767225600", BODY, signature, now=STAMP + 300)
    assert not verify("other-secret", "1767225600", BODY, signature, now=STAMP)
    assert not verify(SECRET, "1767225600", BODY.replace(b"revoked", b"recovered"), signature, now=STAMP)
    assert not verify(SECRET, "1767225601", BODY, signature, now=STAMP)
    assert not verify(SECRET, "1767225600", BODY, signature, now=STAMP + 301)
    assert verify(SECRET, "1767225600", BODY, signature, tolerance=None)
    assert not verify(SECRET, "-1767225600", BODY, signature, tolerance=None)
    assert not verify(SECRET, "1767225600", BODY, signature.removeprefix("sha256="), now=STAMP)


@pytest.mark.parametrize("status", [500, 404, 302])
async def test_non_2xx_raises_so_the_activity_retries(status: int) -> None:
    """Any answer but 2xx (redirects included, never followed) is an error carrying the status."""
    receiver = Receiver(status=status)
    async with receiver.client() as http:
        with pytest.raises(httpx.HTTPStatusError) as err:
            await send(http, "https://partner.example/hook", SECRET, NOTE, timestamp=STAMP)
    assert err.value.response.status_code == status
    assert len(receiver.requests) == 1


async def test_unreachable_receiver_raises_transport_error() -> None:
    """A refused connection surfaces as httpx's transport error for the activity to classify."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(httpx.ConnectError):
            await send(http, "https://partner.example/hook", SECRET, NOTE)


async def test_no_url_only_logs_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    """With no webhook configured nothing is sent and the log names the event but not the connect link."""
    receiver = Receiver()
    caplog.set_level(logging.INFO, logger="workflows.io.notify")
    async with receiver.client() as http:
        assert await send(http, None, SECRET, NOTE) is False
    assert receiver.requests == []
    assert [record.getMessage() for record in caplog.records] == [
        "webhook not configured; notification revoked for company acme-42 (state consent_revoked): "
        "invalid_grant from the token endpoint"
    ]
    assert SECRET not in caplog.text
    assert "s3cret-state" not in caplog.text


async def test_url_without_secret_is_a_configuration_error() -> None:
    """Unsigned deliveries are never sent: receivers could not tell them from forgeries."""
    receiver = Receiver()
    async with receiver.client() as http:
        with pytest.raises(
            ConfigurationError,
            match=r"^REMOTE_OAUTH_WEBHOOK_URL is set but REMOTE_OAUTH_WEBHOOK_SECRET is not$",
        ):
            await send(http, "https://partner.example/hook", None, NOTE)
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://partner.example/hook", True),
        ("http://127.0.0.1:8000/hook", True),
        ("http://127.8.0.1/hook", True),
        ("http://localhost/hook", True),
        ("http://[::1]:9000/hook", True),
        ("http://partner.example/hook", False),
        ("http://10.0.0.1/hook", False),
        ("ftp://partner.example/hook", False),
        ("https:///hook", False),
        ("partner.example/hook", False),
    ],
)
def test_webhook_url_must_be_https_unless_loopback(url: str, allowed: bool) -> None:
    """Plain http is refused except to this machine, where nothing crosses a network."""
    if allowed:
        assert check_webhook_url(url) == url
    else:
        with pytest.raises(ConfigurationError, match=r"^REMOTE_OAUTH_WEBHOOK_URL must be an https:// URL"):
            check_webhook_url(url)


def test_body_lists_every_field_in_utc() -> None:
    """Unknown optional fields are null (metadata empty), times are UTC, and non-ASCII text stays readable UTF-8."""
    note = Notification(
        event="partner_misconfigured",
        company_ref="société-7",
        state="misconfigured",
        occurred_at=datetime(2026, 5, 22, 12, 0, tzinfo=UTC),
        remote_company_id="c0ffee",
    )
    assert (
        note.body()
        == (
            '{"company_ref":"société-7","connect_url":null,"detail":"","event":"partner_misconfigured",'
            '"metadata":{},"occurred_at":"2026-05-22T12:00:00+00:00","remote_company_id":"c0ffee","state":"misconfigured"}'
        ).encode()
    )


def test_notification_rejects_naive_times_and_unsafe_events() -> None:
    """A time without a zone or an event that cannot be a header value is a programming error."""
    with pytest.raises(ValueError, match=r"^notification occurred_at must be timezone-aware$"):
        Notification(event="revoked", company_ref="a", state="s", occurred_at=datetime(2026, 1, 1))
    with pytest.raises(
        ValueError, match=r"^notification event 'Revoked\\r\\nX: y' must be lower_snake_case$"
    ):
        Notification(event="Revoked\r\nX: y", company_ref="a", state="s", occurred_at=datetime.now(UTC))
