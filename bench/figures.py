"""Results of one bench run, their ratios to a reference, and the table that prints them."""

from __future__ import annotations

import time
from dataclasses import dataclass

__all__ = ["Figure", "Table", "render", "stopwatch"]


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


@dataclass(frozen=True)
class Table:
    """Everything one run printed, with the sizes it used."""

    title: str
    figures: tuple[Figure, ...]


def stopwatch() -> float:
    """The clock every timing uses (monotonic, high resolution)."""
    return time.perf_counter()


def _number(value: float, unit: str) -> str:
    return f"{value:,.2f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def render(table: Table) -> str:
    """A fixed-width table: figure, ours, reference, ratio, target, met/missed."""
    lines = [table.title, ""]
    header = f"{'figure':<48} {'ours':>14} {'reference':>26} {'ratio':>7}  {'target':<9} result"
    lines += [header, "-" * len(header)]
    for fig in table.figures:
        sign = ">=" if fig.higher_is_better else "<="
        reference = f"{_number(fig.reference, fig.unit)} {fig.reference_name}"
        lines.append(
            f"{fig.label:<48} {_number(fig.value, fig.unit):>14} {reference:>26} {fig.ratio:>6.2f}x"
            f"  {sign}{fig.target:<7.2f} {'met' if fig.met else 'MISSED'}"
        )
        if fig.note:
            lines.append(f"    {fig.note}")
    return "\n".join(lines)
