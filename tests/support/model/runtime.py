"""A workflow runtime of our own, so the real workflow classes run in-process with no Temporal server.

Temporal's Python SDK reaches its runtime through ``temporalio.workflow._Runtime.current()`` (an attribute of
the running event loop, here a property that activity tasks do not see). ``ModelRuntime`` implements the part our workflows use (time, random, timers and
conditions, activities, search attributes, patches, continue-as-new, handler bookkeeping) on a clock that
moves only when the model says so; anything else fails loudly. This is the SDK's internal extension point
(pinned by the lock file): when an SDK bump changes it, this module is the one to adapt.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from random import Random
from typing import Any, NoReturn, cast

from temporalio import workflow
from temporalio.common import MetricMeter, TypedSearchAttributes

__all__ = ["ActivityCall", "ContinuedAsNew", "ModelLoop", "ModelRuntime"]


class ContinuedAsNew(Exception):
    """The run ended by continuing as new with ``input``."""

    def __init__(self, input: object) -> None:
        super().__init__("continued as new")
        self.input = input


@dataclass(frozen=True)
class ActivityCall:
    """An activity the workflow started: its method name, argument and options."""

    name: str
    arg: object
    options: dict[str, Any] = field(repr=False)


@dataclass(order=True)
class _Timer:
    deadline: datetime
    seq: int
    future: asyncio.Future[None] = field(compare=False)


class _Info:
    """The slice of ``workflow.Info`` our workflows read."""

    def __init__(self, runtime: ModelRuntime) -> None:
        self._runtime = runtime

    def is_continue_as_new_suggested(self) -> bool:
        return self._runtime.suggest_continue_as_new

    @property
    def typed_search_attributes(self) -> TypedSearchAttributes:
        """As the model starts workflows: without search attributes (the first state is upserted)."""
        return TypedSearchAttributes.empty


class ModelRuntime(workflow._Runtime):
    """Time, randomness, timers and activities of one workflow, driven by a test."""

    def __init__(self, loop: ModelLoop, now: datetime, *, seed: int) -> None:
        super().__init__()
        self.loop = loop
        self.now = now
        self.random = Random(seed)  # noqa: S311 - workflow.random() is not for secrets either
        self.suggest_continue_as_new = False
        self.handlers: set[asyncio.Task[Any]] = set()
        """Running update handlers: ``all_handlers_finished`` waits for them."""
        self.search_attributes: list[object] = []
        self.patches: set[str] = set()
        self.start_activity: Callable[[ActivityCall], Awaitable[Any]] = _no_activities
        """Runs an activity the workflow started and returns its result (the world sets it)."""
        self._timers: list[_Timer] = []
        self._conditions: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._seq = itertools.count()
        loop.model_runtime = self

    # -- what the model drives -----------------------------------------------------------------------

    def next_deadline(self) -> datetime | None:
        """When the earliest pending timer fires (None without one)."""
        live = [t for t in self._timers if not t.future.done()]
        return min(live).deadline if live else None

    def fire_due(self, until: datetime) -> bool:
        """Fire the earliest timer due by ``until`` (the clock moves to it); False when none is due."""
        while self._timers:
            timer = heapq.heappop(self._timers)
            if timer.future.done():
                continue
            if timer.deadline > until:
                heapq.heappush(self._timers, timer)
                return False
            self.now = max(self.now, timer.deadline)
            timer.future.set_exception(TimeoutError())
            return True
        return False

    def check_conditions(self) -> bool:
        """Resolve every waited condition that holds now, as Temporal does after each activation; True if
        any did."""
        woke = False
        for fn, future in list(self._conditions):
            if not future.done() and fn():
                future.set_result(None)
                woke = True
        return woke

    # -- the SDK's runtime interface ------------------------------------------------------------------

    @property
    def logger_details(self) -> dict[str, Any]:
        return {}

    def workflow_time_ns(self) -> int:
        return int(self.now.timestamp()) * 10**9 + self.now.microsecond * 1000

    def workflow_random(self) -> Random:
        return self.random

    def workflow_info(self) -> workflow.Info:
        return cast(workflow.Info, _Info(self))

    def workflow_is_continue_as_new_suggested(self) -> bool:
        return self.suggest_continue_as_new

    def workflow_metric_meter(self) -> MetricMeter:
        return MetricMeter.noop

    def workflow_is_replaying(self) -> bool:
        return False

    def workflow_is_replaying_history_events(self) -> bool:
        return False

    def workflow_patch(self, id: str, *args: Any, **kwargs: Any) -> bool:
        self.patches.add(id)
        return True

    def workflow_all_handlers_finished(self) -> bool:
        return all(task.done() for task in self.handlers)

    def workflow_upsert_search_attributes(self, attributes: Any, *args: Any, **kwargs: Any) -> None:
        self.search_attributes.extend(attributes)

    def workflow_continue_as_new(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ContinuedAsNew(args[0])

    def workflow_start_activity(self, activity: Any, *args: Any, **options: Any) -> Any:
        call = ActivityCall(name=activity.__name__, arg=args[0], options=options)
        return self.loop.create_task(_as_activity(self.start_activity(call)))

    async def workflow_wait_condition(
        self,
        fn: Callable[[], bool],
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109 - the SDK's interface
        **kwargs: Any,
    ) -> None:
        future: asyncio.Future[None] = self.loop.create_future()
        entry = (fn, future)
        self._conditions.append(entry)
        if timeout is not None:
            deadline = self.now + timedelta(seconds=timeout)
            heapq.heappush(self._timers, _Timer(deadline, next(self._seq), future))
        try:
            await future
        finally:
            self._conditions.remove(entry)
            if not future.done():
                future.cancel()

    async def workflow_sleep(self, duration: float, *args: Any, **kwargs: Any) -> None:
        try:
            await self.workflow_wait_condition(lambda: False, timeout=duration)
        except TimeoutError:
            return


async def _no_activities(call: ActivityCall) -> Any:
    raise AssertionError(f"no activities here: {call.name}")


_IN_ACTIVITY = contextvars.ContextVar("model_in_activity", default=False)
"""True in the tasks that run an activity (and the tasks they start): on the workflow's loop, not its code."""


class ModelLoop(asyncio.SelectorEventLoop):
    """An event loop whose workflow runtime only workflow code sees: an activity running on it is not in a
    workflow (``workflow.in_workflow()`` is False there, as in a real worker's activity)."""

    model_runtime: ModelRuntime | None = None


def _runtime_of(loop: ModelLoop) -> ModelRuntime | None:
    return None if _IN_ACTIVITY.get() else loop.model_runtime


# The attribute the SDK reads (``_Runtime.maybe_current``), answered per task instead of per loop.
setattr(ModelLoop, "__temporal_workflow_runtime", property(_runtime_of))


async def _as_activity(result: Awaitable[Any]) -> Any:
    _IN_ACTIVITY.set(True)
    return await result


def _unsupported(name: str) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"the model's workflow runtime does not support {name}")

    return fail


# Our workflows use only the methods above; every other part of the interface fails loudly if reached.
for _name in ModelRuntime.__abstractmethods__ - set(vars(ModelRuntime)):
    setattr(ModelRuntime, _name, _unsupported(_name))
ModelRuntime.__abstractmethods__ = frozenset()
