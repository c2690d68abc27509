"""`open_batch`: one entry point for every batch-file encoding; the base class shared by both kinds."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Literal

from .cells import UNMODIFIED, Cell
from .columnar import ColumnChunk
from .errors import BatchFileError
from .file_format import FileFormat


class BatchFile:
    """An open batch file: `columns` is the header in file order; `chunks` streams the rows.

    Use it as a context manager. Rows are read once, front to back; memory is bounded by the chunk size
    (Parquet files that are compressed as a whole are the exception, see `parquet_reader`).
    """

    path: str
    columns: list[str]

    def __init__(self, path: str, fmt: FileFormat) -> None:
        self.path = path
        self.format = fmt
        self.columns = []
        self.rows_read = 0
        # Null wins when both tokens are equal (insertion order: the later key replaces the value).
        self._tokens: dict[str, Cell] = {fmt.unmodified_string: UNMODIFIED, fmt.null_string: None}

    def chunks(self, max_rows: int) -> Iterator[list[tuple[Cell, ...]]]:
        """Lists of at most `max_rows` rows; each row is a tuple aligned with `columns`."""
        raise NotImplementedError

    def column_chunks(self, max_rows: int, max_bytes: int | None = None) -> Iterator[ColumnChunk]:
        """The same rows as `chunks`, as columns: Arrow string arrays plus UNMODIFIED masks.

        Cheaper than `chunks` when the consumer works per column (no row tuples, and no Python objects
        at all for what it converts in Arrow). Use one of the two per file. With `max_bytes`, a chunk also
        ends before its rows' sizes (`columnar.row_sizes`) pass that budget (a single larger row alone),
        so a file of wide rows is held a budget at a time.
        """
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> BatchFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _error(self, problem: str) -> BatchFileError:
        return BatchFileError(self.path, problem)

    def _set_columns(self, names: Sequence[str]) -> None:
        if not names:
            raise self._error("the header row has no columns")
        seen: set[str] = set()
        for position, name in enumerate(names, start=1):
            if name == "":
                raise self._error(f"header column {position} has an empty name")
            if name in seen:
                raise self._error(f"header names column {name!r} twice")
            seen.add(name)
        self.columns = list(names)


def open_batch(
    path: str, key: bytes | None, fmt: FileFormat, *, csv_engine: Literal["arrow", "python"] = "arrow"
) -> BatchFile:
    """Open a batch file and read its header.

    `key` is the file's 32-byte AES key (see `key_for`); it is required when `fmt.encryption` is "aes"
    and ignored otherwise. Raises `BatchFileError` naming the file for any problem. `csv_engine`
    "python" reads CSV with the reference Python csv reader only (benchmarks and tests compare them).
    """
    if fmt.encryption == "aes" and key is None:
        raise BatchFileError(path, "file is AES-encrypted but no key was given")
    if fmt.kind == "parquet":
        from .parquet_reader import ParquetBatchFile

        return ParquetBatchFile(path, key, fmt)
    if csv_engine == "python":
        from .csv_reader import PythonCsvBatchFile

        return PythonCsvBatchFile(path, key, fmt)
    from .arrow_csv import ArrowCsvBatchFile

    return ArrowCsvBatchFile(path, key, fmt)
