"""Run a Connector SDK project in this process and record the operations it emits.

Only MIT code paths of `fivetran-connector-sdk` run: the connector module is imported fresh, its schema is
declared through `Connector.get_schema`, and `Connector.run_update` emits into a recording object installed
as the SDK runtime's sink (`fivetran_connector_sdk_cli.runtime`). No DuckDB, no pipreqs, no network; the
proprietary core is never called from here. The cells are recorded exactly as the SDK encoded them.

Like Fivetran's local tester, a failed operation fails the whole sync: the first failure the sink raises is
remembered and raised again on every later call and at the end, even if the connector swallowed it.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import itertools
import json
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

from fivetran_proto import common_pb2

from fivetran_e2e.data_types import declarable_number
from fivetran_e2e.operations import (
    RECORD_TYPE_TO_KIND,
    Cell,
    CellKind,
    DeclaredColumn,
    DeclaredTable,
    Operation,
    OpKind,
)

ENCRYPTED_PREFIX = "fivetran_encrypted:"
CONNECTOR_FILE = "connector.py"

_capture_lock = threading.Lock()  # the SDK's sink and table registry are process-wide
_module_numbers = itertools.count(1)


class SyncAborted(BaseException):
    """Raised by the sink to stop the connector, as the runner does.

    A BaseException, so a connector's `except Exception` cannot swallow it and carry on emitting.
    """


@dataclass(frozen=True)
class FileChunkInfo:
    """A chunk of an uploaded file (`op.upsert(..., file=...)`); only its size is kept."""

    table: str
    schema: str | None
    path: str
    size: int
    is_last: bool


@dataclass
class CaptureResult:
    declared: list[DeclaredTable]
    operations: list[Operation]
    final_state: Any  # the state of the last checkpoint, else the state the sync started with
    file_chunks: list[FileChunkInfo] = field(default_factory=list)

    def committed_operations(self) -> list[Operation]:
        """The operations up to the last checkpoint: what survives when the sync fails after it."""
        for index in range(len(self.operations) - 1, -1, -1):
            if self.operations[index].kind is OpKind.CHECKPOINT:
                return self.operations[: index + 1]
        return []


class SyncFailed(Exception):
    """The sync failed; `result` holds what was captured until then (and the last checkpointed state)."""

    def __init__(self, message: str, result: CaptureResult) -> None:
        super().__init__(message)
        self.result = result


def capture_sync(
    project_dir: str | Path,
    configuration: Mapping[str, str],
    state: Mapping[str, Any] | None = None,
    *,
    log_level: str = "WARNING",
    on_operation: Callable[[Operation], None] | None = None,
    keep_operations: bool = True,
) -> CaptureResult:
    """Run one sync of the project in `project_dir` and record what it emits.

    Args:
        project_dir: folder holding connector.py (its sibling modules are importable during the run).
        configuration: string values only, as `fivetran debug` requires.
        state: the state to start from (`{}` or None for a first sync).
        log_level: the SDK's `Logging.Level` name for the connector's own log calls.
        on_operation: called with every operation as it arrives (for streaming large syncs).
        keep_operations: False keeps `result.operations` empty, so memory does not grow with the sync.

    Raises:
        SyncFailed: schema() or update() raised, op.error was called, or an operation was rejected.
        ValueError: the configuration is not a JSON object of plain strings.
    """
    from fivetran_connector_sdk import Logging
    from fivetran_connector_sdk_cli import runtime, schema_processing

    config = _checked_configuration(configuration)
    start_state = copy.deepcopy(dict(state or {}))
    project = Path(project_dir).resolve()
    with _capture_lock, _project_imports(project), _log_level(Logging, log_level), _bounded_memory_watchdog():
        module = _import_fresh(project)
        result = CaptureResult(declared=[], operations=[], final_state=start_state)
        try:
            schema_processing.reset()
            result.declared = declared_tables_from_schema(module.connector.get_schema(config))
        except Exception as schema_error:
            raise SyncFailed(f"schema() failed: {schema_error}", result) from schema_error
        sink = _RecordingSink(result, on_operation, keep_operations)
        failure: BaseException | None = None
        runtime.install(sink)
        try:
            module.connector.run_update(config, copy.deepcopy(start_state))
        except (Exception, SyncAborted) as update_error:
            failure = update_error
        finally:
            runtime.install(None)
            schema_processing.reset()
        failure = sink.failure or failure
        if failure is not None:
            raise SyncFailed(str(failure), result) from failure
        return result


def load_connector_module(project_dir: str | Path) -> ModuleType:
    """Import the project's connector.py as a new module (for calling its functions directly in tests)."""
    project = Path(project_dir).resolve()
    with _project_imports(project):
        return _import_fresh(project)


