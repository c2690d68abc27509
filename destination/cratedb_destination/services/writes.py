"""WriteBatch for live and soft-delete tables: replace, update and delete files, applied in bulk.

Each file is streamed in chunks (bounded by rows and by bytes), every chunk becomes one bulk request (or,
for update files with many different column sets, at most a few), and every per-row result is checked.

- replace: `INSERT ... ON CONFLICT (key) DO UPDATE SET <every other column>`: a full replacement, columns
  the file lacks become NULL.
- update: `UPDATE ... WHERE <full key>` setting only the modified cells.
- delete: `DELETE ... WHERE <full key>`.
All three match the full primary key, which CrateDB executes as direct lookups that see unrefreshed
writes; the table is refreshed once at the end so later non-key reads (truncate, history) see the batch.

Fivetran sends updates, soft deletes (updates) and deletes of rows the destination may never have
received, and they must be no-ops. In a bulk request CrateDB answers such a row with rowcount -2 and
code 40411, but only for the first 10 failures per shard; later ones are a bare -2 (see `client.py`).
`BatchFileWriter.send` settles bare -2 rows with one REFRESH and one lookup of which of their keys
exist; only rows whose key exists (they failed for another reason) are sent again, in groups small
enough for CrateDB to detail every failure. A chunk of 10,000 missing keys costs 3 requests.
Replaying a batch gives the same table contents: every statement is idempotent. A value too long for an
indexed text column first switches that column to unlimited storage (`services/long_text.py`).

Pipelining: a background thread reads and converts chunk N+1 while this thread sends chunk N (see
`Prefetched`); the requests of one file still go one after the other, in file order, and memory holds at
most two chunks: the one being sent and the one being prepared.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from operator import itemgetter
from types import TracebackType
from typing import Any, Generic, TypeVar, overload

import pyarrow as pa
import pyarrow.compute as pc

from cratedb_destination import native
from cratedb_destination.batch import (
    UNMODIFIED,
    BatchFile,
    Cell,
    ColumnChunk,
    FileFormat,
    key_for,
    open_batch,
)
from cratedb_destination.client import BulkRequestRejected, BulkResult, BulkRowsFailed, Session
from cratedb_destination.domain import FileKind, TableSchema
from cratedb_destination.errors import InvalidValue, RowsRejected, UserActionRequired
from cratedb_destination.fast_columns import Values
from cratedb_destination.limits import BULK_ERRORS_PER_SHARD, MAX_INDEXED_TEXT_BYTES
from cratedb_destination.metadata import MetadataStore
from cratedb_destination.native import EncodedRows
from cratedb_destination.services import schema
from cratedb_destination.services.long_text import LongTextColumns, key_too_long
from cratedb_destination.sql import dml
from cratedb_destination.sql.identifiers import TableRef
from cratedb_destination.type_mapping import (
    ColumnSpec,
    ConversionError,
    Converter,
    array_matchable,
    column_converter,
    comparable,
    text_bytes_over_limit,
    value_converter,
)

log = logging.getLogger(__name__)

# Value text per request (and per chunk held in memory), by `batch.row_sizes`: about 5,000 rows of 200
# bytes. The server's peak RSS applying a file of 1.1 KB rows (bench_writes.py --big-mb 100): 137 MiB with
# 1 MiB, 144 MiB with 2 MiB, 183 MiB with 8 MiB; docs/performance.md#memory.
DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024
# An update chunk whose rows modify more distinct column sets than this is sent as one CASE statement.
MAX_UPDATE_STATEMENTS_PER_CHUNK = 2


@dataclass(frozen=True)
class WriteOptions:
    batch_rows: int = 10000
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    # Prepare chunk N+1 in a background thread while chunk N is sent (False: one after the other).
    pipeline: bool = True


@dataclass(frozen=True)
class BatchRequest:
    """A WriteBatch or WriteHistoryBatch request: the table, how its files are written and the files by
    kind."""

    table: TableSchema
    fmt: FileFormat
    keys: Mapping[str, bytes]
    files: Mapping[FileKind, Sequence[str]]
    options: WriteOptions = WriteOptions()

    def open(self, path: str) -> AbstractContextManager[BatchFile]:
        """The file, decrypted with its key when the batch is encrypted."""
        key = key_for(self.keys, path) if self.fmt.encryption == "aes" else None
        return open_batch(path, key, self.fmt)


@dataclass
class WriteSummary:
    replaced: int = 0
    updated: int = 0
    deleted: int = 0
    requests: int = 0
    warnings: list[str] = field(default_factory=list)


Row = tuple[Cell, ...]


def sized_column_chunks(batch: BatchFile, options: WriteOptions) -> Iterator[tuple[int, ColumnChunk]]:
    """(number of the first row in the file, chunk): the file's chunks of at most `batch_rows` rows and at
    most `max_request_bytes` by `batch.row_sizes` (a single larger row alone), one request's worth each,
    cut while reading (`batch.columnar.ChunkAssembler`), so a file of wide rows is held a budget at a time.
    Rows are numbered from 1 (the header is not counted).

    Like the reader (`batch/arrow_csv.py`), these generators and the writers' drop each chunk before
    they ask for the next: a generator suspended at `yield` keeps its locals, so a chunk still bound
    there would stay in memory while the next one is read, converted and sent."""
    first = 1
    for chunk in batch.column_chunks(options.batch_rows, options.max_request_bytes):
        rows = chunk.num_rows
        yield first, chunk
        del chunk
        first += rows


def sized_chunks(batch: BatchFile, options: WriteOptions) -> Iterator[tuple[int, list[Row]]]:
    """`sized_column_chunks` as row tuples (history mode and the reference path of every writer)."""
    for first, chunk in sized_column_chunks(batch, options):
        rows = chunk.rows()
        del chunk
        yield first, rows
        del rows


T = TypeVar("T")


class Prefetched(Generic[T]):
    """`items` produced in a background thread, at most one item ahead of the consumer.

    The producer starts item N+1 when the consumer takes item N, and then waits until the consumer takes
    N+1: at any time there is at most one item being consumed and one being produced (or produced and
    waiting). The consumer should drop its reference to an item before asking for the next one.

    An exception in `items` is raised to the consumer when it asks for that item, after every earlier item.
    Leaving the `with` block (normally or by an exception, e.g. a failed request) stops the producer: it
    finishes at most the item it is producing, closes `items` and is joined, so no thread outlives the
    block and the first error the consumer meets is the one that propagates. `items` runs in a copy of the
    caller's context variables.
    """

    _DONE: Any = object()

    def __init__(self, items: Iterator[T], name: str = "prefetch") -> None:
        self._items = items
        self._handoff: queue.SimpleQueue[tuple[Any, BaseException | None]] = queue.SimpleQueue()
        self._turn = threading.Semaphore(1)  # the producer may start one more item
        self._stop = threading.Event()
        context = contextvars.copy_context()
        self.thread = threading.Thread(target=context.run, args=(self._produce,), name=name, daemon=True)

    def _produce(self) -> None:
        items = self._items
        try:
            while True:
                self._turn.acquire()
                if self._stop.is_set():
                    return
                try:
                    item = next(items)
                except StopIteration:
                    self._handoff.put((self._DONE, None))
                    return
                self._handoff.put((item, None))
                del item
        except BaseException as exc:  # delivered to the consumer, which raises it
            self._handoff.put((None, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def __enter__(self) -> Prefetched[T]:
        self.thread.start()
        return self

    def __iter__(self) -> Iterator[T]:
        while True:
            item, error = self._handoff.get()
            if error is not None:
                raise error
            if item is self._DONE:
                return
            self._turn.release()  # the producer prepares the next item while this one is consumed
            yield item
            del item

    def close(self) -> None:
        """Stop the producer and wait for it (it finishes at most the item it is producing)."""
        self._stop.set()
        self._turn.release()  # wakes a producer waiting for its turn
        if self.thread.ident is not None:  # started
            self.thread.join()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Irregular(Exception):
    """A chunk the columnar conversion leaves to the row-by-row reference path."""


# Update rows are grouped by a bit mask of the columns they modify, one bit per non-key column.
_MAX_SIGNATURE_BITS = 62


def _pick(values: Sequence[Any], rows: list[int]) -> Sequence[Any]:
    """values[row] for each of `rows` (increasing positions), looped in C."""
    if len(rows) == len(values):
        return values
    if len(rows) < 2:
        return [values[row] for row in rows]
    return itemgetter(*rows)(values)  # a tuple of len(rows) items


def _statement_per_group(groups: int, keys: Callable[[], Sequence[Sequence[Any]]]) -> bool:
    """Whether an update chunk's rows go as one statement per column set (else: one CASE statement): at
    most MAX_UPDATE_STATEMENTS_PER_CHUNK sets and, with more than one, no key repeated. `keys` gives the
    key columns' values."""
    return groups == 1 or (groups <= MAX_UPDATE_STATEMENTS_PER_CHUNK and not _repeats_a_key(keys()))


