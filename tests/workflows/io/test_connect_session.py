"""Connect-session tokens and browser bindings: what only the holder of a connect key can make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workflows.io.connect_session import ConnectKeys, cookie_name
from workflows.types.errors import ConfigurationError

OLD, NEW = "o" * 40, "n" * 40
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_a_session_names_its_ref_and_expires() -> None:
    """A token verifies for its ref until its expiry, for no other ref, and not once altered."""
    keys = ConnectKeys.parse(NEW)
    token = keys.mint("acme", expires_at=NOW + timedelta(days=7))
    assert keys.verify("acme", token, now=NOW)
    assert not keys.verify("acme", token, now=NOW + timedelta(days=7))
    assert not keys.verify("globex", token, now=NOW)
    version, expiry, nonce, mac = token.split(".")
    later = str(int(expiry) + 86400)
    assert not keys.verify("acme", f"{version}.{later}.{nonce}.{mac}", now=NOW)
    assert not keys.verify("acme", token[:-1] + ("A" if token[-1] != "A" else "B"), now=NOW)
    assert not keys.verify("acme", "", now=NOW)
    assert keys.mint("acme", expires_at=NOW) != keys.mint("acme", expires_at=NOW)  # a fresh nonce each


def test_keys_rotate_like_the_codecs() -> None:
    """The first key signs, every key verifies: links and cookies made before a rotation keep working."""
    before = ConnectKeys.parse(OLD)
    token, binding = before.mint("acme", expires_at=NOW + timedelta(hours=1)), before.binding("acme.s1")
    after = ConnectKeys.parse(f"{NEW}, {OLD}")
    assert after.verify("acme", token, now=NOW)
    assert after.is_bound("acme.s1", binding)
    assert after.binding("acme.s1") != binding  # new cookies use the new key
    assert not after.is_bound("acme.s2", binding)
    assert not after.is_bound("acme.s1", None)
    assert not ConnectKeys.parse(NEW).verify("acme", token, now=NOW)


def test_cookie_names_are_per_company_and_cookie_safe() -> None:
    """Two companies onboarded in one browser keep separate bindings; names are token characters only."""
    names = {cookie_name(ref) for ref in ("acme", "globex", "a@b:c.d")}
    assert len(names) == 3
    assert all(name.replace("_", "").isalnum() for name in names)


def test_keys_too_short_or_missing_are_refused_without_echo() -> None:
    """A key shorter than 32 characters names its position and how to make one, never its value."""
    with pytest.raises(ConfigurationError) as err:
        ConnectKeys.parse(f"{NEW} hunter2")
    assert "key 2 is shorter than 32" in str(err.value)
    assert "remote-oauth keygen --connect" in str(err.value)
    assert "hunter2" not in str(err.value)
    with pytest.raises(ConfigurationError, match="holds no key"):
        ConnectKeys.parse(" , ")
