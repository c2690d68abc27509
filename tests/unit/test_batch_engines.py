"""The pyarrow CSV reader against the Python csv reader (the reference): same cells, same errors.

Raw CSV bytes, not only what the batch writer produces: quoting Fivetran never writes (text after a
closing quote, quotes inside unquoted fields, open quotes), blank lines, CR and CRLF line ends, BOMs,
rows of the wrong width and invalid UTF-8 must all come out exactly as the reference reader has them.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import zstandard
from cratedb_destination.batch import BatchFileError, Cell, FileFormat, open_batch, quoting
from cratedb_destination.batch.quoting import NeedsExactReader, record_blocks
from fivetran_e2e.batch_writer import new_key, random_token, write_batch_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NULL = random_token("null")
UNMOD = random_token("unmod")


def read(
    path: Path, fmt: FileFormat, key: bytes | None, engine: str, max_rows: int, columnar: bool
) -> object:
    """(columns, rows) or ("error", message); rows as tuples of cells."""
    try:
        with open_batch(str(path), key, fmt, csv_engine=engine) as batch:  # type: ignore[arg-type]
            if columnar:
                rows: list[tuple[Cell, ...]] = [
                    row for chunk in batch.column_chunks(max_rows) for row in chunk.rows()
                ]
            else:
                rows = [row for chunk in batch.chunks(max_rows) for row in chunk]
            return batch.columns, rows
    except BatchFileError as error:
        return "error", str(error)


def same_as_reference(path: Path, fmt: FileFormat, key: bytes | None, max_rows: int) -> None:
    reference = read(path, fmt, key, "python", max_rows, columnar=False)
    assert read(path, fmt, key, "arrow", max_rows, columnar=False) == reference
    assert read(path, fmt, key, "arrow", max_rows, columnar=True) == reference


_atoms = st.sampled_from(
    [",", '"', '""', "\r", "\n", "\r\n", "\n\n", " ", "\t", "\x00", "é", "𝄞", "\ufeff", NULL, UNMOD, "a", "1"]
)
_raw_text = st.lists(st.one_of(_atoms, st.text(max_size=4)), max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_raw_text, header=st.sampled_from(['"a","b"\n', "a,b\n", "a\n", '"x\ny",b\r\n', "\ufeffa,b\n"]))
def test_any_text_reads_like_the_reference(tmp_path: Path, text: str, header: str) -> None:
    (tmp_path / "f").write_bytes((header + text).encode())
    same_as_reference(tmp_path / "f", FileFormat("off", "none", NULL, UNMOD), None, 3)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=60), prefix=st.sampled_from([b"a,b\n", b"a,b\n1,x\n"]))
def test_any_bytes_read_like_the_reference(tmp_path: Path, data: bytes, prefix: bytes) -> None:
    (tmp_path / "f").write_bytes(prefix + data)
    same_as_reference(tmp_path / "f", FileFormat("off", "none", NULL, UNMOD), None, 2)


_cell = st.one_of(
    st.text(max_size=6),
    st.none(),
    st.sampled_from([NULL, UNMOD, f"x{NULL}", f"{UNMOD} ", "", '"', ",", "\r\n", "\r", "\ufeffa"]),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    width=st.integers(1, 4),
    data=st.data(),
    max_rows=st.integers(1, 7),
    encoding=st.sampled_from(list(itertools.product(["off", "zstd", "gzip"], ["none", "aes"]))),
)
def test_written_files_read_like_the_reference(
    tmp_path: Path, width: int, data: st.DataObject, max_rows: int, encoding: tuple[str, str]
) -> None:
    rows = data.draw(st.lists(st.tuples(*[_cell] * width), max_size=15))
    fmt = FileFormat(encoding[0], encoding[1], NULL, UNMOD)  # type: ignore[arg-type]
    key = new_key()
    write_batch_file(str(tmp_path / "f"), [f"c{i}" for i in range(width)], rows, fmt=fmt, key=key)
    same_as_reference(tmp_path / "f", fmt, key, max_rows)


def test_blocks_end_at_record_boundaries_and_hand_over_mid_file(tmp_path: Path) -> None:
    """Many blocks: quoted newlines and CRLF at block edges; a bad row far into the file is reported
    with the reference reader's row number after the rows before it were delivered."""
    rows = [(str(i), f'line\r\n"{i}",\n' * (i % 5), "" if i % 7 else NULL) for i in range(60_000)]
    fmt = FileFormat("zstd", "none", NULL, UNMOD)
    path = tmp_path / "f"
    write_batch_file(str(path), ["id", "text", "n"], rows, fmt=fmt, key=None)
    same_as_reference(path, fmt, None, 10_000)
    with open_batch(str(path), None, fmt) as batch:
        delivered = sum(len(chunk) for chunk in batch.chunks(10_000))
        assert delivered == 60_000 and getattr(batch, "_exact", None) is None  # the fast path all along
    plain = zstandard.ZstdDecompressor().decompressobj().decompress(path.read_bytes())
    broken = plain + b'1,"x"y,z\n'
    path.write_bytes(zstandard.ZstdCompressor().compress(broken))
    with open_batch(str(path), None, fmt) as batch:
        chunks = batch.chunks(10_000)
        assert sum(len(next(chunks)) for _ in range(6)) == 60_000
        with pytest.raises(BatchFileError, match="malformed CSV at line"):
            next(chunks)


