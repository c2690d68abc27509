"""WriteBatch for live and soft-delete tables: replace, update and delete files, applied in bulk.

Each file is streamed in chunks (bounded by rows and by bytes), every chunk becomes one bulk request (or,
for update files with many different column sets, at most a few), and every per-row result is checked.

- replace: `INSERT ... ON CONFLICT (key) DO UPDATE SET <every other column>`: a full replacement, columns
  the file lacks become NULL.
- update: `UPDATE ... WHERE <full key>` setting only the modified cells; a key that does not exist
  matches nothing, so updates (and soft deletes, which arrive as updates) of missing rows are no-ops.
- delete: `DELETE ... WHERE <full key>`; missing keys are no-ops.
All three match the full primary key, which CrateDB executes as direct lookups that see unrefreshed
writes; the table is refreshed once at the end so later non-key reads (truncate, history) see the batch.
Replaying a batch gives the same table contents: every statement is idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cratedb_destination.batch import UNMODIFIED, BatchFile, Cell, FileFormat, key_for, open_batch
from cratedb_destination.client import BulkRowsFailed, Session
from cratedb_destination.errors import InvalidValue, RowsRejected, UserActionRequired
from cratedb_destination.services.schema import TableSchema
from cratedb_destination.sql import dml
from cratedb_destination.sql.identifiers import TableRef
from cratedb_destination.type_mapping import ColumnSpec, ConversionError, Converter, value_converter

log = logging.getLogger(__name__)

# Keeps one request's parameters far below CrateDB's 100 MB body limit, even after JSON escaping.
DEFAULT_MAX_REQUEST_BYTES = 8 * 1024 * 1024
# An update chunk whose rows modify more distinct column sets than this is sent as one CASE statement.
MAX_UPDATE_STATEMENTS_PER_CHUNK = 2
# Per-cell overhead counted on top of the text length when estimating request size.
_CELL_OVERHEAD = 4


@dataclass(frozen=True)
class WriteOptions:
    batch_rows: int = 10000
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES


@dataclass
class WriteSummary:
    replaced: int = 0
    updated: int = 0
    deleted: int = 0
    requests: int = 0
    warnings: list[str] = field(default_factory=list)


Row = tuple[Cell, ...]


def sized_chunks(batch: BatchFile, options: WriteOptions) -> Iterator[tuple[int, list[Row]]]:
    """(number of the first row in the file, rows) with at most `batch_rows` rows and about
    `max_request_bytes` of text per chunk. Rows are numbered from 1 (the header is not counted)."""
    first = 1
    for chunk in batch.chunks(options.batch_rows):
        start = 0
        size = 0
        for index, row in enumerate(chunk):
            row_size = sum(len(cell) + _CELL_OVERHEAD for cell in row if isinstance(cell, str))
            if size and size + row_size > options.max_request_bytes:
                yield first + start, chunk[start:index]
                start, size = index, 0
            size += row_size
        yield first + start, chunk[start:] if start else chunk
        first += len(chunk)


class _FileWriter:
    """Applies one batch file of one kind to one table."""

    def __init__(
        self,
        session: Session,
        table: TableSchema,
        batch: BatchFile,
        kind: str,
        summary: WriteSummary,
        warn_binary: Callable[[str], Callable[[], None]],
    ) -> None:
        self.session = session
        self.table = table
        self.batch = batch
        self.kind = kind
        self.summary = summary
        self.path = batch.path
        self.header = list(batch.columns)
        self.position = {name: index for index, name in enumerate(self.header)}
        unknown = [name for name in self.header if table.column(name) is None]
        if unknown:
            raise UserActionRequired(
                f"{kind} file {self.path} has columns {unknown} that table {table.ref} does not define"
            )
        self.keys = table.keys
        if not self.keys:
            raise UserActionRequired(f"table {table.ref} has no primary key, so rows cannot be matched")
        missing = [key for key in self.keys if key not in self.position]
        if missing:
            raise UserActionRequired(f"{kind} file {self.path} lacks the primary-key columns {missing}")
        self.specs: list[ColumnSpec] = [table.column(name) for name in self.header]  # type: ignore[misc]
        self.converters: list[Converter] = [
            value_converter(spec.type, warn_binary(spec.name)) for spec in self.specs
        ]
        self.key_indexes = [self.position[key] for key in self.keys]

    # -- conversion ------------------------------------------------------------------------------------

    def _bad(self, row_number: int, index: int, reason: str) -> InvalidValue:
        spec = self.specs[index]
        return InvalidValue(
            f"{self.kind} file {self.path}, row {row_number}, column {spec.name!r} ({spec.type}): {reason}"
        )

    def _value(self, cell: Cell, index: int, row_number: int) -> Any:
        if cell is None:
            return None
        if cell is UNMODIFIED:
            raise self._bad(row_number, index, f"'unmodified' marker is not allowed in a {self.kind} file")
        try:
            return self.converters[index](cell)
        except ConversionError as exc:
            raise self._bad(row_number, index, str(exc)) from None

    def _key_values(self, row: Row, row_number: int) -> list[Any]:
        values = []
        for index in self.key_indexes:
            cell = row[index]
            if cell is None or cell is UNMODIFIED:
                raise self._bad(row_number, index, "a primary-key column has no value")
            values.append(self._value(cell, index, row_number))
        return values

    # -- sending ---------------------------------------------------------------------------------------

    def _send(self, statement: str, args: list[list[Any]], row_numbers: Sequence[int]) -> int:
        try:
            counts = self.session.bulk(statement, args)
        except BulkRowsFailed as exc:
            failed = [row_numbers[failure.index] for failure in exc.failures]
            first = exc.failures[0]
            shown = ", ".join(map(str, failed[:10])) + (" ..." if len(failed) > 10 else "")
            rows = "row" if len(failed) == 1 else f"{len(failed)} rows"
            raise RowsRejected(
                f"CrateDB rejected {rows} of {self.kind} file {self.path} for table {self.table.ref} "
                f"(row{'s' if len(failed) > 1 else ''} {shown}); first error: "
                + (f"code {first.code}: " if first.code else "")
                + first.message,
                first.code,
            ) from None
        self.summary.requests += 1
        return sum(counts)

    def replace(self, options: WriteOptions) -> None:
        null_columns = [name for name in self.table.names if name not in self.position]
        statement = dml.upsert(self.table.ref, self.header, self.keys, null_columns)
        value = self._value
        key_indexes = set(self.key_indexes)
        for first, rows in sized_chunks(self.batch, options):
            args = []
            for offset, row in enumerate(rows):
                number = first + offset
                for index in key_indexes:
                    if row[index] is None or row[index] is UNMODIFIED:
                        raise self._bad(number, index, "a primary-key column has no value")
                args.append([value(cell, index, number) for index, cell in enumerate(row)])
            self._send(statement, args, range(first, first + len(rows)))
            self.summary.replaced += len(rows)

    def delete(self, options: WriteOptions) -> None:
        statement = dml.delete_by_key(self.table.ref, self.keys)
        for first, rows in sized_chunks(self.batch, options):
            args = [self._key_values(row, first + offset) for offset, row in enumerate(rows)]
            self.summary.deleted += self._send(statement, args, range(first, first + len(rows)))

    def update(self, options: WriteOptions) -> None:
        key_set = set(self.key_indexes)
        others = [index for index in range(len(self.header)) if index not in key_set]
        for first, rows in sized_chunks(self.batch, options):
            groups: dict[tuple[int, ...], list[tuple[int, Row]]] = {}
            for offset, row in enumerate(rows):
                modified = tuple(index for index in others if row[index] is not UNMODIFIED)
                if modified:  # a row that changes nothing needs no statement
                    groups.setdefault(modified, []).append((first + offset, row))
            if len(groups) <= MAX_UPDATE_STATEMENTS_PER_CHUNK:
                for modified, members in groups.items():
                    self._update_group(modified, members)
            else:
                self._update_selective(others, [member for members in groups.values() for member in members])

    def _update_group(self, modified: tuple[int, ...], members: list[tuple[int, Row]]) -> None:
        statement = dml.update_by_key(self.table.ref, [self.header[i] for i in modified], self.keys)
        args = [
            [self._value(row[index], index, number) for index in modified] + self._key_values(row, number)
            for number, row in members
        ]
        self.summary.updated += self._send(statement, args, [number for number, _ in members])

    def _update_selective(self, others: list[int], members: list[tuple[int, Row]]) -> None:
        columns = [(self.header[index], self.specs[index].type) for index in others]
        statement = dml.update_by_key_selective(self.table.ref, columns, self.keys)
        args = []
        for number, row in members:
            values: list[Any] = []
            for index in others:
                cell = row[index]
                if cell is UNMODIFIED:
                    values += [False, None]
                else:
                    values += [True, self._value(cell, index, number)]
            args.append(values + self._key_values(row, number))
        self.summary.updated += self._send(statement, args, [number for number, _ in members])


def binary_warnings(table: TableRef) -> Callable[[str], Callable[[], None]]:
    """Per-column callbacks that log once per column and batch that non-base64 BINARY text was re-encoded."""
    warned: set[str] = set()

    def for_column(column: str) -> Callable[[], None]:
        def warn() -> None:
            if column not in warned:
                warned.add(column)
                log.warning(
                    "table %s, column %r: BINARY values that are not base64 are stored as the base64 of "
                    "their text",
                    table,
                    column,
                )

        return warn

    return for_column


def write_batch(
    session: Session,
    table: TableSchema,
    fmt: FileFormat,
    keys: Mapping[str, bytes],
    replace_files: Sequence[str],
    update_files: Sequence[str],
    delete_files: Sequence[str],
    options: WriteOptions,
) -> WriteSummary:
    """Apply a WriteBatch: replace, then update, then delete files, each streamed in bulk chunks."""
    summary = WriteSummary()
    warn_binary = binary_warnings(table.ref)
    for kind, paths in (("replace", replace_files), ("update", update_files), ("delete", delete_files)):
        for path in paths:
            key = key_for(keys, path) if fmt.encryption == "aes" else None
            with open_batch(path, key, fmt) as batch:
                writer = _FileWriter(session, table, batch, kind, summary, warn_binary)
                getattr(writer, kind)(options)
    if summary.requests:
        session.refresh(table.ref)
    log.info(
        "wrote batch to %s: %d rows replaced, %d updated, %d deleted in %d bulk requests",
        table.ref,
        summary.replaced,
        summary.updated,
        summary.deleted,
        summary.requests,
    )
    return summary
