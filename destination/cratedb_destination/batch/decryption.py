"""AES-256-CBC with PKCS#7 padding, as Fivetran encrypts batch files: a 16-byte IV, then the ciphertext.

Two readers: a forward stream for CSV (and compressed Parquet), and a seekable view for uncompressed
Parquet, which needs random access. CBC allows that without buffering: block i decrypts with ciphertext
block i-1 as its IV.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .errors import BatchFileError
from .file_format import check_key
from .streams import STREAM_STEP, Piece

BLOCK = 16


def _read_exact(source: BinaryIO, size: int) -> bytes:
    parts = []
    while size > 0:
        part = source.read(size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _unpad_length(path: str, last_block: bytes) -> int:
    """Number of padding bytes at the end of `last_block`, validated strictly."""
    pad = last_block[-1]
    if not 1 <= pad <= BLOCK or last_block[-pad:] != bytes([pad]) * pad:
        raise BatchFileError(path, "invalid PKCS#7 padding after decryption (wrong key or corrupt file)")
    return pad


def decrypt_chunks(path: str, source: BinaryIO, key: bytes, block: int = STREAM_STEP) -> Iterator[Piece]:
    """Plaintext chunks of an encrypted file, padding removed; the last block is held back until EOF.

    While a chunk is consumed only its plaintext is held (no ciphertext, no copy): a chunk is a view of
    the decrypted buffer without its last block."""
    check_key(path, key)
    iv = _read_exact(source, BLOCK)
    if len(iv) < BLOCK:
        raise BatchFileError(path, f"encrypted file has {len(iv)} bytes, fewer than the 16-byte IV")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    held = b""
    ciphertext_bytes = 0
    while chunk := source.read(block):
        ciphertext_bytes += len(chunk)
        plain = decryptor.update(chunk)
        del chunk
        if plain:
            if held:
                yield held
            held = plain[-BLOCK:]
            if len(plain) > BLOCK:
                yield memoryview(plain)[:-BLOCK]
            del plain
    if ciphertext_bytes == 0:
        raise BatchFileError(path, "encrypted file has an IV but no ciphertext")
    if ciphertext_bytes % BLOCK:
        raise BatchFileError(
            path, f"ciphertext is {ciphertext_bytes} bytes, not a multiple of 16 (truncated file?)"
        )
    decryptor.finalize()
    pad = _unpad_length(path, held)
    if pad < BLOCK:
        yield held[:-pad]


class SeekableDecryptedFile(io.RawIOBase):
    """Random-access plaintext view of an encrypted file; memory is bounded by the largest single read."""

    def __init__(self, path: str, key: bytes) -> None:
        super().__init__()
        check_key(path, key)
        self._path = path
        self._key = key
        self._file = open(path, "rb")  # noqa: SIM115 - closed in close()
        try:
            self._blocks = self._count_blocks()
            self._size = self._blocks * BLOCK - self._padding()
        except BaseException:
            self._file.close()
            raise
        self._pos = 0

    def _count_blocks(self) -> int:
        total = os.fstat(self._file.fileno()).st_size
        if total < BLOCK:
            raise BatchFileError(self._path, f"encrypted file has {total} bytes, fewer than the 16-byte IV")
        ciphertext = total - BLOCK
        if ciphertext == 0:
            raise BatchFileError(self._path, "encrypted file has an IV but no ciphertext")
        if ciphertext % BLOCK:
            raise BatchFileError(
                self._path, f"ciphertext is {ciphertext} bytes, not a multiple of 16 (truncated file?)"
            )
        return ciphertext // BLOCK

    def _decrypt_blocks(self, first: int, count: int) -> bytes:
        """Plaintext of ciphertext blocks first..first+count-1 (block 0 follows the IV)."""
        self._file.seek(first * BLOCK)  # the IV or the previous ciphertext block, then the blocks
        data = _read_exact(self._file, (count + 1) * BLOCK)
        if len(data) != (count + 1) * BLOCK:
            raise BatchFileError(self._path, "file shrank while being read")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(data[:BLOCK])).decryptor()
        return decryptor.update(data[BLOCK:]) + decryptor.finalize()

    def _padding(self) -> int:
        return _unpad_length(self._path, self._decrypt_blocks(self._blocks - 1, 1))

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        end = min(self._pos + len(buffer), self._size)
        if end <= self._pos:
            return 0
        first = self._pos // BLOCK
        last = (end - 1) // BLOCK
        plain = self._decrypt_blocks(first, last - first + 1)
        start = self._pos - first * BLOCK
        count = end - self._pos
        buffer[:count] = plain[start : start + count]
        self._pos = end
        return count

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()
