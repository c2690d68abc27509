"""Columnar chunks: what the Arrow-based readers produce, and row tuples made from them on demand.

A `ColumnChunk` holds `num_rows` rows as Arrow string columns with the exact text of the file. A cell that
is NULL (the file's `null_string`, or a Parquet null) is an Arrow null; a cell that equalled the file's
`unmodified_string` is an Arrow null too and is marked in `unmodified[column]` (None when the column has
no such cell in this chunk, the common case). `rows()` and `column()` give the same Python cells as the
row interface (`str`, `None`, `UNMODIFIED`).

`ChunkAssembler` turns Arrow record batches of any size into chunks of exactly `max_rows` rows (the last
one shorter), or fewer when a byte budget is given and the rows' text would exceed it, without copying:
chunks are zero-copy slices of the batches. `row_sizes` is the one measure of a row's size for that budget
(the writer's requests are bounded by the same measure).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from .cells import UNMODIFIED, Cell

_NULL_STRING = pa.scalar(None, pa.string())
CELL_OVERHEAD = 4
"""Bytes counted per non-NULL cell on top of its text (quotes and separator in the request's JSON)."""


def row_sizes(arrays: Sequence[pa.Array | pa.ChunkedArray]) -> pa.Array | pa.ChunkedArray:
    """Each row's size for byte budgets: the UTF-8 bytes of its non-NULL cells plus CELL_OVERHEAD per such
    cell (NULL and unmodified cells count nothing). Byte lengths come from the string offsets (no scan of
    the text, unlike a count of characters); a NULL cell counts -CELL_OVERHEAD, made up at the end."""
    total: pa.Array | pa.ChunkedArray | None = None
    for array in arrays:
        lengths = pc.binary_length(array)
        if array.null_count:
            lengths = pc.fill_null(lengths, -CELL_OVERHEAD)
        total = lengths if total is None else pc.add(total, lengths)
    if total is None:
        raise ValueError("row sizes of no columns")
    return pc.add(total, CELL_OVERHEAD * len(arrays))  # an int64 scalar: the sum becomes int64


def rows_within(sizes: pa.Array | pa.ChunkedArray, budget: int) -> int:
    """How many leading rows fit in `budget` together; at least one (a larger row goes alone)."""
    fitting = pc.sum(pc.less_equal(pc.cumulative_sum(sizes), budget)).as_py() or 0
    return max(int(fitting), 1)


@dataclass(frozen=True)
class ColumnChunk:
    """`num_rows` rows of `len(arrays)` string columns (see the module docstring)."""

    num_rows: int
    arrays: list[pa.ChunkedArray]
    unmodified: list[pa.ChunkedArray | None]

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[Cell, ...]], width: int) -> ColumnChunk:
        """The columnar form of row tuples (used where a file is read by the Python csv reader)."""
        arrays: list[pa.ChunkedArray] = []
        unmodified: list[pa.ChunkedArray | None] = []
        for index in range(width):
            cells = [row[index] for row in rows]
            marks = [cell is UNMODIFIED for cell in cells]
            texts = [None if mark else cell for cell, mark in zip(cells, marks, strict=True)]
            arrays.append(pa.chunked_array([pa.array(texts, pa.string())]))
            unmodified.append(pa.chunked_array([pa.array(marks, pa.bool_())]) if any(marks) else None)
        return cls(len(rows), arrays, unmodified)

    def column(self, index: int) -> list[Cell]:
        """One column as Python cells: str, None or UNMODIFIED."""
        cells: list[Cell] = self.arrays[index].to_pylist()
        marks = self.unmodified[index]
        if marks is not None:
            for position in pc.indices_nonzero(marks).to_pylist():
                cells[position] = UNMODIFIED
        return cells

    def columns(self) -> list[list[Cell]]:
        return [self.column(index) for index in range(len(self.arrays))]

    def rows(self) -> list[tuple[Cell, ...]]:
        """The row tuples of the row interface (`BatchFile.chunks`)."""
        return list(zip(*self.columns(), strict=True))

    def slice(self, start: int, length: int) -> ColumnChunk:
        """Rows `start` to `start + length` (zero-copy)."""
        return ColumnChunk(
            length,
            [array.slice(start, length) for array in self.arrays],
            [None if mark is None else mark.slice(start, length) for mark in self.unmodified],
        )

    def __len__(self) -> int:
        return self.num_rows