@pytest.mark.parametrize("target", [1, 7, 64])
def test_record_blocks_cut_only_outside_quotes(target: int) -> None:
    text = b'a,b\n1,"x\ny"\r\n2,"""q""\n"\r3,z\n4,"\r"'
    pieces = [text[i : i + 5] for i in range(0, len(text), 5)]
    blocks = [bytes(block.data) for block in record_blocks(iter(pieces), target)]
    assert b"".join(blocks) == text
    for block in blocks[:-1]:
        assert block.count(b'"') % 2 == 0 and block[-1:] in (b"\n", b"\r")


_record_atoms = st.sampled_from(['"a\nb"', '"a\r\nb"', '"\r"', '"x""y"', '""', "z", ",", "\n", "\r\n", '"q"'])


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(st.lists(_record_atoms, min_size=1, max_size=6).map("".join), max_size=30),
    target=st.integers(1, 40),
    step=st.integers(1, 9),
)
def test_blocks_give_back_the_stream_cut_at_record_ends(records: list[str], target: int, step: int) -> None:
    """Whatever the pieces and the target, the blocks are the stream, each but the last cut after a line
    end outside quotes (so pyarrow never sees half a record)."""
    text = "\n".join(records).encode()
    pieces = [text[i : i + step] for i in range(0, len(text), step)]
    try:
        blocks = [bytes(block.data) for block in record_blocks(iter(pieces), target)]
    except NeedsExactReader:
        return
    assert b"".join(blocks) == text
    for block in blocks[:-1]:
        assert block.count(b'"') % 2 == 0 and block[-1:] in (b"\n", b"\r")


def test_one_quoted_line_break_far_into_the_file(tmp_path: Path) -> None:
    """The one quoted line break is read in its block; the one unmodified cell is found though most blocks
    skip the search for it; cells as the reference reads them."""
    rows = [
        (
            str(i),
            "multi\nline" if i == 30_000 else f"text {i}",
            NULL if i % 9 == 0 else UNMOD if i == 45_000 else "x",
        )
        for i in range(60_000)
    ]
    fmt = FileFormat("zstd", "none", NULL, UNMOD)
    path = tmp_path / "f"
    write_batch_file(str(path), ["id", "text", "n"], rows, fmt=fmt, key=None)
    same_as_reference(path, fmt, None, 10_000)


def test_a_record_longer_than_pyarrows_read_block_keeps_its_line_breaks(tmp_path: Path) -> None:
    """A quoted cell of 10 MB with line breaks every few bytes: its block is longer than what pyarrow reads
    at once (`arrow_csv._READ_OPTIONS.block_size`), so pyarrow's chunker must find the record's end by
    reading the quotes; cells as the reference reads them, on the fast path."""
    from cratedb_destination.batch import arrow_csv

    cell = "line\n" * (10_000_000 // 5)
    assert len(cell) > arrow_csv._READ_OPTIONS.block_size
    rows = [("1", "short"), ("2", cell), ("3", 'a "quoted"\r\nend')]
    fmt = FileFormat("zstd", "none", NULL, UNMOD)
    write_batch_file(str(tmp_path / "f"), ["id", "text"], rows, fmt=fmt, key=None)
    same_as_reference(tmp_path / "f", fmt, None, 10_000)
    with open_batch(str(tmp_path / "f"), None, fmt) as batch:
        assert [row[1] for chunk in batch.chunks(10_000) for row in chunk] == [text for _, text in rows]
        assert getattr(batch, "_exact", None) is None  # pyarrow read it all


def _scan(data: bytes) -> int | str:
    """A byte-by-byte statement of the quoting rule `quoting._check` applies: the offset where a quoted
    field still open at the end (or closing exactly there) starts, or len(data). Or the kind of refusal."""
    position, size = 0, len(data)
    while position < size:
        if data[position] != ord('"'):
            position += 1
            continue
        if position > 0 and data[position - 1] not in b",\r\n":
            return "a quote inside an unquoted field"
        field, position = position, position + 1
        while True:
            if position >= size - 1 and (position == size or data[position] == ord('"')):
                return field  # open, or closing at the very end
            if data[position] == ord('"'):
                if data[position + 1] == ord('"'):
                    position += 2
                    continue
                if data[position + 1] not in b",\r\n":
                    return "text after a closing quote"
                position += 1
                break
            position += 1
    return size


_quoting_atoms = st.sampled_from(['"', '""', ",", "\r", "\n", "a", '"a"', '"\n"', "x,", '"",'])


@settings(max_examples=500, deadline=None)
@given(atoms=st.lists(_quoting_atoms, max_size=16))
def test_the_quote_check_follows_the_rule(atoms: list[str]) -> None:
    data = "".join(atoms).encode()
    expected = _scan(data)
    try:
        resume = quoting._check(data, 0)
    except NeedsExactReader as refusal:
        assert str(refusal) == expected
        return
    assert resume == expected
