"""Whole-column fast paths of the batch-file text -> statement parameter conversion.

Each function takes one column of a chunk as an Arrow string array (NULL cells are Arrow nulls) and
returns the parameter values of all its cells (None for NULL), computed in Arrow, or None when some
cell is not in the plain form the fast path knows. The caller then converts that column cell by cell
with the type's reference converter (`type_mapping.value_converter`), which also words every error.
Each cell's value depends on that cell's text alone, so `by_distinct` may run a path over a column's
distinct texts instead of all its cells.

The rule that keeps this exact: a fast path accepts only text whose reference conversion it reproduces
to the character, so accepting less is always safe. `tests/unit/test_fast_columns.py` checks that
against the reference converters with generated text. Which DataType uses which path is said in the
type registry (`TypeRow.column` in `type_mapping.py`); nothing here knows DataTypes.

A path's result is a `Values`: the parameters as Python values (`python()`, what a statement's rows are
made of) and as one Arrow column of text, int64 or bool (`arrow()`, what `native` writes a request body
from without a Python object per cell). Both hold the same values (tests/unit/test_fast_columns.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from . import native


class Values:
    """One column's statement parameters (None for NULL): as Python values and as an Arrow column."""

    def python(self) -> Sequence[Any]:
        raise NotImplementedError

    def arrow(self) -> pa.Array | pa.ChunkedArray:
        raise NotImplementedError


class Direct(Values):
    """Values computed in Arrow: a string, int64 or bool column (Python values: its `to_pylist`, or the
    list a path already made)."""

    def __init__(self, array: pa.Array | pa.ChunkedArray, listed: list[Any] | None = None) -> None:
        self.array = array
        self._listed = listed

    def python(self) -> Sequence[Any]:
        return self._listed if self._listed is not None else self.array.to_pylist()

    def arrow(self) -> pa.Array | pa.ChunkedArray:
        return self.array


class Spread(Values):
    """The values of a column's distinct texts (`distinct`, of Arrow type `type`) at each cell's position
    (`indices` into them; a NULL index is a NULL cell)."""

    def __init__(self, distinct: list[Any], type: pa.DataType, indices: pa.Array) -> None:
        self.distinct = distinct
        self.type = type
        self.indices = indices

    def python(self) -> Sequence[Any]:
        return _spread(list(self.distinct), self.indices)

    def arrow(self) -> pa.Array:
        return pa.array(self.distinct, self.type).take(self.indices)


ColumnValues = Callable[[pa.ChunkedArray], "Values | None"]

_FRACTION = r"(?:\.[0-9]{1,9})?"
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIME = r"[0-9]{2}:[0-9]{2}:[0-9]{2}"
_INSTANT = f"^{_DATE}T{_TIME}{_FRACTION}Z$"
_LOCAL = f"^{_DATE}T{_TIME}{_FRACTION}$"
_DATE_ONLY = f"^{_DATE}$"
_TIME_OF_DAY = f"^(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]{_FRACTION}$"
_FLOAT = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_INTEGER = r"^-?[0-9]{1,18}$"  # fits an int64 whatever the digits
_BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
_BOOLEANS = pa.array(["true", "false"], pa.string())


def _all_match(array: pa.ChunkedArray, pattern: str) -> bool:
    """Whether every non-NULL cell matches `pattern` (RE2 syntax; `[0-9]` is ASCII only)."""
    hits = pc.sum(pc.match_substring_regex(array, pattern)).as_py() or 0
    return bool(hits == len(array) - array.null_count)


def identity(array: pa.ChunkedArray) -> Values:
    """The text itself (STRING, XML)."""
    return Direct(array)


def matching(pattern: str) -> ColumnValues:
    """The text itself when every cell matches `pattern` (floating-point numbers, times, base64)."""

    def convert(array: pa.ChunkedArray) -> Values | None:
        return Direct(array) if _all_match(array, pattern) else None

    return convert


FLOAT_TEXT = matching(_FLOAT)
TIME_OF_DAY = matching(_TIME_OF_DAY)
BASE64 = matching(_BASE64)


