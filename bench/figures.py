"""Results of one bench run, their ratios to a reference, and the table that prints them."""

from __future__ import annotations

import time
from dataclasses import dataclass

__all__ = ["Figure", "header", "row", "stopwatch"]


@dataclass(frozen=True)
class Figure:
    """One measured figure beside its reference; ``ratio`` is ours / reference."""

    label: str
    value: float
    reference: float
    unit: str
    reference_name: str
    target: float
    """The ratio must be at most this (``higher_is_better`` False) or at least this (True)."""
    higher_is_better: bool = False
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.value / self.reference if self.reference else float("inf")

    @property
    def met(self) -> bool:
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target


def stopwatch() -> float:
    """The clock every timing uses (monotonic, high resolution)."""
    return time.perf_counter()


def _number(value: float, unit: str) -> str:
    return f"{value:,.2f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def header(title: str) -> str:
    """The title and column heads; rows follow one by one, so a late failure keeps the earlier figures."""
    heads = f"{'figure':<48} {'ours':>14} {'reference':>26} {'ratio':>7}  {'target':<9} result"
    return "\n".join([title, "", heads, "-" * len(heads)])


def row(fig: Figure) -> str:
    """One figure: ours, reference, ratio, target, met/missed (and its note on the next line)."""
    sign = ">=" if fig.higher_is_better else "<="
    reference = f"{_number(fig.reference, fig.unit)} {fig.reference_name}"
    line = (
        f"{fig.label:<48} {_number(fig.value, fig.unit):>14} {reference:>26} {fig.ratio:>6.2f}x"
        f"  {sign}{fig.target:<7.2f} {'met' if fig.met else 'MISSED'}"
    )
    return f"{line}\n    {fig.note}" if fig.note else line
