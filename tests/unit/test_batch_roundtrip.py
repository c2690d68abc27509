"""Writer -> reader round trips for every format, compression and encryption, plus property tests."""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pytest
import zstandard
from cratedb_destination.batch import UNMODIFIED, Cell, FileFormat, open_batch
from cratedb_destination.batch.decryption import decrypt_chunks
from fivetran_e2e.batch_writer import new_key, random_token, write_batch_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NULL = random_token("null")
UNMOD = random_token("unmod")
COMBINATIONS = list(itertools.product(["csv", "parquet"], ["off", "zstd", "gzip"], ["none", "aes"]))


def fmt_for(kind: str, compression: str, encryption: str) -> FileFormat:
    return FileFormat(compression, encryption, NULL, UNMOD, kind)  # type: ignore[arg-type]


def rows_both_ways(path: Path, key: bytes | None, fmt: FileFormat, max_rows: int) -> list[tuple[Cell, ...]]:
    """The rows through `chunks`, checked to equal those through `column_chunks` (what writers use)."""
    with open_batch(str(path), key, fmt) as batch:
        chunks = list(batch.chunks(max_rows))
    with open_batch(str(path), key, fmt) as batch:
        columnar = list(batch.column_chunks(max_rows))
    assert [len(chunk) for chunk in columnar] == [len(chunk) for chunk in chunks]
    assert all(0 < len(chunk) <= max_rows for chunk in chunks)
    rows = [row for chunk in chunks for row in chunk]
    assert [row for chunk in columnar for row in chunk.rows()] == rows
    return rows


def write_and_read(
    path: Path, columns: Sequence[str], rows: Sequence[Sequence[Cell]], fmt: FileFormat, max_rows: int = 3
) -> tuple[list[str], list[tuple[Cell, ...]]]:
    key = new_key() if fmt.encryption == "aes" else None
    write_batch_file(str(path), columns, rows, fmt=fmt, key=key)
    read = rows_both_ways(path, key, fmt, max_rows)
    with open_batch(str(path), key, fmt) as batch:
        return batch.columns, read


SAMPLE_COLUMNS = ["id", "text, with comma", 'quote "q"', "_fivetran_synced"]
SAMPLE_ROWS: list[tuple[Cell, ...]] = [
    ("1", "plain", "", "2024-01-24T23:11:39.755812480Z"),
    ("2", None, UNMODIFIED, "2024-01-24T23:11:39Z"),
    ("3", 'say "hi",\r\nthen\nbye\r', "ünïcødé ✓ 𝄞", "2024-01-24T23:11:39.1Z"),
    ("4", f"x{NULL}", f"{UNMOD} ", "2024-01-24T23:11:39.12Z"),
    ("5", "", "", ""),
    ("6", NULL.upper(), "null", "NULL"),
    ("7", "a\\b\\", "'single'", "\t tab \t"),
]


@pytest.mark.parametrize(("kind", "compression", "encryption"), COMBINATIONS)
def test_every_encoding_round_trips(tmp_path: Path, kind: str, compression: str, encryption: str) -> None:
    columns, rows = write_and_read(
        tmp_path / "f", SAMPLE_COLUMNS, SAMPLE_ROWS, fmt_for(kind, compression, encryption)
    )
    assert columns == SAMPLE_COLUMNS
    assert rows == SAMPLE_ROWS
    assert rows[1][1] is None and rows[1][2] is UNMODIFIED


@pytest.mark.parametrize(("kind", "compression", "encryption"), COMBINATIONS)
def test_header_only_file_has_no_rows(tmp_path: Path, kind: str, compression: str, encryption: str) -> None:
    columns, rows = write_and_read(tmp_path / "f", ["a", "b"], [], fmt_for(kind, compression, encryption))
    assert columns == ["a", "b"]
    assert rows == []


