"""The file ``remote-oauth import`` reads: JSON lines or CSV, every row checked before anything is imported.

Pure: text in, rows or problems out. A problem names its line and field and never the value, because the
value might be a refresh token (a CSV whose columns are swapped, or whose header row is missing, puts tokens
where names belong). Fields: ``ref`` and ``refresh_token`` (required), ``company_id`` and ``user_id``
(UUIDs), ``scope`` (space-separated scope tokens), ``expires_at`` (ISO 8601 with an offset) and ``meta``
(a JSON object of strings in JSON lines; ``k=v;k=v`` in CSV).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from worker.api import ImportedCompany
from worker.api.companies.imports import MAX_REFRESH_TOKEN
from worker.cli.checks import ref_problem, uuid_form
from workflows.types.connection import check_scope, validate_metadata

__all__ = ["FIELDS", "REQUIRED", "Format", "ImportFileError", "ImportRow", "format_of", "parse"]

FIELDS = ("ref", "refresh_token", "company_id", "user_id", "scope", "expires_at", "meta")
REQUIRED = ("ref", "refresh_token")

_TOKEN = re.compile(r"[\x21-\x7e]+")  # visible ASCII, no spaces: a token is one word
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
_UUID_EXAMPLE = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
_Bad = Callable[[str], None]
"""Records one problem of the row being read."""


class Format(StrEnum):
    """The formats ``import`` reads."""

    JSONL = "jsonl"
    CSV = "csv"


_BY_SUFFIX = {".jsonl": Format.JSONL, ".json": Format.JSONL, ".csv": Format.CSV}


class ImportFileError(Exception):
    """The file cannot be imported; ``problems`` lists why, one line each (line numbers, never values)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


@dataclass(frozen=True)
class ImportRow:
    """One company of the file, checked; ``line`` is where it starts (for messages)."""

    line: int
    ref: str
    refresh_token: str = field(repr=False)
    company_id: str | None = None
    user_id: str | None = None
    scope: str | None = None
    expires_at: datetime | None = None
    meta: Mapping[str, str] = field(default_factory=dict)

    def company(self) -> ImportedCompany:
        """What ``RemoteOAuth.import_company`` takes."""
        return ImportedCompany(
            company_ref=self.ref,
            refresh_token=self.refresh_token,
            company_id=self.company_id,
            user_id=self.user_id,
            scope=self.scope,
            expires_at=self.expires_at,
            metadata=self.meta,
        )


def format_of(source: str, given: Format | None) -> Format:
    """``given``, else the format the file name's extension says; stdin (``-``) must be told.

    Raises:
        ImportFileError: neither says.
    """
    if given is not None:
        return given
    if source == "-":
        raise ImportFileError(
            ["stdin has no file name to tell its format: add --format jsonl or --format csv"]
        )
    for suffix, found in _BY_SUFFIX.items():
        if source.lower().endswith(suffix):
            return found
    raise ImportFileError([f"{source}: name it .jsonl, .json or .csv, or add --format jsonl|csv"])


def parse(text: str, fmt: Format) -> list[ImportRow]:
    """Every row of ``text``; all of them valid, or ``ImportFileError`` with every problem found.

    Raises:
        ImportFileError: a row is malformed, a field unknown or invalid, a ref repeated, or no row at all.
    """
    problems: list[str] = []
    rows: list[ImportRow] = []
    seen: dict[str, int] = {}
    records = _jsonl(text, problems) if fmt is Format.JSONL else _csv(text, problems)
    for line, record in records:
        row = _row(line, record, problems)
        if row is None:
            continue
        if row.ref in seen:
            problems.append(f"line {line}: ref repeats the ref of line {seen[row.ref]} (one row a company)")
            continue
        seen[row.ref] = line
        rows.append(row)
    if not rows and not problems:
        problems.append("no company in the file (one row a company, and a header row in CSV)")
    if problems:
        raise ImportFileError(problems)
    return rows


