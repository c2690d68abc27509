"""Streaming readers for Fivetran batch files (CSV or Parquet; AES-256-CBC; zstd, gzip or none).

    fmt = FileFormat.from_proto(request.file_params)
    with open_batch(path, key_for(request.keys, path) if fmt.encryption == "aes" else None, fmt) as batch:
        for rows in batch.chunks(10_000):   # rows align with batch.columns
            ...                             # a cell is str, None (null_string) or UNMODIFIED

Decrypted or decompressed bytes never touch disk; memory is bounded by the chunk size, not the file size.
Every problem raises `BatchFileError`, whose message names the file and never contains cell values.
"""

from .cells import UNMODIFIED, Cell, Unmodified
from .columnar import ColumnChunk, row_sizes, rows_within
from .errors import BatchFileError
from .file_format import FileFormat, key_for
from .reader import BatchFile, open_batch

__all__ = [
    "UNMODIFIED",
    "BatchFile",
    "BatchFileError",
    "Cell",
    "ColumnChunk",
    "FileFormat",
    "Unmodified",
    "key_for",
    "open_batch",
    "row_sizes",
    "rows_within",
]
