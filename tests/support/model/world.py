"""One workflow of ours running in-process on ``ModelRuntime``, with its real activities and the fake gateway.

A ``World`` owns an event loop of its own. Every step the model takes ends with ``settle()``: the loop runs
until nothing is ready and no awaited condition holds, so the workflow is where Temporal would leave it after
the step's workflow tasks. Token requests made during a step are answered as the step says, or held into
later steps: that is how a 401 or a timer arrives while a refresh is in flight.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Self, TypeVar, cast

from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from tests.support.model.activities import Ledger, ModelActivities
from tests.support.model.gateway import CLIENT_SECRET, Answer, FakeGateway
from tests.support.model.runtime import ContinuedAsNew, ModelLoop, ModelRuntime
from workflows.types.errors import ErrorType
from workflows.types.kept_token import CarryForward, FreshnessRequest, token_digest
from workflows.types.tokens import TokenGrant

__all__ = ["T0", "Ask", "World"]

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TYPED = frozenset(str(t) for t in ErrorType)
In = TypeVar("In")
T = TypeVar("T")


@dataclass
class Ask:
    """One ``ensure_fresh`` a caller made, and how it ended."""

    min_ttl: float
    rejected: str | None
    """The access token the caller reported a 401 for."""
    outcome: tuple[object, ...] = ("pending",)
    """``("token", grant)``, ``("failed", type, message)`` or ``("refused", message)`` (the validator)."""
    at: datetime | None = None
    """Workflow time when it ended."""


class World(Generic[In]):
    """A workflow of type ``cls`` started with an ``In``, driven by the model step by step."""

    cls: Any
    restarts = False
    """A caller reaching a workflow that ended starts it again (``begin``), as the API's update-with-start."""

    def __init__(
        self,
        *,
        now: datetime = T0,
        gateway: FakeGateway | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.loop = ModelLoop()
        self.gateway = gateway or FakeGateway()
        self.ledger = ledger or Ledger()
        # Abstract only to mypy: the methods our workflows never call are filled in when runtime.py loads.
        self.runtime = ModelRuntime(self.loop, now, seed=0)  # type: ignore[abstract]
        self.acts = ModelActivities(self.runtime, self.gateway, self.ledger)
        self.runtime.start_activity = self.acts
        self.asks: list[Ask] = []
        self.wf: Any = None
        self.start_input: In | None = None
        self.run: asyncio.Task[Any] | None = None
        self.ended: object = None
        self._logs = _Texts(self.ledger.texts)
        logging.getLogger().addHandler(self._logs)

    # -- the workflow's life --------------------------------------------------------------------------

    def start(self, start: In, *, random_state: object = None) -> None:
        """Construct the workflow and start its run (``random_state``: the sequence to go on with)."""

        async def boot() -> None:
            self.wf = self.cls(start)
            if random_state is not None:
                self.runtime.random.setstate(random_state)  # type: ignore[arg-type]  # from getstate()
            self.run = self.loop.create_task(self.wf.run(start))

        self.start_input, self.ended = start, None
        self.loop.run_until_complete(boot())
        self.settle()

    @property
    def running(self) -> bool:
        return self.run is not None and not self.run.done()

    @property
    def quiet(self) -> bool:
        """Where a run loop could continue as new: no handler running, no grant in flight."""
        return self.running and self.ledger.in_flight == 0 and self.runtime.workflow_all_handlers_finished()

    def settle(self) -> None:
        """Run the loop until the workflow waits on something only the model can give; a run that continued
        as new starts its next run from the input it passed (through the payload converter, as Temporal does)."""
        self.loop.run_until_complete(self._settle())
        run = self.run
        if run is None or not run.done() or run.cancelled():
            return
        error = run.exception()
        if isinstance(error, ContinuedAsNew):
            # The new run's random sequence goes on where the old one was (Temporal reseeds; any sequence is
            # one it could draw), so a twin that continued at another moment draws the same numbers.
            state = self.runtime.random.getstate()
            self.start(cast(In, round_trip(error.input)), random_state=state)
        elif error is not None:
            self.ledger.problems.append(f"the workflow run raised {error!r}")
        else:
            self.ended = run.result()

    async def _settle(self) -> None:
        ready = self.loop._ready  # type: ignore[attr-defined]  # CPython's queue of callbacks due now
        for _ in range(100_000):
            await asyncio.sleep(0)
            if not self.runtime.check_conditions() and not ready:
                return
        raise AssertionError("the workflow never settled")

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """A synchronous workflow method (validator, query, signal) inside the workflow's loop."""

        async def inside() -> Any:
            return fn(*args)

        return self.loop.run_until_complete(inside())

    def update(
        self,
        validator: Callable[[Any], None],
        handler: Callable[..., Any],
        arg: object,
        *,
        done: Callable[[asyncio.Task[Any]], None],
    ) -> BaseException | None:
        """Validate, then run ``handler`` as an update handler (``done`` sees it end); the validator's error
        when it refused (Temporal then writes nothing)."""

        async def accept() -> BaseException | None:
            try:
                validator(arg)
            except Exception as err:  # a validator refuses with any exception
                return err
            task = self.loop.create_task(handler(arg))
            self.runtime.handlers.add(task)
            task.add_done_callback(lambda task: None if task.cancelled() else done(task))
            return None

        refused = self.loop.run_until_complete(accept())
        self.settle()
        return refused

    # -- callers --------------------------------------------------------------------------------------

    def ask(self, min_ttl: float) -> None:
        """A caller asks for a token valid ``min_ttl`` seconds."""
        self._ensure_fresh(FreshnessRequest(min_ttl_seconds=min_ttl), Ask(min_ttl, None))

    def report_401(self, back: int) -> None:
        """A Remote API answered 401 to a token a caller was handed (``back`` = 0: the newest)."""
        seen = self.seen()
        token = seen[max(0, len(seen) - 1 - back)]
        request = FreshnessRequest(rejected_token_sha256=token_digest(token))
        self._ensure_fresh(request, Ask(request.min_ttl_seconds, token.access_token))

    def seen(self) -> list[TokenGrant]:
        """Tokens callers were handed, the newest last."""
        tokens: list[TokenGrant] = []
        for ask in self.asks:
            if ask.outcome[0] == "token" and ask.outcome[1] not in tokens:
                tokens.append(ask.outcome[1])  # type: ignore[arg-type]  # a TokenGrant
        return tokens

    def begin(self) -> None:
        """Start the workflow afresh."""
        raise NotImplementedError

    def _ensure_fresh(self, request: FreshnessRequest, ask: Ask) -> None:
        if self.restarts and not self.running:
            self.begin()
        self.asks.append(ask)

        def done(task: asyncio.Task[Any]) -> None:
            ask.at, error = self.runtime.now, task.exception()
            if isinstance(error, ApplicationError):
                ask.outcome = ("failed", error.type, error.message)
                self.ledger.texts.append(error.message)
            elif error is not None:
                ask.outcome = ("failed", type(error).__name__, str(error))
                self.ledger.problems.append(f"ensure_fresh raised {error!r}, not an ApplicationError")
            else:
                ask.outcome = ("token", task.result())

        refused = self.update(self.wf._validate_ensure_fresh, self.wf.ensure_fresh, request, done=done)
        if refused is not None:
            ask.outcome, ask.at = ("refused", str(refused)), self.runtime.now
            self.ledger.texts.append(str(refused))

    def carry_forward(self) -> None:
        """The signal ``remote-oauth rotate-keys`` sends: continue as new at the next safe point."""
        self.call(self.wf.carry_forward, CarryForward())
        self.settle()

    # -- time and the gateway ------------------------------------------------------------------------

    def next_wake(self) -> datetime | None:
        return self.runtime.next_deadline()

    def advance(self, to: datetime) -> None:
        """Let time pass to ``to``, firing every timer on the way (each at its own moment)."""
        while self.runtime.fire_due(to):
            self.settle()
        self.runtime.now = max(self.runtime.now, to)
        self.settle()

    def step(self, answer: Answer, action: Callable[[], T]) -> T:
        """Take ``action``, then let the gateway answer with ``answer`` every request in flight and every
        request made meanwhile; with a ``hold`` answer they stay in flight into the next step."""
        self.acts.answering = None if answer.kind == "hold" else answer
        try:
            done = action()
            while self.acts.answering is not None and self.acts.held:
                self.acts.answer_held(self.acts.answering)
                self.settle()
            return done
        finally:
            self.acts.answering = None

    # -- invariants -----------------------------------------------------------------------------------

    def check(self) -> None:
        """Nothing broke inside a step; every caller got a token that answers its request or a typed
        failure; no secret reached any text the outside sees (each workflow adds its own invariants)."""
        assert self.ledger.problems == [], self.ledger.problems
        for ask in self.asks:
            _check_answer(ask)
        secrets = [CLIENT_SECRET, *self.gateway.issued]
        leaks = [(s, t[:60]) for t in self.ledger.texts for s in secrets if s in t]
        assert leaks == []

    def observed(self) -> tuple[object, ...]:
        """What the outside can see, for comparing a twin with its original (each workflow adds its own)."""
        asks = [(ask.outcome, ask.at) for ask in self.asks]
        return asks, list(self.gateway.requests), len(self.acts.held), self.ended

    # -- twins and the end ----------------------------------------------------------------------------

    def restarted_input(self) -> In:
        """What the run would hand the next one, were it to continue as new now."""
        raise NotImplementedError

    def twin(self, start: In) -> Self:
        """A world where the workflow continued as new with ``start`` just now: the same gateway, clock,
        ledger and random sequence, so only what the new run was handed can make it behave differently."""
        other = type(self)(
            now=self.runtime.now, gateway=copy.deepcopy(self.gateway), ledger=copy.deepcopy(self.ledger)
        )
        other.asks = [dataclasses.replace(ask) for ask in self.asks]
        other.start(round_trip(start), random_state=self.runtime.random.getstate())
        return other

    def close(self) -> None:
        logging.getLogger().removeHandler(self._logs)

        async def stop() -> None:
            tasks = [t for t in asyncio.all_tasks(self.loop) if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.acts.http.aclose()

        self.loop.run_until_complete(stop())
        self.loop.model_runtime = None
        self.loop.close()


class _Texts(logging.Handler):
    """Keeps every log line emitted while the world runs, for the leak check."""

    def __init__(self, texts: list[str]) -> None:
        super().__init__()
        self.texts = texts

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage())


def _check_answer(ask: Ask) -> None:
    """A token handed out answers the request that asked for it; anything else is a typed failure."""
    kind = ask.outcome[0]
    if kind == "token":
        token = ask.outcome[1]
        assert isinstance(token, TokenGrant)
        assert ask.at is not None
        if ask.rejected is not None:
            assert token.access_token != ask.rejected, "handed back the token the caller saw rejected"
        else:
            left = token.ttl(ask.at)
            assert left >= timedelta(seconds=ask.min_ttl), f"handed out a token with {left} left"
    elif kind == "failed":
        assert ask.outcome[1] in TYPED, f"ensure_fresh failed with an untyped {ask.outcome[1]}"


def round_trip(value: T) -> T:
    """``value`` written and read back by the default payload converter, as history stores it."""
    converter = DataConverter.default.payload_converter
    restored: T = converter.from_payloads(converter.to_payloads([value]), [type(value)])[0]
    return restored