def _jsonl(text: str, problems: list[str]) -> Iterator[tuple[int, dict[str, object]]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as err:  # its message names a position, never the text
            problems.append(f"line {number}: not JSON ({err.msg} at column {err.colno})")
            continue
        if not isinstance(record, dict):
            problems.append(f"line {number}: not a JSON object (one object a line)")
            continue
        unknown = [key for key in record if key not in FIELDS]
        if unknown:
            names = ", ".join(repr(key) if _NAME.fullmatch(key) else "(a long name)" for key in unknown)
            problems.append(f"line {number}: unknown field(s) {names}; the fields are {', '.join(FIELDS)}")
            continue
        yield number, {key: value for key, value in record.items() if value is not None}


def _csv(text: str, problems: list[str]) -> Iterator[tuple[int, dict[str, object]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = _header(line, [cell.strip() for cell in cells], problems)
                if header is None:
                    return
                continue
            if len(cells) != len(header):
                problems.append(f"line {line}: {len(cells)} fields where the header has {len(header)}")
                continue
            yield line, {name: cell.strip() for name, cell in zip(header, cells, strict=True) if cell.strip()}
    except csv.Error:  # its message may quote the line
        problems.append(f"line {start}: not valid CSV (an unclosed quote or a NUL character?)")


def _header(line: int, names: list[str], problems: list[str]) -> list[str] | None:
    """The header's field names, or None after saying why not (by column number: a missing header row
    makes the first company's cells the names, its refresh token among them)."""
    unknown = [str(n) for n, name in enumerate(names, start=1) if name not in FIELDS]
    repeated = [str(n) for n, name in enumerate(names, start=1) if name in names[: n - 1]]
    missing = [name for name in REQUIRED if name not in names]
    if unknown:
        problems.append(
            f"line {line}: header column(s) {', '.join(unknown)} name no field; the fields are "
            f"{', '.join(FIELDS)}" + (" (is the header row missing?)" if missing else "")
        )
    elif repeated:
        problems.append(f"line {line}: header column(s) {', '.join(repeated)} repeat a field")
    elif missing:
        problems.append(f"line {line}: the header must name {' and '.join(missing)}")
    else:
        return names
    return None


def _row(line: int, record: dict[str, object], problems: list[str]) -> ImportRow | None:
    found = len(problems)

    def bad(message: str) -> None:
        problems.append(f"line {line}: {message}")

    def text(name: str) -> str | None:
        value = record.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if name in REQUIRED:
                bad(f"{name} is missing")
            return None
        if not isinstance(value, str):
            bad(f"{name} must be a string")
            return None
        return value.strip()

    ref, token = text("ref"), text("refresh_token")
    if ref is not None and ref_problem(ref) is not None:
        bad("ref must be 1-128 letters, digits or . _ @ : - (starting with a letter or digit)")
    if token is not None and (len(token) > MAX_REFRESH_TOKEN or not _TOKEN.fullmatch(token)):
        bad(
            f"refresh_token must be one token: no spaces or control characters, at most {MAX_REFRESH_TOKEN} long"
        )
    company_id = _uuid(text("company_id"), "company_id", bad)
    user_id = _uuid(text("user_id"), "user_id", bad)
    scope = text("scope")
    if scope is not None:
        try:
            scope = check_scope(scope)
        except ValueError:  # its message quotes the value
            bad("scope must be scope tokens separated by spaces, like 'company:read employment:write'")
    expires_at = _moment(text("expires_at"), bad)
    meta = _meta(record.get("meta"), bad)
    if len(problems) > found or ref is None or token is None:
        return None
    return ImportRow(
        line=line,
        ref=ref,
        refresh_token=token,
        company_id=company_id,
        user_id=user_id,
        scope=scope,
        expires_at=expires_at,
        meta=meta,
    )


def _uuid(value: str | None, name: str, bad: _Bad) -> str | None:
    if value is None:
        return None
    canonical = uuid_form(value)
    if canonical is None:
        bad(f"{name} must be a UUID like {_UUID_EXAMPLE}")
    return canonical


def _moment(value: str | None, bad: _Bad) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        bad("expires_at must be an ISO 8601 time with an offset, like 2026-11-29T18:00:00+00:00")
        return None
    return moment


def _meta(value: object, bad: _Bad) -> dict[str, str]:
    """``meta`` as a mapping: a JSON object of strings, or CSV's ``k=v;k=v``."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        pairs = [part.partition("=") for part in value.split(";") if part.strip()]
        if not all(eq and key.strip() for key, eq, _ in pairs):
            bad("meta must be key=value pairs separated by ;")
            return {}
        meta = {key.strip(): val.strip() for key, _, val in pairs}
        if len(meta) != len(pairs):
            bad("meta names a key twice")
            return {}
    elif isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        meta = {str(key): str(val) for key, val in value.items()}
    else:
        bad("meta must be a JSON object of strings")
        return {}
    try:
        return validate_metadata(meta)
    except ValueError as err:  # names a key (the partner's own name), never a value
        bad(f"meta: {err}")
        return {}
