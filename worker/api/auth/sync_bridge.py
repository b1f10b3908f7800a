"""Token calls for ``httpx.Client`` (sync): run on the event loop ``RemoteOAuth`` lives on, from another thread.

``RemoteOAuth``, its Temporal client and its token cache belong to one event loop (the cache's single-flight
futures are that loop's). A sync client's thread cannot await, so it hands the coroutine to that loop
(``asyncio.run_coroutine_threadsafe``) and blocks until the answer comes. Even a cached token takes this hop:
the cache is not thread-safe, and a lookup from another thread could break an eviction running on the loop.
On the loop's own thread the wait would be a deadlock (the loop cannot fetch while it is blocked waiting), so
that is refused with what to do instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["LoopBridge"]

T = TypeVar("T")

_CHECK_EVERY = 1.0
"""Seconds between checks, while waiting, that the loop still runs (a stopped loop never answers)."""


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


class LoopBridge:
    """The event loop an auth object's token calls run on, and a blocking way to run them from other threads.

    The loop is ``loop`` if given, else the one running where the bridge is made (``oauth.auth()`` called in
    async code), else the first one an ``httpx.AsyncClient`` request runs on.
    """

    def __init__(self, owner: str, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._owner = owner
        self._loop = loop if loop is not None else _running_loop()

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    def adopt_running_loop(self) -> None:
        """Learn the loop from an async request, when it was not known at creation."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()

    def run(self, make: Callable[[], Awaitable[T]]) -> T:
        """``await make()`` on the loop and return its answer (or raise its error), blocking this thread.

        Raises:
            RuntimeError: called on the loop's own thread, no loop is known, or the loop is not running.
        """
        loop = self._usable_loop()
        future = asyncio.run_coroutine_threadsafe(_awaited(make), loop)
        try:
            while not future.done():
                concurrent.futures.wait([future], timeout=_CHECK_EVERY)
                if not future.done() and not loop.is_running():
                    raise RuntimeError(
                        f"{self._owner}: the event loop RemoteOAuth runs on stopped before the token came; "
                        "keep it running while sync clients use it"
                    )
            return future.result()
        finally:
            future.cancel()  # does nothing once done; else the loop does not keep working for nobody

    def _usable_loop(self) -> asyncio.AbstractEventLoop:
        here, loop = _running_loop(), self._loop
        if here is not None and (loop is None or here is loop):
            raise RuntimeError(
                f"{self._owner} with a sync httpx.Client on the event loop's own thread would block the loop "
                "that has to fetch the token (a deadlock): use httpx.AsyncClient in async code, or run the "
                "sync code in another thread (await asyncio.to_thread(...))"
            )
        if loop is None:
            raise RuntimeError(
                f"{self._owner} does not know the event loop RemoteOAuth runs on: create it in async code on "
                "that loop (then hand it to the thread), or pass loop="
            )
        if loop.is_closed() or not loop.is_running():
            raise RuntimeError(
                f"{self._owner}: the event loop RemoteOAuth runs on is not running; a sync httpx.Client "
                "needs it running in another thread (e.g. call the sync code with asyncio.to_thread)"
            )
        return loop