def _repeats_a_key(keys: Sequence[Sequence[Any]]) -> bool:
    """Whether two rows of a chunk have the same key (`keys`: the key columns' values). Such a chunk's
    updates go in one CASE statement in file order: separate statements per column set would apply a
    later row of the key before an earlier one of another column set."""
    if len(keys) == 1:
        return len(set(keys[0])) < len(keys[0])
    return len(set(zip(*keys, strict=True))) < len(keys[0])


def _modified_groups(chunk: ColumnChunk, others: list[int]) -> list[tuple[tuple[int, ...], list[int]]]:
    """(non-key columns a row modifies, its rows) in order of first appearance, without rows that modify
    nothing: an unmodified cell is one whose `chunk.unmodified` mark is set."""
    marked = [(bit, chunk.unmodified[index]) for bit, index in enumerate(others)]
    terms = [pc.if_else(mark, 0, 1 << bit) for bit, mark in marked if mark is not None]
    if not others:
        return []
    if not terms:
        return [(tuple(others), list(range(chunk.num_rows)))]
    always = sum(1 << bit for bit, mark in marked if mark is None)
    signatures = pc.add(functools.reduce(pc.add, terms), always)
    groups = []
    for signature in pc.unique(signatures).to_pylist():
        if signature:
            modified = tuple(index for bit, index in enumerate(others) if signature >> bit & 1)
            rows = pc.indices_nonzero(pc.equal(signatures, signature)).to_pylist()
            groups.append((modified, rows))
    return groups


