"""Plays Fivetran's core toward a destination: replays a recorded sync as partner-protocol RPCs.

Per sync it maps source names to destination names (Fivetran naming), takes each table's columns and types
from warehouse.db after that sync (refined by the declarations, e.g. XML), and sends DescribeTable,
CreateTable and AlterTable as tables and columns appear and widen. Operations are buffered per table and
written at each checkpoint (and at the end of a successful sync) as encrypted, compressed CSV batch files
through WriteBatch; a truncate becomes a soft Truncate RPC at its own moment.

Semantics follow what `fivetran debug` does with the same stream: upsert = full row (replace file);
update = changed columns only (update file with unmodified cells); delete = soft delete (update file with
`_fivetran_deleted = true`); truncate = soft truncate of rows synced before the call. Within one WriteBatch
a key appears at most once: operations on one key are merged in order (upsert then update = one upsert of
the merged row; an update of a key not written in this batch stays an update, which the destination
ignores when the row does not exist). `_fivetran_synced` is a per-operation time that only increases.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cratedb_destination.batch import UNMODIFIED, FileFormat
from fivetran_proto import common_pb2

from . import naming
from .batch_writer import new_key, random_token, write_batch_file
from .csv_values import CellConversionError, RawCell, converter
from .dest_tables import (
    DELETED,
    FIVETRAN_ID,
    SYNCED,
    DestColumn,
    DestTable,
    byte_capacity,
    evolve,
    target_table,
)
from .destination_client import DestinationClient
from .operations import DeclaredTable
from .recorder import Recording
from .warehouse import WarehouseTable

DEFAULT_MAX_PENDING_KEYS = 100_000
DEFAULT_ROWS_PER_FILE = 100_000


class CoreError(Exception):
    """The replay cannot continue: a recorded value does not fit its column's type."""


# -- the clock -----------------------------------------------------------------------------------