class TokenMarker:
    """Replaces the cells of a string column that equal a token by Arrow nulls (and marks UNMODIFIED)."""

    def __init__(self, null_string: str, unmodified_string: str) -> None:
        self._null = null_string
        # Null wins when both tokens are equal, as in the row reader.
        self._unmodified: str | None = None if unmodified_string == null_string else unmodified_string
        tokens = [null_string] if self._unmodified is None else [null_string, unmodified_string]
        self._tokens = pa.array(tokens, pa.string())

    def mark(self, array: pa.Array) -> tuple[pa.Array, pa.Array | None]:
        """(array with token cells as nulls, UNMODIFIED mask or None). Token-free columns cost one pass."""
        hits = pc.is_in(array, value_set=self._tokens)
        if not pc.any(hits).as_py():
            return array, None
        unmodified: pa.Array | None = None
        if self._unmodified is not None:
            unmodified = pc.equal(array, self._unmodified)
            if not pc.any(unmodified).as_py():
                unmodified = None
        return pc.if_else(hits, _NULL_STRING, array), unmodified

    def mark_unmodified(self, array: pa.Array) -> tuple[pa.Array, pa.Array | None]:
        """`mark` for a column whose NULL cells are Arrow nulls already (the CSV parser's `null_values`):
        only the unmodified token is left to find; one comparison when it is absent."""
        if self._unmodified is None:
            return array, None
        hits = pc.equal(array, self._unmodified)
        if not pc.any(hits).as_py():
            return array, None
        return pc.if_else(hits, _NULL_STRING, array), hits.fill_null(False)


class _Sizes:
    """The row sizes of one queued batch (or what is left of it), computed when a byte budget asks."""

    def __init__(self, arrays: Sequence[pa.Array], rows: int) -> None:
        self.arrays = list(arrays)
        self.rows = rows
        self._sizes: pa.Array | None = None
        self._total: int | None = None

    @property
    def sizes(self) -> pa.Array:
        if self._sizes is None:
            self._sizes = row_sizes(self.arrays)
        return self._sizes

    @property
    def total(self) -> int:
        if self._total is None:
            self._total = int(pc.sum(self.sizes).as_py() or 0)
        return self._total

    def tail(self, start: int) -> _Sizes:
        rest = _Sizes([array.slice(start) for array in self.arrays], self.rows - start)
        if self._sizes is not None:
            rest._sizes = self._sizes.slice(start)
        return rest


class ChunkAssembler:
    """Collects marked columns of record batches and cuts chunks of `max_rows` rows, or of fewer rows
    when they reach `max_bytes` by `row_sizes` (zero-copy)."""

    def __init__(self, width: int) -> None:
        self._width = width
        self._queues: list[deque[tuple[pa.Array, pa.Array | None]]] = [deque() for _ in range(width)]
        self._sizes: deque[_Sizes] = deque()  # per queued batch, for byte budgets
        self._rows = 0

    @property
    def pending(self) -> int:
        return self._rows

    def add(self, arrays: Sequence[pa.Array], marks: Sequence[pa.Array | None], rows: int) -> None:
        if rows == 0:
            return
        for queue, array, mark in zip(self._queues, arrays, marks, strict=True):
            queue.append((array, mark))
        self._sizes.append(_Sizes(arrays, rows))
        self._rows += rows

    def take(self, max_rows: int, max_bytes: int | None = None) -> Iterator[ColumnChunk]:
        """Every full chunk collected so far: `max_rows` rows, or fewer whose sizes exceed `max_bytes`
        with one more row (a single larger row is a chunk of its own)."""
        while self._rows:
            count = min(max_rows, self._rows)
            if max_bytes is not None and sum(entry.total for entry in self._sizes) > max_bytes:
                count = min(count, rows_within(self._head_sizes(count), max_bytes))
            elif count < max_rows:
                return
            yield self._cut(count)

    def rest(self) -> ColumnChunk | None:
        """The remaining rows (fewer than a chunk) at the end of the file."""
        return self._cut(self._rows) if self._rows else None

    def clear(self) -> None:
        for queue in self._queues:
            queue.clear()
        self._sizes.clear()
        self._rows = 0

    def _head_sizes(self, count: int) -> pa.ChunkedArray:
        """The sizes of the first `count` queued rows."""
        pieces: list[pa.Array] = []
        needed = count
        for entry in self._sizes:
            piece = entry.sizes.slice(0, needed)
            pieces.append(piece)
            needed -= len(piece)
            if not needed:
                break
        return pa.chunked_array(pieces, pa.int64())

    def _cut(self, count: int) -> ColumnChunk:
        arrays: list[pa.ChunkedArray] = []
        unmodified: list[pa.ChunkedArray | None] = []
        for queue in self._queues:
            pieces: list[pa.Array] = []
            marks: list[pa.Array | None] = []
            needed = count
            while needed:
                array, mark = queue[0]
                if len(array) <= needed:
                    queue.popleft()
                else:
                    queue[0] = (array.slice(needed), None if mark is None else mark.slice(needed))
                    array, mark = array.slice(0, needed), None if mark is None else mark.slice(0, needed)
                pieces.append(array)
                marks.append(mark)
                needed -= len(array)
            arrays.append(pa.chunked_array(pieces, pa.string()))
            if all(mark is None for mark in marks):
                unmodified.append(None)
            else:
                unmodified.append(
                    pa.chunked_array(
                        [
                            pa.nulls(len(piece), pa.bool_()).fill_null(False) if mark is None else mark
                            for piece, mark in zip(pieces, marks, strict=True)
                        ],
                        pa.bool_(),
                    )
                )
        needed = count
        while needed:
            entry = self._sizes[0]
            if entry.rows <= needed:
                self._sizes.popleft()
                needed -= entry.rows
            else:
                self._sizes[0] = entry.tail(needed)
                needed = 0
        self._rows -= count
        return ColumnChunk(count, arrays, unmodified)
