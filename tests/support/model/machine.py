"""The steps every workflow's model shares: callers asking, time passing, key rotation's carry-forward, and
continue-as-new with a twin.

A machine holds one world, and right after a ``continue_as_new`` step two: the original and a twin that
continued as new from the memory the run carries. The next step runs in both and must end the same way
(what it returned, what the outside can see), then the twin goes on alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Generic, TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.support.model.gateway import Answer, answers
from tests.support.model.world import World

__all__ = ["ANSWERS", "ModelMachine"]

ANSWERS = answers()
MIN_TTLS = st.sampled_from([0, 60, 600, 1000, 3590])
W = TypeVar("W", bound=World)  # type: ignore[type-arg]  # any workflow's world


class ModelMachine(RuleBasedStateMachine, Generic[W]):
    """Steps and checks common to the company, partner and assertion models."""

    def __init__(self) -> None:
        super().__init__()
        self.worlds: list[W] = []

    @property
    def world(self) -> W:
        return self.worlds[-1]

    def _each(self, step: Callable[[W], object]) -> None:
        """Take ``step`` in every world; a twin must end it exactly as its original did, then replaces it."""
        outcomes = [step(world) for world in self.worlds]
        if len(self.worlds) == 2:
            original, restored = self.worlds
            assert (outcomes[1], restored.observed()) == (outcomes[0], original.observed()), (
                "the run restarted from its memory behaves differently"
            )
            original.close()
            self.worlds = [restored]

    def can_ask(self) -> bool:
        """Whether a caller can reach the workflow now (some restart it, as the API does)."""
        return self.world.running

    @precondition(lambda self: self.can_ask())
    @rule(min_ttl=MIN_TTLS, rejected=st.sampled_from([None, 0, 1, 2]), answer=ANSWERS)
    def ask(self, min_ttl: float, rejected: int | None, answer: Answer) -> None:
        """A caller asks for a token valid ``min_ttl`` seconds, or (``rejected``) reports a 401 for the
        newest token callers were handed (0) or an older one."""
        if rejected is None or not self.world.seen():
            self._each(lambda w: w.step(answer, lambda: w.ask(min_ttl)))
        else:
            self._each(lambda w: w.step(answer, lambda: w.report_401(rejected)))

    @rule(seconds=st.sampled_from(["next wake", 1, 30, 600, 3000, 3600]), answer=ANSWERS)
    def time(self, seconds: str | int, answer: Answer) -> None:
        """Time passes: to the next timer (a refresh, a retry, a deadline, a backoff) or by ``seconds``.
        The next wake is the original's: a twin that forgot a timer must not choose how long to wait."""
        now, wake = self.worlds[0].runtime.now, self.worlds[0].next_wake()
        to = (wake or now) if isinstance(seconds, str) else now + timedelta(seconds=seconds)
        self._each(lambda w: w.step(answer, lambda: w.advance(to)))

    @precondition(lambda self: len(self.worlds) == 1 and self.world.quiet)
    @rule()
    def continue_as_new(self) -> None:
        """Continue as new now: a twin starts from the memory the run would carry. Only where the run loop
        could (no handler running, no grant in flight): a run continues as new from its loop."""
        world = self.world
        self.worlds = [world, world.twin(world.restarted_input())]

    @precondition(lambda self: self.world.running)
    @rule()
    def carry_forward(self) -> None:
        """Key rotation asks the workflow to continue as new at its next safe point (its own path)."""
        self._each(lambda w: w.carry_forward())

    @invariant()
    def holds(self) -> None:
        for world in self.worlds:
            world.check()

    def teardown(self) -> None:
        for world in self.worlds:
            world.close()
