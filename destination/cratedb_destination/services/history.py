"""WriteHistoryBatch: history-mode tables keep one row per version of a source record.

The table's primary key is the record key plus `_fivetran_start`. Files are applied in the order
earliest_start -> replace -> update -> delete, each streamed in bulk chunks with every per-row result
checked (SDK history guide):

- earliest_start: per record, delete the versions starting at or after the batch's earliest start (a
  replay's leftovers), then close the active version at that start minus 1 ms. Per chunk, all deletes
  run before all closes, with a REFRESH in between, and every earliest_start file before anything else.
- replace: insert each version as given, upserted on record key + `_fivetran_start`.
- update: each row is a new version whose unmodified cells come from the previous version of the
  record: the one with the greatest start below the row's start, in the table or produced earlier from
  this batch. Rows of a record are completed in start order. A record without a previous version is
  skipped (an update of a missing record is ignored). Previous versions are found with two statements
  per chunk that match record keys against array parameters (`_HistoryFile._versions_by_arrays`).
- delete: close the record's active version at the file's `_fivetran_end`; no active version: no-op.

Only the replace and update upserts match full primary keys; the other statements match a record key
(plus a condition), which CrateDB answers from refreshed data only, so the table is refreshed before
them whenever something was written since the last refresh (CrateDB docs general/dql/refresh).
Replaying a batch leaves the
same contents: the earliest_start step removes what the batch wrote before, and every write is an
upsert or a conditional update.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cratedb_destination.batch import UNMODIFIED, BatchFile
from cratedb_destination.client import Session
from cratedb_destination.domain import END, HISTORY_COLUMNS, START, FileKind, TableSchema
from cratedb_destination.errors import UserActionRequired
from cratedb_destination.limits import MAX_STATEMENT_CHARS
from cratedb_destination.metadata import MetadataStore
from cratedb_destination.services import schema
from cratedb_destination.services.long_text import LongTextColumns
from cratedb_destination.services.writes import (
    BatchFileWriter,
    BatchRequest,
    Row,
    WriteOptions,
    WriteSummary,
    binary_warnings,
    sized_chunks,
)
from cratedb_destination.sql import dml
from cratedb_destination.sql import history as sql
from cratedb_destination.sql.identifiers import TableRef
from cratedb_destination.timestamps import epoch_ms, iso_ms
from cratedb_destination.type_mapping import ColumnSpec, array_matchable, comparable, stored_to_parameter

log = logging.getLogger(__name__)

# `_fivetran_end` of active versions when the destination itself creates them (sync-mode migrations).
# Fivetran leaves the literal open (no SDK guide names it); 9999-12-31T23:59:59.999Z is the value people
# recognise as "open-ended", it is a whole number of milliseconds (CrateDB stores it exactly) and it is
# the largest instant most clients and Python's datetime can still represent.
END_OF_TIME = "9999-12-31T23:59:59.999Z"
# `_fivetran_start`/`_fivetran_end` of versions that were deleted before history began (the epoch).
START_OF_TIME = "1970-01-01T00:00:00.000Z"

# Records named by one step-3 lookup, and the conditions one lookup may hold in all: each record adds
# one condition per key column plus two on `_fivetran_start`; far below `limits.MAX_QUERY_CLAUSES`.
MAX_RECORDS_PER_LOOKUP = 200
MAX_LOOKUP_CONDITIONS = 1000
_LOOKUP_MAX_CHARS = MAX_STATEMENT_CHARS - 4096


# ---------------------------------------------------------------------------------------------------------

# A chunk's rows by record (comparable key values): (file row number, row, start in ms), in start order.
Records = dict[tuple[Any, ...], list[tuple[int, Row, int]]]
# Stored versions by record: {start in ms: the version's values as parameters, in table column order}.
Versions = dict[tuple[Any, ...], dict[int, list[Any]]]


@dataclass
class HistorySummary:
    earliest: int = 0
    replaced: int = 0
    updated: int = 0
    skipped_updates: int = 0
    closed: int = 0
    files: WriteSummary = field(default_factory=WriteSummary)


class _Visibility:
    """Tracks whether the table was written since its last REFRESH (unknown at first: assume it was)."""

    def __init__(self, session: Session, table: TableRef) -> None:
        self._session = session
        self._table = table
        self.dirty = True

    def wrote(self) -> None:
        self.dirty = True

    def ensure(self) -> None:
        if self.dirty:
            self._session.refresh(self._table)
            self.dirty = False


@dataclass(frozen=True)
class HistoryTable:
    """A history-mode table: the full definition plus the record key (the primary key without start)."""

    table: TableSchema
    record_keys: list[str]

    @classmethod
    def of(cls, table: TableSchema) -> HistoryTable:
        missing = [name for name in HISTORY_COLUMNS if table.column(name) is None]
        if missing:
            raise UserActionRequired(
                f"table {table.ref} is not a history-mode table: it lacks the columns {missing}"
            )
        if START not in table.keys:
            raise UserActionRequired(
                f"table {table.ref} is not a history-mode table: {START} is not part of its primary key"
            )
        record_keys = [name for name in table.keys if name != START]
        if not record_keys:
            raise UserActionRequired(f"history-mode table {table.ref} has no record key besides {START}")
        return cls(table, record_keys)

    def spec(self, name: str) -> ColumnSpec:
        found = self.table.column(name)
        if found is None:
            raise UserActionRequired(f"table {self.table.ref} has no column {name!r}")
        return found

    @property
    def by_record(self) -> TableSchema:
        """The same table keyed by record only, for files that name records rather than versions."""
        columns = tuple(
            replace(spec, primary_key=False) if spec.name == START else spec for spec in self.table.columns
        )
        return TableSchema(self.table.ref, columns)


class _HistoryFile:
    """One earliest_start, update or delete file of a history batch."""

    def __init__(
        self,
        session: Session,
        history: HistoryTable,
        batch: BatchFile,
        kind: FileKind,
        summary: HistorySummary,
        visibility: _Visibility,
        warn_binary: Callable[[str], Callable[[], None]],
        long_text: LongTextColumns,
    ) -> None:
        self.session = session
        self.history = history
        self.ref = history.table.ref
        self.kind = kind
        self.summary = summary
        self.visibility = visibility
        self.batch = batch
        # Update rows are upserted as new versions, record key included: their key values are checked too.
        self.writer = BatchFileWriter(
            session,
            history.by_record,
            batch,
            kind,
            summary.files,
            warn_binary,
            long_text,
            writes_keys=kind is FileKind.UPDATE,
        )
        self.position = self.writer.position

    def _required(self, name: str) -> int:
        index = self.position.get(name)
        if index is None:
            raise UserActionRequired(f"{self.kind} file {self.batch.path} lacks the column {name!r}")
        return index

    def _timestamp(self, row: Row, index: int, number: int) -> str:
        value = self.writer.value(row[index], index, number)
        if value is None:
            raise self.writer.invalid(number, index, "a history-mode row needs this timestamp")
        return str(value)

    def _send(
        self,
        statement: str,
        args: list[list[Any]],
        numbers: Sequence[int],
        parameters: Sequence[str],
        *,
        by_key: bool = False,
    ) -> int:
        count = self.writer.send(statement, args, numbers, parameters, by_key=by_key)
        self.visibility.wrote()
        return count

    def _array_matchable(self) -> bool:
        return all(array_matchable(self.history.spec(name).type) for name in self.history.record_keys)

    def _stored_versions(
        self, records: dict[tuple[Any, ...], list[Any]], condition: str, args: list[Any]
    ) -> list[tuple[tuple[Any, ...], int, bool]]:
        """(record, start ms, active) of the stored versions of `records` (comparable key -> key values)
        that meet `condition`, found with one query (one query job on the cluster)."""
        keys = [(name, self.history.spec(name).type) for name in self.history.record_keys]
        arrays = [list(column) for column in zip(*records.values(), strict=True)]
        self.visibility.ensure()
        found = []
        for result in self.session.query(sql.versions_where(self.ref, keys, condition), [*arrays, *args]):
            record = self._stored_record(result, range(len(keys)))
            if record in records:  # composite keys match column by column: drop combinations not asked
                found.append((record, int(result[len(keys)]), bool(result[len(keys) + 1])))
        return found

    # -- earliest_start ------------------------------------------------------------------------------

    def earliest_start(self, options: WriteOptions) -> None:
        start = self._required(START)
        for first, rows in sized_chunks(self.batch, options):
            numbers = range(first, first + len(rows))
            earliest: dict[tuple[Any, ...], tuple[int, list[Any], int]] = {}
            for number, row in zip(numbers, rows, strict=True):
                values = self.writer.key_values(row, number)
                record = self._comparable_record(values)
                instant = epoch_ms(self._timestamp(row, start, number))
                if record not in earliest or instant < earliest[record][0]:
                    earliest[record] = (instant, values, number)
            if self._array_matchable():
                self._earliest_by_versions(earliest)
            else:
                self._earliest_by_records(earliest)
            self.summary.earliest += len(rows)

    def _earliest_by_versions(self, earliest: dict[tuple[Any, ...], tuple[int, list[Any], int]]) -> None:
        """Find the versions to drop and to close with one query, then change them by full primary key
        (direct document lookups): one query job per chunk instead of two per record."""
        lowest = min(instant for instant, _, _ in earliest.values())
        versions = self._stored_versions(
            {record: values for record, (_, values, _) in earliest.items()},
            sql.STARTING_AT_OR_ACTIVE,
            [iso_ms(lowest)],
        )
        drops: list[list[Any]] = []
        drop_rows: list[int] = []
        closes: list[list[Any]] = []
        close_rows: list[int] = []
        for record, version_start, active in versions:
            instant, values, number = earliest[record]
            if version_start >= instant:
                drops.append([*values, iso_ms(version_start)])
                drop_rows.append(number)
            elif active:
                closes.append([iso_ms(instant - 1), *values, iso_ms(version_start)])
                close_rows.append(number)
        keys = [*self.history.record_keys, START]
        if drops:
            self._send(dml.delete_by_key(self.ref, keys), drops, drop_rows, keys, by_key=True)
        if closes:
            statement = sql.close_version(self.ref, keys)
            self._send(statement, closes, close_rows, [END, *keys], by_key=True)

    def _earliest_by_records(self, earliest: dict[tuple[Any, ...], tuple[int, list[Any], int]]) -> None:
        """Record keys that cannot be matched as arrays: two statements per record, run in bulk."""
        keys = self.history.record_keys
        numbers = [number for _, _, number in earliest.values()]
        deletes = [[*values, iso_ms(instant)] for instant, values, _ in earliest.values()]
        closes = [[iso_ms(instant - 1), *values] for instant, values, _ in earliest.values()]
        self.visibility.ensure()
        self._send(sql.delete_versions_from(self.ref, keys), deletes, numbers, [*keys, START])
        self.visibility.ensure()  # the closes must not see the versions just deleted
        self._send(sql.close_active_version(self.ref, keys), closes, numbers, [END, *keys])

    # -- delete --------------------------------------------------------------------------------------

    def delete(self, options: WriteOptions) -> None:
        end = self._required(END)
        keys = self.history.record_keys
        for first, rows in sized_chunks(self.batch, options):
            numbers = range(first, first + len(rows))
            ends: dict[tuple[Any, ...], tuple[str, list[Any], int]] = {}
            for number, row in zip(numbers, rows, strict=True):
                values = self.writer.key_values(row, number)
                ends[self._comparable_record(values)] = (self._timestamp(row, end, number), values, number)
            if not self._array_matchable():
                args = [[stamp, *values] for stamp, values, _ in ends.values()]
                rows_of = [number for _, _, number in ends.values()]
                self.visibility.ensure()
                statement = sql.close_active_version(self.ref, keys)
                self.summary.closed += self._send(statement, args, rows_of, [END, *keys])
                continue
            versions = self._stored_versions(
                {record: values for record, (_, values, _) in ends.items()}, sql.ACTIVE_ONLY, []
            )
            closes = []
            close_rows = []
            for record, version_start, _ in versions:
                stamp, values, number = ends[record]
                closes.append([stamp, *values, iso_ms(version_start)])
                close_rows.append(number)
            if closes:
                full_key = [*keys, START]
                statement = sql.close_version(self.ref, full_key)
                self.summary.closed += self._send(
                    statement, closes, close_rows, [END, *full_key], by_key=True
                )

    # -- update --------------------------------------------------------------------------------------

    def update(self, options: WriteOptions) -> None:
        start = self._required(START)
        table = self.history.table
        upsert = dml.upsert(self.ref, table.names, table.keys)
        for first, rows in sized_chunks(self.batch, options):
            records = self._records(first, rows, start)
            known = self._versions_before(records)
            args: list[list[Any]] = []
            numbers: list[int] = []
            for record, entries in records.items():
                versions = known.get(record, {})
                for number, row, row_start in entries:
                    earlier = [version for version in versions if version < row_start]
                    if not earlier:
                        self.summary.skipped_updates += 1
                        continue
                    completed = self._complete(row, number, versions[max(earlier)])
                    versions[row_start] = completed
                    args.append(completed)
                    numbers.append(number)
            if args:
                self._send(upsert, args, numbers, table.names)
                self.summary.updated += len(args)

    def _comparable_record(self, values: Sequence[Any]) -> tuple[Any, ...]:
        key_types = [self.history.spec(name).type for name in self.history.record_keys]
        return tuple(comparable(ftype, value) for ftype, value in zip(key_types, values, strict=True))

    def _records(self, first: int, rows: Sequence[Row], start: int) -> Records:
        """The chunk's rows grouped by record (comparable key), each group in `_fivetran_start` order."""
        records: dict[tuple[Any, ...], list[tuple[int, Row, int]]] = {}
        for offset, row in enumerate(rows):
            number = first + offset
            values = self.writer.key_values(row, number)
            record = self._comparable_record(values)
            records.setdefault(record, []).append(
                (number, row, epoch_ms(self._timestamp(row, start, number)))
            )
        for entries in records.values():
            entries.sort(key=lambda entry: entry[2])
        return records

    def _versions_before(self, records: Records) -> Versions:
        """For each record: its stored versions from the one preceding the record's first row in this
        chunk up to (excluding) its last row, as {start ms: parameter values in table column order}.

        Two statements per chunk answer the common case (see `_versions_by_arrays`); records they cannot
        settle, and tables whose record key cannot be matched against arrays, are looked up per record.
        """
        self.visibility.ensure()
        key_types = [self.history.spec(name).type for name in self.history.record_keys]
        if all(array_matchable(ftype) for ftype in key_types):
            found, rest = self._versions_by_arrays(records)
        else:
            found, rest = {}, records
        if rest:
            found.update(self._versions_by_records(rest))
        return found

    def _first_key_values(self, entries: list[tuple[int, Row, int]]) -> list[Any]:
        number, row, _ = entries[0]
        return self.writer.key_values(row, number)

    def _key_arrays(self, records: Records) -> list[list[Any]]:
        """One array parameter per record-key column, holding the records' values."""
        values = [self._first_key_values(entries) for entries in records.values()]
        return [list(column) for column in zip(*values, strict=True)]

    def _stored_record(self, result: Sequence[Any], positions: Sequence[int]) -> tuple[Any, ...]:
        key_types = [self.history.spec(name).type for name in self.history.record_keys]
        return tuple(comparable(ftype, result[i]) for ftype, i in zip(key_types, positions, strict=True))

    def _versions_by_arrays(self, records: Records) -> tuple[Versions, Records]:
        """The previous versions of the chunk's records in two statements, whatever the chunk's size.

        1. the latest start of each record below the chunk's last start;
        2. for each record whose latest start lies before its first row here, that version's row: it is
           the previous version, and no stored version lies between the record's rows of this chunk.
        Records whose latest start is not before their first row (versions written out of order, e.g. by
        a replace file of this batch) are returned to be looked up one by one.
        """
        table = self.history.table
        keys = [(name, self.history.spec(name).type) for name in self.history.record_keys]
        bound = max(entries[-1][2] for entries in records.values())
        rows = self.session.query(
            sql.latest_starts_before(self.ref, keys), [*self._key_arrays(records), iso_ms(bound)]
        )
        latest = {
            self._stored_record(result, range(len(keys))): int(result[-1])
            for result in rows
            if result[-1] is not None
        }
        previous: dict[tuple[Any, ...], int] = {}
        rest: Records = {}
        for record, entries in records.items():
            start = latest.get(record)
            if start is None:
                continue  # no version before: the record's rows are skipped
            if start < entries[0][2]:
                previous[record] = start
            else:
                rest[record] = entries
        found: Versions = {}
        if not previous:
            return found, rest
        specs = list(table.columns)
        columns = [(spec.name, spec.type) for spec in specs]
        key_positions = [table.names.index(name) for name, _ in keys]
        start_position = table.names.index(START)
        wanted = {record: records[record] for record in previous}
        starts = sorted({iso_ms(start) for start in previous.values()})
        for result in self.session.query(
            sql.versions_at(self.ref, columns, keys), [*self._key_arrays(wanted), starts]
        ):
            record = self._stored_record(result, key_positions)
            start = int(result[start_position])
            if previous.get(record) == start:
                values = [stored_to_parameter(s.type, v) for s, v in zip(specs, result, strict=True)]
                found[record] = {start: values}
        return found, rest

    def _versions_by_records(self, records: Records) -> Versions:
        """`_versions_before` with conditions per record (up to `MAX_RECORDS_PER_LOOKUP` per statement)."""
        table = self.history.table
        keys = self.history.record_keys
        specs = list(table.columns)
        columns = [(spec.name, spec.type) for spec in specs]
        per_lookup = min(
            MAX_RECORDS_PER_LOOKUP,
            max(1, MAX_LOOKUP_CONDITIONS // (len(keys) + 2)),
            sql.records_per_lookup(self.ref, columns, keys, _LOOKUP_MAX_CHARS),
        )
        key_positions = [table.names.index(name) for name in keys]
        start_position = table.names.index(START)
        found: Versions = {}
        groups = list(records.items())
        for offset in range(0, len(groups), per_lookup):
            part = groups[offset : offset + per_lookup]
            args: list[Any] = []
            for _, entries in part:
                args += [*self._first_key_values(entries), iso_ms(entries[0][2])]
            lower: dict[tuple[Any, ...], int] = {}
            for result in self.session.query(sql.previous_starts(self.ref, keys, len(part)), args):
                if result[-1] is not None:
                    lower[self._stored_record(result, range(len(keys)))] = int(result[-1])
            wanted = [(record, entries) for record, entries in part if record in lower]
            if not wanted:
                continue
            args = []
            for record, entries in wanted:
                args += [*self._first_key_values(entries), iso_ms(lower[record]), iso_ms(entries[-1][2])]
            statement = sql.versions_between(self.ref, columns, keys, len(wanted))
            for result in self.session.query(statement, args):
                values = [stored_to_parameter(s.type, v) for s, v in zip(specs, result, strict=True)]
                record = self._stored_record(result, key_positions)
                found.setdefault(record, {})[int(result[start_position])] = values
        return found

    def _complete(self, row: Row, number: int, previous: list[Any]) -> list[Any]:
        """The full new version: the row's own cells, the previous version's value where unmodified."""
        values = []
        for index, spec in enumerate(self.history.table.columns):
            position = self.position.get(spec.name)
            cell = UNMODIFIED if position is None else row[position]
            if cell is UNMODIFIED or position is None:
                values.append(previous[index])
            else:
                values.append(self.writer.value(cell, position, number))
        return values


# How each kind of file but replace is applied to a history-mode table.
_HISTORY_STEPS: dict[FileKind, Callable[[_HistoryFile, WriteOptions], None]] = {
    FileKind.EARLIEST_START: _HistoryFile.earliest_start,
    FileKind.UPDATE: _HistoryFile.update,
    FileKind.DELETE: _HistoryFile.delete,
}


def write_history_batch(session: Session, metadata: MetadataStore, request: BatchRequest) -> HistorySummary:
    """Apply a WriteHistoryBatch: earliest_start, replace, update, then delete files."""
    table = schema.with_stored_storage(session, metadata, request.table)
    history = HistoryTable.of(table)
    summary = HistorySummary()
    visibility = _Visibility(session, table.ref)
    warn_binary = binary_warnings(table.ref)
    long_text = LongTextColumns(session, metadata, table.ref)
    for kind in FileKind:
        for path in request.files.get(kind, ()):
            with request.open(path) as batch:
                if kind is FileKind.REPLACE:  # versions as given, upserted on their full key
                    writer = BatchFileWriter(
                        session, table, batch, kind, summary.files, warn_binary, long_text
                    )
                    if START not in writer.position:
                        raise UserActionRequired(f"replace file {path} lacks the column {START!r}")
                    writer.replace(request.options)
                    visibility.wrote()
                else:
                    handler = _HistoryFile(
                        session, history, batch, kind, summary, visibility, warn_binary, long_text
                    )
                    _HISTORY_STEPS[kind](handler, request.options)
    summary.replaced = summary.files.replaced
    if summary.files.requests:
        visibility.ensure()
    log.info(
        "wrote history batch to %s: %d earliest starts, %d versions replaced, %d updated (%d without a "
        "previous version skipped), %d closed by deletes, in %d bulk requests",
        table.ref,
        summary.earliest,
        summary.replaced,
        summary.updated,
        summary.skipped_updates,
        summary.closed,
        summary.files.requests,
    )
    return summary
