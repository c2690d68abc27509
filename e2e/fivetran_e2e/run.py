"""`fivetran-e2e run`: one connector through `fivetran debug` and through our destination, then compared.

Steps: copy the connector project unchanged to a scratch folder (the user's `files/` stays untouched) and
write the recorder's `sitecustomize.py` beside it (first on PYTHONPATH of `fivetran debug`); per sync run
`fivetran debug` (state carried in the copy's files/state.json) and replay what it commits into the
destination while it runs (the recorder notes warehouse.db's tables after checkpoints),
then compare every table of warehouse.db with CrateDB (after every sync, so a difference a later sync
overwrites is seen too); finally write the report.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cratedb_destination.config import DEFAULT_METADATA_SCHEMA
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from . import recorder
from .core import Core, CoreError, environment_flag
from .cratedb_reader import CrateReader
from .destination_client import DestinationClient, DestinationError
from .report import RunFailure, RunReport, SyncSummary, print_summary, write_reports
from .table_compare import compare_table
from .warehouse import Warehouse, WarehouseTable, table_from_json

SYNCED_SLACK_MS = 2_000
FALLBACK_CAPTURE = "FALLBACK: captured by a second, in-process run (a non-deterministic connector may differ)"


@dataclass
class RunOptions:
    connector: Path
    configuration: Path | None = None
    syncs: int = 3
    cratedb_url: str | None = None
    destination: str | None = None
    report: Path | None = None
    keep: bool = False
    max_diffs: int = 20
    progress: bool = True
    # Extra destination configuration fields (`--destination-setting NAME=VALUE`), e.g. json_storage.
    destination_settings: dict[str, str] = field(default_factory=dict)


class RunError(Exception):
    """The run could not be carried out (as opposed to a comparison that found differences)."""


class _Stopped(Exception):
    """`fivetran debug` failed so that nothing can be compared; `Runner.report.failure` says why."""


LOG_TAIL_LINES = 40
LOG_TAIL_CHARS = 6_000
REDACTED = "[redacted]"


def redact(text: str, configuration: dict[str, str]) -> str:
    """`text` without the configuration's values (they may be credentials), also as JSON or repr() would
    quote them. A value of three characters or fewer is replaced only where it stands alone (not inside a
    longer word or number), so short settings do not wipe out the log."""
    variants: set[str] = set()
    for value in configuration.values():
        value = str(value)
        if not value.strip():
            continue
        variants |= {value, json.dumps(value)[1:-1], repr(value)[1:-1]}
    for variant in sorted(variants, key=len, reverse=True):
        if len(variant) > 3:
            text = text.replace(variant, REDACTED)
        else:
            text = re.sub(rf"(?<![\w.]){re.escape(variant)}(?![\w.])", REDACTED, text)
    return text


def _error_line(tail: str) -> str:
    """The SDK's one-line summary of why a sync failed ("Error: ..."), if the tail has one."""
    for line in reversed(tail.splitlines()):
        found = re.search(r"\bError: (.+)", line)
        if found:
            return found.group(1).strip()[:500]
    return ""


def log_tail(path: Path, configuration: dict[str, str]) -> str:
    """The end of a `fivetran debug` log (at most LOG_TAIL_LINES lines), the configuration redacted."""
    try:
        with path.open("rb") as log:
            start = max(0, log.seek(0, os.SEEK_END) - 4 * LOG_TAIL_CHARS)
            log.seek(start)
            data = log.read()
    except OSError as error:
        return f"(cannot read {path.name}: {error})"
    if start:  # drop the partial first line: a value cut in half there would escape the redaction
        data = data.partition(b"\n")[2]
    text = data.decode("utf-8", errors="replace")
    # Redact before cutting, so a value is never cut in half at the start of the tail.
    tail = "\n".join(redact(text, configuration).splitlines()[-LOG_TAIL_LINES:])
    return tail[-LOG_TAIL_CHARS:]


def _fivetran_executable() -> str:
    """The `fivetran` CLI next to this interpreter (the venv), else from PATH."""
    local = Path(sys.executable).parent / "fivetran"
    if local.exists():
        return str(local)
    found = shutil.which("fivetran")
    if not found:
        raise RunError("the `fivetran` command (package fivetran-connector-sdk) is not installed")
    return found