@pytest.mark.parametrize(("kind", "compression"), [("csv", "zstd"), ("csv", "gzip"), ("parquet", "zstd")])
def test_many_rows_in_exact_chunks(tmp_path: Path, kind: str, compression: str) -> None:
    rows = [(str(i), f"value {i}", None if i % 3 == 0 else "x") for i in range(25_000)]
    key = new_key()
    fmt = fmt_for(kind, compression, "aes")
    write_batch_file(str(tmp_path / "f"), ["id", "v", "n"], rows, fmt=fmt, key=key)
    with open_batch(str(tmp_path / "f"), key, fmt) as batch:
        sizes = [len(chunk) for chunk in batch.chunks(10_000)]
        assert batch.rows_read == 25_000
    assert sum(sizes) == 25_000 and max(sizes) <= 10_000
    if kind == "csv":
        assert sizes == [10_000, 10_000, 5_000]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_field_larger_than_csv_default_limit(tmp_path: Path, kind: str) -> None:
    big = '{"k": "' + 'é,"\n' * 60_000 + '"}'
    assert len(big) > 131_072
    rows: list[tuple[Cell, ...]] = [("1", big), ("2", "small")]
    _, got = write_and_read(tmp_path / "f", ["id", "json"], rows, fmt_for(kind, "zstd", "aes"))
    assert got == rows


def test_zstd_frames_have_no_content_size(tmp_path: Path) -> None:
    key = new_key()
    fmt = fmt_for("csv", "zstd", "aes")
    write_batch_file(str(tmp_path / "f"), ["a"], [("x" * 1000,)] * 100, fmt=fmt, key=key)
    with open(tmp_path / "f", "rb") as raw:
        compressed = b"".join(decrypt_chunks(str(tmp_path / "f"), raw, key))
    assert zstandard.get_frame_parameters(compressed).content_size == zstandard.CONTENTSIZE_UNKNOWN
    with pytest.raises(zstandard.ZstdError):  # why the reader must stream rather than decompress() at once
        zstandard.ZstdDecompressor().decompress(compressed)


def test_concatenated_zstd_frames_and_gzip_members_are_read_whole(tmp_path: Path) -> None:
    text = [b'"a","b"\n1,x\n', b"2,y\n", b"3,z\n"]
    compressor = zstandard.ZstdCompressor(write_content_size=False)
    (tmp_path / "z").write_bytes(b"".join(compressor.compress(part) for part in text))
    import gzip

    (tmp_path / "g").write_bytes(b"".join(gzip.compress(part) for part in text))
    for name, compression in (("z", "zstd"), ("g", "gzip")):
        with open_batch(str(tmp_path / name), None, fmt_for("csv", compression, "none")) as batch:
            assert [row for chunk in batch.chunks(10) for row in chunk] == [
                ("1", "x"),
                ("2", "y"),
                ("3", "z"),
            ]


def test_csv_written_like_fivetran(tmp_path: Path) -> None:
    fmt = fmt_for("csv", "off", "none")
    rows: list[tuple[Cell, ...]] = [("1", "", None, UNMODIFIED, 'a"b', "c,d")]
    write_batch_file(str(tmp_path / "f"), ["id", "e", "n", "u", "q", "c"], rows, fmt=fmt, key=None)
    assert (tmp_path / "f").read_text(encoding="utf-8") == (
        f'"id","e","n","u","q","c"\n1,"",{NULL},{UNMOD},"a""b","c,d"\n'
    )


def test_aes_files_start_with_a_fresh_iv(tmp_path: Path) -> None:
    key = new_key()
    fmt = fmt_for("csv", "off", "aes")
    for name in ("a", "b"):
        write_batch_file(str(tmp_path / name), ["x"], [("same",)], fmt=fmt, key=key)
    first, second = (tmp_path / "a").read_bytes(), (tmp_path / "b").read_bytes()
    assert first[:16] != second[:16]
    assert len(first) % 16 == 0 and len(first) >= 32


def test_tokens_and_keys_look_like_fivetrans() -> None:
    assert len(new_key()) == 32 and new_key() != new_key()
    token = random_token("null")
    assert token.startswith("null-") and len(token) == 36 and token[5:].isalnum()
    assert random_token("unmod") != random_token("unmod")


