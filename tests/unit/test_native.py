"""The native hot loops (`cratedb_destination.native`, the optional C extension `_native`) against the
Python way they replace: orjson for request bodies, Python's json module for JSON text, the regex quote
check of `batch/quoting.py`. Generated input covers what each must get exactly right: escapes, UTF-8,
NULLs, slices and chunked columns; nesting, numbers and near misses of JSON; quotes in every position."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pyarrow as pa
import pytest
from cratedb_destination import fast_columns, native
from cratedb_destination.batch import quoting
from cratedb_destination.batch.quoting import NeedsExactReader
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.skipif(not native.ENABLED, reason="the native extension is not built here")

_INT64 = st.integers(-(2**63), 2**63 - 1)
_TEXT = st.text(
    st.one_of(
        st.characters(codec="utf-8"),  # any code point but surrogates (Arrow text is UTF-8)
        st.sampled_from(['"', "\\", "\n", "\r", "\t", "\b", "\f", "\x00", "\x1f", "\x7f", "\u2028", "/"]),
    ),
    max_size=24,
)


def _column(values: list[Any], arrow_type: pa.DataType, split: int) -> pa.ChunkedArray:
    return pa.chunked_array([pa.array(values[:split], arrow_type), pa.array(values[split:], arrow_type)])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), _TEXT), st.one_of(st.none(), _INT64), st.one_of(st.none(), st.booleans())
        ),
        max_size=40,
    ),
    split=st.integers(0, 40),
    start=st.integers(0, 40),
)
def test_rows_are_written_byte_for_byte_as_orjson_writes_them(
    rows: list[tuple[Any, ...]], split: int, start: int
) -> None:
    texts, numbers, flags = ([row[index] for row in rows] for index in range(3))
    columns = [
        _column(texts, pa.string(), split),
        _column(numbers, pa.int64(), split),
        _column(flags, pa.bool_(), split),
    ]
    start = min(start, len(rows))
    columns = [column.slice(start) for column in columns]  # offsets into the buffers, as chunks have
    encoded = native.encode_rows(columns)
    assert encoded is not None
    expected = [list(row) for row in rows[start:]]
    assert encoded.json == orjson.dumps(expected)
    assert len(encoded) == len(expected)
    assert list(encoded) == expected  # decoded on demand: the values the Python path would have made


def test_every_code_point_is_escaped_as_orjson_escapes_it() -> None:
    code_points = [chr(point) for point in range(0x110000) if not 0xD800 <= point <= 0xDFFF]
    cells = ["".join(code_points[index : index + 512]) for index in range(0, len(code_points), 512)]
    encoded = native.encode_rows([pa.array(cells, pa.string())])
    assert encoded is not None
    assert encoded.json == orjson.dumps([[cell] for cell in cells])


def test_text_that_is_not_utf8_is_left_to_the_python_path() -> None:
    bad = pa.Array.from_buffers(
        pa.string(), 1, [None, pa.py_buffer(b"\0\0\0\0\2\0\0\0"), pa.py_buffer(b"\xc3(")]
    )
    assert native.encode_rows([bad]) is None


def test_other_arrow_types_and_uneven_columns_are_not_encoded() -> None:
    assert native.encode_rows([pa.array([1.5])]) is None
    assert native.encode_rows([pa.array(["a", "b"]), pa.array([1])]) is None


def test_buffers_shorter_than_their_column_are_refused() -> None:
    offsets = pa.py_buffer(b"\0\0\0\0\4\0\0\0")
    with pytest.raises(ValueError, match="shorter"):
        native._native.rows([(0, 0, None, offsets, pa.py_buffer(b"ab"))], 1)  # the text runs past the data
    with pytest.raises(ValueError, match="shorter"):
        native._native.rows([(1, 0, None, None, pa.py_buffer(b"\0" * 8))], 2)  # one int64 for two rows


def test_encoded_rows_are_written_into_the_request_body_as_they_are() -> None:
    encoded = native.encode_rows([pa.array(["x", None]), pa.array([1, 2], pa.int64())])
    assert encoded is not None
    assert encoded.json == b'[["x",1],[null,2]]'
    assert encoded[1] == [None, 2]
    assert encoded[:1] == [["x", 1]]


# -- json_texts: RFC 8259 text, which Python's json module accepts ------------------------------------------

_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), _TEXT
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=12,
)
_SPACING = st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", "\t:\r")])


@settings(max_examples=300, deadline=None)
@given(value=_VALUES, spacing=_SPACING, indent=st.sampled_from([None, 2]), ensure_ascii=st.booleans())
def test_json_written_by_pythons_json_module_is_vouched_for(
    value: Any, spacing: tuple[str, str], indent: int | None, ensure_ascii: bool
) -> None:
    text = json.dumps(value, separators=spacing, indent=indent, ensure_ascii=ensure_ascii)
    assert native.json_texts(pa.array([f" {text}\n", None]))


_PIECES = st.sampled_from(
    ["{", "}", "[", "]", ",", ":", '"', '\\"', "\\", "\\u12", "\\u00e9", "\\x", "1", "-", "0", "01", ".", "e",
     "E+", "true", "tru", "null", "NaN", "Infinity", " ", "\n", "\x01", "a", "é", "/", "\ufeff"]
)  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=10))
def test_what_is_vouched_for_pythons_json_module_accepts(pieces: list[str]) -> None:
    text = "".join(pieces)
    if native.json_texts(pa.array([text])):
        json.loads(text)


@pytest.mark.parametrize(
    ("text", "vouched"),
    [
        ('{"a": [1, -0.5e+3, true, false, null, "\\u00e9\\n"]}', True),
        ('"\\ud800"', True),  # a lone surrogate escape: Python's json accepts it
        ("[" * 64 + "]" * 64, True),
        ("[" * 65 + "]" * 65, False),  # deeper than the native check goes: Python decides
        ("NaN", False),  # Python's json accepts it, RFC 8259 does not: Python decides
        ("", False),
        ("01", False),
        ("1.", False),
        ('{"a":1,}', False),
        ('"\x01"', False),
        ("1 2", False),
    ],
)
def test_json_edge_cases(text: str, vouched: bool) -> None:
    assert native.json_texts(pa.array([text])) is vouched


def test_json_is_checked_in_sliced_and_chunked_columns() -> None:
    column = pa.chunked_array([pa.array(["{", "1"]), pa.array(["[]", None, "x"])])
    assert native.json_texts(column.slice(1, 3))
    assert not native.json_texts(column.slice(1))
    assert not native.json_texts(column.slice(0, 2))


# -- decimal_texts: the decimal fast path's pattern ----------------------------------------------------------

_DECIMAL_TEXT = st.lists(
    st.sampled_from(["-", "0", "1", "9", "12345", ".", "5", "00", "+", " ", "e"]), max_size=7
).map("".join)


@settings(max_examples=1500, deadline=None)
@given(
    cells=st.lists(st.one_of(st.none(), _DECIMAL_TEXT), min_size=1, max_size=4),
    precision=st.integers(1, 12),
    scale=st.integers(0, 12),
)
def test_the_native_decimal_check_is_the_pattern(cells: list[str | None], precision: int, scale: int) -> None:
    scale = min(scale, precision)
    column = pa.chunked_array([pa.array(cells, pa.string())])
    convert = fast_columns.decimals(precision, scale)
    native_result = convert(column)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(native, "ENABLED", False)  # the same path by regex
        pattern_result = convert(column)
    assert (native_result is None) == (pattern_result is None), (cells, precision, scale)


# -- csv_quotes: the quote check of batch/quoting.py ---------------------------------------------------------

_CSV = st.lists(st.sampled_from([b'"', b'""', b",", b"\n", b"\r", b"\r\n", b"a", b"b c"]), max_size=16).map(
    b"".join
)


def _outcome(check: Any, data: bytes, start: int) -> int | str:
    try:
        result: int = check(data, start)
    except NeedsExactReader as refusal:
        return str(refusal)
    return result


@settings(max_examples=2000, deadline=None)
@given(data=_CSV, more=_CSV)
def test_the_native_quote_check_agrees_with_the_patterns(data: bytes, more: bytes) -> None:
    first = _outcome(quoting._check, data, 0)
    assert first == _outcome(quoting._check_with_patterns, data, 0)
    if isinstance(first, int) and first < len(data):  # resumed at a field left open, as record_blocks does
        longer = data + more
        assert _outcome(quoting._check, longer, first) == _outcome(
            quoting._check_with_patterns, longer, first
        )


def test_switched_off_every_helper_answers_not_done(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "ENABLED", False)
    assert native.encode_rows([pa.array(["a"])]) is None
    assert not native.json_texts(pa.array(["1"]))
    assert native.csv_quotes(b'"a"', 0) is None
    assert native.decimal_texts(pa.array(["1"]), 1, 0) is None