def _unsigned_digits(array: pa.ChunkedArray) -> bool:
    """Whether every non-NULL cell is 1 to 18 ASCII digits: `_INTEGER` without a minus, checked by two
    plain kernels, several times faster than the pattern."""
    if array.null_count == len(array):
        return True
    return bool(pc.all(pc.ascii_is_decimal(array)).as_py()) and pc.max(pc.binary_length(array)).as_py() <= 18


def integers(low: int, high: int) -> ColumnValues:
    """Python ints for plain decimal digits (an optional minus) within [low, high]."""

    def convert(array: pa.ChunkedArray) -> Values | None:
        if not _unsigned_digits(array) and not _all_match(array, _INTEGER):
            return None
        numbers = pc.cast(array, pa.int64())
        if array.null_count < len(array):
            bounds = pc.min_max(numbers).as_py()
            if bounds["min"] < low or bounds["max"] > high:
                return None
        return Direct(numbers)

    return convert


def booleans(array: pa.ChunkedArray) -> Values | None:
    """True/False for the exact texts `true` and `false`."""
    hits = pc.sum(pc.is_in(array, value_set=_BOOLEANS)).as_py() or 0
    if hits != len(array) - array.null_count:
        return None
    return Direct(pc.equal(array, "true"))


def decimals(precision: int, scale: int) -> ColumnValues:
    """The text itself when it already has the form the reference sends: no leading zeros, at most
    `scale` decimals and at most `precision - scale` integer digits (nothing to round, nothing to refuse)."""
    whole = precision - scale
    integer = "0" if whole < 1 else f"(?:0|[1-9][0-9]{{0,{whole - 1}}})"
    fraction = f"(?:\\.[0-9]{{1,{scale}}})?" if scale else ""
    pattern = f"^-?{integer}{fraction}$"

    def convert(array: pa.ChunkedArray) -> Values | None:
        vouched = native.decimal_texts(array, whole, scale)  # the same rule, natively (None: not built)
        if vouched is None:
            vouched = _all_match(array, pattern)
        return Direct(array) if vouched else None

    return convert


def _valid_clock(heads: pa.ChunkedArray, unit_type: pa.DataType) -> bool:
    """Whether every head (date, or date and time of day) names a real calendar day and time; Arrow's
    ISO-8601 cast refuses days past the month's end, hour 24 and second 60."""
    try:
        pc.cast(heads, unit_type)
    except pa.ArrowInvalid:
        return False
    return True


def _millisecond_text(array: pa.ChunkedArray, suffix: str) -> Values:
    """`YYYY-MM-DDTHH:MM:SS.fff` + suffix from text of that form with 0 to 9 fraction digits: the first
    three digits, padded with zeros (CrateDB keeps milliseconds; the rest is cut, not rounded)."""
    lengths = pc.min_max(pc.utf8_length(array)).as_py()
    if lengths["min"] == lengths["max"] == 23 + len(suffix):  # already exactly three digits
        return Direct(array)
    head = pc.utf8_slice_codeunits(array, 0, 19)
    digits = pc.utf8_slice_codeunits(array, 20, 23)
    if suffix:
        digits = pc.replace_substring(digits, suffix, "")
    fraction = pc.utf8_rpad(digits, 3, "0")
    return Direct(pc.binary_join_element_wise(head, ".", fraction, suffix, ""))


def _timestamps(pattern: str, suffix: str) -> ColumnValues:
    """Text of the form `pattern` (a date, `T`, a time of day, 0 to 9 fraction digits, `suffix`) naming a
    real day and time, with exactly three fraction digits."""

    def convert(array: pa.ChunkedArray) -> Values | None:
        if not _all_match(array, pattern):
            return None
        if not _valid_clock(pc.utf8_slice_codeunits(array, 0, 19), pa.timestamp("s")):
            return None
        return _millisecond_text(array, suffix)

    return convert


INSTANTS = _timestamps(_INSTANT, "Z")
"""UTC_DATETIME: `YYYY-MM-DDTHH:MM:SS[.f…]Z`."""
LOCAL_DATETIMES = _timestamps(_LOCAL, "")
"""NAIVE_DATETIME: `YYYY-MM-DDTHH:MM:SS[.f…]`."""


