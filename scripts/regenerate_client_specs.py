"""The specs in openapi/ and the stamp each package generated from one carries (``spec.py``).

A stamp records the spec's ``info.version``, the SHA-256 of the spec file and whether it was generated with
``--allow-unbumped``; beside it, ``openapi.json`` is the spec as parsed, which the next regeneration compares
against to say what changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

__all__ = [
    "PARSED_FILE",
    "STAMP_FILE",
    "DriftError",
    "Spec",
    "Stamp",
    "find_specs",
    "parsed_text",
    "previous_document",
    "read_spec",
    "read_stamp",
    "stamp_text",
    "still_unbumped",
    "unbumped_edits",
]

STAMP_FILE = "spec.py"
PARSED_FILE = "openapi.json"


@dataclass(frozen=True)
class Spec:
    """One spec file and the package generated from it."""

    path: Path
    version: str
    sha256: str
    document: dict[str, Any]
    """The spec as parsed (what ``openapi.json`` holds)."""

    @property
    def package(self) -> str:
        return self.path.stem.replace("-", "_")


@dataclass(frozen=True)
class Stamp:
    """What an existing package says it was generated from."""

    version: str
    sha256: str
    unbumped: bool


class DriftError(Exception):
    """generated_client/ does not match openapi/, or a spec cannot be generated from."""


def read_spec(path: Path) -> Spec:
    """The spec at ``path``, its version and digest.

    Raises:
        DriftError: it is not YAML, or has no ``info.version``.
    """
    data = path.read_bytes()
    try:
        document = YAML(typ="safe", pure=True).load(data)
    except YAMLError as err:
        raise DriftError(f"{path.name} is not valid YAML: {err}") from None
    info = document.get("info") if isinstance(document, dict) else None
    if not isinstance(info, dict) or not info.get("version"):
        raise DriftError(f"{path.name} has no info.version")
    # An unquoted date is a date to YAML; the version is its text either way.
    return Spec(
        path=path, version=str(info["version"]), sha256=hashlib.sha256(data).hexdigest(), document=document
    )


def find_specs(spec_dir: Path) -> list[Spec]:
    """Every ``*.yml`` spec in ``spec_dir`` (``config.yml`` is the generator's), by name."""
    return [read_spec(p) for p in sorted(spec_dir.glob("*.yml")) if p.name != "config.yml"]


def stamp_text(spec: Spec, *, unbumped: bool = False) -> str:
    """The ``spec.py`` of the package generated from ``spec``."""
    return (
        f'"""What this package was generated from; written by scripts/regenerate_client."""\n\n'
        f'SPEC_FILE = "{spec.path.name}"\n'
        f'SPEC_VERSION = "{spec.version}"\n'
        f'SPEC_SHA256 = "{spec.sha256}"\n'
        f"SPEC_UNBUMPED = {unbumped}\n"
        f'"""True when regenerated with --allow-unbumped: the spec changed without an info.version bump."""\n'
    )


def parsed_text(spec: Spec) -> str:
    """The spec as JSON, keys in the spec's order (dates, if any, as their ISO text)."""
    return json.dumps(spec.document, indent=2, ensure_ascii=False, default=str) + "\n"


def read_stamp(package_dir: Path) -> Stamp | None:
    """What ``package_dir``'s stamp says, or None without a (complete) stamp."""
    text = _read_text(package_dir / STAMP_FILE)
    found = dict(re.findall(r"^(SPEC_\w+) = \"?(.*?)\"?$", text, re.MULTILINE))
    if "SPEC_VERSION" not in found or "SPEC_SHA256" not in found:
        return None
    return Stamp(
        version=found["SPEC_VERSION"],
        sha256=found["SPEC_SHA256"],
        unbumped=found.get("SPEC_UNBUMPED") == "True",
    )


def _read_text(path: Path) -> str:
    """The file's text, or "" when there is none."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def still_unbumped(stamp: Stamp | None, spec: Spec) -> bool:
    """An --allow-unbumped regeneration stays on record while the spec is the one it was built from."""
    return stamp is not None and stamp.unbumped and stamp.sha256 == spec.sha256


def unbumped_edits(specs: list[Spec], out_dir: Path) -> list[Spec]:
    """Specs whose content changed since their package was built while ``info.version`` stayed the same."""
    edited = []
    for spec in specs:
        stamp = read_stamp(out_dir / spec.package)
        if stamp is not None and stamp.sha256 != spec.sha256 and stamp.version == spec.version:
            edited.append(spec)
    return edited


def previous_document(package_dir: Path) -> Mapping[str, Any] | None:
    """The parsed spec the package in ``package_dir`` was generated from, when it kept one."""
    try:
        loaded = json.loads(_read_text(package_dir / PARSED_FILE) or "null")
    except json.JSONDecodeError:
        return None
    return loaded if isinstance(loaded, dict) else None
