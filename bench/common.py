"""What the benchmark scripts share: batch files written as Fivetran's core writes them (AES + zstd), table
definitions and requests, and the destination as the console script in a subprocess (as Fivetran starts
it, so its CPU time and memory can be measured). gRPC clients, also of a destination served in this
process, come from `fivetran_e2e.destination_client`.

The scripts run as `python bench/<script>.py`, which puts this directory on sys.path; `run_all.py` adds it.
"""

from __future__ import annotations

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
