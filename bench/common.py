"""What the benchmark scripts share: batch files written as Fivetran's core writes them (AES + zstd), table
definitions and requests, the destination as the console script in a subprocess (as Fivetran starts it, so
its CPU time and memory can be measured), and the destination package of another git revision (`--rev`).
gRPC clients, also of a destination served in this process, come from `fivetran_e2e.destination_client`.

The scripts run as `python bench/<script>.py`, which puts this directory on sys.path; `run_all.py` adds it.

Another revision: `checkout(REV)` adds a temporary `git worktree` of REV and yields its `destination/`
directory (the "site"); a process started with the site first on PYTHONPATH imports that revision's
`cratedb_destination` and everything else (emulator, harness, proto) from this checkout. Each process
reports the file it imported the package from, and the scripts refuse to measure a process that did not
import the site's copy (the idea of `e2e/fivetran_e2e/mutants.py`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pyarrow as pa
from cratedb_destination.batch import Cell, FileFormat
from cratedb_emulator import CostModel
from cratedb_emulator.cost import BENCHMARK, OFF
from fivetran_e2e.batch_writer import new_key, random_token, write_batch_file
from fivetran_proto import common_pb2, destination_sdk_pb2

if TYPE_CHECKING:
    # Not at run time: the reader process of another revision imports this module with that revision's
    # cratedb_destination, and the gRPC client imports more of it than the public batch API.
    from fivetran_e2e.destination_client import Stub

# (name, DataType, primary key)
ColumnSpec = tuple[str, int, bool]

REPO = Path(__file__).resolve().parent.parent
# The destination package of this checkout: the site `run_all.py --baseline` gives the current side.
HERE = REPO / "destination"


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
# Another revision of the destination package
# ---------------------------------------------------------------------------------------------------------


def add_rev_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rev",
        metavar="REV",
        help="measure the destination package of git revision REV (a temporary worktree, its destination/ "
        "first on PYTHONPATH) instead of this checkout's",
    )


@contextlib.contextmanager
def checkout(rev: str) -> Iterator[tuple[str, Path]]:
    """`git worktree add --detach` of `rev` in a temporary directory, removed afterwards.

    Yields the revision's short commit hash and its `destination/` directory (the site to put first on
    PYTHONPATH)."""
    git = ["git", "-C", str(REPO)]
    try:
        found = subprocess.run(
            [*git, "rev-parse", "--short", f"{rev}^{{commit}}"], capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise SystemExit(f"--rev/--baseline {rev}: git is not available ({exc})") from None
    if found.returncode != 0:
        raise SystemExit(f"--rev/--baseline {rev}: not a commit of this repository ({found.stderr.strip()})")
    commit = found.stdout.strip()
    scratch = Path(tempfile.mkdtemp(prefix=f"bench-rev-{commit}-"))
    tree = scratch / "checkout"
    added = subprocess.run(
        [*git, "worktree", "add", "--detach", "--quiet", str(tree), commit],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        if added.returncode != 0:
            raise SystemExit(f"git worktree add of {commit} failed: {added.stderr.strip()}")
        site = tree / "destination"
        if not (site / "cratedb_destination" / "__init__.py").is_file():
            raise SystemExit(f"revision {commit} has no destination/cratedb_destination package")
        yield commit, site
    finally:
        if added.returncode == 0:
            subprocess.run(
                [*git, "worktree", "remove", "--force", str(tree)], capture_output=True, check=False
            )
        shutil.rmtree(scratch, ignore_errors=True)
        subprocess.run([*git, "worktree", "prune"], capture_output=True, check=False)


@contextlib.contextmanager
def revision_site(rev: str | None) -> Iterator[Path | None]:
    """The site of `--rev` (checked out for the duration), or None: the installed package."""
    if rev is None:
        yield None
        return
    with checkout(rev) as (_, site):
        yield site


def site_environment(site: Path | None) -> dict[str, str]:
    """This process's environment, with `site` first on PYTHONPATH."""
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    return env


def check_origin(files: Iterable[str], site: Path | None) -> None:
    """Raise unless every module file lies in `site` (no check without a site)."""
    if site is None:
        return
    for file in files:
        if not Path(file).resolve().is_relative_to(site.resolve()):
            raise RuntimeError(f"the benchmark process imported {file}, not the copy in {site}")


def describe_origin(file: str, site: Path | None = None) -> str:
    """Where a module file comes from, without machine paths."""
    path = Path(file).resolve()
    if path.is_relative_to(HERE.resolve()):
        return "this checkout"
    if site is not None and path.is_relative_to(site.resolve()):
        return "the temporary worktree of the other revision"
    return "an installed copy outside this checkout"


# ---------------------------------------------------------------------------------------------------------
# The destination
# ---------------------------------------------------------------------------------------------------------

# Runs the console script's entry point after writing down which files the package and its server module
# come from (the entry point's imports then find the same package in sys.modules).
_BOOT = r"""
import importlib, importlib.util, json, os, sys
import cratedb_destination
server = importlib.util.find_spec("cratedb_destination.server").origin  # found, not imported: see below
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump([cratedb_destination.__file__, server], out)
# The console script's entry point of that revision: `launch.main` sets the allocator environment before
# pyarrow is imported; revisions before it had `server.main`. (An editable install's finder would also
# find this checkout's launch.py for an older package, so the file must sit in the imported package.)
launch = importlib.util.find_spec("cratedb_destination.launch")
package = os.path.dirname(cratedb_destination.__file__)
own = launch is not None and os.path.dirname(launch.origin) == package
entry = "cratedb_destination.launch" if own else "cratedb_destination.server"
sys.argv = sys.argv[2:]
sys.exit(importlib.import_module(entry).main())
"""


class ServerProcess:
    """The destination console script on a free port (with the server flags `flags`); RSS sampled in the
    background.

    With `site`, that directory comes first on PYTHONPATH and the process must prove it imported
    `cratedb_destination` from there. `origin` holds the package's and the server module's files."""

    def __init__(self, site: Path | None = None, flags: Sequence[str] = ()) -> None:
        self.site = site
        script = Path(sys.executable).with_name("cratedb-fivetran-destination")
        options = ["--port", "0", "--host", "127.0.0.1", "--log-level", "WARNING", *flags]
        handle, origin_path = tempfile.mkstemp(prefix="bench-origin-", suffix=".json")
        os.close(handle)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _BOOT, origin_path, str(script), *options],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=site_environment(site),
            )
            self.port = self._await_port()
            self.origin: list[str] = json.loads(Path(origin_path).read_text(encoding="utf-8"))
        finally:
            os.remove(origin_path)
        try:
            check_origin(self.origin, site)
        except RuntimeError:
            self.process.kill()
            self.process.wait()
            raise
        self.ps = psutil.Process(self.process.pid)
        self.peak = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    @property
    def source(self) -> str:
        return describe_origin(self.origin[0], self.site)

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
        self.process.kill()
        raise RuntimeError("server did not start listening")

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.ps.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)

    def minor_faults(self) -> int | None:
        """Minor page faults of the process so far (Linux: `minflt`, field 10 of /proc/PID/stat, proc(5)),
        None elsewhere. Each is a page the kernel mapped (and zeroed) for memory touched afresh."""
        try:
            with open(f"/proc/{self.process.pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rpartition(")")[2].split()  # after the command name, from field 3 on
        except OSError:
            return None
        return int(fields[7])

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
            self.process.wait()


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
    header: tuple[str, ...] = ("run", "dest. CPU s", "wall s", "emulator s", "modelled s", "wall-emu s")
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
