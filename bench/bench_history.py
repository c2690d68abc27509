"""WriteHistoryBatch cost against the emulator: seconds, HTTP requests and statements per step.

A history-mode table is loaded with one version per record (a replace file), then one batch like a typical
incremental sync: an earliest_start file and an update file for every record (each update modifies one
column and leaves the others unmodified, so every row needs its previous version), and a delete file for
every tenth record. The destination (the console script in a subprocess, through gRPC) and the emulator
(in this process, with the cost model of docs/emulator.md#cost-model unless --no-cost) share the CPU.

    .venv/bin/python bench/bench_history.py                      # 2,000 and 20,000 records
    .venv/bin/python bench/bench_history.py --records 5000 --no-cost
    .venv/bin/python bench/bench_history.py --rev cc614c8       # the destination of another git revision

After the batch the table is checked: every record has two versions and the new one carries the values
of the old one where the update left them unmodified. Then a hard Truncate removes every row (Truncate
is not history-mode specific; a soft one is the same single statement on tables with `_fivetran_deleted`).
Query jobs and key lookups are also shown per 10,000 records.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import (
    ServerProcess,
    add_cost_options,
    add_rev_option,
    cost_model,
    create_table,
    new_format,
    print_cluster_table,
    revision_site,
    table_definition,
    write_file,
)
from crate.client import connect
from cratedb_destination.batch import UNMODIFIED, Cell
from cratedb_emulator import CostModel, Emulator
from fivetran_e2e.destination_client import Stub
from fivetran_e2e.destination_client import connect as connect_destination
from fivetran_proto import common_pb2, destination_sdk_pb2
from google.protobuf.timestamp_pb2 import Timestamp

SCHEMA = "bench_history"
COLUMNS = [
    ("id", common_pb2.LONG, True),
    ("name", common_pb2.STRING, False),
    ("qty", common_pb2.INT, False),
    ("amount", common_pb2.DECIMAL, False),
    ("_fivetran_synced", common_pb2.UTC_DATETIME, False),
    ("_fivetran_start", common_pb2.UTC_DATETIME, True),
    ("_fivetran_end", common_pb2.UTC_DATETIME, False),
    ("_fivetran_active", common_pb2.BOOLEAN, False),
]
NAMES = [name for name, _, _ in COLUMNS]
KEYS = ["id", "_fivetran_start"]
T1, T2, T3 = "2024-03-01T00:00:00.000Z", "2024-03-02T00:00:00.000Z", "2024-03-03T00:00:00.000Z"
SYNC_1, SYNC_2 = "2024-03-01T01:00:00.000Z", "2024-03-02T01:00:00.000Z"
TMAX = "9999-12-31T23:59:59.999Z"


def table_proto(name: str) -> Any:
    return table_definition(name, COLUMNS, decimal=(18, 2))


def initial(records: int) -> Iterator[list[Cell]]:
    for i in range(records):
        yield [str(i), f"name {i}", str(i % 1000), f"{i}.25", SYNC_1, T1, TMAX, "true"]


def earliest(records: int) -> Iterator[list[Cell]]:
    for i in range(records):
        yield [str(i), T2]


def updates(records: int) -> Iterator[list[Cell]]:
    for i in range(records):
        yield [str(i), UNMODIFIED, str(i % 1000 + 1), UNMODIFIED, SYNC_2, T2, TMAX, "true"]


def deletes(records: int) -> Iterator[list[Cell]]:
    for i in range(0, records, 10):
        yield [str(i), T3]


class Bench:
    def __init__(self, emulator: Emulator, stub: Stub, server: ServerProcess, directory: Path) -> None:
        self.emulator = emulator
        self.server = server
        self.stub = stub
        self.directory = directory
        self.fmt = new_format()
        self.configuration = {"url": emulator.url}

    def file(self, columns: Sequence[str], rows: Iterator[Sequence[Cell]], keys: dict[str, bytes]) -> str:
        path, keys[path] = write_file(self.directory, columns, rows, self.fmt)
        return path

    def batch(
        self, table: Any, **files: list[tuple[Sequence[str], Iterator[Sequence[Cell]]]]
    ) -> tuple[int, float, float, dict[str, Any]]:
        keys: dict[str, bytes] = {}
        paths = {
            f"{kind}_files": [self.file(columns, rows, keys) for columns, rows in entries]
            for kind, entries in files.items()
        }
        request = destination_sdk_pb2.WriteHistoryBatchRequest(
            configuration=self.configuration,
            schema_name=SCHEMA,
            table=table,
            keys=keys,
            file_params=self.fmt.to_proto(),
            **paths,
        )
        elapsed, cpu, stats = self.measure(self.stub.WriteHistoryBatch, request)
        return sum(len(p) for p in paths.values()), elapsed, cpu, stats

    def measure(self, rpc: Any, request: Any) -> tuple[float, float, dict[str, Any]]:
        """Call one RPC: its wall seconds, the destination's CPU seconds and the emulator's counts."""
        self.emulator.reset_stats()
        cpu = self.server.cpu_seconds()
        started = time.perf_counter()
        answer = rpc(request, timeout=3600)
        elapsed = time.perf_counter() - started
        assert answer.success, answer
        return elapsed, self.server.cpu_seconds() - cpu, self.emulator.stats()


def check(url: str, table: str, records: int) -> None:
    """Every record has its first and its updated version; unmodified cells were carried over."""
    with connect(url) as connection:
        cursor = connection.cursor()
        cursor.execute(f'REFRESH TABLE "{SCHEMA}"."{table}"')
        cursor.execute(
            f'SELECT COUNT(*), COUNT(DISTINCT "id"), SUM(CASE WHEN "_fivetran_active" THEN 1 ELSE 0 END) '
            f'FROM "{SCHEMA}"."{table}"'
        )
        total, distinct, active = cursor.fetchone()
        closed_by_delete = len(range(0, records, 10))
        assert (total, distinct, active) == (2 * records, records, records - closed_by_delete), (
            total,
            distinct,
            active,
        )
        cursor.execute(
            f'SELECT COUNT(*) FROM "{SCHEMA}"."{table}" WHERE "_fivetran_start" = ? '
            f'AND "name" = \'name \' || CAST("id" AS TEXT) AND "qty" = "id" % 1000 + 1',
            [T2],
        )
        (carried,) = cursor.fetchone()
        assert carried == records, (carried, records)


# Rows synced before this instant go in the Truncate step: every version of the benchmark's records.
TRUNCATE_BEFORE = Timestamp(seconds=1_735_689_600)  # 2025-01-01T00:00:00Z


@dataclass
class Step:
    step: str
    records: int
    files: int
    seconds: float
    cpu: float  # the destination process's CPU seconds
    stats: dict[str, Any]  # the emulator's counts during the call

    def per_10k(self, counter: str) -> float:
        return float(self.stats[counter]) * 10_000 / self.records


@dataclass
class HistoryResults:
    steps: list[Step] = field(default_factory=list)
    origin: list[str] = field(default_factory=list)
    source: str = ""


def measure(options: argparse.Namespace, model: CostModel, site: Path | None) -> HistoryResults:
    """One destination process (with `site` first on PYTHONPATH) against a fresh emulator."""
    results = HistoryResults()
    server = ServerProcess(site)
    results.origin, results.source = server.origin, server.source
    channel, stub = connect_destination(f"127.0.0.1:{server.port}")
    with (
        Emulator(host="127.0.0.1", port=0, cost=model) as emulator,
        tempfile.TemporaryDirectory() as tmp,
        contextlib.closing(channel),
    ):
        try:
            steps(Bench(emulator, stub, server, Path(tmp)), options.records, results.steps)
        finally:
            server.stop()
    return results


def run(options: argparse.Namespace, sites: Sequence[Path | None]) -> list[HistoryResults]:
    model = cost_model(options)
    return [measure(options, model, site) for site in sites]


def print_results(results: HistoryResults, options: argparse.Namespace) -> None:
    # Query jobs: executions CrateDB plans as a query on the shards (a by-query bulk UPDATE/DELETE runs one
    # per bulk row); key lookups: executions answered by primary key. Both as the emulator counts them.
    print(f"destination: cratedb_destination of {results.source}")
    print(
        f"{'batch':<24} {'records':>8} {'files':>6} {'seconds':>8} {'HTTP req':>9} {'query jobs':>11} "
        f"{'jobs/10k rec':>13} {'key lookups':>12} {'lookups/10k':>12}  statements"
    )
    for step in results.steps:
        stats = step.stats
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(stats["statements"].items()) if count)
        print(
            f"{step.step:<24} {step.records:>8,} {step.files:>6} {step.seconds:>8.2f} "
            f"{stats['http_requests']:>9} {stats['query_jobs']:>11,} {step.per_10k('query_jobs'):>13,.1f} "
            f"{stats['pk_lookups']:>12,} {step.per_10k('pk_lookups'):>12,.0f}  {kinds}"
        )
    print_cluster_table(
        cost_model(options),
        [(f"{s.step[:15]} {s.records:,}", s.cpu, s.seconds, s.stats) for s in results.steps],
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[2000, 20000])
    add_cost_options(parser)
    add_rev_option(parser)
    return parser


def main() -> int:
    options = build_parser().parse_args()
    cost_model(options)  # a wrong --cost fails before anything starts
    with revision_site(options.rev) as site:
        [results] = run(options, [site])
    print_results(results, options)
    return 0


def truncate(bench: Bench, name: str, records: int) -> Step:
    """A hard Truncate of every row synced before TRUNCATE_BEFORE (all of them)."""
    request = destination_sdk_pb2.TruncateRequest(
        configuration=bench.configuration,
        schema_name=SCHEMA,
        table_name=name,
        synced_column="_fivetran_synced",
        utc_delete_before=TRUNCATE_BEFORE,
    )
    return Step("truncate (hard)", records, 0, *bench.measure(bench.stub.Truncate, request))


def steps(bench: Bench, sizes: Sequence[int], results: list[Step]) -> None:
    stub, emulator = bench.stub, bench.emulator
    for records in sizes:
        name = f"versions_{records}"
        table = table_proto(name)
        create_table(stub, bench.configuration, SCHEMA, table)
        files, seconds, cpu, stats = bench.batch(
            table, earliest_start=[(KEYS, earliest(records))], replace=[(NAMES, initial(records))]
        )
        results.append(Step("initial load", records, files, seconds, cpu, stats))
        files, seconds, cpu, stats = bench.batch(
            table,
            earliest_start=[(KEYS, earliest(records))],
            update=[(NAMES, updates(records))],
            delete=[(["id", "_fivetran_end"], deletes(records))],
        )
        results.append(Step("earliest+update+delete", records, files, seconds, cpu, stats))
        check(emulator.url, name, records)
        results.append(truncate(bench, name, records))


if __name__ == "__main__":
    raise SystemExit(main())
