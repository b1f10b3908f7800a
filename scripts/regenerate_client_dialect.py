"""The dialects of the OAuth spec: the seed as published, and Remote's live gateway derived from it.

``openapi/seed/remote-oauth-api.yml`` is the seed, byte for byte; ``openapi/remote-oauth-api.yml`` is the spec
the client is generated from. ``seed`` copies the seed there unchanged; ``live`` writes what Remote's live
gateway does (see the architecture's "What Remote's live gateway does"): the paths under ``/auth/oauth2/``,
``token_type`` ``Bearer`` allowed, HTTP Basic client authentication documented as the default (so the body's
``client_id`` is optional) and a bumped ``info.version``. The edits are textual so the live spec reads as the
seed plus a small diff; each anchor must occur exactly once, so a different seed fails loudly, never silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

__all__ = ["DIALECTS", "SEED_FOLDER", "DialectError", "apply_dialect", "live_spec", "write_dialect"]

DIALECTS = ("seed", "live")
SEED_FOLDER = "seed"
"""Under the specs folder; holds the seed of each spec that has dialects."""
SPEC_NAME = "remote-oauth-api.yml"
LIVE_PATHS = {"/oauth/authorize": "/auth/oauth2/authorize", "/oauth2/token": "/auth/oauth2/token"}

_VERSION = re.compile(r"^(  version:\s*)['\"]?(?P<version>[^'\"\n]+?)['\"]?\s*$", re.MULTILINE)

_LIVE_EDITS: tuple[tuple[str, str], ...] = (
    *((f"\n  {seed}:\n", f"\n  {live}:\n") for seed, live in LIVE_PATHS.items()),
    ("exchanged at `/oauth2/token`", "exchanged at `/auth/oauth2/token`"),
    (
        "      operationId: exchangeOAuthToken\n",
        "      operationId: exchangeOAuthToken\n"
        "      security:\n"
        "        # HTTP Basic is the live gateway's default; client_secret in the body still works.\n"
        "        - clientBasic: []\n"
        "        - {}\n",
    ),
    ("required: [grant_type, client_id]", "required: [grant_type]"),
    (
        "                client_id: { type: string }\n",
        "                client_id: { type: string, description: Optional with HTTP Basic, which carries it. }\n",
    ),
    (
        "                client_secret: { type: string }\n",
        "                client_secret: { type: string, description: Only when not using HTTP Basic. }\n",
    ),
    (
        "token_type: { type: string, enum: [bearer] }",
        # Two spellings of one value need their own member names (openapi-python-client would clash).
        "token_type: { type: string, enum: [bearer, Bearer], x-enum-varnames: [BEARER, BEARER_CAPITALISED],"
        " description: Case-insensitive (RFC 6749 section 7.1); the live gateway sends Bearer. }",
    ),
    (
        "\ncomponents: {}",
        "\ncomponents:\n"
        "  securitySchemes:\n"
        "    clientBasic:\n"
        "      type: http\n"
        "      scheme: basic\n"
        "      description: base64(urlencode(client_id):urlencode(client_secret)), RFC 6749 section 2.3.1.",
    ),
)


class DialectError(Exception):
    """The seed does not have the shape the dialect edits expect."""


def seed_version(seed: str) -> str:
    match = _VERSION.search(seed)
    if match is None:
        raise DialectError("the seed has no info.version")
    return match["version"]


def live_spec(seed: str, version: str | None = None) -> str:
    """Remote's live spec from the seed's text; ``version`` defaults to the seed's plus ``-live``."""
    new_version = version or f"{seed_version(seed)}-live"
    if new_version == seed_version(seed):
        raise DialectError(f"the live spec needs a version other than the seed's {new_version}")
    text = _VERSION.sub(lambda m: f"{m[1]}'{new_version}'", seed, count=1)
    for anchor, replacement in _LIVE_EDITS:
        if text.count(anchor) != 1:
            raise DialectError(f"the seed has {text.count(anchor)} occurrences of {anchor.strip()!r}, not 1")
        text = text.replace(anchor, replacement)
    if not text.endswith("\n"):
        text += "\n"
    _check_live(YAML(typ="safe", pure=True).load(text), new_version)
    return text


def _check_live(spec: Mapping[str, Any], version: str) -> None:
    """The edits did what they claim, read back as YAML."""
    paths = set(spec["paths"])
    token = spec["paths"]["/auth/oauth2/token"]["post"]
    schema = token["responses"]["200"]["content"]["application/json"]["schema"]
    problems = [
        f"paths are {sorted(paths)}" if paths != set(LIVE_PATHS.values()) else "",
        "Bearer is not allowed" if "Bearer" not in schema["properties"]["token_type"]["enum"] else "",
        "Basic is not documented" if {"clientBasic": []} not in token.get("security", []) else "",
        f"version is {spec['info']['version']}" if str(spec["info"]["version"]) != version else "",
    ]
    if any(problems):
        raise DialectError("live dialect: " + "; ".join(p for p in problems if p))


def apply_dialect(seed: str, dialect: str, version: str | None = None) -> str:
    """The spec text of ``dialect`` (``seed`` is the seed unchanged; it takes no ``version``)."""
    if dialect == "seed":
        if version is not None:
            raise DialectError("the seed dialect keeps the seed's version; --version is for live")
        return seed
    if dialect == "live":
        return live_spec(seed, version)
    raise DialectError(f"unknown dialect {dialect!r}; known: {', '.join(DIALECTS)}")


def write_dialect(spec_dir: Path, dialect: str, version: str | None = None) -> Path:
    """Write ``spec_dir/remote-oauth-api.yml`` in ``dialect`` from ``spec_dir/seed/``; returns its path."""
    seed_path = spec_dir / SEED_FOLDER / SPEC_NAME
    try:
        seed = seed_path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise DialectError(f"no seed at {seed_path}") from None
    target = spec_dir / SPEC_NAME
    # Bytes, not text mode: the seed dialect must stay byte-identical on every platform.
    target.write_bytes(apply_dialect(seed, dialect, version).encode("utf-8"))
    return target
