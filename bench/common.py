"""What the benchmark scripts share: batch files written as Fivetran's core writes them (AES + zstd), table
definitions and requests, and the destination as the console script in a subprocess (as Fivetran starts
it, so its CPU time and memory can be measured). gRPC clients, also of a destination served in this
process, come from `fivetran_e2e.destination_client`.

The scripts run as `python bench/<script>.py`, which puts this directory on sys.path; `run_all.py` adds it.
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa
from cratedb_destination.batch import Cell, FileFormat
from cratedb_emulator import CostModel
from cratedb_emulator.cost import BENCHMARK, OFF
from fivetran_e2e.batch_writer import new_key, random_token, write_batch_file
from fivetran_e2e.destination_client import Stub
from fivetran_proto import common_pb2, destination_sdk_pb2

# (name, DataType, primary key)
ColumnSpec = tuple[str, int, bool]


# ---------------------------------------------------------------------------------------------------------
# Batch files and requests
# ---------------------------------------------------------------------------------------------------------


def new_format(kind: str = "csv") -> FileFormat:
    """AES + zstd with fresh null/unmodified tokens, as Fivetran's core sends files."""
    return FileFormat("zstd", "aes", random_token("null"), random_token("unmod"), kind)  # type: ignore[arg-type]


def write_file(
    directory: Path,
    columns: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    fmt: FileFormat,
    parquet_types: Mapping[str, pa.DataType] | None = None,
) -> tuple[str, bytes]:
    """A batch file under a fresh name in `directory`, encrypted with a fresh key; returns (path, key)."""
    path = str(directory / f"{secrets.token_hex(6)}.{fmt.kind}.zst.aes")
    key = new_key()
    write_batch_file(path, columns, rows, fmt=fmt, key=key, parquet_types=parquet_types)
    return path, key


def table_definition(name: str, columns: Sequence[ColumnSpec], decimal: tuple[int, int]) -> Any:
    """A Table; every DECIMAL column gets the (precision, scale) of `decimal`."""
    table = common_pb2.Table(name=name)
    for column_name, data_type, key in columns:
        column = table.columns.add(name=column_name, type=data_type, primary_key=key)
        if data_type == common_pb2.DECIMAL:
            column.params.decimal.precision, column.params.decimal.scale = decimal
    return table


def create_table(stub: Stub, configuration: Mapping[str, str], schema: str, definition: Any) -> None:
    response = stub.CreateTable(
        destination_sdk_pb2.CreateTableRequest(
            configuration=configuration, schema_name=schema, table=definition
        )
    )
    if not response.success:
        raise RuntimeError(f"CreateTable {definition.name} failed: {response}")


def write_request(
    configuration: Mapping[str, str],
    schema: str,
    definition: Any,
    kind: str,
    file: tuple[str, bytes],
    fmt: FileFormat,
) -> Any:
    """WriteBatch of one file of `kind` ("replace", "update" or "delete")."""
    path, key = file
    return destination_sdk_pb2.WriteBatchRequest(
        configuration=configuration,
        schema_name=schema,
        table=definition,
        keys={path: key},
        file_params=fmt.to_proto(),
        **{f"{kind}_files": [path]},
    )


# ---------------------------------------------------------------------------------------------------------
# The destination
# ---------------------------------------------------------------------------------------------------------


class ServerProcess:
    """The destination console script on a free port; RSS sampled in the background."""

    def __init__(self) -> None:
        script = Path(sys.executable).with_name("cratedb-fivetran-destination")
        self.process = subprocess.Popen(
            [str(script), "--port", "0", "--host", "127.0.0.1", "--log-level", "WARNING"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.port = self._await_port()
        self.ps = psutil.Process(self.process.pid)
        self.peak = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _await_port(self) -> int:
        assert self.process.stdout is not None
        deadline = time.monotonic() + 30
        # --log-level WARNING hides the INFO "listening" line; ask the OS instead.
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stdout.read()}")
            try:
                connections = psutil.Process(self.process.pid).net_connections(kind="tcp")
            except psutil.Error:
                connections = []
            listening = [c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN]
            if listening:
                return int(listening[0])
            time.sleep(0.05)
        raise RuntimeError("server did not start listening")

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.ps.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def reset_peak(self) -> None:
        self.peak = self.rss()

    def stop(self) -> None:
        self._stop.set()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# ---------------------------------------------------------------------------------------------------------
# The emulator's cost model: wall time as a CrateDB cluster might make it
# ---------------------------------------------------------------------------------------------------------


def add_cost_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cost",
        default=BENCHMARK.spec(),
        metavar="SPEC",
        help="the emulator's cost model: each answer sleeps for its modelled server time "
        f"(default {BENCHMARK.spec()}, assumptions for a small cluster: docs/emulator.md#cost-model)",
    )
    parser.add_argument("--no-cost", action="store_true", help="no cost model (the emulator answers at once)")


def cost_model(options: argparse.Namespace) -> CostModel:
    if options.no_cost:
        return OFF
    try:
        return CostModel.parse(options.cost)
    except ValueError as exc:
        raise SystemExit(f"--cost: {exc}") from None


def print_cluster_table(
    model: CostModel, runs: Sequence[tuple[str, float | None, float, Mapping[str, Any]]]
) -> None:
    """Per run (label, destination CPU seconds or None, wall seconds, emulator statistics): the time and the
    work a CrateDB cluster would see.

    "emulator s" is the emulator's own computing (`sql_seconds`, DuckDB on this machine), "modelled s" the
    time answers slept under the cost model (`cost_seconds`); "wall-emu s" is wall minus the emulator's
    computing, the wall time had the server's work taken only the modelled time (requests sent one at a
    time; concurrent requests make it an underestimate).
    """
    print(f"\ncluster work; cost model: {model.spec()}")
    header = ("run", "dest. CPU s", "wall s", "emulator s", "modelled s", "wall-emu s")
    header += ("HTTP req", "rows", "key lookups", "query jobs")
    print("{:<24} {:>11} {:>8} {:>10} {:>10} {:>10} {:>9} {:>9} {:>11} {:>10}".format(*header))
    for label, cpu, wall, stats in runs:
        emulator = float(stats["sql_seconds"])
        cpu_text = "-" if cpu is None else f"{cpu:.2f}"
        print(
            f"{label:<24} {cpu_text:>11} {wall:>8.2f} {emulator:>10.2f} {stats['cost_seconds']:>10.2f} "
            f"{max(wall - emulator, 0.0):>10.2f} {stats['http_requests']:>9,} {stats['rows_received']:>9,} "
            f"{stats['pk_lookups']:>11,} {stats['query_jobs']:>10,}"
        )
