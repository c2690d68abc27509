"""End-to-end throughput: N rows through `fivetran debug` and through the destination, then compared.

    python bench/bench_e2e.py                       # 1,000,000 rows, embedded emulator
    python bench/bench_e2e.py --rows 100000 --syncs 2
    CRATEDB_URL=http://crate@localhost:4200 python bench/bench_e2e.py

Writes a small synthetic Connector SDK project into a temporary directory (one keyed table of 8 mixed
columns, a checkpoint every 100,000 rows; a second sync updates and deletes some rows), runs the harness
exactly as `fivetran-e2e run` does, and prints the time of each phase, `fivetran debug`'s own time and
our part beyond it: the run's wall time minus fivetran debug's (setup, the replay left when fivetran debug
ended, the comparison; the rest of the replay streams alongside fivetran debug). The destination runs in
this process, as in `fivetran-e2e run`, so this benchmark has no --rev.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from fivetran_e2e.report import RunReport
from fivetran_e2e.run import Runner, RunOptions
from rich.console import Console

CONNECTOR = textwrap.dedent(
    '''
    """Synthetic benchmark source: `rows` readings in the first sync, changes in later syncs."""
    import datetime

    from fivetran_connector_sdk import Connector
    from fivetran_connector_sdk import Operations as op

    START = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


    def schema(configuration):
        return [
            {
                "table": "readings",
                "primary_key": ["id"],
                "columns": {
                    "id": "LONG",
                    "device": "STRING",
                    "amount": {"type": "DECIMAL", "precision": 12, "scale": 2},
                    "measured_at": "UTC_DATETIME",
                    "value": "DOUBLE",
                    "ok": "BOOLEAN",
                    "attributes": "JSON",
                },
            }
        ]


    def update(configuration, state):
        rows = int(configuration["rows"])
        sync = state.get("sync", 0) + 1
        if sync == 1:
            for i in range(rows):
                op.upsert(
                    "readings",
                    {
                        "id": i,
                        "device": f"device-{i % 997}",
                        "amount": f"{i % 100000}.{i % 100:02d}",
                        "measured_at": START + datetime.timedelta(seconds=i),
                        "value": i / 7,
                        "ok": i % 3 != 0,
                        "attributes": {"zone": i % 13, "tags": ["a", "b"]},
                        "note": f"reading {i}",
                    },
                )
                if (i + 1) % 100_000 == 0:
                    op.checkpoint({"sync": 0, "position": i + 1})
        else:
            step = max(rows // 1000, 1)
            for i in range(sync, rows, step):
                op.update("readings", {"id": i, "value": -1.5, "note": f"changed in sync {sync}"})
            for i in range(sync + step // 2, rows, step * 10):
                op.delete("readings", {"id": i})
        op.checkpoint({"sync": sync})


    connector = Connector(update=update, schema=schema)
    '''
)


@dataclass
class E2EResult:
    rows: int
    syncs: int
    code: int  # the harness's exit code: 0 on a full match
    total: float  # wall seconds of the whole run
    report: RunReport
    cpu_debug: float  # CPU seconds of the fivetran debug processes
    cpu_self: float  # CPU seconds of this process: harness, in-process destination and emulator

    @property
    def debug_seconds(self) -> float:
        """`fivetran debug`'s own wall time, all syncs (our replay streams alongside it)."""
        return sum(sync.debug_seconds for sync in self.report.syncs)

    @property
    def beyond_debug(self) -> float:
        """Our part beyond `fivetran debug`: the rest of the run's wall time (setup, the replay left when
        fivetran debug ended, the comparison)."""
        return self.total - self.debug_seconds


def run(options: argparse.Namespace, console: Console | None = None) -> E2EResult:
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as directory:
        project = Path(directory) / "bench_connector"
        project.mkdir()
        (project / "connector.py").write_text(CONNECTOR, encoding="utf-8")
        configuration = json.dumps({"rows": str(options.rows)})
        (project / "configuration.json").write_text(configuration, encoding="utf-8")
        run_options = RunOptions(
            connector=project,
            syncs=options.syncs,
            cratedb_url=options.cratedb_url,
            report=Path(directory) / "report",
            progress=sys.stderr.isatty() and console is None,
        )
        started = time.monotonic()
        cpu_self = time.process_time()
        cpu_children = resource.getrusage(resource.RUSAGE_CHILDREN)
        runner = Runner(run_options, console or Console(stderr=True))
        code = runner.run()  # what `fivetran-e2e run` does, with the report object at hand
        total = time.monotonic() - started
        cpu_self = time.process_time() - cpu_self
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_debug = children.ru_utime + children.ru_stime - cpu_children.ru_utime - cpu_children.ru_stime
    return E2EResult(options.rows, options.syncs, code, total, runner.report, cpu_debug, cpu_self)


def print_result(result: E2EResult) -> None:
    report = result.report
    verdict = "FULL MATCH" if result.code == 0 else "MISMATCH"
    print(f"rows: {result.rows:,}  syncs: {result.syncs}  result: {verdict}")
    for sync in report.syncs:
        print(
            f"  sync {sync.number}: {sync.operations:,} operations; "
            f"fivetran debug {sync.debug_seconds:.1f} s, replay {sync.replay_seconds:.1f} s"
        )
    print(f"  compare: {report.compare_seconds:.1f} s")
    print(f"  waiting for the destination (per RPC): {report.replay.get('rpc_seconds')}")
    print(f"  total:   {result.total:.1f} s ({result.rows / result.total:,.0f} rows/s end to end)")
    replay_after = sum(sync.replay_seconds for sync in report.syncs)
    rest = result.beyond_debug - replay_after - report.compare_seconds
    print(
        f"  fivetran debug's own time {result.debug_seconds:.1f} s; our part beyond it "
        f"{result.beyond_debug:.1f} s (replay after it ended {replay_after:.1f} s, comparison "
        f"{report.compare_seconds:.1f} s, setup and reports {rest:.1f} s)"
    )
    print(
        f"  CPU:     fivetran debug processes {result.cpu_debug:.1f} s; harness + destination + emulator "
        f"(one process) {result.cpu_self:.1f} s; load average now {os.getloadavg()[0]:.1f}"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--syncs", type=int, default=1)
    parser.add_argument("--cratedb-url", default=None)
    return parser


def main() -> int:
    result = run(build_parser().parse_args())
    print_result(result)
    return result.code


if __name__ == "__main__":
    sys.exit(main())