class _FileRows(Sequence[int]):
    """The file row numbers of a chunk's rows at `offsets` (0-based, within the chunk), computed when read:
    only messages about failed rows read them, so an update group does not build a list per row."""

    __slots__ = ("_first", "_offsets")

    def __init__(self, first: int, offsets: Sequence[int]) -> None:
        self._first = first
        self._offsets = offsets

    def __len__(self) -> int:
        return len(self._offsets)

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> list[int]: ...
    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, slice):
            return [self._first + offset for offset in self._offsets[index]]
        return self._first + self._offsets[index]


@dataclass(frozen=True)
class _Request:
    """One bulk request and what messages about it need: the file row of each parameter row, the column
    of each parameter, and whether missing keys are no-ops (an UPDATE/DELETE by key)."""

    statement: str
    args: Sequence[Sequence[Any]]
    row_numbers: Sequence[int]
    parameters: Sequence[str]
    by_key: bool


@dataclass
class _Chunk:
    """One chunk of a file, converted: its requests in order, its row count and the indexed text columns
    that received a value too long for them (switched to unlimited storage before the first request)."""

    requests: list[_Request]
    rows: int
    oversized: tuple[str, ...]


class BatchFileWriter:
    """Applies one batch file of one kind to one table: checks the header, converts cells to statement
    parameters (errors name file, row and column) and sends bulk requests whose every row result is checked.

    History-mode files (`services/history.py`) use the same conversion and sending with their own
    statements. Values of indexed text columns are measured while they are converted; one that is too
    long has its column switched to unlimited storage before the request that carries it is sent
    (`services/long_text.py`). With `writes_keys`, a key value over the limit is an error of its row.
    """

    def __init__(
        self,
        session: Session,
        table: TableSchema,
        batch: BatchFile,
        kind: FileKind,
        summary: WriteSummary,
        warn_binary: Callable[[str], Callable[[], None]],
        long_text: LongTextColumns,
        writes_keys: bool | None = None,
    ) -> None:
        self.session = session
        self.table = table
        self.batch = batch
        self.kind = kind
        self.summary = summary
        self.long_text = long_text
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
        self._plain: list[Converter] = [
            value_converter(spec.type, warn_binary(spec.name)) for spec in self.specs
        ]
        self._oversized: set[int] = set()
        checks_keys = kind is FileKind.REPLACE if writes_keys is None else writes_keys
        self.converters: list[Converter] = [
            self._measured(index, convert, checks_keys) if long_text.watches(spec) else convert
            for index, (spec, convert) in enumerate(zip(self.specs, self._plain, strict=True))
        ]
        self.key_indexes = [self.position[key] for key in self.keys]
        self.key_specs: list[ColumnSpec] = [self.specs[index] for index in self.key_indexes]
        key_set = set(self.key_indexes)
        self.others = [index for index in range(len(self.header)) if index not in key_set]
        self._fast = [column_converter(spec.type) for spec in self.specs]

    # -- conversion ------------------------------------------------------------------------------------

    def _measured(self, index: int, convert: Converter, checks_keys: bool) -> Converter:
        """`convert`, noting values too long for an indexed column (or rejecting them, for keys)."""
        is_key = self.specs[index].primary_key
        if is_key and not checks_keys:
            return convert
        oversized = self._oversized

        def measured(cell: str) -> Any:
            value = convert(cell)
            size = text_bytes_over_limit(value)
            if size is not None:
                if is_key:
                    raise ConversionError(key_too_long(size))
                oversized.add(index)
            return value

        return measured

    def invalid(self, row_number: int, index: int, reason: str) -> InvalidValue:
        """The error for one cell: names file, row and column, never the value."""
        spec = self.specs[index]
        return InvalidValue(
            f"{self.kind} file {self.path}, row {row_number}, column {spec.name!r} ({spec.type}): {reason}"
        )

    def value(self, cell: Cell, index: int, row_number: int) -> Any:
        """The statement parameter for cell `index` of file row `row_number`."""
        if cell is None:
            return None
        if cell is UNMODIFIED:
            raise self.invalid(row_number, index, f"'unmodified' marker is not allowed in a {self.kind} file")
        try:
            return self.converters[index](cell)
        except ConversionError as exc:
            raise self.invalid(row_number, index, str(exc)) from None

    def key_values(self, row: Row, row_number: int) -> list[Any]:
        """The primary-key parameters of a row, which must all have a value."""
        values = []
        for index in self.key_indexes:
            cell = row[index]
            if cell is None or cell is UNMODIFIED:
                raise self.invalid(row_number, index, "a primary-key column has no value")
            values.append(self.value(cell, index, row_number))
        return values

    # -- sending ---------------------------------------------------------------------------------------

    def _take_oversized(self) -> tuple[str, ...]:
        """The columns that received too long a value since the last call; they are no longer measured
        (the caller switches them to unlimited storage before sending the values)."""
        indexes = sorted(self._oversized)
        for index in indexes:
            self.converters[index] = self._plain[index]
        self._oversized.clear()
        return tuple(self.header[index] for index in indexes)

    def _make_room(self) -> None:
        """Switch the columns that received too long a value to unlimited storage; stop measuring them."""
        self.long_text.make_room(self._take_oversized())

    def send(
        self,
        statement: str,
        args: list[list[Any]],
        row_numbers: Sequence[int],
        parameters: Sequence[str],
        *,
        by_key: bool = False,
    ) -> int:
        """One bulk request; returns the summed row counts. A rejected row is a Task naming its file row.

        `parameters` names the column of each statement parameter (for messages). With `by_key` (an
        UPDATE or DELETE whose key values are the last parameters), missing keys are no-ops.
        """
        if self._oversized:
            self._make_room()
        return self._deliver(_Request(statement, args, row_numbers, parameters, by_key))

    def _deliver(self, request: _Request) -> int:
        """One bulk request plus the settling of rows answered without details; the summed row counts."""
        result = self._bulk(request)
        if not result.unexplained:
            return result.total
        return result.total + self._settle(request, result.unexplained)

    def _bulk(self, request: _Request) -> BulkResult:
        """One bulk request, its failures turned into Tasks that name file rows and columns."""
        try:
            result = self.session.bulk(request.statement, request.args, missing_ok=request.by_key)
        except BulkRowsFailed as exc:
            raise self._rows_rejected(exc, request) from None
        except BulkRequestRejected as exc:
            raise self._request_rejected(exc, request) from None
        self.summary.requests += 1
        return result

    def _rows_rejected(self, exc: BulkRowsFailed, request: _Request) -> RowsRejected:
        failed = [request.row_numbers[failure.index] for failure in exc.failures]
        first = exc.failures[0]
        shown = ", ".join(map(str, failed[:10])) + (" ..." if len(failed) > 10 else "")
        rows = "row" if len(failed) == 1 else f"{len(failed)} rows"
        columns = sorted({request.parameters[index] for index in first.quoted})
        column = f", column {', '.join(map(repr, columns))}" if columns else ""
        return RowsRejected(
            f"CrateDB rejected {rows} of {self.kind} file {self.path} for table {self.table.ref} "
            f"(row{'s' if len(failed) > 1 else ''} {shown}{column}); first error: "
            + (f"code {first.code}: " if first.code else "")
            + first.message,
            first.code,
        )

    def _request_rejected(self, exc: BulkRequestRejected, request: _Request) -> RowsRejected:
        """CrateDB refused a whole request: name the file rows and columns whose values it quoted."""
        row_numbers = request.row_numbers
        spots = sorted({(row_numbers[spot.row], request.parameters[spot.parameter]) for spot in exc.quoted})
        if spots:
            shown = "; ".join(f"row {number}, column {name!r}" for number, name in spots[:5])
            where = f"({shown}{' ...' if len(spots) > 5 else ''})"
        else:
            where = f"(one of rows {row_numbers[0]} to {row_numbers[-1]})"
        return RowsRejected(
            f"CrateDB rejected a value of {self.kind} file {self.path} for table {self.table.ref} {where}: "
            f"{exc}",
            exc.code,
        )

    def _settle(self, request: _Request, unexplained: Sequence[int]) -> int:
        """Rows of a by-key UPDATE/DELETE that failed without details: after a REFRESH, look up which of
        their keys exist; a missing key was a no-op, the others are sent again in groups small enough to
        carry every failure's code. Returns the rows those groups changed."""
        args, width = request.args, len(self.keys)
        existing = self._existing_keys([args[index][-width:] for index in unexplained])
        again = [index for index in unexplained if existing is None or self._key_of(args[index]) in existing]
        changed = 0
        for offset in range(0, len(again), BULK_ERRORS_PER_SHARD):
            group = again[offset : offset + BULK_ERRORS_PER_SHARD]
            numbers = [request.row_numbers[i] for i in group]
            result = self._bulk(replace(request, args=[args[i] for i in group], row_numbers=numbers))
            if result.unexplained:  # cannot happen with at most 10 rows; never let a row pass unseen
                failed = [numbers[index] for index in result.unexplained]
                raise RowsRejected(
                    f"CrateDB rejected rows {failed} of {self.kind} file {self.path} for table "
                    f"{self.table.ref} without saying why"
                )
            changed += result.total
        return changed

    def _key_of(self, row: Sequence[Any]) -> tuple[Any, ...]:
        width = len(self.keys)
        types = [spec.type for spec in self.key_specs]
        return tuple(comparable(ftype, value) for ftype, value in zip(types, row[-width:], strict=True))

    def _existing_keys(self, keys: Sequence[Sequence[Any]]) -> set[tuple[Any, ...]] | None:
        """Which of `keys` exist in the table (None: the key types cannot be matched as arrays)."""
        typed = [(spec.name, spec.type) for spec in self.key_specs]
        if not all(array_matchable(ftype) for _, ftype in typed):
            return None
        self.session.refresh(self.table.ref)
        arrays = [list(column) for column in zip(*keys, strict=True)]
        rows = self.session.query(dml.existing_keys(self.table.ref, typed), arrays)
        self.summary.requests += 2
        return {self._key_of(row) for row in rows}

    # -- the three kinds of file: chunks are prepared (read, converted) apart from being sent -----------

    def replace(self, options: WriteOptions) -> None:
        self._apply(self._replace_chunks(options), options)

    def update(self, options: WriteOptions) -> None:
        self._apply(self._update_chunks(options), options)

    def delete(self, options: WriteOptions) -> None:
        self._apply(self._delete_chunks(options), options)

    def _apply(self, chunks: Iterator[_Chunk], options: WriteOptions) -> None:
        """Send the prepared chunks in order; with `options.pipeline`, chunk N+1 is read and converted in
        a background thread while chunk N is sent. Preparation only reads the file and converts cells
        (it never uses the session); requests, long-text switches and the summary stay on this thread."""
        if not options.pipeline:
            for chunk in chunks:
                self._send_chunk(chunk)
            return
        with Prefetched(chunks, name=f"prepare {self.kind} {self.table.ref}") as prepared:
            for chunk in prepared:
                self._send_chunk(chunk)
                del chunk  # hold at most the chunk being prepared while waiting for the next one

    def _send_chunk(self, chunk: _Chunk) -> None:
        """The chunk's requests, one after the other, after the long-text switch its values need."""
        if chunk.oversized:
            self.long_text.make_room(chunk.oversized)
        changed = 0
        for request in chunk.requests:
            changed += self._deliver(request)
        if self.kind is FileKind.REPLACE:
            self.summary.replaced += chunk.rows
        elif self.kind is FileKind.UPDATE:
            self.summary.updated += changed
        else:
            self.summary.deleted += changed

    # Chunks are converted a column at a time (`_column_values`); a chunk that needs a per-cell decision
    # (a cell the fast paths do not take and the reference refuses, a missing key, an unmodified cell
    # where none may be) is converted again row by row by the reference path (`_*_rows`), which raises the
    # error of the first bad cell in file order, exactly as if there were no columnar path.

    def _chunks(
        self, options: WriteOptions, requests_of: Callable[[int, ColumnChunk], list[_Request]]
    ) -> Iterator[_Chunk]:
        """Each chunk of the file as its requests (`requests_of(first row number, chunk)`). The chunk's
        Arrow columns are let go before it is handed on, and its requests once the sender has them (see
        `sized_column_chunks`)."""
        for first, chunk in sized_column_chunks(self.batch, options):
            requests = requests_of(first, chunk)
            rows = chunk.num_rows
            del chunk
            yield _Chunk(requests, rows, self._take_oversized())
            del requests

    def _replace_chunks(self, options: WriteOptions) -> Iterator[_Chunk]:
        null_columns = [name for name in self.table.names if name not in self.position]
        statement = dml.upsert(self.table.ref, self.header, self.keys, null_columns)

        def requests_of(first: int, chunk: ColumnChunk) -> list[_Request]:
            args: Sequence[Sequence[Any]]
            try:
                args = self._replace_args(chunk)
            except _Irregular:
                args = self._replace_rows(first, chunk.rows())
            return [_Request(statement, args, range(first, first + chunk.num_rows), self.header, False)]

        return self._chunks(options, requests_of)

    def _delete_chunks(self, options: WriteOptions) -> Iterator[_Chunk]:
        statement = dml.delete_by_key(self.table.ref, self.keys)

        def requests_of(first: int, chunk: ColumnChunk) -> list[_Request]:
            args: Sequence[Sequence[Any]]
            try:
                args = self._key_args(chunk)
            except _Irregular:
                args = [self.key_values(row, first + offset) for offset, row in enumerate(chunk.rows())]
            return [_Request(statement, args, range(first, first + chunk.num_rows), self.keys, True)]

        return self._chunks(options, requests_of)

    def _update_chunks(self, options: WriteOptions) -> Iterator[_Chunk]:
        def requests_of(first: int, chunk: ColumnChunk) -> list[_Request]:
            try:
                return self._update_requests(first, chunk)
            except _Irregular:
                return self._update_rows(first, chunk.rows())

        return self._chunks(options, requests_of)

    # -- columnar conversion -----------------------------------------------------------------------------

    def _fast_values(self, chunk: ColumnChunk, index: int) -> Values | None:
        """The parameters of one column of `chunk` by the type's fast path (`fast_columns`), or None where
        it does not take the column."""
        array = chunk.arrays[index]
        fast = self._fast[index]
        values = fast(array) if fast is not None else None
        if values is None:
            return None
        # The fast paths of text-backed types give each cell's own text (tests/unit/test_fast_columns.py),
        # so the longest cell in UTF-8 bytes, read from the offsets, bounds every value.
        measured = self.converters[index] is not self._plain[index]  # for the indexed-text limit
        if measured and (pc.max(pc.binary_length(array)).as_py() or 0) > MAX_INDEXED_TEXT_BYTES:
            self._measure(index, values.python())
        return values

    def _column_values(self, chunk: ColumnChunk, index: int, fast: Values | None = None) -> Sequence[Any]:
        """The parameters of one column of `chunk`: None for NULL and unmodified cells. The type's fast
        path (`fast_columns`, or its result `fast` when already made) where it takes the column, else the
        reference converter per cell."""
        values = fast if fast is not None else self._fast_values(chunk, index)
        if values is not None:
            return values.python()
        convert = self._plain[index]
        try:
            converted = [None if cell is None else convert(cell) for cell in chunk.arrays[index].to_pylist()]
        except ConversionError:
            raise _Irregular from None
        if self.converters[index] is not convert:
            self._measure(index, converted)
        return converted

    def _measure(self, index: int, values: Sequence[Any]) -> None:
        """Note a column that received a value too long for its index (a key: leave it to the row path,
        which names the row). Values of measured columns are text."""
        longest = max(map(len, filter(None, values)), default=0)
        if longest * 4 <= MAX_INDEXED_TEXT_BYTES:  # no code point takes more than 4 bytes
            return
        if any(value is not None and text_bytes_over_limit(value) is not None for value in values):
            if self.specs[index].primary_key:
                raise _Irregular
            self._oversized.add(index)

    def _check_keys(self, chunk: ColumnChunk) -> None:
        """Every key cell must have a value (NULL and unmodified cells are Arrow nulls)."""
        if any(chunk.arrays[index].null_count for index in self.key_indexes):
            raise _Irregular

    def _encoded(
        self, columns: Sequence[Values | None], rows: Sequence[int] | None = None
    ) -> EncodedRows | None:
        """Parameter rows made of fast-path `columns` (one per parameter; at chunk positions `rows`, else
        all), written natively as the request's JSON (`native`); None when a column did not take its fast
        path or the native helpers cannot (then the caller makes Python rows, with the same values)."""
        if not native.ENABLED or any(values is None for values in columns):
            return None
        arrays = [values.arrow() for values in columns if values is not None]
        if rows is not None:
            positions = pa.array(rows, pa.int64())
            arrays = [array.take(positions) for array in arrays]
        return native.encode_rows(arrays)

    def _key_args(self, chunk: ColumnChunk) -> Sequence[Sequence[Any]]:
        """The key columns' parameters, as rows."""
        self._check_keys(chunk)
        fast = [self._fast_values(chunk, index) for index in self.key_indexes]
        encoded = self._encoded(fast)
        if encoded is not None:
            return encoded
        columns = [
            self._column_values(chunk, index, values)
            for index, values in zip(self.key_indexes, fast, strict=True)
        ]
        return list(zip(*columns, strict=True))

    def _replace_args(self, chunk: ColumnChunk) -> Sequence[Sequence[Any]]:
        """The chunk's parameter rows: written natively when every column took its fast path, else Python
        rows made of the columns' values."""
        if any(mark is not None and pc.any(mark).as_py() for mark in chunk.unmodified):
            raise _Irregular  # 'unmodified' is not allowed in a replace file
        self._check_keys(chunk)
        fast = [self._fast_values(chunk, index) for index in range(len(self.header))]
        encoded = self._encoded(fast)
        if encoded is not None:
            return encoded
        columns = [self._column_values(chunk, index, values) for index, values in enumerate(fast)]
        return list(zip(*columns, strict=True))

    def _update_requests(self, first: int, chunk: ColumnChunk) -> list[_Request]:
        """Rows grouped by the columns they modify (in order of first appearance); at most
        MAX_UPDATE_STATEMENTS_PER_CHUNK groups become one UPDATE each (written natively where their
        columns took the fast paths), more become one CASE statement."""
        others = self.others
        if len(others) > _MAX_SIGNATURE_BITS:
            raise _Irregular
        self._check_keys(chunk)
        fast = {index: self._fast_values(chunk, index) for index in (*self.key_indexes, *others)}
        # A column the fast path refused is converted by the reference now: a bad cell fails the chunk
        # (`_Irregular`) whichever way its requests are then made.
        python = {
            index: self._column_values(chunk, index) for index, values in fast.items() if values is None
        }

        def values_of(index: int) -> Sequence[Any]:
            if index not in python:
                python[index] = self._column_values(chunk, index, fast[index])
            return python[index]

        groups = _modified_groups(chunk, others)
        if _statement_per_group(len(groups), lambda: [values_of(index) for index in self.key_indexes]):
            return [
                self._group_request(first, chunk, modified, rows, fast, values_of)
                for modified, rows in groups
            ]
        members = sorted(row for _, rows in groups for row in rows)  # file order: a later row of a key wins
        values = {index: values_of(index) for index in others}
        keys = [values_of(index) for index in self.key_indexes]
        return [self._selective_request(first, chunk, members, values, keys)]

    def _group_request(
        self,
        first: int,
        chunk: ColumnChunk,
        modified: tuple[int, ...],
        rows: list[int],
        fast: Mapping[int, Values | None],
        values_of: Callable[[int], Sequence[Any]],
    ) -> _Request:
        assigned = [self.header[index] for index in modified]
        statement = dml.update_by_key(self.table.ref, assigned, self.keys)
        parameters = [*modified, *self.key_indexes]
        args: Sequence[Sequence[Any]] | None = self._encoded(
            [fast[index] for index in parameters], None if len(rows) == chunk.num_rows else rows
        )
        if args is None:
            args = list(zip(*(_pick(values_of(index), rows) for index in parameters), strict=True))
        return _Request(statement, args, _FileRows(first, rows), [*assigned, *self.keys], True)

    def _selective_request(
        self,
        first: int,
        chunk: ColumnChunk,
        rows: list[int],
        values: dict[int, Sequence[Any]],
        keys: list[Sequence[Any]],
    ) -> _Request:
        others = self.others
        statement = dml.update_by_key_selective(
            self.table.ref, [(self.header[index], self.specs[index].type) for index in others], self.keys
        )
        columns: list[Sequence[Any]] = []
        for index in others:
            mark = chunk.unmodified[index]
            flags = [True] * chunk.num_rows if mark is None else pc.invert(mark).to_pylist()
            columns += [_pick(flags, rows), _pick(values[index], rows)]
        columns += [_pick(key, rows) for key in keys]
        args = list(zip(*columns, strict=True))
        parameters = [self.header[index] for index in others for _flag_and_value in (0, 1)] + list(self.keys)
        return _Request(statement, args, _FileRows(first, rows), parameters, True)

    # -- the reference path: row by row ------------------------------------------------------------------

    def _replace_rows(self, first: int, rows: list[Row]) -> list[list[Any]]:
        value = self.value
        key_indexes = set(self.key_indexes)
        args = []
        for offset, row in enumerate(rows):
            number = first + offset
            for index in key_indexes:
                if row[index] is None or row[index] is UNMODIFIED:
                    raise self.invalid(number, index, "a primary-key column has no value")
            args.append([value(cell, index, number) for index, cell in enumerate(row)])
        return args

    def _update_rows(self, first: int, rows: list[Row]) -> list[_Request]:
        others = self.others
        groups: dict[tuple[int, ...], list[tuple[int, Row]]] = {}
        for offset, row in enumerate(rows):
            modified = tuple(index for index in others if row[index] is not UNMODIFIED)
            if modified:  # a row that changes nothing needs no statement
                groups.setdefault(modified, []).append((first + offset, row))

        def keys() -> list[tuple[Any, ...]]:
            return list(
                zip(*(self.key_values(row, first + offset) for offset, row in enumerate(rows)), strict=True)
            )

        if _statement_per_group(len(groups), keys):
            return [self._update_group(modified, members) for modified, members in groups.items()]
        members = sorted((member for members in groups.values() for member in members), key=lambda m: m[0])
        return [self._update_selective(others, members)]

    def _update_group(self, modified: tuple[int, ...], members: list[tuple[int, Row]]) -> _Request:
        assigned = [self.header[i] for i in modified]
        statement = dml.update_by_key(self.table.ref, assigned, self.keys)
        args = [
            [self.value(row[index], index, number) for index in modified] + self.key_values(row, number)
            for number, row in members
        ]
        numbers = [number for number, _ in members]
        return _Request(statement, args, numbers, [*assigned, *self.keys], True)

    def _update_selective(self, others: list[int], members: list[tuple[int, Row]]) -> _Request:
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
                    values += [True, self.value(cell, index, number)]
            args.append(values + self.key_values(row, number))
        parameters = [name for name, _ in columns for _flag_and_value in (0, 1)] + list(self.keys)
        numbers = [number for number, _ in members]
        return _Request(statement, args, numbers, parameters, True)


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


# How each kind of file is applied, in the order WriteBatch applies them.
_APPLY: dict[FileKind, Callable[[BatchFileWriter, WriteOptions], None]] = {
    FileKind.REPLACE: BatchFileWriter.replace,
    FileKind.UPDATE: BatchFileWriter.update,
    FileKind.DELETE: BatchFileWriter.delete,
}


def write_batch(session: Session, metadata: MetadataStore, request: BatchRequest) -> WriteSummary:
    """Apply a WriteBatch: replace, then update, then delete files, each streamed in bulk chunks."""
    table = schema.with_stored_storage(session, metadata, request.table)
    summary = WriteSummary()
    warn_binary = binary_warnings(table.ref)
    long_text = LongTextColumns(session, metadata, table.ref)
    for kind, apply in _APPLY.items():
        for path in request.files.get(kind, ()):
            with request.open(path) as batch:
                apply(
                    BatchFileWriter(session, table, batch, kind, summary, warn_binary, long_text),
                    request.options,
                )
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
