"""``python -m bench``: one run on this machine, every figure beside its reference (see scripts/bench)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import sys
from dataclasses import dataclass

from bench import scenarios, token_reads
from bench.cost.scenario import SHORT_TTL, action_figures
from bench.figures import Figure, header, row
from bench.stack import bench_stack, dev_server, unlimited_sandbox
from worker.shutdown import exit_process
from workflows.io.codec import Keyring, generate_key


def ttl_for(companies: int) -> int:
    """Token lifetime for scenario (5): every company refreshes each ttl/2, about 20 refreshes a second."""
    return max(12, companies // 10)


@dataclass(frozen=True)
class Sizes:
    """How much each scenario does; ``--quick`` is for the smoke test, the default for docs/benchmarks.md."""

    samples: int
    concurrent: int
    companies: int
    company_ttl: int
    scale_seconds: float
    action_cycles: int
    """Scenario (7): refresh cycles and keep-alives counted (a few seconds each), and as many onboardings."""
    action_ttl: int = SHORT_TTL
    """Scenario (7): the token lifetime of the counted cycles (a refresh every half of it)."""

    @staticmethod
    def pick(quick: bool) -> Sizes:
        """Quick: under a minute. Full: the sizes docs/benchmarks.md reports."""
        if quick:
            return Sizes(
                samples=15,
                concurrent=10,
                companies=200,
                company_ttl=12,
                scale_seconds=12.0,
                action_cycles=1,
                action_ttl=SHORT_TTL // 2,
            )
        return Sizes(
            samples=200,
            concurrent=100,
            companies=10_000,
            company_ttl=ttl_for(10_000),
            scale_seconds=600.0,
            action_cycles=5,
        )


def machine() -> str:
    """Where the figures came from: they only mean something beside the machine that made them."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next(
                (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model
            )
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, {platform.system()}"


async def main_figures(sizes: Sizes, *, scale: bool, others: bool = True) -> list[Figure]:
    """Scenarios (1)-(6) on one dev server, (7) on one of its own, each row printed as soon as it is measured;
    (5) last."""
    figures: list[Figure] = []

    def show(measured: list[Figure]) -> None:
        figures.extend(measured)
        for fig in measured:
            print(row(fig), flush=True)

    keys = generate_key("bench-1")
    async with dev_server(Keyring.parse(keys), log_level="error") as env:
        if others:
            async with bench_stack(env, unlimited_sandbox()) as stack:
                show(await scenarios.exchange(stack, sizes.samples))
                show(await scenarios.onboarding(stack, sizes.samples))
                show(await scenarios.throughput(stack, sizes.concurrent))
                show(await scenarios.token_use(stack, sizes.samples * 5))
                show(await token_reads.token_reads(stack, sizes.samples))
            # Its own dev server: the action counter is per namespace, and (1)-(6) leave companies running.
            cycles = sizes.action_cycles
            show(await action_figures(cycles, onboardings=max(2, cycles), short_ttl=sizes.action_ttl))
        if scale:
            from bench.scale import scale_figures  # noqa: PLC0415 - heavy scenario, only when asked

            show(await scale_figures(env, keys, sizes.companies, sizes.company_ttl, sizes.scale_seconds))
    return figures


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute (smoke test)")
    parser.add_argument("--no-scale", action="store_true", help="skip scenario (5)")
    parser.add_argument("--scale-only", action="store_true", help="only scenario (5)")
    parser.add_argument("--companies", type=int, help="scenario (5): companies alive at once")
    parser.add_argument("--actions", action="store_true", help="only scenario (7): billable actions")
    parser.add_argument("--rate", action="store_true", help="fleet rate limit: two workers, one budget")
    parser.add_argument("--chaos", action="store_true", help="worker crash and a token-endpoint outage")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING)
    sizes = Sizes.pick(args.quick)
    if args.companies is not None:
        sizes = Sizes(
            sizes.samples,
            sizes.concurrent,
            args.companies,
            ttl_for(args.companies),
            sizes.scale_seconds,
            sizes.action_cycles,
            sizes.action_ttl,
        )
    if args.actions:
        print(header(f"remote-oauth bench, billable actions: {machine()}"), flush=True)
        cycles = sizes.action_cycles
        for fig in asyncio.run(
            action_figures(cycles, onboardings=max(2, cycles), short_ttl=sizes.action_ttl)
        ):
            print(row(fig), flush=True)
        return 0
    if args.rate:
        from bench.rate import run_rate  # noqa: PLC0415

        return asyncio.run(run_rate(quick=args.quick))
    if args.chaos:
        from bench.chaos import run_chaos  # noqa: PLC0415

        # In-process workers log every refused attempt of the outage with its traceback: expected here.
        logging.getLogger("temporalio.activity").setLevel(logging.ERROR)
        return asyncio.run(run_chaos(quick=args.quick))
    title = (
        f"remote-oauth bench ({'quick' if args.quick else 'full'}): {machine()}\n"
        f"sizes: {sizes.samples} samples per median, {sizes.concurrent} at once for (3), "
        f"{sizes.companies} companies with {sizes.company_ttl}s tokens for (5)"
    )
    print(header(title), flush=True)
    figures = asyncio.run(main_figures(sizes, scale=not args.no_scale, others=not args.scale_only))
    missed = sum(1 for fig in figures if not fig.met)
    print(f"\n{len(figures) - missed} of {len(figures)} targets met", flush=True)
    return 0


if __name__ == "__main__":
    exit_process(main())