def test_reader_accepts_crlf_and_unquoted_header(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(f'id,name\r\n1,"a\r\nb"\r\n2,{NULL}\r\n'.encode())
    with open_batch(str(tmp_path / "f"), None, fmt_for("csv", "off", "none")) as batch:
        assert batch.columns == ["id", "name"]
        assert next(batch.chunks(5)) == [("1", "a\r\nb"), ("2", None)]


def test_parquet_typed_columns_read_as_csv_text(tmp_path: Path) -> None:
    columns = ["b", "i", "l", "f", "d", "dec", "bin", "date", "ts", "naive", "t", "s"]
    types = {
        "b": pa.bool_(),
        "i": pa.int32(),
        "l": pa.int64(),
        "f": pa.float32(),
        "d": pa.float64(),
        "dec": pa.decimal128(38, 10),
        "bin": pa.binary(),
        "date": pa.date32(),
        "ts": pa.timestamp("ns", tz="UTC"),
        "naive": pa.timestamp("us"),
        "t": pa.time64("us"),
    }
    rows: list[tuple[Cell, ...]] = [
        (
            "true",
            "-2147483648",
            "9223372036854775807",
            "3.4028235e+38",
            "-2.2250738585072014e-308",
            "12345.0000000001",
            "AAEC/w==",
            "2007-12-03",
            "2024-01-24T23:11:39.755812480Z",
            "2007-12-03T10:15:30",
            "10:15:30.250000",
            "text",
        ),
        (
            "false",
            "0",
            "-1",
            "Infinity",
            "NaN",
            "-0.0000000001",
            "",
            "1970-01-01",
            "2024-01-24T23:11:39.100Z",
            "2007-12-03T10:15:30.000001",
            "00:00:00",
            "",
        ),
        (None, None, None, None, None, None, None, None, None, None, None, None),
    ]
    key = new_key()
    fmt = fmt_for("parquet", "off", "aes")
    write_batch_file(str(tmp_path / "f"), columns, rows, fmt=fmt, key=key, parquet_types=types)
    got = rows_both_ways(tmp_path / "f", key, fmt, 10)
    expected = list(rows)
    expected[0] = (*rows[0][:10], "10:15:30.250", "text")  # Java-style fraction: 3, 6 or 9 digits
    expected[1] = (*rows[1][:8], "2024-01-24T23:11:39.100Z", *rows[1][9:])
    assert got == expected


# --- property tests ------------------------------------------------------------------------------------

_special = st.sampled_from([",", '"', "\r", "\n", "\r\n", '""', " ", "\t", "\\", "\x00", "é", "𝄞", "\ufeff"])
_text = st.lists(st.one_of(st.text(max_size=8), _special), max_size=6).map("".join)
_containing_token = (
    st.tuples(_text, st.sampled_from([NULL, UNMOD]), _text)
    .map("".join)
    .filter(lambda s: s not in (NULL, UNMOD))
)
_cell: st.SearchStrategy[Cell] = st.one_of(
    _text.filter(lambda s: s not in (NULL, UNMOD)),
    st.none(),
    st.just(UNMODIFIED),
    _containing_token,
)


@st.composite
def _tables(draw: st.DrawFn) -> tuple[list[str], list[tuple[Cell, ...]]]:
    width = draw(st.integers(min_value=1, max_value=5))
    names = draw(st.lists(_text.filter(bool), min_size=width, max_size=width, unique=True))
    rows = draw(st.lists(st.tuples(*[_cell] * width), max_size=12))
    return names, rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=_tables(), encoding=st.sampled_from(COMBINATIONS), max_rows=st.integers(1, 5))