def debug_environment(
    record_path: Path | None, warehouse_path: Path | None = None, hook: Path | None = None
) -> dict[str, str]:
    """`fivetran debug` needs the venv's bin first on PATH (it calls pipreqs); telemetry stays off.

    With `hook` (the folder of the recorder's `sitecustomize.py`, see `recorder.write_hook`) first on
    PYTHONPATH, the process that imports the SDK runtime records into `record_path`."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["DO_NOT_TRACK"] = "1"
    env.pop(recorder.RECORD_ENV, None)
    env.pop(recorder.WAREHOUSE_ENV, None)
    if record_path is not None:
        env[recorder.RECORD_ENV] = str(record_path)
    if warehouse_path is not None:
        env[recorder.WAREHOUSE_ENV] = str(warehouse_path)
    if hook is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hook), env.get("PYTHONPATH", "")]))
    return env


def load_configuration(path: Path) -> dict[str, str]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RunError(f"{path}: cannot read the configuration ({error})") from None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise RunError(f"{path}: the configuration must be a JSON object of string values")
    return value


def _read_state(project: Path) -> dict[str, Any]:
    path = project / "files" / "state.json"
    if not path.exists():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def capture_in_process(
    project: Path, configuration: dict[str, str], state: dict[str, Any], path: Path
) -> bool:
    """The fallback: a second, in-process run of the connector through `fivetran_e2e.capture`.

    Returns whether that run succeeded. Operations stream into the recording format at `path`.
    """
    from . import capture  # lazily: another engineer's module

    body = path.with_suffix(".ops")
    succeeded = True
    with body.open("w", encoding="utf-8") as out:

        def on_operation(operation: Any) -> None:
            out.write(operation.to_line() + "\n")

        try:
            result = capture.capture_sync(
                project, configuration, state, on_operation=on_operation, keep_operations=False
            )
        except capture.SyncFailed as failure:
            result = failure.result
            succeeded = False
    with path.open("w", encoding="utf-8") as target, body.open(encoding="utf-8") as source:
        target.write(json.dumps({"declared": [recorder.declared_to_json(t) for t in result.declared]}) + "\n")
        shutil.copyfileobj(source, target)
    body.unlink()
    return succeeded


class Runner:
    def __init__(self, options: RunOptions, console: Console | None = None) -> None:
        self.options = options
        self.console = console or Console(stderr=False)
        self.progress_console = Console(stderr=True)
        self.run_id = uuid.uuid4().hex[:8]
        self.report = RunReport(
            run_id=self.run_id,
            connector=str(options.connector),
            cratedb="",
            destination="",
            started=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )

    def _progress(self) -> Progress:
        return Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.progress_console,
            transient=True,
            disable=not self.options.progress,
        )

    def say(self, message: str) -> None:
        self.console.print(message, highlight=False)

    def run(self) -> int:
        """Exit code 0 on a full match, 1 on differences, 2 when the harness or fivetran debug failed (the
        report then says which, in which sync, and why)."""
        started = time.monotonic()
        options = self.options
        connector = options.connector.resolve()
        if not (connector / "connector.py").is_file():
            raise RunError(f"{connector}: no connector.py (pass --connector DIR of a Connector SDK project)")
        configuration_path = (options.configuration or connector / "configuration.json").resolve()
        configuration = load_configuration(configuration_path)
        self._configuration = configuration
        self._current_sync: int | None = None
        self._work: Path | None = None
        try:
            self._run(connector, configuration_path, configuration)
        except _Stopped:
            pass  # self.report.failure says why
        except Exception as error:  # any failure of the harness ends in a report and exit code 2
            reason = redact(f"{type(error).__name__}: {error}", configuration)
            self.report.failure = RunFailure("harness", self._current_sync, reason)
            if not isinstance(error, RunError | CoreError | DestinationError):
                frames = traceback.format_exception(error)
                self.report.notes.append(redact("".join(frames[-6:]), configuration))
        self.report.seconds = time.monotonic() - started
        self.report.finished = datetime.now(timezone.utc).isoformat(timespec="seconds")
        print_summary(self.report, self.console)
        report_path = self.options.report or Path("reports") / f"e2e-{self.run_id}"
        json_path, md_path = write_reports(self.report, report_path)
        self.say(f"report: {json_path} and {md_path}")
        if self.options.keep and self._work is not None:
            self.say(f"kept the scratch project and recordings in {self._work}")
        if self.report.failure is not None:
            return 2
        return 0 if self.report.ok else 1

    def _run(self, connector: Path, configuration_path: Path, configuration: dict[str, str]) -> None:
        """Everything from the scratch copy to the last comparison (the work folder is `self._work`)."""
        options = self.options
        window_start = time.time_ns() // 1_000_000 - SYNCED_SLACK_MS
        with ExitStack() as stack:
            work = self._work = Path(tempfile.mkdtemp(prefix=f"fivetran-e2e-{self.run_id}-"))
            if not options.keep:
                stack.callback(shutil.rmtree, work, True)
            scratch = work / "project"
            recorder.prepare_scratch_project(connector, scratch)
            hook = recorder.write_hook(work / "hook")  # outside the project copy: pipreqs never sees it

            url, prefix = self._start_cratedb(stack)
            address = self._start_destination(stack)
            client = DestinationClient(address, {**self.options.destination_settings, "url": url})
            stack.callback(client.close)
            client.wait_ready()
            tests = client.check_setup()
            self.say(f"destination setup tests passed: {', '.join(tests) or 'none declared'}")
            if client.capabilities() != 0:
                self.report.notes.append("the destination prefers Parquet batch files; the core sends CSV")
            core = Core(
                client,
                schema_prefix=prefix,
                max_pending_keys=environment_flag("FIVETRAN_E2E_MAX_PENDING_KEYS", 100_000),
            )
            stack.callback(core.close)
            if prefix and not options.keep:
                stack.callback(self._drop_schemas, url, core)

            for number in range(1, options.syncs + 1):
                self._current_sync = number
                summary = self._sync(number, scratch, work, configuration_path, configuration, hook, core)
                # warehouse.db as fivetran debug left it after this sync against CrateDB after its replay.
                self._compare(summary, scratch, url, core, window_start)
            self._current_sync = None
            self.report.tables = self.report.syncs[-1].tables
            if not self.report.tables:
                self.report.problems.append("warehouse.db holds no tables: nothing was compared")
            self.report.replay = self._replay_stats(core, client)
            self.report.compare_seconds = sum(sync.compare_seconds for sync in self.report.syncs)

    # -- resources --------------------------------------------------------------------------------

    def _start_cratedb(self, stack: ExitStack) -> tuple[str, str]:
        url = self.options.cratedb_url or os.environ.get("CRATEDB_URL", "").strip() or None
        if url:
            prefix = f"e2e_{self.run_id}_"
            shown = _without_credentials(url)
            self.report.cratedb = f"{shown} (schemas prefixed {prefix})"
            self.say(f"CrateDB: {shown}; this run writes schemas named {prefix}<schema>")
            return url, prefix
        try:
            from cratedb_emulator import Emulator
        except ImportError as error:
            raise RunError(
                f"the embedded CrateDB emulator is not available ({error}); pass --cratedb-url"
            ) from None
        emulator = Emulator(host="127.0.0.1", port=0)
        emulator.start()
        stack.callback(emulator.stop)
        self.report.cratedb = "embedded CrateDB emulator (a stand-in for CrateDB)"
        self.say(
            "CrateDB: the embedded emulator, a stand-in for CrateDB "
            "(use --cratedb-url or CRATEDB_URL to check a real CrateDB)"
        )
        return str(emulator.url), ""

    def _start_destination(self, stack: ExitStack) -> str:
        if self.options.destination:
            self.report.destination = f"external server at {self.options.destination}"
            self.say(f"destination: {self.options.destination}")
            return self.options.destination
        from cratedb_destination.server import start_server

        server, port = start_server(host="127.0.0.1", port=0)
        stack.callback(server.stop, None)
        self.report.destination = "cratedb_destination started in-process"
        self.say(f"destination: cratedb_destination in-process on 127.0.0.1:{port}")
        return f"127.0.0.1:{port}"

    def _drop_schemas(self, url: str, core: Core) -> None:
        schemas = sorted({schema for schema, _ in core.tables})
        with CrateReader(url) as reader:
            for schema in schemas:
                reader.drop_schema_tables(schema)
                # Best effort: the destination's type records of this schema (default metadata schema).
                with contextlib.suppress(Exception):
                    reader.execute(
                        f'DELETE FROM "{DEFAULT_METADATA_SCHEMA}"."column_types" WHERE "schema_name" = ?',
                        [schema],
                    )
        self.say(f"removed this run's schemas: {', '.join(schemas) or 'none'}")

    # -- one sync ---------------------------------------------------------------------------------

    def _sync(
        self,
        number: int,
        scratch: Path,
        work: Path,
        configuration_path: Path,
        configuration: dict[str, str],
        hook: Path,
        core: Core,
    ) -> SyncSummary:
        """One `fivetran debug` run; what it commits is replayed while it still runs (see `_follow`)."""
        started = time.monotonic()
        state = _read_state(scratch)
        record_path = work / f"sync-{number}.jsonl"
        log_path = work / f"sync-{number}.log"
        warehouse_path = scratch / "files" / "warehouse.db"
        command = [_fivetran_executable(), "debug", str(scratch), "--configuration", str(configuration_path)]
        env = debug_environment(record_path, warehouse_path, hook)
        follower = recorder.RecordingFollower(record_path)
        operations_before = core.stats.operations
        with self._progress() as progress, log_path.open("w", encoding="utf-8") as log:
            task = progress.add_task(f"sync {number}: fivetran debug, replaying alongside", total=None)
            core.progress = lambda n: progress.advance(task, n)
            process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
            try:
                replayed = self._follow(process, follower, core)
            except BaseException:
                process.kill()
                process.wait()
                raise
            finally:
                core.progress = None
        returncode = process.wait()
        succeeded = returncode == 0
        debug_seconds = time.monotonic() - started
        streamed = core.stats.operations - operations_before
        failure, tail, reason = "", "", ""
        if not succeeded or not warehouse_path.exists():
            tail = log_tail(log_path, self._configuration)
            error = _error_line(tail)
            reason = f"exit code {returncode}" + (f": {error}" if error else "")
            failure = f"fivetran debug {'failed' if not succeeded else 'succeeded'} ({reason})"
            if self.report.failure is None:  # the first failure is the run's (exit code 2)
                self.report.failure = RunFailure("fivetran debug", number, reason, tail)
        if not warehouse_path.exists():
            # Nothing to compare with: the run stops here and the report says why.
            reason += "; it left no files/warehouse.db to compare with"
            self.report.failure = RunFailure("fivetran debug", number, reason, tail)
            raise _Stopped
        if not succeeded:
            self.say(f"sync {number}: {failure}; replaying what it committed")
            self.report.notes.append(f"sync {number}: fivetran debug failed; its log is {log_path.name}")
        tables: list[WarehouseTable] = []
        if warehouse_path.exists():
            with Warehouse(warehouse_path) as warehouse:
                tables = warehouse.tables()

        replay_started = time.monotonic()
        capture = "recorded in the fivetran debug run"
        try:
            if follower.declared is None and (not record_path.exists() or succeeded):
                capture = FALLBACK_CAPTURE
                self.say(f"sync {number}: the recorder did not run in fivetran debug; {capture}")
                self.report.notes.append(f"sync {number}: {capture}")
                fallback_ok = capture_in_process(scratch, configuration, state, record_path)
                if fallback_ok != succeeded:
                    self.report.problems.append(
                        f"sync {number}: fivetran debug {'succeeded' if succeeded else 'failed'} but the "
                        f"in-process capture {'succeeded' if fallback_ok else 'failed'}"
                    )
                recording = recorder.read_recording(record_path)
                operations, committed = recording.operation_count, recording.committed_count
                core.replay_sync(recording, tables, succeeded)
            else:
                # The rest: after the last replayed checkpoint, up to the end (a successful sync commits
                # everything at its end) or up to its last checkpoint (a failed sync loses the rest).
                if follower.declared is None:
                    core.begin_sync([])
                end = follower.offset if succeeded else follower.committed_end
                core.set_tables(tables)
                core.replay(follower.segment(replayed, end))
                core.end_sync()
                operations, committed = follower.operations, follower.committed
        except (CoreError, DestinationError) as error:
            raise RunError(f"sync {number}: {error}") from None
        seconds = time.monotonic() - started
        summary = SyncSummary(
            number,
            succeeded,
            capture,
            operations,
            committed,
            seconds,
            debug_seconds=debug_seconds,
            replay_seconds=time.monotonic() - replay_started,
            replayed_during_debug=streamed,
            failure=failure,
            log_tail=tail,
        )
        self.report.syncs.append(summary)
        self.say(
            f"sync {number}: {'succeeded' if succeeded else 'FAILED'}, "
            f"{operations} operations ({committed} committed), {len(tables)} tables, {seconds:.1f} s"
        )
        return summary

    def _follow(
        self, process: subprocess.Popen[bytes], follower: recorder.RecordingFollower, core: Core
    ) -> int:
        """Replay each committed part of the recording as soon as the recorder reports warehouse.db's tables
        after it, while `fivetran debug` keeps running. Returns the byte offset replayed up to."""
        replayed = 0
        handled = 0
        began = False
        while True:
            exited = process.poll() is not None
            fresh = follower.poll()
            if follower.declared is not None and not began:
                core.begin_sync(follower.declared)
                began = True
            for snapshot in follower.snapshots[handled:]:
                handled += 1
                if snapshot.committed_end <= replayed:
                    continue
                core.set_tables(table_from_json(table) for table in snapshot.tables)
                core.replay(follower.segment(replayed, snapshot.committed_end))
                replayed = snapshot.committed_end
            if exited and not fresh:
                return replayed
            if not fresh:
                time.sleep(0.05)

    def _replay_stats(self, core: Core, client: DestinationClient) -> dict[str, Any]:
        stats = core.stats
        for reason, count in stats.skipped.items():
            self.report.notes.append(f"skipped {count} x {reason}")
        for column, count in stats.dropped_columns.items():
            self.report.problems.append(
                f"{count} non-empty values of {column} were not replayed: warehouse.db has no such column"
            )
        for warning in client.warnings:
            self.report.notes.append(f"destination warning: {warning}")
        return {
            "operations": stats.operations,
            "rows_written": stats.rows_written,
            "batch_files": stats.files_written,
            "write_batch_calls": stats.write_batches,
            "truncate_calls": stats.truncates,
            "rpc_calls": dict(client.calls),
            "rpc_seconds": {method: round(seconds, 3) for method, seconds in client.seconds.items()},
            "connector_warnings": len(stats.warnings),
            "connector_errors": stats.tasks,
        }

    # -- comparison -------------------------------------------------------------------------------

    def _compare(self, sync: SyncSummary, scratch: Path, url: str, core: Core, window_start: int) -> None:
        """Compare warehouse.db as `fivetran debug` left it after `sync` with CrateDB after its replay.

        `_fivetran_synced` must lie between the run's start and now (both with some slack): rows written by
        earlier syncs keep their earlier times."""
        started = time.monotonic()
        window = (window_start, time.time_ns() // 1_000_000 + SYNCED_SLACK_MS)
        number = sync.number
        for (schema, table), problems in core.verify_tables().items():
            sync.problems += [f"{schema}.{table}: {problem}" for problem in problems]
        warehouse_path = scratch / "files" / "warehouse.db"
        if warehouse_path.exists():
            with Warehouse(warehouse_path) as warehouse, CrateReader(url) as reader:
                sources = warehouse.tables()
                total = sum(2 * warehouse.row_count(table) for table in sources)
                with self._progress() as progress:
                    task = progress.add_task(f"sync {number}: compare warehouse.db with CrateDB", total=total)
                    for source in sources:
                        target = core.targets.get((source.schema, source.name))
                        if target is None:
                            sync.problems.append(f"{source}: the core never saw this table")
                            continue
                        result = compare_table(
                            warehouse,
                            reader,
                            source,
                            target,
                            window,
                            self.options.max_diffs,
                            lambda n: progress.advance(task, n),
                        )
                        sync.tables.append(result)
        expected = {(t.schema, t.name) for t in core.targets.values()}
        for schema, name in core.tables:
            if (schema, name) not in expected:
                sync.problems.append(f"{schema}.{name} exists in the destination but not in warehouse.db")
        sync.compared = True
        sync.compare_seconds = time.monotonic() - started
        rows = sum(result.warehouse_rows for result in sync.tables)
        self.say(
            f"sync {number}: compared {len(sync.tables)} tables ({rows} rows) with CrateDB: {sync.verdict}, "
            f"{sync.compare_seconds:.1f} s"
        )


def _without_credentials(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def run(options: RunOptions, console: Console | None = None) -> int:
    """Exit code 0 on a full match, 1 on differences, 2 when the harness or fivetran debug failed (with a
    report); raises RunError when the run cannot start (no connector.py, an unreadable configuration)."""
    try:
        return Runner(options, console).run()
    except (CoreError, DestinationError) as error:
        raise RunError(str(error)) from None


__all__ = ["RunError", "RunOptions", "Runner", "run"]
