"""Pipelined writes: chunk N+1 is read and converted in a background thread while chunk N is sent.

A recording session stands in for CrateDB, so the tests see every request, in order, and when it is sent
relative to the reading of the file and the long-text switch.
"""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from cratedb_destination import type_mapping as tm
from cratedb_destination.batch import UNMODIFIED, BatchFileError, Cell, ColumnChunk, FileFormat, open_batch
from cratedb_destination.client import BulkResult, BulkRowsFailed, RowFailure
from cratedb_destination.domain import FileKind, TableSchema
from cratedb_destination.errors import InvalidValue, RowsRejected, TransientFailure
from cratedb_destination.services.writes import (
    BatchFileWriter,
    Prefetched,
    WriteOptions,
    WriteSummary,
    binary_warnings,
)
from cratedb_destination.sql.identifiers import TableRef
from cratedb_destination.type_mapping import ColumnSpec, FivetranType
from fivetran_e2e.batch_writer import random_token, write_batch_file
from hypothesis import given, settings
from hypothesis import strategies as st

REF = TableRef("s", "t")
TABLE = TableSchema(
    REF,
    (
        ColumnSpec("id", FivetranType(tm.INT), True),
        ColumnSpec("name", FivetranType(tm.STRING)),
        ColumnSpec("amount", FivetranType(tm.DECIMAL, precision=10, scale=2)),
        ColumnSpec("flag", FivetranType(tm.BOOLEAN)),
    ),
)
HEADER = ["id", "name", "amount", "flag"]


def pipeline_threads() -> list[threading.Thread]:
    """Producer threads still alive (`Prefetched` names them "prepare ..." here, "prefetch" by default).
    Counting all threads would also count those of other tests, still starting or ending."""
    return [thread for thread in threading.enumerate() if thread.name.startswith(("prepare ", "prefetch"))]


class Recorder:
    """Session and LongTextColumns stand-in: records bulk requests and long-text switches as events."""

    def __init__(self, fail_at: int | None = None, error: Exception | None = None, delay: float = 0.0):
        self.events: list[tuple[Any, ...]] = []
        self.fail_at = fail_at  # the 1-based bulk request that raises `error`
        self.error = error
        self.delay = delay
        self.batch: FakeBatch | None = None
        self.wait_read_ahead = False

    # Session
    def bulk(self, statement: str, rows: Sequence[Sequence[Any]], **kwargs: Any) -> BulkResult:
        number = sum(1 for event in self.events if event[0] == "bulk") + 1
        read = self.batch.yielded if self.batch else None
        event = ("bulk", statement, [list(row) for row in rows], read)
        if self.delay:
            time.sleep(self.delay)  # lets a producer that could run ahead do so
        if self.wait_read_ahead and self.batch:  # until the next chunk is read (or 5 s on a busy machine)
            deadline = time.monotonic() + 5
            while self.batch.yielded <= number and not self.batch.exhausted and time.monotonic() < deadline:
                time.sleep(0.001)
        self.events.append((*event, self.batch.yielded if self.batch else None))
        if number == self.fail_at:
            assert self.error is not None
            raise self.error
        return BulkResult([1] * len(rows), [])

    # LongTextColumns
    def watches(self, spec: ColumnSpec) -> bool:
        return spec.name == "name"

    def make_room(self, names: Any) -> None:
        self.events.append(("make_room", list(names)))

    @property
    def bulks(self) -> list[tuple[Any, ...]]:
        return [event for event in self.events if event[0] == "bulk"]


class FakeBatch:
    """A batch file of given rows; `fail_after` chunks, reading raises like a corrupt file."""

    def __init__(self, rows: list[tuple[Cell, ...]], fail_after: int | None = None) -> None:
        self.path = "file.csv"
        self.columns = list(HEADER)
        self.rows = rows
        self.fail_after = fail_after
        self.yielded = 0
        self.exhausted = False

    def chunks(self, max_rows: int) -> Iterator[list[tuple[Cell, ...]]]:
        for start in range(0, len(self.rows), max_rows):
            if self.fail_after is not None and self.yielded >= self.fail_after:
                raise BatchFileError(self.path, "corrupt zstd frame")
            self.yielded += 1
            yield self.rows[start : start + max_rows]
        self.exhausted = True

    def column_chunks(self, max_rows: int, max_bytes: int | None = None) -> Iterator[ColumnChunk]:
        for chunk in self.chunks(max_rows):
            yield ColumnChunk.from_rows(chunk, len(self.columns))