def test_any_cells_round_trip_exactly(
    tmp_path: Path,
    table: tuple[list[str], list[tuple[Cell, ...]]],
    encoding: tuple[str, str, str],
    max_rows: int,
) -> None:
    columns, rows = table
    columns_read, rows_read = write_and_read(tmp_path / "p", columns, rows, fmt_for(*encoding), max_rows)
    assert columns_read == columns
    assert rows_read == rows


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=3000), split=st.integers(1, 40))
def test_chunk_stream_preserves_bytes(data: bytes, split: int) -> None:
    from cratedb_destination.batch.streams import ChunkStream

    pieces = iter([data[i : i + split] for i in range(0, len(data), split)])
    assert io.BufferedReader(ChunkStream(pieces), 7).read() == data


def test_tmp_path_is_clean(tmp_path: Path) -> None:  # the property test reuses one file name
    assert os.listdir(tmp_path) == []


def test_parquet_string_columns_real_nulls_tokens_and_dictionaries(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    plain = pa.array(["a", None, NULL, UNMOD, f"{NULL}!"], pa.string())
    table = pa.table(
        {"plain": plain, "dict": plain.dictionary_encode(), "large": plain.cast(pa.large_string())}
    )
    pq.write_table(table, tmp_path / "f")
    rows = rows_both_ways(tmp_path / "f", None, fmt_for("parquet", "off", "none"), 2)
    expected = [("a",) * 3, (None,) * 3, (None,) * 3, (UNMODIFIED,) * 3, (f"{NULL}!",) * 3]
    assert rows == expected


def test_second_chunks_call_continues(tmp_path: Path) -> None:
    for kind in ("csv", "parquet"):
        fmt = fmt_for(kind, "off", "none")
        write_batch_file(str(tmp_path / kind), ["a"], [(str(i),) for i in range(7)], fmt=fmt, key=None)
        with open_batch(str(tmp_path / kind), None, fmt) as batch:
            first = next(batch.chunks(3))
            rest = [row for chunk in batch.chunks(2) for row in chunk]
        assert [row[0] for row in first + rest] == [str(i) for i in range(7)]


def test_parquet_temporal_units_and_zones(tmp_path: Path) -> None:
    import datetime as dt

    import pyarrow.parquet as pq

    moment = dt.datetime(2024, 1, 24, 23, 11, 39, 500000, tzinfo=dt.timezone.utc)
    table = pa.table(
        {
            "t32": pa.array([dt.time(10, 15, 30, 120000), dt.time(0, 0)], pa.time32("ms")),
            "zoned": pa.array([moment, None], pa.timestamp("ms", tz="Europe/Vienna")),
            "seconds": pa.array([moment.replace(tzinfo=None, microsecond=0), None], pa.timestamp("s")),
            "d64": pa.array([dt.date(1969, 12, 31), None], pa.date64()),
            "fixed": pa.array([b"\x00\x01", None], pa.binary(2)),
            "nothing": pa.array([None, None], pa.null()),
        }
    )
    pq.write_table(table, tmp_path / "f")
    rows = rows_both_ways(tmp_path / "f", None, fmt_for("parquet", "off", "none"), 10)
    assert rows == [
        ("10:15:30.120", "2024-01-24T23:11:39.500Z", "2024-01-24T23:11:39", "1969-12-31", "AAE=", None),
        ("00:00:00", None, None, None, None, None),
    ]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_writer_rejects_bad_input_and_leaves_no_file(tmp_path: Path, kind: str) -> None:
    fmt = fmt_for(kind, "zstd", "aes")
    with pytest.raises((TypeError, pa.ArrowException)):
        write_batch_file(str(tmp_path / "f"), ["a"], [("1",), (2,)], fmt=fmt, key=new_key())  # type: ignore[list-item]
    with pytest.raises(ValueError, match="2 cells for 1 columns"):
        write_batch_file(
            str(tmp_path / "f"), ["a"], [("1", "2")], fmt=fmt_for("csv", "off", "none"), key=None
        )
    with pytest.raises(ValueError, match="32-byte key"):
        write_batch_file(str(tmp_path / "f"), ["a"], [("1",)], fmt=fmt, key=b"short")
    with pytest.raises(ValueError, match="needs a key"):
        write_batch_file(str(tmp_path / "f"), ["a"], [("1",)], fmt=fmt, key=None)
    assert list(tmp_path.iterdir()) == []