def dates(array: pa.ChunkedArray) -> Values | None:
    """NAIVE_DATE: `YYYY-MM-DD` as the timestamp text of its midnight."""
    if not _all_match(array, _DATE_ONLY) or not _valid_clock(array, pa.date32()):
        return None
    return Direct(pc.binary_join_element_wise(array, "T00:00:00.000", ""))


def json_text(array: pa.ChunkedArray) -> Values | None:
    """The text itself when every cell is JSON. The native check (`native.json_texts`, RFC 8259, which
    Python's json module accepts) vouches for most columns; otherwise orjson parses each cell. Both are
    stricter than Python's json module (the reference), never laxer, so a cell they refuse goes to the
    reference, which decides."""
    if native.json_texts(array):
        return Direct(array)
    texts = array.to_pylist()
    if "" in texts:  # not JSON; `filter(None, ...)` below would skip it
        return None
    try:
        deque(map(orjson.loads, filter(None, texts)), maxlen=0)  # every non-NULL cell, looped in C
    except orjson.JSONDecodeError:
        return None
    return Direct(array, texts)


# A column goes through its distinct texts when a sample of its first cells repeats this much, and stays
# there when the whole column has at most a quarter as many distinct texts as cells. Low-cardinality
# columns are common (`_fivetran_synced` of one sync, flags, states, codes); a column that is not pays
# for the sample only, a few microseconds per chunk. The values of texts seen in earlier chunks of the
# file are kept (at most _KNOWN per column), so a text repeated across chunks is converted once.
_SAMPLE = 64
_REPEATS = 4
_KNOWN = 1024


def by_distinct(convert: ColumnValues) -> ColumnValues:
    """`convert`, run over a repetitive column's distinct texts (dictionary-encoded in Arrow) and spread
    back to its cells, or over all its cells when the column is not repetitive. Exact because each
    cell's value depends on its text alone; a distinct text the fast path does not take sends the whole
    column to the reference, as it would have. One instance per column of a file: it remembers the
    values of the texts it converted."""
    if convert is booleans:  # True and False are singletons: spreading them saves nothing
        return convert
    known: dict[str, Any] = {}
    arrow_type: pa.DataType | None = None  # the Arrow type of the values, once a conversion has shown it

    def through_dictionary(array: pa.ChunkedArray) -> Values | None:
        nonlocal arrow_type
        size = len(array)
        sample = array.slice(0, _SAMPLE)
        if len(set(sample.to_pylist())) * _REPEATS > len(sample):
            return convert(array)
        encoded = pc.dictionary_encode(array.combine_chunks())
        texts = encoded.dictionary.to_pylist()
        if not texts:  # every cell NULL (an update file's unmodified column, for one)
            if arrow_type is None:  # the values' Arrow type, from converting no cells
                none = convert(pa.chunked_array([pa.array([], pa.string())]))
                if none is None:
                    return convert(array)
                arrow_type = none.arrow().type
            return Spread([], arrow_type, encoded.indices)
        if len(texts) * _REPEATS > size:
            return convert(array)
        fresh = [text for text in texts if text not in known]
        if not fresh and arrow_type is not None:  # (texts are known only after a conversion)
            return Spread([known[text] for text in texts], arrow_type, encoded.indices)
        converted = convert(pa.chunked_array([pa.array(fresh, pa.string())]))
        if converted is None:
            return None
        arrow_type = converted.arrow().type
        new = dict(zip(fresh, converted.python(), strict=True))
        values = [new[text] if text in new else known[text] for text in texts]
        if len(known) + len(new) > _KNOWN:
            known.clear()
        known.update(new)
        return Spread(values, arrow_type, encoded.indices)

    return through_dictionary


def _spread(values: list[Any], indices: pa.Array) -> Sequence[Any]:
    """values[i] for each index i (None for a NULL index)."""
    if indices.null_count:
        values.append(None)
        indices = pc.fill_null(indices, len(values) - 1)
    if len(values) == 1:  # one text and no NULL, or every cell NULL: no positions to read
        return values * len(indices)
    positions = indices.to_pylist()
    if len(positions) < 2:
        return [values[position] for position in positions]
    return itemgetter(*positions)(values)  # a tuple, built in C