def rows(count: int) -> list[tuple[Cell, ...]]:
    return [(str(i), f"name {i}", f"{i}.25", "true" if i % 2 else "false") for i in range(count)]


def update_rows(count: int, column_sets: int) -> list[tuple[Cell, ...]]:
    out: list[tuple[Cell, ...]] = []
    for i in range(count):
        shape = i % column_sets
        out.append(
            (
                str(i),
                f"new {i}" if shape != 1 else UNMODIFIED,
                "9.99" if shape != 0 else UNMODIFIED,
                "true" if shape == 2 else UNMODIFIED,
            )
        )
    return out


def apply(
    kind: FileKind,
    batch: FakeBatch,
    recorder: Recorder,
    *,
    pipeline: bool = True,
    batch_rows: int = 7,
) -> WriteSummary:
    recorder.batch = batch
    summary = WriteSummary()
    writer = BatchFileWriter(
        recorder,  # type: ignore[arg-type]
        TABLE,
        batch,  # type: ignore[arg-type]
        kind,
        summary,
        binary_warnings(REF),
        recorder,  # type: ignore[arg-type]
    )
    options = WriteOptions(batch_rows=batch_rows, pipeline=pipeline)
    {FileKind.REPLACE: writer.replace, FileKind.UPDATE: writer.update, FileKind.DELETE: writer.delete}[kind](
        options
    )
    return summary


FILES = {
    "replace": (FileKind.REPLACE, lambda: rows(50)),
    "update, two column sets": (FileKind.UPDATE, lambda: update_rows(50, 2)),
    "update, three column sets": (FileKind.UPDATE, lambda: update_rows(50, 3)),
    "delete": (FileKind.DELETE, lambda: rows(50)),
}


@pytest.mark.parametrize("name", FILES)
def test_pipelined_requests_are_those_sent_one_after_the_other(name: str) -> None:
    kind, make = FILES[name]
    serial, pipelined = Recorder(), Recorder(delay=0.002)
    serial_summary = apply(kind, FakeBatch(make()), serial, pipeline=False)
    pipelined_summary = apply(kind, FakeBatch(make()), pipelined)
    strip = [event[:3] for event in serial.events]
    assert [event[:3] for event in pipelined.events] == strip
    assert len(serial.bulks) >= 8  # 50 rows in chunks of 7 (update: up to two requests per chunk)
    assert pipelined_summary == serial_summary
    assert not pipeline_threads()


def test_memory_holds_at_most_the_chunk_being_sent_and_the_next() -> None:
    """While chunk N is sent, the reader has given at most N+1 chunks, however slow the server is."""
    recorder = Recorder(delay=0.01)
    recorder.wait_read_ahead = True
    apply(FileKind.REPLACE, FakeBatch(rows(70)), recorder, batch_rows=7)
    assert len(recorder.bulks) == 10
    for number, (*_, read_before, read_after) in enumerate(recorder.bulks, start=1):
        assert read_before <= number + 1 and read_after <= number + 1
    assert [bulk[4] for bulk in recorder.bulks[:9]] == list(range(2, 11))  # it does read one ahead


class WatchedBatch(FakeBatch):
    """Counts, each time it hands out a chunk, how many of the chunks handed out before are still alive."""

    def __init__(self, rows: list[tuple[Cell, ...]]) -> None:
        super().__init__(rows)
        self.handed_out: list[weakref.ref[ColumnChunk]] = []
        self.alive: list[int] = []

    def column_chunks(self, max_rows: int, max_bytes: int | None = None) -> Iterator[ColumnChunk]:
        for chunk in super().column_chunks(max_rows, max_bytes):
            self.alive.append(sum(1 for ref in self.handed_out if ref() is not None))
            self.handed_out.append(weakref.ref(chunk))
            yield chunk
            del chunk


