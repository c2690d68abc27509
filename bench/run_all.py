"""Every benchmark figure in one table, each with the command that gives it on its own.

    .venv/bin/python bench/run_all.py                        # full size (8-12 min with --baseline, 2 cores)
    .venv/bin/python bench/run_all.py --quick                # CI size (well under a minute)
    .venv/bin/python bench/run_all.py --quick --baseline cc614c8

The figures come from the single-purpose scripts next to it, called with the arguments shown in the
table's last column (run_all parses exactly those arguments with the script's own parser, so the command
repeats the measurement): `bench_reader` (CSV and Parquet reading, rows per CPU-second of the reading
process), `bench_writes` (replace, update and delete files of 8 columns sent to the destination
subprocess: rows per destination CPU-second, wall time and the cluster's work under the emulator's cost
model, peak RSS while applying a big file, concurrent batches), `bench_history` (query jobs per 10,000
records of history-mode batches and of a Truncate) and `bench_e2e` (N rows through `fivetran debug` and
the harness).

--baseline REV measures the reader, write, memory and history figures a second time with the destination
package of git revision REV (a temporary `git worktree`, its `destination/` first on PYTHONPATH of every
destination and reader process; each process proves which copy it imported) and shows them beside the
current figures. Both sides read and send the same files, one side after the other. The end-to-end figure
is the current checkout's only (the harness runs the destination in its own process).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import platform
import shlex
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from io import StringIO
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_e2e
import bench_history
import bench_reader
import bench_writes
from common import HERE, add_cost_options, checkout, cost_model
from cratedb_emulator.cost import BENCHMARK
from rich.console import Console


@dataclass(frozen=True)
class Sizes:
    reader_rows: int
    write_rows: int
    big_file_mb: float  # the memory-test file as sent (encrypted, compressed)
    concurrency_rows: int
    history_records: int
    e2e_rows: int


QUICK = Sizes(20_000, 5_000, 2, 1_000, 1_000, 2_000)
FULL = Sizes(1_000_000, 100_000, 1_000, 20_000, 10_000, 1_000_000)
CONCURRENCY = "1,2,4,8"
CURRENT_ONLY = "current only"


@dataclass
class Figure:
    section: str
    metric: str
    unit: str
    command: str
    values: list[str]  # one per side, in the order of the table's columns


@dataclass(frozen=True)
class Side:
    label: str
    site: Path  # the directory holding the cratedb_destination package this side measures


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{cpu}; {os.cpu_count()} logical CPUs; {memory:.0f} GiB RAM; "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}"
    )


def command(script: str, args: Sequence[str]) -> str:
    return f".venv/bin/python bench/{script}.py {shlex.join(args)}"


def cost_args(options: argparse.Namespace) -> list[str]:
    if options.no_cost:
        return ["--no-cost"]
    return [] if options.cost == BENCHMARK.spec() else ["--cost", options.cost]


# ---------------------------------------------------------------------------------------------------------
# The figures of each script, from its own results
# ---------------------------------------------------------------------------------------------------------


def reader_figures(sizes: Sizes, sides: Sequence[Side]) -> list[Figure]:
    args = [
        "--rows",
        str(sizes.reader_rows),
        "--formats",
        "csv,parquet",
        "--api",
        "columns,rows",
        "--repeat",
        "3",
    ]
    per_side = bench_reader.run(bench_reader.build_parser().parse_args(args), [s.site for s in sides])
    text = command("bench_reader", args)
    names = {"csv": "CSV read, AES + zstd, 8 columns", "parquet": "Parquet read, AES + zstd, same data"}
    shapes = {"columns": "Arrow columns (what writers use)", "rows": "row tuples"}
    figures = []
    for i, result in enumerate(per_side[0]):
        values = [f"{results[i].rows_per_cpu_second:,.0f}" for results in per_side]
        metric = f"{names[result.name]}, {result.rows:,} rows, {shapes[result.api]} (best of 3)"
        figures.append(Figure("reader", metric, "rows/CPU-s", text, values))
    return figures


def write_figures(sizes: Sizes, sides: Sequence[Side], options: argparse.Namespace) -> list[Figure]:
    args = ["--rows", str(sizes.write_rows), "--repeat", "3", "--big-file-mb", f"{sizes.big_file_mb:g}"]
    args += ["--concurrency", CONCURRENCY, "--concurrency-rows", str(sizes.concurrency_rows)]
    args += cost_args(options)
    parsed = bench_writes.build_parser().parse_args(args)
    files, per_side = bench_writes.run(parsed, [s.site for s in sides])
    text = command("bench_writes", args)
    figures = []

    def add(section: str, metric: str, unit: str, values: list[str]) -> None:
        figures.append(Figure(section, metric, unit, text, values))

    kinds = [run.label for run in per_side[0].runs[:-1]]  # replace, update, delete; the last is the big file
    rows = f"{sizes.write_rows:,} rows"
    for i, kind in enumerate(kinds):
        values = [f"{side.runs[i].rows_per_cpu_second:,.0f}" for side in per_side]
        add("writes", f"{kind}, {rows}: rows per destination CPU-second (best of 3)", "rows/CPU-s", values)
    for i, kind in enumerate(kinds):
        values = [bench_writes.faults_text(side.runs[i].faults) for side in per_side]
        add("writes", f"{kind}, {rows}: the destination's minor page faults (that run)", "faults", values)
    section = "cost model" if cost_model(parsed).enabled else "no cost model"
    for i, kind in enumerate(kinds):
        add(section, f"{kind}, {rows}: wall time", "s", [f"{side.runs[i].seconds:.2f}" for side in per_side])
    for i, kind in enumerate(kinds):
        values = []
        for side in per_side:
            stats = side.runs[i].stats
            work = (stats["http_requests"], stats["rows_received"], stats["pk_lookups"], stats["query_jobs"])
            values.append(" / ".join(f"{n:,}" for n in work))
        add("cluster work", f"{kind}: HTTP requests / rows / key lookups / query jobs", "count", values)
    big = f"{files.big_mb:,.0f} MB encrypted file ({files.big_rows:,} rows of 1.1 KB)"
    add("memory", "destination RSS idle", "MiB", [f"{side.idle / 2**20:,.0f}" for side in per_side])
    add("memory", f"peak RSS applying a {big}", "MiB", [f"{side.peak / 2**20:,.0f}" for side in per_side])
    for i, (concurrency, _) in enumerate(per_side[0].scaling):
        values = [f"{concurrency * sizes.concurrency_rows / side.scaling[i][1]:,.0f}" for side in per_side]
        metric = f"{concurrency} concurrent replace batches of {sizes.concurrency_rows:,} rows"
        add("concurrency", metric, "rows/s", values)
    return figures


def history_figures(sizes: Sizes, sides: Sequence[Side], options: argparse.Namespace) -> list[Figure]:
    args = ["--records", str(sizes.history_records), *cost_args(options)]
    per_side = bench_history.run(bench_history.build_parser().parse_args(args), [s.site for s in sides])
    text = command("bench_history", args)
    figures = []
    for i, step in enumerate(per_side[0].steps):
        section = "truncate" if step.step.startswith("truncate") else "history"
        metric = f"{step.step}, {step.records:,} records: query jobs per 10,000 records"
        values = [f"{side.steps[i].per_10k('query_jobs'):,.1f}" for side in per_side]
        figures.append(Figure(section, metric, "jobs", text, values))
        if step.stats["pk_lookups"]:
            metric = f"{step.step}, {step.records:,} records: key lookups per 10,000 records"
            values = [f"{side.steps[i].per_10k('pk_lookups'):,.0f}" for side in per_side]
            figures.append(Figure(section, metric, "lookups", text, values))
    return figures


def e2e_figures(sizes: Sizes, sides: Sequence[Side]) -> list[Figure]:
    args = ["--rows", str(sizes.e2e_rows)]
    # The harness's own report goes nowhere: the table has the figures, the command the full account.
    result = bench_e2e.run(bench_e2e.build_parser().parse_args(args), Console(file=StringIO()))
    text = command("bench_e2e", args)
    if result.code != 0:
        raise SystemExit(f"the end-to-end run did not match (exit code {result.code}); see: {text}")
    rows = f"{sizes.e2e_rows:,} rows"

    def values(value: str) -> list[str]:
        return [CURRENT_ONLY] * (len(sides) - 1) + [value]

    return [
        Figure("e2e", f"{rows}: fivetran debug's own time", "s", text, values(f"{result.debug_seconds:.1f}")),
        Figure(
            "e2e",
            f"{rows}: our part beyond it (replay, destination, comparison)",
            "s",
            text,
            values(f"{result.beyond_debug:.1f}"),
        ),
        Figure(
            "e2e",
            f"{rows}: end to end",
            "rows/s",
            text,
            values(f"{result.rows / result.total:,.0f}"),
        ),
    ]


# ---------------------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------------------


def print_table(figures: Sequence[Figure], sides: Sequence[Side]) -> None:
    header = ["section", "metric", *(side.label for side in sides), "unit", "command"]
    rows = [[f.section, f.metric, *f.values, f.unit, f.command] for f in figures]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    value_columns = range(2, 2 + len(sides))

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(width) if i in value_columns else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=False))
        ]
        return "  ".join([*parts, cells[-1]])

    print(line(header))
    print("-" * (sum(widths) + 2 * len(widths) + len("command")))
    for row in rows:
        print(line(row))


@contextlib.contextmanager
def sides_of(baseline: str | None) -> Iterator[list[Side]]:
    """The current checkout's package, after the baseline's when there is one (checked out meanwhile)."""
    current = Side("current", HERE)
    if baseline is None:
        yield [current]
        return
    with checkout(baseline) as (commit, site):
        yield [Side(f"baseline {commit}", site), current]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI-sized runs (seconds instead of minutes)")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also measure the destination package of git revision REV and show its figures beside",
    )
    parser.add_argument(
        "--big-file-mb",
        type=float,
        help=f"size of the memory-test file as sent, MB (default {FULL.big_file_mb:g}, "
        f"with --quick {QUICK.big_file_mb:g})",
    )
    parser.add_argument(
        "--e2e-rows",
        type=int,
        help=f"rows of the end-to-end run (default {FULL.e2e_rows:,}, with --quick {QUICK.e2e_rows:,})",
    )
    add_cost_options(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    cost_model(options)  # a wrong --cost fails before anything runs
    sizes = QUICK if options.quick else FULL
    if options.big_file_mb is not None:
        sizes = dataclasses.replace(sizes, big_file_mb=options.big_file_mb)
    if options.e2e_rows is not None:
        sizes = dataclasses.replace(sizes, e2e_rows=options.e2e_rows)
    started = time.perf_counter()
    load = os.getloadavg()[0]
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    with sides_of(options.baseline) as sides:
        figures = reader_figures(sizes, sides)
        figures += write_figures(sizes, sides, options)
        figures += history_figures(sizes, sides, options)
    figures += e2e_figures(sizes, sides)
    elapsed = time.perf_counter() - started
    print(f"machine: {machine()}")
    print(f"run: {date}; load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print(f"emulator cost model: {cost_model(options).spec()} (docs/emulator.md#cost-model)")
    for side in sides:
        where = "this checkout" if side.site == HERE else "a temporary git worktree, removed afterwards"
        print(
            f"{side.label}: cratedb_destination from {where}; every destination and reader process "
            "was checked to have imported it"
        )
    if len(sides) > 1:
        print(
            f"the {sides[0].label} figures come from the same commands with --rev {options.baseline}; "
            f"end-to-end figures are current only"
        )
    print()
    print_table(figures, sides)
    if options.quick:
        print(
            "\n--quick: process CPU time comes in 10 ms ticks, so the per-CPU-second figures of such small "
            "files are coarse; the full run's are the ones to compare"
        )
    print(f"\ntotal benchmark time {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
