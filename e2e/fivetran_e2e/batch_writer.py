"""Writes batch files the way Fivetran's core does: CSV (or Parquet) -> zstd/gzip -> AES-256-CBC.

The mirror of `cratedb_destination.batch`: what the e2e core hands to the destination, and what the
reader's tests round-trip through. Writing the encrypted file to disk is the producer's job, so this side
streams to a file; nothing is held in memory beyond one block of rows.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import gzip
import io
import os
import re
import secrets
import string
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard
from cratedb_destination.batch import UNMODIFIED, Cell, FileFormat
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_FLUSH_CHARS = 1 << 20
_TOKEN_ALPHABET = string.ascii_letters + string.digits
# A cell holding any of these is quoted (as is an empty one).
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def new_key() -> bytes:
    """A fresh AES-256 key, one per file as Fivetran does."""
    return secrets.token_bytes(32)


def random_token(prefix: str) -> str:
    """A per-run token such as "null-Xq3..." (31 random letters and digits, the length Fivetran uses)."""
    return f"{prefix}-{''.join(secrets.choice(_TOKEN_ALPHABET) for _ in range(31))}"


class _AesCbcWriter(io.RawIOBase):
    """Encrypts everything written to it; the random IV goes first, PKCS#7 padding on close."""

    def __init__(self, target: BinaryIO, key: bytes) -> None:
        super().__init__()
        if len(key) != 32:
            raise ValueError(f"AES-256 needs a 32-byte key, got {len(key)} bytes")
        iv = os.urandom(16)
        target.write(iv)
        self._target = target
        self._encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        self._padder = padding.PKCS7(128).padder()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._target.write(self._encryptor.update(self._padder.update(bytes(data))))
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._target.write(self._encryptor.update(self._padder.finalize()) + self._encryptor.finalize())
        super().close()


class _Pipeline:
    """The writable end of compression-then-encryption into `path`; counts plaintext bytes for tell()."""

    def __init__(self, path: str, fmt: FileFormat, key: bytes | None) -> None:
        if fmt.encryption == "aes" and key is None:
            raise ValueError("an AES-encrypted batch file needs a key")
        if key is not None and len(key) != 32:
            raise ValueError(f"AES-256 needs a 32-byte key, got {len(key)} bytes")
        self._file: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._encrypted: Any = _AesCbcWriter(self._file, key) if fmt.encryption == "aes" and key else None
        below: Any = self._encrypted or self._file
        self._compressed: Any = None
        if fmt.compression == "zstd":
            # Streaming with an unknown size: the frame header carries no content size, like Fivetran's.
            compressor = zstandard.ZstdCompressor(write_content_size=False)
            self._compressed = compressor.stream_writer(below, closefd=False)
        elif fmt.compression == "gzip":
            self._compressed = gzip.GzipFile(fileobj=below, mode="wb", mtime=0)
        self._top: Any = self._compressed or below
        self.position = 0
        self.closed = False

    def write(self, data: Any) -> int:
        self._top.write(data)
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for layer in (self._compressed, self._encrypted, self._file):
            if layer is not None:
                layer.close()


def _text_cells(row: Sequence[Cell], null_string: str, unmodified_string: str) -> list[str]:
    """Tokens in place of None and UNMODIFIED (any other non-str cell fails in str.join later)."""
    if None not in row and UNMODIFIED not in row:
        return list(row)  # type: ignore[arg-type]
    return [
        null_string if cell is None else unmodified_string if cell is UNMODIFIED else cell for cell in row
    ]


def _quoted_minimal(cells: list[str], needs_quotes: Callable[[str], object] = _NEEDS_QUOTES.search) -> str:
    """The cells joined, each one quoted (quotes doubled) only if it is empty or holds a comma, quote, CR
    or LF. A compiled search in a comprehension: every row with JSON or free text takes this path."""
    return ",".join(
        ['"' + cell.replace('"', '""') + '"' if not cell or needs_quotes(cell) else cell for cell in cells]
    )


def _csv_line(cells: list[str], width: int) -> str:
    """One record. The common case (no empty cell, nothing to quote) is checked on the joined line."""
    line = ",".join(cells)
    if "" in cells or line.count(",") != width - 1 or '"' in line or "\n" in line or "\r" in line:
        line = _quoted_minimal(cells)
    return line + "\n"


