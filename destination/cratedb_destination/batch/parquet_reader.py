"""Parquet batch files, converted to the same text cells the CSV reader yields.

Memory: an uncompressed file (encrypted or not) is read with random access straight from disk, so memory
is bounded by one record batch plus pyarrow's column-chunk reads. A file compressed as a whole (zstd or
gzip around the Parquet bytes) cannot be read backwards from its footer without decompressing it, so it
is decompressed into memory: bounded by the file's decompressed size (Fivetran caps files at 100 MB),
never written to disk.

Fivetran's Parquet mapping is loosely documented; the choices made here:
- a Parquet null is None; `null_string`/`unmodified_string` are recognised only in string columns
  (typed columns cannot hold the tokens, so an "unmodified" typed cell is not expressible);
- booleans "true"/"false"; integers as decimal text; floats in shortest round-trip form with Java's
  "Infinity", "-Infinity", "NaN"; decimals as plain text keeping their scale (no exponent);
- binary as base64 (as BINARY is in CSV); dates "YYYY-MM-DD"; timestamps ISO-8601, with a trailing "Z"
  when the column has a time zone (values are UTC), and a fraction of 0, 3, 6 or 9 digits like Java;
  times "HH:MM:SS[.fraction]";
- dictionary-encoded columns are decoded; nested types (list, struct, map) are rejected.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .cells import Cell
from .columnar import ChunkAssembler, ColumnChunk, TokenMarker
from .decompression import gzip_chunks, zstd_chunks
from .decryption import SeekableDecryptedFile, decrypt_chunks
from .errors import BatchFileError
from .file_format import FileFormat
from .reader import BatchFile
from .streams import READ_BLOCK, Piece, file_chunks

_EPOCH = dt.datetime(1970, 1, 1)
_NANOS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_JAVA_FLOATS: dict[str | None, str | None] = {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}

Converter = Callable[[pa.Array], list[Any]]


def _fraction(nanos: int) -> str:
    if nanos == 0:
        return ""
    if nanos % 1_000_000 == 0:
        return f".{nanos // 1_000_000:03d}"
    if nanos % 1_000 == 0:
        return f".{nanos // 1_000:06d}"
    return f".{nanos:09d}"


def _timestamp_text(value: int | None, nanos_per_unit: int, suffix: str) -> str | None:
    if value is None:
        return None
    seconds, nanos = divmod(value * nanos_per_unit, 1_000_000_000)
    moment = _EPOCH + dt.timedelta(seconds=seconds)
    return f"{moment.isoformat()}{_fraction(nanos)}{suffix}"


def _time_text(value: int | None, nanos_per_unit: int) -> str | None:
    if value is None:
        return None
    seconds, nanos = divmod(value * nanos_per_unit, 1_000_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{hour:02d}:{minute:02d}:{second:02d}{_fraction(nanos)}"


def _as_text(array: pa.Array) -> list[str | None]:
    return pc.cast(array, pa.string()).to_pylist()


def _floats(array: pa.Array) -> list[str | None]:
    texts = _as_text(array)
    return list(map(_JAVA_FLOATS.get, texts, texts))


def _decimals(array: pa.Array) -> list[str | None]:
    texts = pc.cast(array, pa.string())
    if not pc.any(pc.match_substring(texts, "E")).as_py():
        return texts.to_pylist()
    # Arrow, like Java's BigDecimal.toString, switches to exponent notation for tiny values.
    return [None if value is None else format(value, "f") for value in array.to_pylist()]


_JAVA_FLOAT_NAMES = pa.array(list(_JAVA_FLOATS), pa.string())


def _arrow_text(array: pa.Array) -> pa.Array | None:
    """The text cells of a typed column as an Arrow string array, for the types whose text Arrow's cast
    already gives exactly as the converters above (integers, booleans, decimals without an exponent,
    finite floats); None for the others, which go through their converter."""
    kind = array.type
    types = pa.types
    if not (
        types.is_boolean(kind) or types.is_integer(kind) or types.is_decimal(kind) or types.is_floating(kind)
    ):
        return None
    texts = pc.cast(array, pa.string())
    if types.is_decimal(kind) and pc.any(pc.match_substring(texts, "E")).as_py():
        return None
    if types.is_floating(kind) and pc.any(pc.is_in(texts, value_set=_JAVA_FLOAT_NAMES)).as_py():
        return None
    return texts


def _binaries(array: pa.Array) -> list[str | None]:
    return [None if value is None else base64.b64encode(value).decode("ascii") for value in array.to_pylist()]


def _dates(array: pa.Array) -> list[str | None]:
    return [None if value is None else value.isoformat() for value in array.to_pylist()]


def _timestamps(array: pa.Array) -> list[str | None]:
    kind: Any = array.type
    per_unit = _NANOS_PER_UNIT[kind.unit]
    suffix = "Z" if kind.tz is not None else ""
    return [_timestamp_text(v, per_unit, suffix) for v in array.view(pa.int64()).to_pylist()]


def _times(array: pa.Array) -> list[str | None]:
    kind: Any = array.type
    per_unit = _NANOS_PER_UNIT[kind.unit]
    counts = array.view(pa.int32() if pa.types.is_time32(kind) else pa.int64())
    return [_time_text(v, per_unit) for v in counts.to_pylist()]


def _converter(kind: pa.DataType) -> tuple[Converter, bool] | None:
    """How to turn a column of this type into cells, and whether its cells may be tokens."""
    types = pa.types
    if types.is_string(kind) or types.is_large_string(kind):
        return (lambda array: array.to_pylist()), True
    if types.is_boolean(kind) or types.is_integer(kind):
        return _as_text, False
    if types.is_floating(kind):
        return _floats, False
    if types.is_decimal(kind):
        return _decimals, False
    if types.is_binary(kind) or types.is_large_binary(kind) or types.is_fixed_size_binary(kind):
        return _binaries, False
    if types.is_date(kind):
        return _dates, False
    if types.is_timestamp(kind):
        return _timestamps, False
    if types.is_time(kind):
        return _times, False
    if types.is_null(kind):
        return (lambda array: [None] * len(array)), False
    if types.is_dictionary(kind):
        inner = _converter(kind.value_type)
        if inner is None:
            return None
        convert, may_hold_tokens = inner
        return (lambda array: convert(array.dictionary_decode())), may_hold_tokens
    return None


class ParquetBatchFile(BatchFile):
    def __init__(self, path: str, key: bytes | None, fmt: FileFormat) -> None:
        super().__init__(path, fmt)
        self._source: Any = None
        self._batches: Iterator[pa.RecordBatch] | None = None
        self._pending: list[tuple[Cell, ...]] = []
        self._token_values = pa.array([fmt.null_string, fmt.unmodified_string], pa.string())
        self._marker = TokenMarker(fmt.null_string, fmt.unmodified_string)
        try:
            self._source = self._open_source(key)
            self._file = pq.ParquetFile(self._source, buffer_size=READ_BLOCK, pre_buffer=False)
            schema = self._file.schema_arrow
        except BatchFileError:
            self.close()
            raise
        except FileNotFoundError:
            self.close()
            raise self._error("file does not exist") from None
        except (pa.ArrowException, OSError) as error:  # structural messages (footer, magic), no cell values
            self.close()
            raise self._error(f"not a readable Parquet file ({error})") from None
        try:
            self._set_columns(schema.names)
            self._converters = [self._converter_for(field) for field in schema]
        except BaseException:
            self.close()
            raise

    def _converter_for(self, field: pa.Field) -> tuple[Converter, bool]:
        converter = _converter(field.type)
        if converter is None:
            raise self._error(
                f"column {field.name!r} has Parquet type {field.type}, which batch files do not use"
            )
        return converter

    def _open_source(self, key: bytes | None) -> Any:
        fmt = self.format
        if fmt.compression == "off":
            if fmt.encryption == "none":
                return open(self.path, "rb")
            assert key is not None  # checked by open_batch
            return SeekableDecryptedFile(self.path, key)
        with open(self.path, "rb") as raw:
            data: Iterator[Piece] = (
                decrypt_chunks(self.path, raw, key)
                if key is not None and (fmt.encryption == "aes")
                else file_chunks(raw)
            )
            data = zstd_chunks(self.path, data) if fmt.compression == "zstd" else gzip_chunks(self.path, data)
            buffer = bytearray()
            for chunk in data:
                buffer += chunk
        return pa.BufferReader(pa.py_buffer(buffer))

    def _next_rows(self) -> list[tuple[Cell, ...]] | None:
        """The next record batch as row tuples, or None at the end."""
        assert self._batches is not None
        try:
            batch = next(self._batches, None)
            if batch is None:
                return None
            columns: list[list[Any]] = []
            for (convert, may_hold_tokens), array in zip(self._converters, batch.columns, strict=True):
                cells = convert(array)
                if may_hold_tokens and pc.any(pc.is_in(array, value_set=self._token_values)).as_py():
                    cells = list(map(self._tokens.get, cells, cells))
                columns.append(cells)
        except BatchFileError:
            raise
        except (pa.ArrowException, OSError, OverflowError, ValueError) as error:
            # Only the error type: Arrow's messages about values (casts, overflows) may quote them.
            raise self._error(f"cannot read Parquet data ({type(error).__name__})") from None
        return list(zip(*columns, strict=True))

    def chunks(self, max_rows: int) -> Iterator[list[tuple[Cell, ...]]]:
        """Like the CSV reader: exact chunk sizes, and a second call continues where the first stopped."""
        if max_rows < 1:
            raise ValueError("max_rows must be positive")
        if self._batches is None:
            self._batches = self._file.iter_batches(batch_size=max_rows, use_threads=False)
        while True:
            if len(self._pending) >= max_rows:
                chunk, self._pending = self._pending[:max_rows], self._pending[max_rows:]
            else:
                rows = self._next_rows()
                if rows is not None:
                    self._pending = self._pending + rows if self._pending else rows
                    continue
                if not self._pending:
                    return
                chunk, self._pending = self._pending, []
            self.rows_read += len(chunk)
            yield chunk

    def column_chunks(self, max_rows: int, max_bytes: int | None = None) -> Iterator[ColumnChunk]:
        """The same cells as `chunks`, built as Arrow string columns without row tuples. Use one of the
        two per file."""
        if max_rows < 1:
            raise ValueError("max_rows must be positive")
        if self._batches is None:
            self._batches = self._file.iter_batches(batch_size=max_rows, use_threads=False)
        assembler = ChunkAssembler(len(self.columns))
        while True:
            for chunk in assembler.take(max_rows, max_bytes):
                self.rows_read += chunk.num_rows
                yield chunk
            if not self._add_columns(assembler):
                break
        rest = assembler.rest()
        if rest is not None:
            self.rows_read += rest.num_rows
            yield rest

    def _add_columns(self, assembler: ChunkAssembler) -> bool:
        """The next record batch as string columns with tokens marked; False at the end."""
        assert self._batches is not None
        try:
            batch = next(self._batches, None)
            if batch is None:
                return False
            arrays: list[pa.Array] = []
            marks: list[pa.Array | None] = []
            for (convert, may_hold_tokens), array in zip(self._converters, batch.columns, strict=True):
                if may_hold_tokens:  # a string column: its text as it is, tokens marked
                    text = pc.cast(
                        array.dictionary_decode() if pa.types.is_dictionary(array.type) else array,
                        pa.string(),
                    )
                    text, mark = self._marker.mark(text)
                    marks.append(None if mark is None else mark.fill_null(False))
                else:
                    fast = _arrow_text(array)
                    text = pa.array(convert(array), pa.string()) if fast is None else fast
                    marks.append(None)
                arrays.append(text)
        except BatchFileError:
            raise
        except (pa.ArrowException, OSError, OverflowError, ValueError) as error:
            raise self._error(f"cannot read Parquet data ({type(error).__name__})") from None
        assembler.add(arrays, marks, batch.num_rows)
        return True

    def close(self) -> None:
        parquet = getattr(self, "_file", None)
        if parquet is not None:
            parquet.close()
        if self._source is not None:
            self._source.close()
