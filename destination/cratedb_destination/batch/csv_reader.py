"""CSV batch files read with Python's csv module: the reference reader.

file -> AES-CBC -> zstd/gzip -> UTF-8 -> csv, one streaming pipeline, no temp files. `open_batch` uses the
faster pyarrow reader (`arrow_csv`), which hands a file over to this one whenever it cannot vouch for the
result (unusual quoting, blank lines, invalid UTF-8, wrong row widths): this reader defines the semantics
and gives the exact errors.

Fivetran's dialect is Python's default: comma, double quote, quotes doubled, no escape character,
newlines allowed inside quotes, header first. `strict=True` turns a quote left open at the end of the
file, or text after a closing quote, into an error instead of silently accepted data.
"""

from __future__ import annotations

import contextlib
import csv
import io
import sys
from collections.abc import Callable, Iterator
from itertools import islice
from typing import BinaryIO, NoReturn, TypeVar

from .cells import Cell
from .columnar import ChunkAssembler, ColumnChunk
from .decompression import gzip_chunks, zstd_chunks
from .decryption import decrypt_chunks
from .errors import BatchFileError
from .file_format import FileFormat
from .reader import BatchFile
from .streams import READ_BLOCK, ChunkStream, Piece, file_chunks

T = TypeVar("T")


def _raise_field_size_limit() -> None:
    """Large JSON/text cells exceed csv's default 128 KiB field limit; allow anything."""
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:  # C long is 32 bits on some platforms
            limit //= 2


_raise_field_size_limit()


def plaintext_chunks(path: str, raw: BinaryIO, key: bytes | None, fmt: FileFormat) -> Iterator[Piece]:
    """The file's plaintext in pieces: decrypted, then decompressed, as the format says."""
    data: Iterator[Piece]
    if fmt.encryption == "aes":
        assert key is not None  # checked by open_batch
        data = decrypt_chunks(path, raw, key)
    else:
        data = file_chunks(raw)
    if fmt.compression == "zstd":
        data = zstd_chunks(path, data)
    elif fmt.compression == "gzip":
        data = gzip_chunks(path, data)
    return data


class PythonCsvBatchFile(BatchFile):
    def __init__(self, path: str, key: bytes | None, fmt: FileFormat) -> None:
        super().__init__(path, fmt)
        try:
            self._raw: io.FileIO = open(path, "rb", buffering=0)  # noqa: SIM115 - closed in close()
        except FileNotFoundError:
            raise self._error("file does not exist") from None
        except OSError as error:
            raise self._error(f"cannot open file ({error.strerror})") from None
        try:
            self._text = io.TextIOWrapper(self._plain_stream(key), encoding="utf-8", newline="")
            self._reader = csv.reader(self._text, strict=True)
            header = self._guard(lambda: next(self._reader, None))
            if header is None:
                raise self._error("file is empty; expected a header row")
            self._set_columns(header)
        except BaseException:
            self.close()
            raise

    def _plain_stream(self, key: bytes | None) -> io.BufferedReader:
        fmt = self.format
        if fmt.encryption == "none" and fmt.compression == "off":
            return io.BufferedReader(self._raw, READ_BLOCK)
        return io.BufferedReader(ChunkStream(plaintext_chunks(self.path, self._raw, key, fmt)), READ_BLOCK)

    def _guard(self, step: Callable[[], T]) -> T:
        try:
            return step()
        except BatchFileError:
            raise
        except UnicodeDecodeError:
            self._fail(f"text is not valid UTF-8 (near line {self._reader.line_num + 1})")
        except csv.Error as error:
            self._fail(f"malformed CSV at line {self._reader.line_num}: {error}")
        except OSError as error:
            self._fail(f"cannot read file ({error.strerror or type(error).__name__})")

    def _fail(self, problem: str) -> NoReturn:
        raise self._error(problem) from None

    def chunks(self, max_rows: int) -> Iterator[list[tuple[Cell, ...]]]:
        if max_rows < 1:
            raise ValueError("max_rows must be positive")
        reader = self._reader
        width = len(self.columns)
        tokens = self._tokens
        token_of = tokens.get
        null_string = self.format.null_string
        unmodified_string = self.format.unmodified_string
        while True:
            # Per row: `in` compares whole cells in C (length first), so token-free rows, the common
            # case, cost one tuple copy; rows holding a token are mapped through a dict lookup.
            chunk: list[tuple[Cell, ...]] = self._guard(
                lambda: [
                    tuple(map(token_of, row, row))
                    if null_string in row or unmodified_string in row
                    else tuple(row)
                    for row in islice(reader, max_rows)
                ]
            )
            if not chunk:
                return
            if len(set(map(len, chunk))) != 1 or len(chunk[0]) != width:
                self._wrong_width(chunk, width)
            self.rows_read += len(chunk)
            yield chunk

    def column_chunks(self, max_rows: int, max_bytes: int | None = None) -> Iterator[ColumnChunk]:
        """Chunks of `chunks`, cut again by `max_bytes` like the Arrow readers' (`ChunkAssembler`)."""
        width = len(self.columns)
        assembler = ChunkAssembler(width)
        for rows in self.chunks(max_rows):
            chunk = ColumnChunk.from_rows(rows, width)
            marks = [None if mark is None else mark.combine_chunks() for mark in chunk.unmodified]
            assembler.add([array.combine_chunks() for array in chunk.arrays], marks, chunk.num_rows)
            del rows, chunk, marks
            yield from assembler.take(max_rows, max_bytes)
        rest = assembler.rest()
        if rest is not None:
            yield rest

    def skip(self, count: int) -> None:
        """Read past the first `count` data rows (already delivered by the reader that handed over)."""
        reader = self._reader
        skipped = self._guard(lambda: sum(1 for _ in islice(reader, count)))
        if skipped != count:
            raise AssertionError(f"the Python csv reader found {skipped} rows where pyarrow found {count}")
        self.rows_read = count

    def _wrong_width(self, rows: list[tuple[Cell, ...]], width: int) -> NoReturn:
        for index, row in enumerate(rows):
            if len(row) != width:
                number = self.rows_read + index + 1
                self._fail(f"data row {number} has {len(row)} cells but the header has {width} columns")
        raise AssertionError("unreachable")

    def close(self) -> None:
        text = getattr(self, "_text", None)
        if text is not None:
            with contextlib.suppress(Exception):  # a half-read stream must not mask the real error
                text.close()
        self._raw.close()
