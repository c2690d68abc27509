"""Streaming zstd and gzip decompression with bounded output per step and strict truncation checks.

Fivetran writes zstd frames without a content size, so one-shot `decompress()` is not an option; and
`zstandard`'s stream_reader silently accepts a truncated frame, so frames are driven by hand here.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import zstandard

from .errors import BatchFileError
from .streams import Piece

ZSTD_INPUT_STEP = 1 << 13
"""Compressed bytes fed per zstd call. zstd's decompressobj has no output limit, so each output piece is
bounded by this times the compression ratio: 8 KiB keeps it near 1 MiB even for ~100:1 data."""
GZIP_OUTPUT_STEP = 1 << 20


def zstd_chunks(path: str, compressed: Iterator[Piece]) -> Iterator[bytes]:
    dctx = zstandard.ZstdDecompressor()
    frame = dctx.decompressobj()
    frame_started = False
    try:
        for chunk in compressed:
            view = memoryview(chunk)
            for offset in range(0, len(view), ZSTD_INPUT_STEP):
                piece = bytes(view[offset : offset + ZSTD_INPUT_STEP])
                while piece:
                    frame_started = True
                    out = frame.decompress(piece)
                    if out:
                        yield out
                    if not frame.eof:
                        break
                    piece = frame.unused_data
                    frame = dctx.decompressobj()
                    frame_started = False
    except zstandard.ZstdError as error:
        raise BatchFileError(path, f"not valid zstd data ({error})") from None
    if frame_started and not frame.eof:
        raise BatchFileError(path, "zstd stream ends in the middle of a frame (truncated file?)")


def gzip_chunks(path: str, compressed: Iterator[Piece]) -> Iterator[bytes]:
    member = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    member_started = False
    try:
        for chunk in compressed:
            data = chunk
            while data:
                member_started = True
                out = member.decompress(data, GZIP_OUTPUT_STEP)
                if out:
                    yield out
                if member.eof:
                    data = member.unused_data
                    member = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                    member_started = False
                else:
                    data = member.unconsumed_tail
        while member_started and not member.eof:  # output zlib still holds after the input ran out
            out = member.decompress(b"", GZIP_OUTPUT_STEP)
            if not out:
                break
            yield out
    except zlib.error as error:
        raise BatchFileError(path, f"not valid gzip data ({error})") from None
    if member_started and not member.eof:
        raise BatchFileError(path, "gzip stream ends in the middle of a member (truncated file?)")
