"""Adapters between byte-chunk generators and file objects, so each pipeline stage stays a generator."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO

READ_BLOCK = 1 << 20
"""Buffer size of the readers that take a file object (Python csv, Parquet)."""
STREAM_STEP = 1 << 18
"""Bytes read from disk (and decrypted) per step of the streaming pipeline. Up to three such buffers are
alive at once (ciphertext, plaintext, the piece the next stage still holds), so they are kept small; the
CSV parser's blocks are joined from them (`arrow_csv.PARSE_BLOCK`)."""

Piece = bytes | memoryview
"""A piece of a byte stream between pipeline stages (decryption hands on views, not copies)."""


def file_chunks(source: BinaryIO, block: int = STREAM_STEP) -> Iterator[bytes]:
    while chunk := source.read(block):
        yield chunk


class ChunkStream(io.RawIOBase):
    """A read-only raw stream over an iterator of byte chunks (never joins them)."""

    def __init__(self, chunks: Iterator[Piece]) -> None:
        super().__init__()
        self._chunks = chunks
        self._current = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._current:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._current = memoryview(chunk)
        count = min(len(buffer), len(self._current))
        buffer[:count] = self._current[:count]
        self._current = self._current[count:]
        return count