@pytest.mark.parametrize("pipeline", [False, True])
@pytest.mark.parametrize("kind", [FileKind.REPLACE, FileKind.UPDATE, FileKind.DELETE])
def test_a_chunk_is_let_go_before_the_next_is_read(kind: FileKind, pipeline: bool) -> None:
    """A generator suspended at `yield` keeps its locals: the writers' must not keep a chunk's Arrow
    columns once it is converted, or memory holds two chunks while the next one is read."""
    batch = WatchedBatch(rows(30))
    apply(kind, batch, Recorder(), pipeline=pipeline)
    assert len(batch.alive) >= 5 and set(batch.alive) == {0}, batch.alive


def test_conversion_error_in_chunk_2_stops_before_its_request() -> None:
    data = rows(30)
    data[9] = ("9", "nine", "not a number", "true")  # row 10 of the file: chunk 2 with 7-row chunks
    recorder = Recorder(delay=0.01)
    batch = FakeBatch(data)
    with pytest.raises(InvalidValue) as caught:
        apply(FileKind.REPLACE, batch, recorder)
    message = str(caught.value)
    assert "row 10" in message and "'amount'" in message and "file.csv" in message
    assert "not a number" not in message
    assert len(recorder.bulks) == 1  # chunk 1 only
    assert batch.yielded == 2  # chunk 3 was never read
    assert not pipeline_threads()


def test_conversion_error_in_a_key_of_a_delete_file() -> None:
    data = rows(30)
    data[20] = (None, None, None, None)  # row 21: chunk 3
    recorder = Recorder()
    with pytest.raises(InvalidValue, match="row 21"):
        apply(FileKind.DELETE, FakeBatch(data), recorder)
    assert len(recorder.bulks) == 2
    assert not pipeline_threads()


@pytest.mark.parametrize(
    "error", [RowsRejected("CrateDB rejected row 3"), TransientFailure("retries exhausted")], ids=repr
)
def test_request_failure_in_chunk_1_stops_the_preparation(error: Exception) -> None:
    data = rows(70)
    data[9] = ("9", "nine", "not a number", "true")  # chunk 2 cannot be converted either
    recorder = Recorder(fail_at=1, error=error, delay=0.05)
    batch = FakeBatch(data)
    with pytest.raises(type(error)) as caught:  # the first error, not chunk 2's InvalidValue
        apply(FileKind.REPLACE, batch, recorder)
    assert caught.value is error or str(error) in str(caught.value)
    assert len(recorder.bulks) == 1
    assert batch.yielded <= 2  # at most the chunk being prepared was read
    assert not pipeline_threads()


def test_request_failure_in_chunk_1_of_an_update_file() -> None:
    recorder = Recorder(fail_at=1, error=TransientFailure("unreachable"), delay=0.05)
    batch = FakeBatch(update_rows(70, 2))
    with pytest.raises(TransientFailure):
        apply(FileKind.UPDATE, batch, recorder)
    assert len(recorder.bulks) == 1 and batch.yielded <= 2
    assert not pipeline_threads()


def test_reader_failure_stops_after_the_chunks_read_before_it() -> None:
    recorder = Recorder()
    batch = FakeBatch(rows(50), fail_after=3)
    with pytest.raises(BatchFileError, match="corrupt"):
        apply(FileKind.REPLACE, batch, recorder)
    assert len(recorder.bulks) == 3  # the chunks read before the defect, as without pipelining
    assert not pipeline_threads()


