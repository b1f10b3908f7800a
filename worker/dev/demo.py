"""``remote-oauth dev --demo N``: onboard N synthetic companies and watch their tokens live.

Each company goes through the real path a browser takes (``/connect/{ref}`` on the web app, the sandbox's
authorize endpoint approving at once, the callback), then a status table redraws in place every
``interval`` seconds; with a short sandbox token lifetime (``--token-ttl 60``) refreshes show within a minute.
A company already connected (a second ``--demo`` on the same data) is kept as it is, not connected again.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

import httpx

from worker.api import RemoteOAuth
from workflows.io.connect_session import KEYGEN_HINT
from workflows.types.company import CompanyStatus
from workflows.types.errors import ConfigurationError, RemoteOAuthError

__all__ = ["Onboarded", "Summary", "connect_link", "demo", "demo_refs", "onboard_all", "render", "summarize"]

_MAX_ROWS = 12


def demo_refs(count: int) -> list[str]:
    return [f"demo-{i:03d}" for i in range(1, count + 1)]


@dataclass(frozen=True)
class Summary:
    """What the live table shows."""

    rows: tuple[CompanyStatus, ...]
    counts: tuple[tuple[str, int], ...]
    """(state, companies in it), most common first."""
    refreshes: int
    errors: int
    """Companies whose last gateway call failed (they retry on their own)."""
    next_refresh: CompanyStatus | None


def summarize(rows: Sequence[CompanyStatus]) -> Summary:
    counts = Counter(str(row.phase) for row in rows)
    upcoming = [row for row in rows if row.next_refresh_at is not None]
    return Summary(
        rows=tuple(rows),
        counts=tuple(counts.most_common()),
        refreshes=sum(row.refreshes for row in rows),
        errors=sum(1 for row in rows if row.last_error),
        next_refresh=min(upcoming, key=lambda r: r.next_refresh_at or datetime.max.replace(tzinfo=UTC))
        if upcoming
        else None,
    )


def _until(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    seconds = (moment - now).total_seconds()
    return f"in {seconds:.0f} s" if seconds >= 0 else f"{-seconds:.0f} s ago"


def headline(summary: Summary, now: datetime) -> str:
    """One line: state counts, next refresh, refreshes done, errors."""
    states = ", ".join(f"{state} {n}" for state, n in summary.counts) or "no companies yet"
    nxt = summary.next_refresh
    when = f"{nxt.company_ref} {_until(nxt.next_refresh_at, now)}" if nxt else "-"
    return f"{states} | next refresh: {when} | refreshes done: {summary.refreshes} | errors: {summary.errors}"


def render(summary: Summary, now: datetime) -> list[str]:
    """The table: a headline, then one row per company (the first few)."""
    lines = [f"{now:%H:%M:%S}  {headline(summary, now)}", ""]
    header = ("COMPANY", "STATE", "EXPIRES", "NEXT REFRESH", "REFRESHES", "LAST ERROR")
    cells = [header] + [
        (
            s.company_ref,
            str(s.phase),
            _until(s.expires_at, now),
            _until(s.next_refresh_at, now),
            str(s.refreshes),
            (s.last_error or "-")[:50],
        )
        for s in summary.rows[:_MAX_ROWS]
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    if len(summary.rows) > _MAX_ROWS:
        lines.append(f"... and {len(summary.rows) - _MAX_ROWS} more (remote-oauth status)")
    return lines


async def connect_link(oauth: RemoteOAuth, ref: str) -> str | None:
    """The signed link an admin's browser would open for ``ref``, or None when it needs no consent.

    Raises:
        ConfigurationError: no ``REMOTE_OAUTH_CONNECT_KEYS`` to sign links with.
    """
    link = await oauth.onboard(ref)
    if link.authorize_url is None:
        return None
    if link.connect_url is None:
        raise ConfigurationError(f"the demo needs connect links: {KEYGEN_HINT}")
    return link.connect_url


@dataclass(frozen=True)
class Onboarded:
    """What onboarding the demo companies did."""

    connected: tuple[str, ...]
    """Companies that consented now."""
    kept: tuple[str, ...]
    """Companies that were connected already (data of an earlier run)."""
    problems: tuple[str, ...]
    """One line per company that could not be connected."""


async def onboard_all(oauth: RemoteOAuth, refs: Sequence[str], *, concurrency: int = 8) -> Onboarded:
    """Follow each company's connect link like a browser would, skipping companies connected already."""
    limit = asyncio.Semaphore(concurrency)
    connected: list[str] = []
    kept: list[str] = []
    problems: list[str] = []

    async def one(http: httpx.AsyncClient, ref: str) -> None:
        async with limit:
            try:
                url = await connect_link(oauth, ref)
                if url is None:
                    kept.append(ref)
                    return
                page = await http.get(url)
            except RemoteOAuthError as err:
                problems.append(f"{ref}: {err}")
                return
            except httpx.HTTPError as err:
                problems.append(f"{ref}: {type(err).__name__}")
                return
            if page.status_code != 200 or "Connected" not in page.text:
                problems.append(f"{ref}: the connect flow ended with HTTP {page.status_code}")
            else:
                connected.append(ref)

    async with httpx.AsyncClient(follow_redirects=True, timeout=30.0, trust_env=False) as http:
        await asyncio.gather(*(one(http, ref) for ref in refs))
    return Onboarded(tuple(sorted(connected)), tuple(sorted(kept)), tuple(sorted(problems)))


class _Screen:
    """Redraws in place on a terminal (ANSI); prints a line per change otherwise (logs, pipes)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._tty = out.isatty()
        self._drawn = 0
        self._last = ""

    def show(self, summary: Summary, now: datetime) -> None:
        if self._tty:
            lines = render(summary, now)
            up = f"\x1b[{self._drawn}F" if self._drawn else ""
            self._out.write(up + "\x1b[J" + "\n".join(lines) + "\n")
            self._drawn = len(lines)
        else:
            states = ", ".join(f"{s} {n}" for s, n in summary.counts)
            key = f"{states} | refreshes done: {summary.refreshes} | errors: {summary.errors}"
            if key == self._last:
                return
            self._last = key
            self._out.write(f"{now:%H:%M:%S}  {headline(summary, now)}\n")
        self._out.flush()

    def note(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()
        self._drawn = 0


async def demo(oauth: RemoteOAuth, count: int, out: TextIO, *, interval: float = 1.5) -> None:
    """Onboard ``count`` companies, then redraw their status every ``interval`` seconds until cancelled."""
    screen = _Screen(out)
    refs = demo_refs(count)
    screen.note(f"demo: onboarding {count} companies ({refs[0]} ...) through the sandbox's auto-approve")
    try:
        done = await onboard_all(oauth, refs)
    except Exception as err:  # shown, and the table still runs: the companies may connect later
        screen.note(f"demo: onboarding failed ({type(err).__name__}: {err})")
    else:
        kept = f", {len(done.kept)} connected already (kept)" if done.kept else ""
        screen.note(f"demo: {len(done.connected)} connected now{kept}, {len(done.problems)} failed")
        for problem in done.problems:
            screen.note(f"demo: {problem}")
    while True:
        try:
            rows = await oauth.list()  # every company, so one connected by hand shows too
        except Exception as err:  # a failed poll is shown and retried, never fatal
            screen.note(f"demo: status unavailable ({type(err).__name__}: {err})")
        else:
            screen.show(summarize(rows), datetime.now(UTC))
        await asyncio.sleep(interval)
