"""CSV batch files parsed by pyarrow's CSV parser, with the Python csv reader as the reference.

file -> AES-CBC -> zstd/gzip -> `quoting.record_blocks` (quote check; blocks of about 2 MiB of whole
records) -> pyarrow `read_csv` per block (every column a string, a cell equal to `null_string` a null,
quoted or not; quoted line breaks allowed, see `quoting`) -> the `unmodified_string` marked in
Arrow (skipped for a block whose bytes do not contain it) -> chunks of exactly `max_rows` rows. Plaintext
stays in memory, a block at a time; nothing is written to disk and no Arrow thread calls back into Python.

pyarrow gives exactly the text Python's csv gives for what Fivetran writes (checked by property tests
against that reader). Where the two could differ, this reader does not guess: it hands the file to the
Python csv reader (`csv_reader.PythonCsvBatchFile`), which skips the rows already delivered and either
reads on (a file pyarrow does not parse the same way) or raises the exact error with row and line:
- quoting other than Fivetran's (`quoting`): text after a closing quote, a quote left open at the end,
  a quote inside an unquoted field;
- a row whose cells are all empty: pyarrow reads a blank line that way, Python's csv as a row of 0 cells;
- a block (other than the first) starting with a BOM, which pyarrow would drop;
- anything pyarrow rejects: a row of the wrong width, invalid UTF-8, an empty file or header line.
Per-cell and row errors therefore have the reference reader's wording, and never contain cell values.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any, Literal, overload

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from .cells import Cell
from .columnar import ChunkAssembler, ColumnChunk, TokenMarker
from .csv_reader import PythonCsvBatchFile, plaintext_chunks
from .file_format import FileFormat
from .quoting import Block, NeedsExactReader, record_blocks
from .reader import BatchFile
from .streams import Piece

_UTF8_BOM = b"\xef\xbb\xbf"
PARSE_BLOCK = 2 << 20
"""Plaintext bytes parsed per pyarrow call (whole records). Besides the chunk being cut, memory holds
about three of them (the joined block, pyarrow's parsed copy, the block being joined). 2 MiB parse 10-15%
faster than 1 MiB (per-call costs); `bench/bench_reader.py` measures it."""
_MAX_TYPED_COLUMNS = 4096
"""Columns given the string type up front; a file with more is read by the Python csv reader."""

_READ_OPTIONS = pcsv.ReadOptions(
    use_threads=False, block_size=4 * PARSE_BLOCK, autogenerate_column_names=True
)
_PARSE_OPTIONS = pcsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False)


@functools.lru_cache(maxsize=64)
def _convert_options(null_string: str, width: int, check_utf8: bool = True) -> pcsv.ConvertOptions:
    """`width` string columns; a cell whose whole text is `null_string` (quoted or not) an Arrow null, as
    the Python reader compares it; no other text is null. pyarrow's UTF-8 check can be skipped for a block
    of ASCII bytes only. (The column types are given per file: pyarrow handles every entry on every call,
    so a map for thousands of columns costs about a millisecond per block.)"""
    return pcsv.ConvertOptions(
        column_types={f"f{index}": pa.string() for index in range(width)},
        null_values=[null_string],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        check_utf8=check_utf8,
    )


_EMPTY = Block(memoryview(b""))

# What makes the fast path hand over: pyarrow's own errors and the quote check.
_HAND_OVER = (pa.ArrowException, NeedsExactReader)


def _parse(block: Block, convert: pcsv.ConvertOptions) -> pa.RecordBatch:
    """One block of whole records as one record batch of string columns named f0, f1, ..."""
    table = pcsv.read_csv(
        pa.py_buffer(block.data),
        read_options=_READ_OPTIONS,
        parse_options=_PARSE_OPTIONS,
        convert_options=convert,
    )
    batches = table.combine_chunks().to_batches()
    if not batches:
        return pa.record_batch([pa.array([], pa.string())] * table.num_columns, names=table.column_names)
    return batches[0]


def _header_width(block: Block) -> int:
    """The header's number of columns when its line has no quote (commas + 1), else _MAX_TYPED_COLUMNS:
    the first block is then parsed with types for that many (more columns go to the Python reader)."""
    data: bytes = block.data.obj  # type: ignore[assignment]  # record_blocks views bytes
    end = block.data.nbytes
    for terminator in (b"\n", b"\r"):
        found = data.find(terminator, 0, end)
        if found >= 0:
            end = found
    if data.find(b'"', 0, end) >= 0:
        return _MAX_TYPED_COLUMNS
    return min(data.count(b",", 0, end) + 1, _MAX_TYPED_COLUMNS)


class ArrowCsvBatchFile(BatchFile):
    def __init__(self, path: str, key: bytes | None, fmt: FileFormat) -> None:
        super().__init__(path, fmt)
        self._key = key
        self._exact: PythonCsvBatchFile | None = None
        self._blocks: Iterator[Block] = iter(())
        self._marker = TokenMarker(fmt.null_string, fmt.unmodified_string)
        self._convert = self._convert_ascii = _convert_options(fmt.null_string, _MAX_TYPED_COLUMNS)
        token = fmt.unmodified_string
        self._unmodified_bytes = (
            token.encode() if token != fmt.null_string and token and '"' not in token else None
        )
        self._null_is_empty = fmt.null_string == ""
        try:
            self._raw = open(path, "rb")  # noqa: SIM115 - closed in close()
        except FileNotFoundError:
            raise self._error("file does not exist") from None
        except OSError as error:
            raise self._error(f"cannot open file ({error.strerror})") from None
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        self._blocks = record_blocks(self._plaintext(), PARSE_BLOCK)
        try:
            block = next(self._blocks, _EMPTY)
            first_convert = _convert_options(self.format.null_string, _header_width(block))
            first = _parse(block, first_convert)  # an empty file: pyarrow raises; the Python reader: "empty"
            if any(field.type != pa.string() for field in first.schema):
                raise NeedsExactReader("more columns than are typed up front")
            if first.num_rows == 0:
                raise NeedsExactReader("no header row")
            header = [first.column(index)[0].as_py() for index in range(first.num_columns)]
            if None in header:
                raise NeedsExactReader("a header cell equal to the null string")
            if header == [""]:
                raise NeedsExactReader("an empty header line")  # Python's csv: a header of no columns
        except _HAND_OVER:
            self._hand_over(0)
            return
        if block.data[:3] == _UTF8_BOM:
            header[0] = "\ufeff" + header[0]  # pyarrow drops the BOM; Python's csv keeps it, as we do
        self._set_columns(header)
        self._convert = _convert_options(self.format.null_string, len(header))
        self._convert_ascii = _convert_options(self.format.null_string, len(header), check_utf8=False)
        self._assembler = ChunkAssembler(len(header))
        self._first: tuple[pa.RecordBatch, bool] | None = (first.slice(1), self._may_hold_unmodified(block))

    def _plaintext(self) -> Iterator[Piece]:
        try:
            yield from plaintext_chunks(self.path, self._raw, self._key, self.format)
        except OSError as error:
            raise self._error(f"cannot read file ({error.strerror or type(error).__name__})") from None

    def _may_hold_unmodified(self, block: Block) -> bool:
        """False when no cell of the block can be the unmodified token: its bytes occur nowhere in the
        block. (A token with a quote, which the file doubles, is always looked for cell by cell.)"""
        token = self._unmodified_bytes
        return token is None or block.contains(token)

    def _next_batch(self) -> tuple[pa.RecordBatch, bool] | None:
        """The next block's rows, and whether they may hold the unmodified token."""
        block = next(self._blocks, None)
        if block is None:
            return None
        if block.data[:3] == _UTF8_BOM:
            raise NeedsExactReader("a row starting with a BOM")  # pyarrow would drop it
        batch = _parse(block, self._convert_ascii if block.ascii else self._convert)
        if batch.num_columns != len(self.columns):
            raise NeedsExactReader("a block of another width")
        return batch, self._may_hold_unmodified(block)

    def _hand_over(self, delivered: int) -> None:
        """Continue with the Python csv reader after the `delivered` rows already handed out."""
        self._blocks = iter(())
        self._raw.close()
        exact = PythonCsvBatchFile(self.path, self._key, self.format)
        self._exact = exact
        if delivered == 0:
            self.columns = exact.columns
            return
        if exact.columns != self.columns:
            raise AssertionError("the Python csv reader read another header than pyarrow")
        exact.skip(delivered)

    def _add(self, batch: pa.RecordBatch, may_hold_unmodified: bool) -> None:
        rows = batch.num_rows
        if rows == 0:
            return
        columns = batch.columns
        if self._has_empty_row(columns):
            raise NeedsExactReader("a row of empty cells, or a blank line")
        if not may_hold_unmodified:
            self._assembler.add(columns, [None] * len(columns), rows)
            return
        arrays: list[pa.Array] = []
        marks: list[pa.Array | None] = []
        for array in columns:
            marked, unmodified = self._marker.mark_unmodified(array)
            arrays.append(marked)
            marks.append(unmodified)
        self._assembler.add(arrays, marks, rows)

    def _empty_lengths(self, array: pa.Array) -> pa.Array:
        """Byte lengths of the cells, a NULL cell counting as empty when the null string is empty."""
        lengths = pc.binary_length(array)
        return lengths.fill_null(0) if self._null_is_empty else lengths

    def _has_empty_row(self, columns: list[pa.Array]) -> bool:
        """Whether a row has only empty cells (pyarrow reads a blank line that way)."""
        first = self._empty_lengths(columns[0])
        if pc.min(first).as_py() != 0:
            return False
        empty = pc.equal(first, 0)
        for array in columns[1:]:
            empty = pc.and_(empty, pc.equal(self._empty_lengths(array), 0))
        return bool(pc.any(empty).as_py())

    @overload
    def _iterate(
        self, max_rows: int, columnar: Literal[True], max_bytes: int | None = None
    ) -> Iterator[ColumnChunk]: ...
    @overload
    def _iterate(
        self, max_rows: int, columnar: Literal[False], max_bytes: int | None = None
    ) -> Iterator[list[tuple[Cell, ...]]]: ...
    def _iterate(self, max_rows: int, columnar: bool, max_bytes: int | None = None) -> Iterator[Any]:
        if max_rows < 1:
            raise ValueError("max_rows must be positive")
        if self._exact is None:
            assembler = self._assembler
            try:
                while True:
                    # No reference outlives its use: the Arrow data of a chunk handed out as rows, and a
                    # chunk the consumer is done with when it asks for the next, are freed before more of
                    # the file is parsed (otherwise memory holds two chunks at every cut).
                    for chunk in assembler.take(max_rows, max_bytes):
                        self.rows_read += chunk.num_rows
                        item = chunk if columnar else chunk.rows()
                        del chunk
                        yield item
                        del item
                    batch = self._first if self._first is not None else self._next_batch()
                    self._first = None
                    if batch is None:
                        break
                    self._add(*batch)
                    del batch
                chunk_or_none = assembler.rest()
                if chunk_or_none is not None:
                    self.rows_read += chunk_or_none.num_rows
                    yield chunk_or_none if columnar else chunk_or_none.rows()
                return
            except _HAND_OVER:
                assembler.clear()
                self._hand_over(self.rows_read)
        exact = self._exact
        assert exact is not None
        exact_chunks: Iterator[Any] = exact.column_chunks(max_rows) if columnar else exact.chunks(max_rows)
        for exact_chunk in exact_chunks:
            self.rows_read = exact.rows_read
            yield exact_chunk

    def chunks(self, max_rows: int) -> Iterator[list[tuple[Cell, ...]]]:
        return self._iterate(max_rows, columnar=False)

    def column_chunks(self, max_rows: int, max_bytes: int | None = None) -> Iterator[ColumnChunk]:
        return self._iterate(max_rows, columnar=True, max_bytes=max_bytes)

    def close(self) -> None:
        self._blocks = iter(())
        if self._exact is not None:
            self._exact.close()
        raw = getattr(self, "_raw", None)
        if raw is not None:
            raw.close()
