"""Every way a batch file can be unreadable gives a BatchFileError that names the file and hides cells."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from cratedb_destination.batch import BatchFileError, FileFormat, key_for, open_batch
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from fivetran_e2e.batch_writer import new_key, random_token, write_batch_file

NULL = random_token("null")
UNMOD = random_token("unmod")
SECRET = "s3cr3t-cell-value"


def fmt(compression: str = "off", encryption: str = "none", kind: str = "csv") -> FileFormat:
    return FileFormat(compression, encryption, NULL, UNMOD, kind)  # type: ignore[arg-type]


def read_all(path: Path, file_format: FileFormat, key: bytes | None = None) -> list[tuple[object, ...]]:
    with open_batch(str(path), key, file_format) as batch:
        return [row for chunk in batch.chunks(2) for row in chunk]


def expect_error(path: Path, file_format: FileFormat, key: bytes | None, *fragments: str) -> BatchFileError:
    with pytest.raises(BatchFileError) as caught:
        read_all(path, file_format, key)
    message = str(caught.value)
    assert str(path) in message and caught.value.path == str(path)
    for fragment in fragments:
        assert fragment in message
    assert SECRET not in message
    return caught.value


def encrypt_raw(plaintext: bytes, key: bytes) -> bytes:
    """AES-CBC without adding padding, to craft files with bad padding."""
    iv = bytes(range(16))
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv + encryptor.update(plaintext) + encryptor.finalize()


# --- files and keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_missing_file(tmp_path: Path, kind: str) -> None:
    expect_error(tmp_path / "absent.csv.zst.aes", fmt("zstd", "aes", kind), new_key(), "does not exist")
    expect_error(tmp_path / "absent.csv", fmt(kind=kind), None, "does not exist")


def test_key_lookup_by_exact_path() -> None:
    key = new_key()
    assert key_for({"/data/f.csv": key}, "/data/f.csv") == key
    with pytest.raises(BatchFileError, match=r"/data/g\.csv: .*no decryption key"):
        key_for({"/data/f.csv": key}, "/data/g.csv")
    with pytest.raises(BatchFileError, match=r"/data/f\.csv: decryption key has 16 bytes"):
        key_for({"/data/f.csv": key[:16]}, "/data/f.csv")


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_missing_or_short_key(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "f"
    key = new_key()
    write_batch_file(str(path), ["a"], [("1",)], fmt=fmt("off", "aes", kind), key=key)
    expect_error(path, fmt("off", "aes", kind), None, "no key")
    expect_error(path, fmt("off", "aes", kind), key[:31], "31 bytes")


@pytest.mark.parametrize(("kind", "compression"), [("csv", "zstd"), ("csv", "off"), ("parquet", "off")])
def test_truncated_ciphertext(tmp_path: Path, kind: str, compression: str) -> None:
    path = tmp_path / "f"
    key = new_key()
    write_batch_file(str(path), ["a"], [("1",)] * 50, fmt=fmt(compression, "aes", kind), key=key)
    path.write_bytes(path.read_bytes()[:-5])
    expect_error(path, fmt(compression, "aes", kind), key, "not a multiple of 16")


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "fewer than the 16-byte IV"), (b"0123456789", "fewer"), (bytes(16), "no ciphertext")],
)
def test_file_too_short_for_aes(tmp_path: Path, kind: str, content: bytes, problem: str) -> None:
    (tmp_path / "f").write_bytes(content)
    expect_error(tmp_path / "f", fmt("off", "aes", kind), new_key(), problem)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize(
    "last_block",
    [
        b"a,b\n" + b"x" * 11 + b"\x00",  # pad value 0
        b"a,b\n" + b"x" * 11 + b"\x11",  # pad value 17
        b"a,b\n" + b"x" * 9 + b"\x01\x03\x03",  # pad bytes differ
    ],
)
def test_bad_padding(tmp_path: Path, kind: str, last_block: bytes) -> None:
    key = new_key()
    (tmp_path / "f").write_bytes(encrypt_raw(b'"h"\n' + b"y" * 12 + last_block, key))
    expect_error(tmp_path / "f", fmt("off", "aes", kind), key, "PKCS#7 padding")


def test_wrong_key_is_reported_not_misread(tmp_path: Path) -> None:
    path = tmp_path / "f"
    write_batch_file(str(path), ["a"], [(SECRET,)] * 10, fmt=fmt("zstd", "aes"), key=new_key())
    # A wrong key almost always breaks the padding; if not, the zstd frame is garbage.
    expect_error(path, fmt("zstd", "aes"), new_key())


# --- compression ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["zstd", "gzip"])
@pytest.mark.parametrize("encryption", ["none", "aes"])
def test_not_compressed_data(tmp_path: Path, compression: str, encryption: str) -> None:
    path = tmp_path / "f"
    key = new_key()
    write_batch_file(str(path), ["a"], [(SECRET,)], fmt=fmt("off", encryption), key=key)
    expect_error(path, fmt(compression, encryption), key, f"not valid {compression} data")


@pytest.mark.parametrize("compression", ["zstd", "gzip"])
def test_truncated_compressed_stream(tmp_path: Path, compression: str) -> None:
    path = tmp_path / "f"
    rows = [(f"{SECRET}{i}",) for i in range(2000)]
    write_batch_file(str(path), ["a"], rows, fmt=fmt(compression), key=None)
    path.write_bytes(path.read_bytes()[:-20])
    expect_error(path, fmt(compression), None, "truncated")


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_parquet_compressed_as_a_whole_but_corrupt(tmp_path: Path, kind: str) -> None:
    (tmp_path / "f").write_bytes(b"\x28\xb5\x2f\xfd" + b"junk" * 10)
    expect_error(tmp_path / "f", fmt("zstd", kind=kind), None, "zstd")


# --- CSV structure -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("compression", "encryption"), [("off", "none"), ("zstd", "aes"), ("gzip", "none")])
def test_empty_file_has_no_header(tmp_path: Path, compression: str, encryption: str) -> None:
    path = tmp_path / "f"
    key = new_key()
    if compression == "off":
        path.write_bytes(b"")
    else:
        data = gzip.compress(b"") if compression == "gzip" else zstandard.ZstdCompressor().compress(b"")
        if encryption == "aes":
            padded = data + bytes([16 - len(data) % 16]) * (16 - len(data) % 16)
            data = encrypt_raw(padded, key)
        path.write_bytes(data)
    expect_error(path, fmt(compression, encryption), key, "empty", "header")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("\n1\n", "the header row has no columns"),
        ('a,"",c\n', "header column 2 has an empty name"),
        ("a,b,a\n", "column 'a' twice"),
    ],
)
def test_broken_header(tmp_path: Path, content: str, problem: str) -> None:
    (tmp_path / "f").write_text(content)
    expect_error(tmp_path / "f", fmt(), None, problem)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (f"1,{SECRET}\n2,x,y\n", "data row 2 has 3 cells but the header has 2 columns"),
        (f"1,{SECRET}\n2,x\n3\n", "data row 3 has 1 cells"),
        (f"1,{SECRET}\n\n2,x\n", "data row 2 has 0 cells"),
    ],
)
def test_row_width_differs_from_header(tmp_path: Path, body: str, problem: str) -> None:
    (tmp_path / "f").write_text("a,b\n" + body)
    expect_error(tmp_path / "f", fmt(), None, problem)


@pytest.mark.parametrize(
    "body", [f'1,"{SECRET}\n', f'1,"{SECRET}\n2,x\n', f'1,"{SECRET}"x\n', f'1,"a"\n2,"{SECRET}']
)
def test_malformed_quotes(tmp_path: Path, body: str) -> None:
    (tmp_path / "f").write_text("a,b\n" + body)
    expect_error(tmp_path / "f", fmt(), None, "malformed CSV")


@pytest.mark.parametrize("compression", ["off", "zstd"])
def test_invalid_utf8(tmp_path: Path, compression: str) -> None:
    data = b"a,b\n1,x\n2,\xff\xfe" + SECRET.encode() + b"\n"
    if compression == "zstd":
        data = zstandard.ZstdCompressor().compress(data)
    (tmp_path / "f").write_bytes(data)
    expect_error(tmp_path / "f", fmt(compression), None, "not valid UTF-8")


def test_rows_before_an_error_are_delivered(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("a\n1\n2\n3\n4,5\n")
    with open_batch(str(tmp_path / "f"), None, fmt()) as batch:
        chunks = batch.chunks(2)
        assert next(chunks) == [("1",), ("2",)]
        with pytest.raises(BatchFileError, match="data row 4 has 2 cells"):
            next(chunks)


def test_chunk_size_must_be_positive(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("a\n1\n")
    with open_batch(str(tmp_path / "f"), None, fmt()) as batch, pytest.raises(ValueError):
        next(batch.chunks(0))


# --- Parquet -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("compression", "encryption"), [("off", "none"), ("off", "aes"), ("gzip", "aes")])
def test_not_a_parquet_file(tmp_path: Path, compression: str, encryption: str) -> None:
    path = tmp_path / "f"
    key = new_key()
    write_batch_file(str(path), ["a"], [(SECRET,)], fmt=fmt(compression, encryption, "csv"), key=key)
    expect_error(path, fmt(compression, encryption, "parquet"), key, "not a readable Parquet file")


def test_parquet_with_nested_column(tmp_path: Path) -> None:
    table = pa.table({"id": pa.array([1]), "tags": pa.array([[SECRET]])})
    pq.write_table(table, tmp_path / "f")
    expect_error(tmp_path / "f", fmt(kind="parquet"), None, "column 'tags' has Parquet type list")


def test_parquet_with_duplicate_columns(tmp_path: Path) -> None:
    table = pa.Table.from_arrays([pa.array(["1"]), pa.array(["2"])], names=["a", "a"])
    pq.write_table(table, tmp_path / "f")
    expect_error(tmp_path / "f", fmt(kind="parquet"), None, "column 'a' twice")


def test_file_format_from_proto_numbers() -> None:
    class Params:
        compression = 1
        encryption = 1
        null_string = NULL
        unmodified_string = UNMOD

    assert FileFormat.from_proto(Params()) == fmt("zstd", "aes")
    assert FileFormat.from_proto(Params(), 1).kind == "parquet"
    Params.compression = 7
    with pytest.raises(ValueError, match="compression"):
        FileFormat.from_proto(Params())
    with pytest.raises(ValueError):
        FileFormat("lz4", "none", "", "")  # type: ignore[arg-type]


@pytest.mark.parametrize("compression", ["off", "zstd", "gzip"])
@pytest.mark.parametrize("encryption", ["none", "aes"])
def test_file_format_to_proto_is_the_inverse_of_from_proto(compression: str, encryption: str) -> None:
    original = fmt(compression, encryption)
    params = original.to_proto()
    assert params.null_string == NULL and params.unmodified_string == UNMOD
    assert FileFormat.from_proto(params) == original  # gzip stays gzip (the scenario runner once sent ZSTD)
