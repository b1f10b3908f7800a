"""How long the model runs: a derandomized profile for CI, a longer random one on request.

``MODEL_EXAMPLES=2000 python -m pytest tests/workflows/model`` runs each machine that many examples with
fresh randomness (and Hypothesis's example database, so a failure found once is tried first next time);
without it every run is the same fixed sequence of examples, about a minute for the whole folder.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TypeVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import RuleBasedStateMachine

__all__ = ["EXAMPLES", "model_settings", "replayed"]

M = TypeVar("M", bound=RuleBasedStateMachine)

EXAMPLES = int(os.environ.get("MODEL_EXAMPLES", "0") or "0")
"""Examples per machine for a long run; 0 (unset) keeps the CI profile."""


def model_settings(examples: int, steps: int, *, share: int = 1) -> settings:
    """``examples`` derandomized examples of up to ``steps`` rules (CI), or ``MODEL_EXAMPLES // share``
    random ones (at least ``examples``)."""
    common = {
        "stateful_step_count": steps,
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
    }
    if EXAMPLES:
        many = max(examples, EXAMPLES // share)
        return settings(max_examples=many, derandomize=False, **common)  # type: ignore[arg-type]
    # No database in CI: a derandomized run is the same every time, and explicit examples keep old failures.
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        **common,  # type: ignore[arg-type]
    )


@contextlib.contextmanager
def replayed(machine: type[M]) -> Iterator[M]:
    """A machine for replaying a printed example by hand; torn down at the end, failed or not."""
    state = machine()
    try:
        yield state
    finally:
        state.teardown()