def test_truncated_file_fails_like_without_pipelining(tmp_path: Path) -> None:
    fmt = FileFormat("zstd", "none", random_token("null"), random_token("unmod"))
    path = tmp_path / "t.csv.zst"
    data = [[str(i), os.urandom(100).hex(), "1.00", "true"] for i in range(20_000)]  # ~4 MB, incompressible
    write_batch_file(str(path), HEADER, data, fmt=fmt, key=None)
    compressed = path.read_bytes()
    path.write_bytes(compressed[: len(compressed) // 2])
    key = None
    results = []
    for pipeline in (False, True):
        recorder = Recorder()
        with open_batch(str(path), key, fmt) as batch, pytest.raises(BatchFileError) as caught:
            writer = BatchFileWriter(
                recorder,  # type: ignore[arg-type]
                TABLE,
                batch,
                FileKind.REPLACE,
                WriteSummary(),
                binary_warnings(REF),
                recorder,  # type: ignore[arg-type]
            )
            writer.replace(WriteOptions(batch_rows=1000, pipeline=pipeline))
        results.append((str(caught.value), [event[:3] for event in recorder.events]))
    assert results[0] == results[1]
    assert results[1][1]  # some chunks were sent before the defect
    assert not pipeline_threads()


def test_long_text_switch_comes_after_the_previous_request_and_before_its_own() -> None:
    data = rows(30)
    data[16] = ("16", "x" * 40_000, "1.00", "true")  # chunk 3 (rows 15..21)
    data[25] = ("25", "y" * 40_000, "1.00", "true")  # chunk 4: the column is switched already
    recorder = Recorder(delay=0.01)
    apply(FileKind.REPLACE, FakeBatch(data), recorder)
    kinds = [event[0] for event in recorder.events]
    assert kinds == ["bulk", "bulk", "make_room", "bulk", "bulk", "bulk"]
    assert recorder.events[2] == ("make_room", ["name"])
    assert any(row[1] == "x" * 40_000 for row in recorder.events[3][2])


class TestPrefetched:
    def test_items_in_order_and_errors_after_earlier_items(self) -> None:
        def items() -> Iterator[int]:
            yield 1
            yield 2
            raise ValueError("third")

        got = []
        with pytest.raises(ValueError, match="third"), Prefetched(items()) as prefetched:
            for item in prefetched:
                got.append(item)
        assert got == [1, 2]
        assert not prefetched.thread.is_alive()

    def test_leaving_early_closes_the_producer(self) -> None:
        closed = threading.Event()

        def items() -> Iterator[int]:
            try:
                yield from range(1000)
            finally:
                closed.set()

        with Prefetched(items()) as prefetched:
            for item in prefetched:
                if item == 3:
                    break
        assert closed.is_set() and not prefetched.thread.is_alive()


class CountingSession:
    """Keeps nothing of the requests: only the rows seen, so memory is the writer's own."""

    def __init__(self) -> None:
        self.rows = 0

    def bulk(self, statement: str, rows: Sequence[Sequence[Any]], **kwargs: Any) -> BulkResult:
        self.rows += len(rows)
        time.sleep(0.002)
        return BulkResult([1] * len(rows), [])

    def watches(self, spec: ColumnSpec) -> bool:
        return False


@pytest.mark.slow
def test_writer_memory_is_bounded_by_two_chunks(tmp_path: Path) -> None:
    """A ~60 MB file written in 500-row chunks of ~1.5 MB: the pipelined writer's peak is at most about
    one chunk above the serial writer's (one chunk sent, one prepared) and far below the file."""
    mb = 1 << 20
    fmt = FileFormat("zstd", "none", random_token("null"), random_token("unmod"))
    path = tmp_path / "big.csv.zst"
    count = 20_000
    write_batch_file(
        str(path),
        HEADER,
        ([str(i), os.urandom(1500).hex(), "1.00", "true"] for i in range(count)),
        fmt=fmt,
        key=None,
    )
    peaks = {}
    for pipeline in (False, True):
        session = CountingSession()
        tracemalloc.start()
        try:
            with open_batch(str(path), None, fmt) as batch:
                writer = BatchFileWriter(
                    session,  # type: ignore[arg-type]
                    TABLE,
                    batch,
                    FileKind.REPLACE,
                    WriteSummary(),
                    binary_warnings(REF),
                    session,  # type: ignore[arg-type]
                )
                writer.replace(WriteOptions(batch_rows=500, pipeline=pipeline))
            _, peaks[pipeline] = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert session.rows == count
    chunk = 500 * 3000
    print(f"writer peak: serial {peaks[False] / mb:.1f} MB, pipelined {peaks[True] / mb:.1f} MB")
    assert peaks[True] < peaks[False] + 2 * chunk, peaks
    assert peaks[True] < 20 * mb, f"peak {peaks[True] / mb:.1f} MB for a {count * 3000 / mb:.0f} MB file"
    assert not pipeline_threads()


class SettlingRecorder(Recorder):
    """Answers the first bulk request with every row failed without details (a bare rowcount -2, what
    CrateDB sends after 10 detailed failures per shard); keys 0 and 1 exist, the others do not."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[list[list[Any]]] = []

    def bulk(self, statement: str, rows: Sequence[Sequence[Any]], **kwargs: Any) -> BulkResult:
        self.sent.append([list(row) for row in rows])
        if len(self.sent) == 1:
            return BulkResult([0] * len(rows), list(range(len(rows))))
        return BulkResult([1 if row[-1] in (0, 1) else 0 for row in rows], [])

    def refresh(self, table: TableRef) -> None:
        self.events.append(("refresh", str(table)))

    def query(self, statement: str, args: Sequence[Any]) -> list[list[Any]]:
        self.events.append(("query", statement))
        return [[key] for key in args[0] if key in (0, 1)]


def test_rows_failed_without_details_are_settled_by_a_lookup() -> None:
    """Missing keys among them are no-ops; rows whose key exists are sent again, in groups of at most 10
    rows, so that each failure carries its code (`BatchFileWriter._settle`)."""
    recorder = SettlingRecorder()
    summary = apply(FileKind.DELETE, FakeBatch(rows(25)), recorder, batch_rows=100)
    assert [event[0] for event in recorder.events] == ["refresh", "query"]
    assert recorder.sent[1:] == [[[0], [1]]]  # only the existing keys are re-sent
    assert summary.deleted == 2


# -- the columnar conversion against the row-by-row reference ------------------------------------------------

# Mostly values every path takes, some the fast paths leave to the reference converters, a few that are
# refused (which sends the whole chunk down the row path).
_CELLS = {
    "id": st.integers(-5, 5).map(str),
    "name": st.sampled_from(["a", "", " b ", "é", "x" * 9000, "é" * 16400]),
    "amount": st.sampled_from(["1.25", "-0.5", "3", "1.234", "007", "1e2", "12345678.9", "12345678901"]),
    "flag": st.sampled_from(["true", "false", "false", "true", " TRUE", "yes"]),
}
_REFUSED = {"12345678901", "yes"}


def _rarely(usual: st.SearchStrategy[Cell], rare: list[Cell]) -> st.SearchStrategy[Cell]:
    """`usual`, and one of `rare` about once in 25 draws."""
    return st.integers(0, 24).flatmap(lambda n: st.sampled_from(rare) if n == 0 and rare else usual)


def _table_rows(kind: FileKind) -> st.SearchStrategy[list[tuple[Cell, ...]]]:
    def cell(name: str) -> st.SearchStrategy[Cell]:
        if name == "id":
            return _rarely(_CELLS[name], [None, UNMODIFIED])
        taken = _CELLS[name].filter(lambda value: value not in _REFUSED)
        usual = st.one_of(taken, st.sampled_from([None, UNMODIFIED] if kind is FileKind.UPDATE else [None]))
        return _rarely(usual, [*sorted(_REFUSED), UNMODIFIED])

    return st.lists(st.tuples(*(cell(name) for name in HEADER)), min_size=1, max_size=10)


def _requests(writer: BatchFileWriter, kind: FileKind, first: int, chunk: ColumnChunk, columnar: bool) -> Any:
    """What the writer would send for one chunk (statement, rows as lists, row numbers), or the error."""
    try:
        if kind is FileKind.UPDATE:
            requests = (
                writer._update_requests(first, chunk)
                if columnar
                else writer._update_rows(first, chunk.rows())
            )
            shown = [(r.statement, [list(a) for a in r.args], list(r.row_numbers)) for r in requests]
        elif kind is FileKind.REPLACE:
            args = writer._replace_args(chunk) if columnar else writer._replace_rows(first, chunk.rows())
            shown = [[list(a) for a in args]]
        else:
            keys = writer._key_columns(chunk)
            shown = (
                [[list(a) for a in zip(*keys, strict=True)]]
                if columnar
                else [[writer.key_values(row, first + offset) for offset, row in enumerate(chunk.rows())]]
            )
    except Exception as error:
        return type(error).__name__, str(error)
    return shown, sorted(writer._oversized)


@pytest.mark.parametrize("kind", [FileKind.REPLACE, FileKind.UPDATE, FileKind.DELETE], ids=str)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_columnar_chunks_send_what_the_row_path_sends(kind: FileKind, data: st.DataObject) -> None:
    """Equal requests whenever the columnar path takes a chunk; when it leaves it (`_Irregular`), the row
    path is what runs, so nothing else needs to match."""
    table_rows = data.draw(_table_rows(kind))
    recorder = Recorder()
    chunk = ColumnChunk.from_rows(table_rows, len(HEADER))

    def writer() -> BatchFileWriter:
        return BatchFileWriter(
            recorder, TABLE, FakeBatch(table_rows), kind, WriteSummary(), binary_warnings(REF), recorder
        )  # type: ignore[arg-type]

    columnar = _requests(writer(), kind, 3, chunk, True)
    if columnar[0] == "_Irregular":
        return
    assert columnar == _requests(writer(), kind, 3, chunk, False)


class RejectingRecorder(Recorder):
    """Rejects, in every request, the row whose key is `key` (an UPDATE's key is its last parameter)."""

    def __init__(self, key: int) -> None:
        super().__init__()
        self.key = key

    def bulk(self, statement: str, rows: Sequence[Sequence[Any]], **kwargs: Any) -> BulkResult:
        for position, row in enumerate(rows):
            if row[-1] == self.key:
                raise BulkRowsFailed([RowFailure(position, 4000, "rejected")], len(rows))
        return super().bulk(statement, rows, **kwargs)


@pytest.mark.parametrize("key", [0, 5, 12])
def test_a_rejected_update_row_is_named_by_its_file_row(key: int) -> None:
    """Update groups pick rows out of the chunk; the Task names the row's number in the file (rows are
    numbered from 1, so key k, in row k + 1), whichever group and chunk it is in."""
    with pytest.raises(RowsRejected, match=rf"\(row {key + 1}\)"):
        apply(FileKind.UPDATE, FakeBatch(update_rows(14, 2)), RejectingRecorder(key), batch_rows=7)


def test_update_groups_keep_the_order_of_first_appearance() -> None:
    table_rows = update_rows(9, 2)[::-1]
    writer = BatchFileWriter(
        Recorder(),
        TABLE,
        FakeBatch(table_rows),
        FileKind.UPDATE,
        WriteSummary(),
        binary_warnings(REF),
        Recorder(),
    )  # type: ignore[arg-type]
    chunk = ColumnChunk.from_rows(table_rows, len(HEADER))
    assert _requests(writer, FileKind.UPDATE, 1, chunk, True) == _requests(
        writer, FileKind.UPDATE, 1, chunk, False
    )


def test_a_chunk_that_repeats_a_key_keeps_file_order() -> None:
    """Two column sets and one key updated three times: one CASE statement, rows in file order, so the
    last update of the key wins (one statement per set would apply row 3 before row 2)."""
    table_rows: list[tuple[Cell, ...]] = [
        ("1", "a", "1.00", UNMODIFIED),
        ("1", UNMODIFIED, "2.00", UNMODIFIED),
        ("1", "c", "3.00", UNMODIFIED),
        ("2", UNMODIFIED, "4.00", UNMODIFIED),
    ]
    chunk = ColumnChunk.from_rows(table_rows, len(HEADER))
    for columnar in (True, False):
        writer = BatchFileWriter(
            Recorder(),  # type: ignore[arg-type]
            TABLE,
            FakeBatch(table_rows),  # type: ignore[arg-type]
            FileKind.UPDATE,
            WriteSummary(),
            binary_warnings(REF),
            Recorder(),  # type: ignore[arg-type]
        )
        requests = writer._update_requests(1, chunk) if columnar else writer._update_rows(1, chunk.rows())
        assert len(requests) == 1 and "CASE WHEN" in requests[0].statement
        assert list(requests[0].row_numbers) == [1, 2, 3, 4]
    without_repeat = ColumnChunk.from_rows(table_rows[2:], len(HEADER))
    assert len(writer._update_requests(3, without_repeat)) == 2  # distinct keys: one statement per set
