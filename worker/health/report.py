"""What one check found, and the two ways doctor prints its findings (lines for people, JSON for scripts).

Every text here is built by the checks from settings names, counts, key ids, HTTP statuses and exception
type names, never from a secret's value; gateway text is quoted only after the activities' redaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from workflows.types.untrusted import printable

__all__ = ["Check", "Status", "failed", "passed", "render_json", "render_text", "skipped"]


class Status(StrEnum):
    """How a check ended."""

    OK = "ok"
    FAIL = "fail"
    SKIP = "skip"
    """Not run: nothing to check (no webhook), or an earlier check it needs failed."""


_MARK = {Status.OK: "✓", Status.FAIL: "✗", Status.SKIP: "-"}


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    """Short and stable (``settings``, ``temporal``, ``client-credentials``...): scripts key on it."""
    status: Status
    detail: str
    """What was found."""
    fix: str = ""
    """What to do next; every failure has one."""

    def __post_init__(self) -> None:
        if self.status is Status.FAIL and not self.fix:
            raise ValueError(f"check {self.name!r} failed without saying what to do")


def passed(name: str, detail: str) -> Check:
    return Check(name, Status.OK, detail)


def failed(name: str, detail: str, fix: str) -> Check:
    return Check(name, Status.FAIL, detail, fix)


def skipped(name: str, detail: str) -> Check:
    return Check(name, Status.SKIP, detail)


def render_text(checks: Sequence[Check]) -> str:
    """``✓ name: detail``, ``✗ name: detail`` then ``  fix: ...``, ``- name: detail``; a summary line last."""
    lines: list[str] = []
    for check in checks:
        lines.append(f"{_MARK[check.status]} {check.name}: {printable(check.detail, 400)}")
        if check.fix:
            lines.append(f"    fix: {printable(check.fix, 1000)}")
    failures = sum(check.status is Status.FAIL for check in checks)
    lines.append("all checks passed" if not failures else f"{failures} of {len(checks)} checks failed")
    return "\n".join(lines)


def render_json(checks: Sequence[Check]) -> str:
    """``{"ok": bool, "checks": [{"name", "status", "detail", "fix"}...]}``."""
    document = {
        "ok": all(check.status is not Status.FAIL for check in checks),
        "checks": [
            {"name": c.name, "status": str(c.status), "detail": c.detail, "fix": c.fix} for c in checks
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
