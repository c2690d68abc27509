"""Reading streams: memory stays far below the file size, and nothing is written to disk."""

from __future__ import annotations

import builtins
import io
import json
import os
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cratedb_destination.batch import FileFormat, open_batch
from cratedb_destination.batch.arrow_csv import PARSE_BLOCK
from cratedb_destination.batch.decryption import decrypt_chunks
from cratedb_destination.batch.streams import STREAM_STEP
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from fivetran_e2e.batch_writer import new_key, random_token, write_batch_file

MB = 1 << 20
NULL = random_token("null")
UNMOD = random_token("unmod")


def wide_rows(count: int, cell_chars: int) -> Iterator[tuple[str | None, ...]]:
    """Rows of an id and three random hex cells: compression cannot make the file small."""
    for i in range(count):
        yield (
            str(i),
            os.urandom(cell_chars // 2).hex(),
            os.urandom(cell_chars // 2).hex(),
            None if i % 5 == 0 else os.urandom(cell_chars // 2).hex(),
        )


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes, FileFormat, int]:
    """About 64 MB of CSV once decompressed, stored AES + zstd."""
    path = tmp_path_factory.mktemp("big") / "big.csv.zst.aes"
    fmt = FileFormat("zstd", "aes", NULL, UNMOD)
    key = new_key()
    rows = 21_000
    write_batch_file(str(path), ["id", "a", "b", "c"], wide_rows(rows, 1000), fmt=fmt, key=key)
    return path, key, fmt, rows


@pytest.mark.slow
def test_csv_reader_memory_is_bounded_by_the_chunk(big_csv: tuple[Path, bytes, FileFormat, int]) -> None:
    path, key, fmt, rows = big_csv
    decompressed_size = rows * 3 * 1000
    assert decompressed_size > 60 * MB
    tracemalloc.start()
    try:
        count = 0
        with open_batch(str(path), key, fmt) as batch:
            for chunk in batch.chunks(500):
                count += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == rows
    # Two chunks alive (the consumer's and the one being built) are ~3 MB of cells; the rest is 1 MiB
    # read blocks at the decryption, decompression and buffering stages. None of it grows with the file.
    assert peak < 12 * MB, f"peak {peak / MB:.1f} MB while reading {decompressed_size / MB:.0f} MB"


_CHILD = """
import json, sys, tracemalloc
import psutil, pyarrow
from cratedb_destination.batch import FileFormat, open_batch
from cratedb_destination.batch.decryption import decrypt_chunks
from cratedb_destination.batch.streams import STREAM_STEP
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
path, key, chunk_rows = sys.argv[1], bytes.fromhex(sys.argv[2]), 500
fmt = FileFormat(**json.loads(sys.argv[3]))
process = psutil.Process()
with open_batch(path, key, fmt) as batch:
    chunks = batch.chunks(chunk_rows)
    count = len(next(chunks))  # warm up: imports, first buffers
    base = process.memory_info().rss
    peak = base
    if sys.argv[4] == "traced":
        tracemalloc.start()
    for chunk in chunks:
        count += len(chunk)
        peak = max(peak, process.memory_info().rss)
traced = tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else 0
arrow = pyarrow.default_memory_pool().max_memory() or 0
print(json.dumps({"rows": count, "rss_growth": peak - base, "python_peak": traced, "arrow_peak": arrow}))
"""


def _child_memory(path: Path, key: bytes, fmt: FileFormat, traced: bool) -> dict[str, int]:
    """Read the file in a fresh process, so that other tests' allocations do not blur the figures."""
    spec = json.dumps({name: getattr(fmt, name) for name in fmt.__dataclass_fields__})
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), key.hex(), spec, "traced" if traced else "rss"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(result.stdout)


@pytest.mark.slow
def test_csv_reader_rss_stays_flat(big_csv: tuple[Path, bytes, FileFormat, int]) -> None:
    """RSS also covers what tracemalloc cannot see: zstd's and OpenSSL's buffers."""
    path, key, fmt, rows = big_csv
    measured = _child_memory(path, key, fmt, traced=False)
    assert measured["rows"] == rows
    assert measured["rss_growth"] < 16 * MB, f"RSS grew {measured['rss_growth'] / MB:.1f} MB"


@pytest.mark.slow
def test_uncompressed_encrypted_parquet_is_read_without_buffering_the_file(tmp_path: Path) -> None:
    """Random-access decryption: memory follows the row group (here ~3 MB), not the ~45 MB file."""
    path = tmp_path / "big.parquet.aes"
    fmt = FileFormat("off", "aes", NULL, UNMOD, "parquet")
    key = new_key()
    rows = 120_000
    columns = ["id", "a", "b", "c"]
    write_batch_file(str(path), columns, wide_rows(rows, 128), fmt=fmt, key=key, parquet_row_group=8_192)
    size = path.stat().st_size
    assert size > 40 * MB
    measured = _child_memory(path, key, fmt, traced=True)
    assert measured["rows"] == rows
    used = measured["python_peak"] + measured["arrow_peak"]
    assert used < size / 2, (
        f"Python {measured['python_peak'] / MB:.1f} + Arrow {measured['arrow_peak'] / MB:.1f} MB"
    )


@pytest.mark.parametrize(
    ("kind", "compression", "encryption"),
    [("csv", "zstd", "aes"), ("csv", "gzip", "none"), ("parquet", "off", "aes"), ("parquet", "zstd", "aes")],
)
def test_reading_writes_nothing_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, compression: str, encryption: str
) -> None:
    fmt = FileFormat(compression, encryption, NULL, UNMOD, kind)  # type: ignore[arg-type]
    key = new_key()
    path = tmp_path / "f"
    write_batch_file(str(path), ["id", "a", "b", "c"], wide_rows(3000, 64), fmt=fmt, key=key)
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))

    real_open = builtins.open

    def read_only_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(flag in mode for flag in "wax+"):
            raise AssertionError(f"reader opened {file!r} for writing")
        return real_open(file, mode, *args, **kwargs)

    def no_temp(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("reader created a temporary file")

    real_os_open = os.open

    def read_only_os_open(file: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise AssertionError(f"reader opened {file!r} for writing")
        return real_os_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", read_only_open)
    monkeypatch.setattr(io, "open", read_only_open)
    monkeypatch.setattr(os, "open", read_only_os_open)
    for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp", "mkdtemp"):
        monkeypatch.setattr(tempfile, name, no_temp)
    with open_batch(str(path), key, fmt) as batch:
        assert sum(len(chunk) for chunk in batch.chunks(1000)) == 3000
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["f", "tmp"]
    assert os.listdir(private_tmp) == []


_ARROW_CHILD = """
import json, sys
import pyarrow
from cratedb_destination.batch import FileFormat, open_batch
from cratedb_destination.batch.decryption import decrypt_chunks
from cratedb_destination.batch.streams import STREAM_STEP
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
path, key, api, chunk_rows = sys.argv[1], bytes.fromhex(sys.argv[2]), sys.argv[4], int(sys.argv[5])
with open_batch(path, key, FileFormat(**json.loads(sys.argv[3]))) as batch:
    chunks = batch.chunks(chunk_rows) if api == "rows" else batch.column_chunks(chunk_rows)
    count = 0
    for chunk in chunks:
        count += len(chunk)
        del chunk  # what a consumer that is done with a chunk does before asking for the next
print(json.dumps({"rows": count, "arrow_peak": pyarrow.default_memory_pool().max_memory()}))
"""


@pytest.mark.parametrize("api", ["rows", "columns"])
def test_arrow_memory_holds_one_chunk_not_two(tmp_path: Path, api: str) -> None:
    """Arrow memory peaks at about one chunk plus the blocks being parsed: a chunk handed out as row
    tuples keeps no Arrow copy, and one the consumer dropped is freed before the next is parsed (before
    the fix both stayed: 18.1 MiB against 10.8 MiB here, for chunks of 8.0 MiB of text and parse blocks
    of 1 MiB; 13.5 MiB with blocks of 2 MiB)."""
    path = tmp_path / "wide.csv.zst.aes"
    fmt = FileFormat("zstd", "aes", NULL, UNMOD)
    key = new_key()
    rows, chunk_rows = 6_000, 3_000
    write_batch_file(str(path), ["id", "a", "b", "c"], wide_rows(rows, 1000), fmt=fmt, key=key)
    spec = json.dumps({name: getattr(fmt, name) for name in fmt.__dataclass_fields__})
    result = subprocess.run(
        [sys.executable, "-c", _ARROW_CHILD, str(path), key.hex(), spec, api, str(chunk_rows)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    measured = json.loads(result.stdout)
    assert measured["rows"] == rows
    chunk_bytes = chunk_rows * 2800  # an id and three 1,000-character cells, one in five of them NULL
    print(f"{api}: Arrow peak {measured['arrow_peak'] / MB:.1f} MiB, chunk {chunk_bytes / MB:.1f} MiB")
    allowed = chunk_bytes + 3 * PARSE_BLOCK  # one chunk, the blocks being parsed; two chunks exceed it
    assert measured["arrow_peak"] < allowed, f"Arrow peak {measured['arrow_peak'] / MB:.1f} MiB"


def test_decryption_holds_small_buffers_and_copies_nothing() -> None:
    """Decrypting an 8 MiB file piece by piece: the ciphertext step, its plaintext (handed on as a view,
    not copied without its last block) and the piece the consumer still holds (before: 1 MiB steps and a
    copy of each, 4 MiB)."""
    key, iv = new_key(), os.urandom(16)
    plain = os.urandom(8 * MB)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    padded = padder.update(plain) + padder.finalize()
    source = io.BytesIO(iv + encryptor.update(padded) + encryptor.finalize())
    del padded
    tracemalloc.start()
    try:
        count = 0
        for piece in decrypt_chunks("f.csv.aes", source, key):
            count += len(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == len(plain)
    assert peak < 3 * STREAM_STEP + MB // 4, f"peak {peak / MB:.2f} MiB"
