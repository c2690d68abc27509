"""Adapters between byte-chunk generators and file objects, so each pipeline stage stays a generator."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO

READ_BLOCK = 1 << 20
"""Bytes read from disk per step; together with the CSV chunk size this bounds reader memory."""


def file_chunks(source: BinaryIO, block: int = READ_BLOCK) -> Iterator[bytes]:
    while chunk := source.read(block):
        yield chunk


class ChunkStream(io.RawIOBase):
    """A read-only raw stream over an iterator of byte chunks (never joins them)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
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