def declared_tables_from_schema(schema: Any) -> list[DeclaredTable]:
    """Convert declared tables into `DeclaredTable`s.

    Accepts what `Connector.get_schema` returns (an object with `tables` and `not_supported`) or the raw list
    of dicts a connector's schema() returns. Column order follows the SDK: key columns first, in key order.
    """
    if isinstance(schema, list):
        return [_table_from_dict(entry) for entry in schema]
    if getattr(schema, "not_supported", False):
        return []
    return [_table_from_sdk(table) for table in getattr(schema, "tables", None) or []]


# -- the sink
class _RecordingSink:
    """Receives what the SDK's operations emit (the six methods its runtime calls)."""

    def __init__(
        self, result: CaptureResult, on_operation: Callable[[Operation], None] | None, keep: bool
    ) -> None:
        self.result = result
        self.on_operation = on_operation
        self.keep = keep
        self.failure: SyncAborted | None = None
        self.key_columns = {
            (table.schema, table.name): [column.name for column in table.columns if column.primary_key]
            for table in result.declared
        }

    def record(self, record: Any) -> None:
        self._raise_earlier_failure()
        kind = RECORD_TYPE_TO_KIND.get(int(record.type))
        table, schema = record.table, record.schema or None
        if kind is None:
            self._fail(f"unknown record type {record.type!r} for table {table!r}")
        try:
            data = {name: Cell.decode(value) for name, value in record.row_data.items()}
        except ValueError as error:
            self._fail(f"{kind.value} into table {table!r}: undecodable cell: {error}")
        for column in self.key_columns.get((schema, table), ()):
            cell = data.get(column)
            if cell is None or cell.kind is CellKind.NULL:
                self._fail(
                    f"{kind.value} into table {_qualified(schema, table)}: primary key column {column!r} "
                    "is missing or NULL"
                )
        self._emit(Operation(kind, table=table, schema=schema, data=data))

    def truncate(self, truncate: Any) -> None:
        self._raise_earlier_failure()
        self._emit(Operation(OpKind.TRUNCATE, table=truncate.table, schema=truncate.schema or None))

    def file_chunk(self, chunk: Any) -> None:
        self._raise_earlier_failure()
        self.result.file_chunks.append(
            FileChunkInfo(
                table=chunk.storage_name,
                schema=chunk.schema or None,
                path=chunk.file_path,
                size=len(chunk.chunk_data),
                is_last=bool(chunk.is_last),
            )
        )

    def checkpoint(self, checkpoint: Any) -> None:
        self._raise_earlier_failure()
        state = json.loads(checkpoint.state_json)
        self._emit(Operation(OpKind.CHECKPOINT, state=state))
        self.result.final_state = state

    def warning(self, warning: Any) -> None:
        self._raise_earlier_failure()
        self._emit(Operation(OpKind.WARNING, message=json.loads(warning.message)["message"]))

    def task(self, task: Any) -> None:
        self._raise_earlier_failure()
        payload = json.loads(task.message)
        self._emit(Operation(OpKind.TASK, message=payload["message"]))
        trace = payload.get("trace")
        self._fail(f"the connector reported an error: {payload['message']}" + (f"\n{trace}" if trace else ""))

    def _emit(self, operation: Operation) -> None:
        if self.keep:
            self.result.operations.append(operation)
        if self.on_operation is not None:
            self.on_operation(operation)

    def _fail(self, message: str) -> NoReturn:
        self.failure = SyncAborted(message)
        raise self.failure

    def _raise_earlier_failure(self) -> None:
        if self.failure is not None:
            raise self.failure


def _qualified(schema: str | None, table: str) -> str:
    return f"{schema}.{table}" if schema else table


# -- declared tables
def _table_from_sdk(table: Any) -> DeclaredTable:
    columns = []
    for column in table.columns:
        decimal = column.decimal if int(column.type) == common_pb2.DECIMAL else None
        columns.append(
            DeclaredColumn(
                name=column.name,
                type=int(column.type),
                primary_key=bool(column.primary_key),
                precision=None if decimal is None else int(decimal.precision),
                scale=None if decimal is None else int(decimal.scale),
            )
        )
    return DeclaredTable(name=table.name, schema=table.schema or None, columns=tuple(columns))


def _table_from_dict(entry: Mapping[str, Any]) -> DeclaredTable:
    name = entry.get("table")
    if not isinstance(name, str) or not name:
        raise ValueError(f"schema entry without a table name: {entry!r}")
    keys = list(entry.get("primary_key") or [])
    declared = dict(entry.get("columns") or {})
    columns = [_column_from_dict(name, column, declared.get(column), True) for column in keys]
    columns += [
        _column_from_dict(name, column, spec, False)
        for column, spec in declared.items()
        if column not in keys
    ]
    return DeclaredTable(name=name, schema=entry.get("schema") or None, columns=tuple(columns))