def _csv_text(columns: Sequence[str], rows: Iterable[Sequence[Cell]], fmt: FileFormat) -> Iterator[str]:
    """CSV text in ~1 MiB pieces, in the dialect of Fivetran's Jackson writer: '\\n' line ends, quotes
    only where needed (comma, quote, CR, LF), quotes doubled, and empty strings always quoted so that an
    unquoted empty field never occurs. The header is quoted, as observed in tester-produced files.

    Written by hand rather than with csv.writer: before Python 3.12 csv.writer leaves a lone CR unquoted
    when the line terminator is '\\n', which a reader then takes for a line break.
    """
    width = len(columns)
    pieces = [",".join('"' + name.replace('"', '""') + '"' for name in columns) + "\n"]
    size = 0
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise ValueError(f"row {number} has {len(row)} cells for {width} columns")
        line = _csv_line(_text_cells(row, fmt.null_string, fmt.unmodified_string), width)
        pieces.append(line)
        size += len(line)
        if size >= _FLUSH_CHARS:
            yield "".join(pieces)
            pieces.clear()
            size = 0
    yield "".join(pieces)


def write_batch_file(
    path: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    fmt: FileFormat,
    key: bytes | None,
    parquet_types: Mapping[str, pa.DataType] | None = None,
    parquet_row_group: int = 65_536,
) -> None:
    """Write one batch file. `key` is required when `fmt.encryption` is "aes".

    Parquet columns are strings (None and UNMODIFIED written as the tokens, as in CSV) unless
    `parquet_types` gives a column a type: such a column holds typed values and real nulls, parsed from
    the same text the CSV would carry (binary from base64, timestamps from ISO-8601). Every
    `parquet_row_group` rows form a row group (parquet-mr, Fivetran's writer, defaults to 128 MB groups).
    """
    sink = _Pipeline(path, fmt, key)
    try:
        if fmt.kind == "parquet":
            _write_parquet(sink, columns, rows, fmt, parquet_types or {}, parquet_row_group)
        else:
            for text in _csv_text(columns, rows, fmt):
                sink.write(text.encode("utf-8"))
    except BaseException:
        with contextlib.suppress(Exception):
            sink.close()
        os.remove(path)  # never leave a half-written file behind for a reader to trip over
        raise
    sink.close()


def _typed_array(name: str, cells: list[Cell], kind: pa.DataType) -> pa.Array:
    if any(cell is UNMODIFIED for cell in cells):
        raise ValueError(f"column {name!r} is typed {kind} in Parquet and cannot hold UNMODIFIED")
    texts: list[Any] = list(cells)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return pa.array([None if c is None else base64.b64decode(c) for c in texts], kind)
    if pa.types.is_time(kind):
        times = [None if c is None else dt.time.fromisoformat(c) for c in texts]
        return pa.array(times, kind)
    if pa.types.is_floating(kind):
        java = {"Infinity": "inf", "-Infinity": "-inf", "NaN": "nan"}
        return pa.array([None if c is None else float(java.get(c, c)) for c in texts], kind)
    return pa.array(texts, pa.string()).cast(kind)


def _write_parquet(
    sink: _Pipeline,
    columns: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    fmt: FileFormat,
    types: Mapping[str, pa.DataType],
    row_group: int,
) -> None:
    unknown = set(types) - set(columns)
    if unknown:
        raise ValueError(f"parquet_types names columns not in the header: {sorted(unknown)}")
    schema = pa.schema([pa.field(name, types.get(name, pa.string())) for name in columns])
    with pq.ParquetWriter(sink, schema) as writer:
        iterator = iter(rows)
        while block := list(islice(iterator, row_group)):
            arrays = []
            for index, field in enumerate(schema):
                cells: list[Cell] = [row[index] for row in block]
                if field.name in types:
                    arrays.append(_typed_array(field.name, cells, field.type))
                else:
                    texts = _text_cells(cells, fmt.null_string, fmt.unmodified_string)
                    arrays.append(pa.array(texts, pa.string()))
            writer.write_batch(pa.record_batch(arrays, schema=schema))