class OpClock:
    """Per-operation times in µs that only increase and stay near the wall clock.

    A truncate gets a whole millisecond of its own (CrateDB and the Truncate RPC count in milliseconds), so
    rows written before it are strictly older and rows written after it strictly newer.
    """

    def __init__(self) -> None:
        self.last = 0

    def tick(self) -> int:
        self.last = max(time.time_ns() // 1000, self.last + 1)
        return self.last

    def truncate_tick(self) -> int:
        millis = max(time.time_ns() // 1_000_000, self.last // 1000 + 1)
        self.last = millis * 1000 + 999
        return millis * 1000


_SECOND_PREFIX: dict[int, str] = {}


def format_micros(micros: int) -> str:
    """ISO instant with µs and `Z`; the second's prefix is cached (a replay formats one per row)."""
    seconds, fraction = divmod(micros, 1_000_000)
    prefix = _SECOND_PREFIX.get(seconds)
    if prefix is None:
        if len(_SECOND_PREFIX) > 4096:
            _SECOND_PREFIX.clear()
        prefix = f"{datetime.fromtimestamp(seconds, tz=timezone.utc):%Y-%m-%dT%H:%M:%S}."
        _SECOND_PREFIX[seconds] = prefix
    return f"{prefix}{fraction:06d}Z"


# -- replay --------------------------------------------------------------------------------------

UPSERT_ENTRY = 0
UPDATE_ENTRY = 1
UPSERT, UPDATE, DELETE, TRUNCATE, CHECKPOINT, WARNING, TASK = (
    "upsert",
    "update",
    "delete",
    "truncate",
    "checkpoint",
    "warning",
    "task",
)


@dataclass
class ReplayStats:
    operations: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> count
    dropped_columns: Counter[str] = field(default_factory=Counter)  # "table.column" -> non-empty values
    rows_written: int = 0
    files_written: int = 0
    write_batches: int = 0
    truncates: int = 0
    warnings: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)


def _no_conversion(raw: RawCell) -> str | None:
    return None


class TableReplay:
    """One table during one sync: column lookup for source names, and the operations not yet written."""

    def __init__(self, target: DestTable, stats: ReplayStats) -> None:
        self.target = target
        self.stats = stats
        self.names = [column.name for column in target.columns]
        self.types = [column.type for column in target.columns]
        self.converters = [converter(column.type) for column in target.columns]
        self.index = {name: position for position, name in enumerate(self.names)}
        self.width = len(self.names)
        self.synced = self.index.get(SYNCED)
        self.deleted = self.index.get(DELETED)
        self.fivetran_id = self.index.get(FIVETRAN_ID)
        keys = [position for position, column in enumerate(target.columns) if column.primary_key]
        self.keyless = keys == [self.fivetran_id] or not keys
        self.key_positions = [] if self.keyless else keys
        self.pending: dict[tuple[Any, ...], list[Any]] = {}
        self._plans: dict[str, tuple[int, Callable[[RawCell], str | None]]] = {}

    def _plan(self, source: str) -> tuple[int, Callable[[RawCell], str | None]]:
        """Where a source column goes (-1: nowhere) and its converter; computed once per name."""
        position = self.index.get(naming.column_name(source), -1)
        if position in (self.synced, self.fivetran_id):
            position = -1
        entry = (position, self.converters[position] if position >= 0 else _no_conversion)
        self._plans[source] = entry
        return entry

    def convert(self, data: dict[str, RawCell]) -> dict[int, str | None]:
        values: dict[int, str | None] = {}
        plans = self._plans
        for source, raw in data.items():
            position, convert = plans.get(source) or self._plan(source)
            if position < 0:
                if isinstance(raw, dict) and raw.get("kind") == "text":
                    raw = raw["text"]
                if raw is not None and raw != "":
                    self.stats.dropped_columns[f"{self.target}.{source}"] += 1
                continue
            if position in values:
                continue  # two source names map to one column: the first value wins, as in the tester
            try:
                values[position] = convert(raw)
            except CellConversionError as error:
                raise CoreError(
                    f"table {self.target}, column {self.names[position]!r} ({self.types[position]}): {error}"
                ) from None
        return values

    def key_of(self, values: dict[int, str | None]) -> tuple[Any, ...] | None:
        if self.keyless:
            return (self.row_id(values),)
        key = tuple(values.get(position) for position in self.key_positions)
        return None if any(part is None for part in key) else key

    def row_id(self, values: dict[int, str | None]) -> str:
        """Our own `_fivetran_id`: a digest of the row's non-null values (the tester's is opaque)."""
        items = sorted((self.names[p], v) for p, v in values.items() if v is not None and p != self.deleted)
        return hashlib.sha256(json.dumps(items, ensure_ascii=False).encode("utf-8")).hexdigest()[:32]

    def apply(self, kind: str, data: dict[str, RawCell], moment: int) -> bool:
        """Merge one upsert/update/delete into the pending entries; False if it was skipped."""
        values = self.convert(data)
        key = self.key_of(values)
        if key is None:
            self.stats.skipped[f"{kind} without a complete primary key in {self.target}"] += 1
            return False
        entry = self.pending.get(key)
        if kind == UPSERT:
            row: list[Any] = [None] * self.width
            for position, value in values.items():
                row[position] = value
            self._set_identity(row, key, deleted="false")
            self.pending[key] = [UPSERT_ENTRY, row, moment]
            return True
        if kind == DELETE and self.deleted is None:
            self.stats.skipped[f"delete in {self.target}, which has no {DELETED} column"] += 1
            return False
        if entry is None:
            row = [UNMODIFIED] * self.width
            entry = [UPDATE_ENTRY, row, moment]
            self.pending[key] = entry
            for position in self.key_positions:
                row[position] = values[position]
            self._set_identity(row, key)
        row = entry[1]
        entry[2] = moment
        if kind == UPDATE:
            blank_is_null = entry[0] == UPDATE_ENTRY  # observed: "" becomes NULL unless the row is buffered
            for position, value in values.items():
                row[position] = None if blank_is_null and value == "" else value
            if self.deleted is not None:
                row[self.deleted] = "false"
        elif self.deleted is not None:
            row[self.deleted] = "true"
        return True

    def _set_identity(self, row: list[Any], key: tuple[Any, ...], deleted: str | None = None) -> None:
        if self.keyless and self.fivetran_id is not None:
            row[self.fivetran_id] = key[0]
        if deleted is not None and self.deleted is not None:
            row[self.deleted] = deleted

    def take(self) -> tuple[list[list[Any]], list[list[Any]]]:
        """(replace rows, update rows) of everything pending, with `_fivetran_synced` filled in."""
        replace: list[list[Any]] = []
        update: list[list[Any]] = []
        for kind, row, moment in self.pending.values():
            if self.synced is not None:
                row[self.synced] = format_micros(moment)
            (replace if kind == UPSERT_ENTRY else update).append(row)
        self.pending = {}
        return replace, update


class Core:
    """Replays recorded syncs into a destination, keeping its own view of the destination's tables."""

    def __init__(
        self,
        client: DestinationClient,
        schema_prefix: str = "",
        max_pending_keys: int = DEFAULT_MAX_PENDING_KEYS,
        rows_per_file: int = DEFAULT_ROWS_PER_FILE,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.client = client
        self.schema_prefix = schema_prefix
        self.max_pending_keys = max_pending_keys
        self.rows_per_file = rows_per_file
        self.progress = progress
        self.tables: dict[tuple[str, str], DestTable] = {}
        self.targets: dict[tuple[str, str], DestTable] = {}  # latest target per table, for the comparison
        self.clock = OpClock()
        self.stats = ReplayStats()
        self.workdir = Path(tempfile.mkdtemp(prefix="fivetran-e2e-batches-"))  # mode 0700
        self.file_format = FileFormat(
            compression="zstd",
            encryption="aes",
            null_string=random_token("null"),
            unmodified_string=random_token("unmod"),
        )
        self.file_params = self.file_format.to_proto()
        self._files = 0
        self._replays: dict[tuple[str, str], TableReplay] = {}
        self._sources: dict[tuple[str | None, str], TableReplay | None] = {}
        self._declared: dict[tuple[str, str], DeclaredTable] = {}

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def dest_schema(self, warehouse_schema: str) -> str:
        return f"{self.schema_prefix}{warehouse_schema}"

    # -- one sync ---------------------------------------------------------------------------------

    def replay_sync(
        self, recording: Recording, warehouse_tables: Iterable[WarehouseTable], succeeded: bool
    ) -> None:
        """Replay one recorded sync; a failed sync keeps only what its last checkpoint committed."""
        self.begin_sync(recording.declared)
        self.set_tables(warehouse_tables)
        self.replay(recording.raw_operations(None if succeeded else recording.committed_count))
        self.end_sync()

    def begin_sync(self, declared: Iterable[DeclaredTable]) -> None:
        self._declared = {
            (naming.schema_name(table.schema), naming.table_name(table.name)): table for table in declared
        }
        self._replays = {}
        self._sources = {}

    def set_tables(self, warehouse_tables: Iterable[WarehouseTable]) -> None:
        """The tables as warehouse.db holds them after (a part of) this sync; types only ever widen, so a
        later view is right for every operation before it. Call it only when nothing is pending."""
        self._flush_all()
        self._sources = {}
        for table in warehouse_tables:
            key = (table.schema, table.name)
            target = target_table(self.dest_schema(table.schema), table, self._declared.get(key))
            self.targets[key] = target
            self._replays[key] = TableReplay(target, self.stats)

    def replay(self, operations: Iterable[dict[str, Any]]) -> None:
        """Feed committed operations (`Operation.to_json` form); checkpoints write what is pending."""
        for operation in operations:
            self._operation(operation)

    def end_sync(self) -> None:
        """The end of a successful sync commits what is pending; every table warehouse.db has must exist."""
        self._flush_all()
        for replay in self._replays.values():
            self._ensure(replay.target, {})

    def _operation(self, operation: dict[str, Any]) -> None:
        self.stats.operations += 1
        if self.progress is not None and self.stats.operations % 1000 == 0:
            self.progress(1000)
        kind = operation["kind"]
        if kind in (UPSERT, UPDATE, DELETE):
            replay = self._replay_for(operation)
            if replay is None:
                self.stats.skipped[f"{kind} into a table that warehouse.db does not have"] += 1
                return
            replay.apply(kind, operation.get("data", {}), self.clock.tick())
            if len(replay.pending) >= self.max_pending_keys:
                self._flush(replay)
        elif kind == TRUNCATE:
            self._truncate(operation)
        elif kind == CHECKPOINT:
            self._flush_all()
        elif kind == WARNING:
            self.stats.warnings.append(operation.get("message") or "")
        elif kind == TASK:
            self.stats.tasks.append(operation.get("message") or "")

    def _replay_for(self, operation: dict[str, Any]) -> TableReplay | None:
        source = (operation.get("schema"), operation.get("table") or "")
        if source not in self._sources:
            key = (naming.schema_name(source[0]), naming.table_name(source[1]))
            self._sources[source] = self._replays.get(key)
        return self._sources[source]

    def _truncate(self, operation: dict[str, Any]) -> None:
        replay = self._replay_for(operation)
        if replay is not None:
            self._flush(replay)
            schema, name = replay.target.schema, replay.target.name
            existing = self.tables.get((schema, name))
            if existing is not None and existing.column(DELETED) is None:
                self.stats.skipped[f"truncate of {schema}.{name}, which has no {DELETED} column"] += 1
                return
        else:
            schema = self.dest_schema(naming.schema_name(operation.get("schema")))
            name = naming.table_name(operation.get("table") or "")
        self.client.truncate(schema, name, self.clock.truncate_tick())
        self.stats.truncates += 1

    def _flush_all(self) -> None:
        for replay in self._replays.values():
            if replay.pending:
                self._flush(replay)

    def _flush(self, replay: TableReplay) -> None:
        if not replay.pending:
            return
        replace, update = replay.take()
        lengths: dict[str, int] = {}
        for position, column_type in enumerate(replay.types):
            if column_type.type == common_pb2.STRING:
                longest = max(
                    (
                        len(row[position].encode("utf-8"))
                        for row in (*replace, *update)
                        if isinstance(row[position], str)
                    ),
                    default=0,
                )
                if longest:
                    lengths[replay.names[position]] = longest
        table = self._ensure(replay.target, lengths)
        keys: dict[str, bytes] = {}
        replace_files = self._write_files(replay, replace, keys)
        update_files = self._write_files(replay, update, keys)
        try:
            self.client.write_batch(table, keys, replace_files, update_files, self.file_params)
        finally:
            for path in (*replace_files, *update_files):
                Path(path).unlink(missing_ok=True)
        self.stats.write_batches += 1
        self.stats.rows_written += len(replace) + len(update)

    def _write_files(self, replay: TableReplay, rows: list[list[Any]], keys: dict[str, bytes]) -> list[str]:
        paths = []
        for start in range(0, len(rows), self.rows_per_file):
            self._files += 1
            path = str(self.workdir / f"{replay.target.name}_{self._files}.csv.zst.aes")
            key = new_key()
            write_batch_file(
                path, replay.names, rows[start : start + self.rows_per_file], fmt=self.file_format, key=key
            )
            keys[path] = key
            paths.append(path)
            self.stats.files_written += 1
        return paths

    # -- schema evolution -------------------------------------------------------------------------

    def _ensure(self, target: DestTable, lengths: Mapping[str, int]) -> DestTable:
        """Make the destination table hold `target` (create, or alter to add/widen), and return our view."""
        key = (target.schema, target.name)
        current = self.tables.get(key)
        if current is None:
            current = self.client.describe(target.schema, target.name)
            if current is None:
                created = DestTable(
                    target.schema,
                    target.name,
                    [
                        DestColumn(
                            c.name,
                            c.type,
                            c.primary_key,
                            byte_capacity(lengths[c.name]) if c.name in lengths else None,
                        )
                        for c in target.columns
                    ],
                )
                self.client.create(created)
                self.tables[key] = created
                return created
            self.tables[key] = current
        desired, changed = evolve(current, target, lengths)
        if changed:
            self.client.alter(desired)
            self.tables[key] = desired
        return self.tables[key]

    def verify_tables(self) -> dict[tuple[str, str], list[str]]:
        """DescribeTable every table and list where it differs from what the core created or altered."""
        problems: dict[tuple[str, str], list[str]] = {}
        for key, expected in self.tables.items():
            described = self.client.describe(expected.schema, expected.name)
            found: list[str] = []
            if described is None:
                found.append("DescribeTable says the table does not exist")
            else:
                for column in expected.columns:
                    got = described.column(column.name)
                    if got is None:
                        found.append(f"DescribeTable lacks column {column.name!r}")
                    elif (got.type, got.primary_key) != (column.type, column.primary_key):
                        found.append(
                            f"DescribeTable reports {column.name!r} as {got.type}"
                            f"{' (key)' if got.primary_key else ''}, the core sent {column.type}"
                            f"{' (key)' if column.primary_key else ''}"
                        )
                    elif got.string_byte_length != column.string_byte_length:
                        found.append(
                            f"DescribeTable reports string_byte_length {got.string_byte_length} for "
                            f"{column.name!r}, the core sent {column.string_byte_length}"
                        )
            if found:
                problems[key] = found
        return problems


def environment_flag(name: str, default: int) -> int:
    """Integer tuning knobs from the environment (for benchmarks), e.g. FIVETRAN_E2E_MAX_PENDING_KEYS."""
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default