def _column_from_dict(table: str, column: str, spec: Any, primary_key: bool) -> DeclaredColumn:
    if spec is None:
        return DeclaredColumn(column, 0, primary_key)
    if isinstance(spec, dict):
        if str(spec.get("type", "")).upper() != "DECIMAL" or "precision" not in spec or "scale" not in spec:
            raise ValueError(
                f"table {table!r} column {column!r}: only DECIMAL with precision and scale may be a dict"
            )
        return DeclaredColumn(
            column, common_pb2.DECIMAL, primary_key, int(spec["precision"]), int(spec["scale"])
        )
    number = declarable_number(str(spec).upper())
    if number is None or number == common_pb2.DECIMAL:
        raise ValueError(f"table {table!r} column {column!r}: unsupported type {spec!r}")
    return DeclaredColumn(column, number, primary_key)


# -- running the project
def _checked_configuration(configuration: Mapping[str, Any]) -> dict[str, str]:
    """The checks `fivetran debug` makes before it runs a connector (decryption is not supported here)."""
    if not isinstance(configuration, Mapping):
        raise ValueError("the configuration must be a JSON object")
    for key, value in configuration.items():
        if not isinstance(value, str):
            raise ValueError(
                f"configuration key {key!r}: every value must be a string, got {type(value).__name__}"
            )
        if value.startswith(ENCRYPTED_PREFIX):
            raise ValueError(f"configuration key {key!r}: encrypted values are not supported by the capture")
    return dict(configuration)


def _import_fresh(project: Path) -> ModuleType:
    """A new module object for connector.py, so no state of an earlier run (or debug()) leaks in."""
    path = project / CONNECTOR_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: a Connector SDK project needs connector.py")
    spec = importlib.util.spec_from_file_location(f"_captured_connector_{next(_module_numbers)}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from fivetran_connector_sdk import Connector

    if not isinstance(getattr(module, "connector", None), Connector):
        raise ValueError(f"{path} must define a module-level `connector = Connector(...)`")
    return module


def _local_module_names(project: Path) -> set[str]:
    """Top-level modules the project provides itself (never a standard-library name)."""
    names = {entry.stem for entry in project.glob("*.py")}
    names |= {entry.name for entry in project.iterdir() if (entry / "__init__.py").is_file()}
    return names - set(sys.builtin_module_names) - set(getattr(sys, "stdlib_module_names", ()))


def _matching(names: Iterable[str]) -> Callable[[str], bool]:
    prefixes = tuple(f"{name}." for name in names)
    exact = set(names)
    return lambda module_name: module_name in exact or module_name.startswith(prefixes)


@contextlib.contextmanager
def _project_imports(project: Path) -> Iterator[None]:
    """Make the project's sibling modules importable, fresh, and forget them afterwards.

    Modules of the same names imported earlier (e.g. from another copy of the project) are set aside and
    restored, so two projects never share helper modules.
    """
    is_local = _matching(_local_module_names(project))
    set_aside = {name: sys.modules.pop(name) for name in list(sys.modules) if is_local(name)}
    sys.path.insert(0, str(project))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(project))
        for name in [name for name in sys.modules if is_local(name)]:
            del sys.modules[name]
        sys.modules.update(set_aside)


@contextlib.contextmanager
def _log_level(logging_class: Any, level_name: str) -> Iterator[None]:
    """The SDK's log calls fail until `Logging.LOG_LEVEL` is set; restore the previous level afterwards."""
    try:
        level = logging_class.Level[level_name.upper()]
    except KeyError:
        raise ValueError(f"unknown log level {level_name!r}") from None
    previous = logging_class.LOG_LEVEL
    logging_class.LOG_LEVEL = level
    try:
        yield
    finally:
        logging_class.LOG_LEVEL = previous


@contextlib.contextmanager
def _bounded_memory_watchdog() -> Iterator[None]:
    """Stop the SDK's memory watchdog when `run_update` returns.

    `run_update` starts a sampling thread (with a 4 GB limit) whose `stop()` does nothing, since `fivetran
    debug` ends the process afterwards; in a long-lived process every capture would leave one behind, and
    each would print a memory summary at exit. During the capture the watchdog runs as usual.
    """
    from fivetran_connector_sdk_cli import connector as sdk_connector

    original = sdk_connector.DebugMemoryTracker

    class StoppingTracker(original):  # type: ignore[misc, valid-type]
        def stop(self, timeout: float = 3.0) -> None:
            self.active = False

        def _log_results(self) -> None:
            pass

    sdk_connector.DebugMemoryTracker = StoppingTracker
    try:
        yield
    finally:
        sdk_connector.DebugMemoryTracker = original
