"""`ChunkAssembler`: chunks cut by rows and by the byte budget keep every row, in order, exactly once."""

from __future__ import annotations

import pyarrow as pa
from cratedb_destination.batch import row_sizes, rows_within
from cratedb_destination.batch.columnar import CELL_OVERHEAD, ChunkAssembler, ColumnChunk
from hypothesis import given, settings
from hypothesis import strategies as st

_cells = st.one_of(st.none(), st.text(max_size=12))
_batches = st.lists(st.lists(st.tuples(_cells, _cells), min_size=0, max_size=9), max_size=6)


def _size(row: tuple[str | None, ...]) -> int:
    return sum(len(cell.encode()) + CELL_OVERHEAD for cell in row if cell is not None)


@settings(max_examples=300, deadline=None)
@given(batches=_batches, max_rows=st.integers(1, 8), max_bytes=st.one_of(st.none(), st.integers(1, 60)))
def test_chunks_hold_every_row_once_within_both_limits(
    batches: list[list[tuple[str | None, str | None]]], max_rows: int, max_bytes: int | None
) -> None:
    assembler = ChunkAssembler(2)
    chunks: list[ColumnChunk] = []
    for rows in batches:
        columns = [pa.array([row[index] for row in rows], pa.string()) for index in range(2)]
        assembler.add(columns, [None, None], len(rows))
        chunks.extend(assembler.take(max_rows, max_bytes))
    rest = assembler.rest()
    assert rest is None or 0 < rest.num_rows < max_rows or max_bytes is not None
    chunks += [rest] if rest is not None else []

    delivered = [row for chunk in chunks for row in chunk.rows()]
    assert delivered == [row for rows in batches for row in rows]
    for number, chunk in enumerate(chunks):
        rows = chunk.rows()
        assert 1 <= len(rows) <= max_rows
        if max_bytes is None:
            continue
        total = sum(map(_size, rows))
        assert total <= max_bytes or len(rows) == 1  # a single larger row goes alone
        following = delivered[sum(c.num_rows for c in chunks[:number]) + len(rows) :]
        if number < len(chunks) - 1 and len(rows) < max_rows:  # ended by the budget: the next row did not fit
            assert total + _size(following[0]) > max_bytes


def test_row_sizes_and_rows_within() -> None:
    arrays = [pa.array(["ab", None, "é"]), pa.array([None, None, "xyz"])]
    sizes = row_sizes(arrays)
    assert sizes.to_pylist() == [2 + CELL_OVERHEAD, 0, 2 + 3 + 2 * CELL_OVERHEAD]  # UTF-8 bytes: é is 2
    assert rows_within(sizes, 6) == 2  # 6, then 6 + 0
    assert rows_within(sizes, 5) == 1  # the first row alone, though larger
    assert rows_within(sizes, 1000) == 3
