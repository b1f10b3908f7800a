"""AES-GCM payload encryption with key ids, so Temporal history holds no readable token or secret.

Wire format of an encrypted payload (stable: histories written today must decode in years)::

    metadata  encoding           = b"binary/encrypted"
              encryption-key-id  = b"<kid>"
    data      nonce (12 random bytes) || AES-GCM(key[kid], nonce, original Payload.SerializeToString())

The first key of the ring encrypts; every key of the ring decrypts, which is how keys rotate: deploy
``new,old`` everywhere, run ``remote-oauth rotate-keys`` until no open workflow still needs ``old``
(``worker.api.rotation``), then drop ``old``.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from workflows.types.errors import ConfigurationError

ENCODING = b"binary/encrypted"
"""``encoding`` metadata of every payload this codec wrote."""
KEY_ID_METADATA = "encryption-key-id"
"""Metadata key naming the key that encrypted the payload."""
NONCE_SIZE = 12
"""96-bit nonces: the size AES-GCM is designed for; random nonces are safe far beyond our volumes."""
KEY_SIZES = frozenset({16, 24, 32})
SETTING = "REMOTE_OAUTH_CODEC_KEYS"

# Key ids travel in clear payload metadata and in error messages: keep them short and printable.
_KID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SEPARATORS = re.compile(r"[\s,]+")
_TAG_SIZE = 16

GENERATE_HINT = (
    "set it to one or more 'kid:base64key' entries, current key first; make a key with "
    '`remote-oauth keygen` (e.g. export REMOTE_OAUTH_CODEC_KEYS="$(remote-oauth keygen k1)")'
)
"""How to make a key, for messages about missing keys (no key material in it)."""


@dataclass(frozen=True)
class Key:
    """One AES key and the id that names it in payload metadata."""

    kid: str
    """Key id, written in clear next to every payload it encrypts."""
    secret: bytes = field(repr=False)
    """16, 24 or 32 bytes (AES-128/192/256); never printed."""


@dataclass(frozen=True)
class Keyring:
    """The keys a process holds: the first encrypts, all decrypt."""

    keys: tuple[Key, ...]
    """Current key first, then older keys kept to read existing history."""

    def __post_init__(self) -> None:
        if not self.keys:
            raise ConfigurationError(f"{SETTING} holds no key; {GENERATE_HINT}")
        seen: set[str] = set()
        for key in self.keys:
            if key.kid in seen:
                raise ConfigurationError(f"{SETTING} lists key id {key.kid!r} twice; key ids must be unique")
            seen.add(key.kid)

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """Read ``kid:base64key`` entries separated by commas, spaces or newlines (current key first).

        Messages name the entry and key id at fault, never the key material.
        """
        entries = [entry for entry in _SEPARATORS.split(text.strip()) if entry]
        if not entries:
            raise ConfigurationError(f"{SETTING} is empty; {GENERATE_HINT}")
        return cls(tuple(_parse_entry(position, entry) for position, entry in enumerate(entries, 1)))

    @property
    def current(self) -> Key:
        """The key that encrypts new payloads."""
        return self.keys[0]

    @property
    def kids(self) -> tuple[str, ...]:
        """Key ids in ring order."""
        return tuple(key.kid for key in self.keys)

    def find(self, kid: str) -> Key | None:
        """The key with this id, or None if the ring lacks it."""
        return next((key for key in self.keys if key.kid == kid), None)


def _parse_entry(position: int, entry: str) -> Key:
    kid, colon, encoded = entry.partition(":")
    if not colon or not kid or not encoded:
        raise ConfigurationError(f"{SETTING} entry {position} is not of the form 'kid:base64key'")
    if not _KID.fullmatch(kid):
        # The id may be a pasted key: say what is wrong without repeating it.
        raise ConfigurationError(
            f"{SETTING} entry {position} has an invalid key id: use 1-64 letters, digits, '.', '_' or '-'"
        )
    try:
        # Accept the URL-safe alphabet too: keys are often made with other tools.
        secret = base64.b64decode(encoded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{SETTING} key {kid!r} is not valid base64") from None
    if len(secret) not in KEY_SIZES:
        raise ConfigurationError(
            f"{SETTING} key {kid!r} decodes to {len(secret)} bytes; AES needs 16, 24 or 32 (32 preferred)"
        )
    return Key(kid, secret)


def generate_key(kid: str) -> str:
    """A new random 256-bit key as a ``kid:base64key`` line, ready for REMOTE_OAUTH_CODEC_KEYS."""
    if not _KID.fullmatch(kid):
        raise ConfigurationError(f"invalid key id {kid!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return f"{kid}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


class EncryptionCodec(PayloadCodec):
    """Encrypts every payload with the ring's current key; decrypts with whichever key it names."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._ciphers = {key.kid: AESGCM(key.secret) for key in keyring.keys}

    @property
    def keyring(self) -> Keyring:
        """The ring this codec uses."""
        return self._keyring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Serialize each payload whole (metadata included) and encrypt it."""
        kid = self._keyring.current.kid
        cipher = self._ciphers[kid]
        encoded = []
        for payload in payloads:
            nonce = os.urandom(NONCE_SIZE)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), None)
            encoded.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID_METADATA: kid.encode()},
                    data=nonce + sealed,
                )
            )
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt encrypted payloads; pass others through so a codec can be added to existing data.

        Raises:
            ConfigurationError: the key id is missing from the ring, or the data does not authenticate.
        """
        return [self._decode_one(payload) for payload in payloads]

    def _decode_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        kid = payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            # Loud on purpose: passing ciphertext on would only fail later, somewhere less clear.
            held = ", ".join(self._keyring.kids)
            raise ConfigurationError(
                f"payload encrypted with key id {kid!r}, which is not in the keyring (holds: {held}); "
                f"add that key to {SETTING}"
            )
        data = payload.data
        if len(data) < NONCE_SIZE + _TAG_SIZE:
            raise ConfigurationError(
                f"payload encrypted with key id {kid!r} is {len(data)} bytes, too short to be AES-GCM "
                f"ciphertext (a {NONCE_SIZE}-byte nonce and a {_TAG_SIZE}-byte tag at least): it was altered"
            )
        try:
            plain = cipher.decrypt(data[:NONCE_SIZE], data[NONCE_SIZE:], None)
        except InvalidTag:
            raise ConfigurationError(
                f"payload encrypted with key id {kid!r} does not decrypt: the key held under that id "
                "differs from the one that encrypted it, or the payload was altered"
            ) from None
        return Payload.FromString(plain)


def data_converter(keyring: Keyring) -> DataConverter:
    """The default converter with encryption, and failure messages and stack traces moved into payloads.

    Without the encoded failure attributes, exception texts (which may quote a server response) would sit
    in history in clear.
    """
    return DataConverter(
        payload_codec=EncryptionCodec(keyring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


__all__ = [
    "ENCODING",
    "GENERATE_HINT",
    "KEY_ID_METADATA",
    "EncryptionCodec",
    "Key",
    "Keyring",
    "data_converter",
    "generate_key",
]
