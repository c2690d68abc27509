"""WriteBatch throughput, HTTP requests per 10,000 rows and peak server memory, against the emulator.

The destination runs as a subprocess (the console script, exactly as Fivetran would start it); the CrateDB
emulator runs in this process and counts requests. Batch files are written like Fivetran's core writes
them (CSV -> zstd -> AES-256).

    .venv/bin/python bench/bench_writes.py                  # 100,000 rows per file kind + a 100 MB file
    .venv/bin/python bench/bench_writes.py --rows 20000 --big-mb 20   # quicker

Prints one table. "rows/s" is wall-clock and includes the emulator's work (it shares the CPU); "dest. CPU s"
is the CPU time the destination process spent (reading, decrypting, decompressing, converting, sending),
so "dest. rows/CPU s" is the rate at which one core of the destination can feed CrateDB.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc
import psutil
from cratedb_destination.batch import UNMODIFIED, Cell, FileFormat
from cratedb_emulator import Emulator
from fivetran_e2e.batch_writer import new_key, random_token, write_batch_file
from fivetran_proto import common_pb2, destination_sdk_pb2, destination_sdk_pb2_grpc

SCHEMA = "bench"
COLUMNS = [
    ("id", common_pb2.LONG, True),
    ("name", common_pb2.STRING, False),
    ("amount", common_pb2.DECIMAL, False),
    ("happened", common_pb2.UTC_DATETIME, False),
    ("active", common_pb2.BOOLEAN, False),
    ("payload", common_pb2.JSON, False),
    ("_fivetran_synced", common_pb2.UTC_DATETIME, False),
    ("_fivetran_deleted", common_pb2.BOOLEAN, False),
]
NAMES = [name for name, _, _ in COLUMNS]
SYNCED = "2024-05-01T12:00:00.000Z"


def table_proto(name: str) -> Any:
    table = common_pb2.Table(name=name)
    for column_name, data_type, key in COLUMNS:
        column = table.columns.add(name=column_name, type=data_type, primary_key=key)
        if data_type == common_pb2.DECIMAL:
            column.params.decimal.precision, column.params.decimal.scale = 18, 4
    return table


def replace_rows(count: int, payload_bytes: int = 40) -> Iterator[list[Cell]]:
    filler = secrets.token_urlsafe(payload_bytes)
    for i in range(count):
        payload = (
            f'{{"n": {i}, "s": "{filler}"}}'
            if payload_bytes <= 64
            else f'{{"s": "{secrets.token_urlsafe(payload_bytes)}"}}'
        )
        yield [
            str(i),
            f"name {i}",
            f"{i % 100000}.{i % 10000:04d}",
            "2024-05-01T11:59:59.123Z",
            "true" if i % 2 else "false",
            payload,
            SYNCED,
            "false",
        ]


def update_rows(count: int) -> Iterator[list[Cell]]:
    for i in range(count):  # two column sets, as with typical partial updates
        if i % 2:
            yield [str(i), f"renamed {i}", UNMODIFIED, UNMODIFIED, UNMODIFIED, UNMODIFIED, SYNCED, UNMODIFIED]
        else:
            yield [str(i), UNMODIFIED, "1.5000", UNMODIFIED, "false", UNMODIFIED, SYNCED, UNMODIFIED]


def delete_rows(count: int) -> Iterator[list[Cell]]:
    for i in range(count):
        yield [str(i), None, None, None, None, None, SYNCED, None]


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


def write_file(directory: Path, rows: Iterator[Sequence[Cell]], fmt: FileFormat) -> tuple[str, bytes]:
    path = directory / f"{secrets.token_hex(6)}.csv.zst.aes"
    key = new_key()
    write_batch_file(str(path), NAMES, rows, fmt=fmt, key=key)
    return str(path), key


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows per replace/update/delete file")
    parser.add_argument(
        "--big-mb", type=int, default=100, help="uncompressed size of the memory-test file (MB)"
    )
    args = parser.parse_args()

    fmt = FileFormat("zstd", "aes", random_token("null"), random_token("unmod"))
    params = destination_sdk_pb2.FileParams(
        compression=destination_sdk_pb2.ZSTD,
        encryption=destination_sdk_pb2.AES,
        null_string=fmt.null_string,
        unmodified_string=fmt.unmodified_string,
    )
    results: list[tuple[str, int, float, float, dict[str, Any]]] = []
    with Emulator(host="127.0.0.1", port=0) as emulator, tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        server = ServerProcess()
        channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
        stub = destination_sdk_pb2_grpc.DestinationConnectorStub(channel)
        configuration = {"url": emulator.url}
        try:
            bench_table = table_proto("events")
            response = stub.CreateTable(
                destination_sdk_pb2.CreateTableRequest(
                    configuration=configuration, schema_name=SCHEMA, table=bench_table
                )
            )
            assert response.success, response

            def write(
                kind: str, rows: Iterator[Sequence[Cell]], count: int, table: Any = bench_table
            ) -> None:
                path, key = write_file(directory, rows, fmt)
                request = destination_sdk_pb2.WriteBatchRequest(
                    configuration=configuration,
                    schema_name=SCHEMA,
                    table=table,
                    keys={path: key},
                    file_params=params,
                    **{f"{kind}_files": [path]},
                )
                emulator.reset_stats()
                cpu = server.cpu_seconds()
                started = time.perf_counter()
                answer = stub.WriteBatch(request, timeout=3600)
                elapsed = time.perf_counter() - started
                assert answer.success, answer
                results.append((kind, count, elapsed, server.cpu_seconds() - cpu, emulator.stats()))
                os.remove(path)

            write("replace", replace_rows(args.rows), args.rows)
            write("update", update_rows(args.rows), args.rows)
            write("delete", delete_rows(args.rows), args.rows)

            # Memory: one file of about --big-mb MB of CSV (random payloads, so it barely compresses).
            big_table = table_proto("big")
            stub.CreateTable(
                destination_sdk_pb2.CreateTableRequest(
                    configuration=configuration, schema_name=SCHEMA, table=big_table
                )
            )
            row_bytes = 1100
            big_rows = args.big_mb * 1_000_000 // row_bytes
            path, key = write_file(directory, replace_rows(big_rows, payload_bytes=768), fmt)
            file_mb = os.path.getsize(path) / 1e6
            idle = server.rss()
            server.reset_peak()
            request = destination_sdk_pb2.WriteBatchRequest(
                configuration=configuration,
                schema_name=SCHEMA,
                table=big_table,
                keys={path: key},
                file_params=params,
                replace_files=[path],
            )
            emulator.reset_stats()
            cpu = server.cpu_seconds()
            started = time.perf_counter()
            answer = stub.WriteBatch(request, timeout=3600)
            elapsed = time.perf_counter() - started
            assert answer.success, answer
            results.append(("replace (big)", big_rows, elapsed, server.cpu_seconds() - cpu, emulator.stats()))
            peak = server.peak
        finally:
            channel.close()
            server.stop()

    header = (
        "file",
        "rows",
        "seconds",
        "rows/s",
        "dest. CPU s",
        "dest. rows/CPU s",
        "HTTP req",
        "req/10k rows",
    )
    print("{:<15} {:>9} {:>8} {:>9} {:>11} {:>16} {:>9} {:>13}".format(*header))
    for kind, count, elapsed, cpu, stats in results:
        requests = stats["http_requests"]
        print(
            f"{kind:<15} {count:>9,} {elapsed:>8.2f} {count / elapsed:>9,.0f} {cpu:>11.2f} "
            f"{count / max(cpu, 1e-9):>16,.0f} {requests:>9} {requests * 10_000 / count:>13.2f}"
        )
    print(
        f"\nmemory test: {big_rows:,} rows, {file_mb:.1f} MB encrypted+compressed file "
        f"(about {args.big_mb} MB of CSV); server RSS idle {idle / 2**20:.0f} MiB, "
        f"peak {peak / 2**20:.0f} MiB"
    )
    print(
        "HTTP requests include the one REFRESH TABLE per WriteBatch; statement kinds of the last run:",
        {k: v for k, v in results[-1][4]["statements"].items() if v},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
