"""Bad input through a real gRPC client against the in-process destination (and the emulator or CrateDB).

Every case follows the same script:
1. a table exists and holds a seed row;
2. the bad request is sent: the answer is a Task or a gRPC status whose message names what is wrong (file,
   table, column, row) and never contains a row value or key material;
3. the server keeps serving (Capabilities and DescribeTable answer);
4. the input is fixed and replayed: the table holds exactly the seed row plus the fixed batch.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from cratedb_destination.batch import UNMODIFIED, Cell
from destination_testkit import BatchRef, new_format, table
from fivetran_e2e.batch_writer import new_key
from fivetran_proto import destination_sdk_pb2
from reliability_support import (
    ROW_SECRET,
    SYNCED,
    Dest,
    Outcome,
    aes_decrypt_raw,
    aes_encrypt,
    call,
    csv_text,
    gzip_compress,
    ok,
    zstd_compress,
)

pytestmark = pytest.mark.cratedb

TABLE = "items"
SEED = ["100", "seed row", None, SYNCED, "false"]


def columns_with(value_type: Sequence[Any]) -> list[tuple[Any, ...]]:
    return [
        ("id", "LONG", True),
        ("label", "STRING"),
        ("v", *value_type),
        ("_fivetran_synced", "UTC_DATETIME"),
        ("_fivetran_deleted", "BOOLEAN"),
    ]


HEADER = ["id", "label", "v", "_fivetran_synced", "_fivetran_deleted"]


def rows_with(first: Cell, second: Cell) -> list[list[Cell]]:
    return [
        ["1", ROW_SECRET, first, SYNCED, "false"],
        ["2", ROW_SECRET + "-second", second, SYNCED, "false"],
    ]


def assert_clean(message: str, forbidden: Sequence[str]) -> None:
    assert ROW_SECRET not in message, f"a row value leaked into the message: {message}"
    for text in forbidden:
        if len(text) >= 4:
            assert text not in message, f"{text[:40]!r} leaked into the message: {message}"


def assert_failure(
    outcome: Outcome, kind: str, fragments: Sequence[str], forbidden: Sequence[str] = ()
) -> None:
    assert outcome.kind == kind, f"expected {kind}, got {outcome.kind}: {outcome.message}"
    lowered = outcome.message.lower()
    for fragment in fragments:
        assert fragment.lower() in lowered, f"{fragment!r} missing from: {outcome.message}"
    assert_clean(outcome.message, forbidden)


def prepare(dest: Dest, value_type: Sequence[Any]) -> Any:
    definition = table(TABLE, columns_with(value_type))
    ok(dest.create(definition))
    ok(dest.write(definition, replace=[dest.batch(HEADER, [SEED])]))
    return definition


def replay_and_check(dest: Dest, definition: Any, good: Cell, stored: Any) -> None:
    ok(dest.write(definition, replace=[dest.batch(HEADER, rows_with(good, good))]))
    assert dest.rows(TABLE, ["id", "label", "v"]) == [
        [1, ROW_SECRET, stored],
        [2, ROW_SECRET + "-second", stored],
        [100, "seed row", None],
    ]


# ---------------------------------------------------------------------------------------------------------
# Values that do not fit their column's type
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueCase:
    name: str
    value_type: tuple[Any, ...]
    bad: str
    fragment: str
    good: str
    stored: Any


VALUE_CASES = [
    ValueCase("short_too_big", ("SHORT",), "40000", "range", "7", 7),
    ValueCase("short_too_small", ("SHORT",), "-32769", "range", "-7", -7),
    ValueCase("int_too_big", ("INT",), "3000000000", "range", "2147483647", 2147483647),
    ValueCase(
        "long_too_big",
        ("LONG",),
        "9300000000000000000",
        "range",
        "-9223372036854775808",
        -9223372036854775808,
    ),
    ValueCase("int_not_numeric", ("INT",), "12abc3", "not an integer", "12", 12),
    ValueCase("int_with_fraction", ("INT",), "15.25", "not an integer", "15", 15),
    ValueCase("impossible_date", ("NAIVE_DATE",), "2024-02-30", "date", "2024-02-29", 1709164800000),
    ValueCase(
        "date_with_time", ("NAIVE_DATE",), "2024-02-29T10:11:12", "time of day", "2024-02-29", 1709164800000
    ),
    ValueCase(
        "timestamp_out_of_range_fields",
        ("UTC_DATETIME",),
        "2024-03-01T25:61:00Z",
        "date/time",
        "2024-03-01T10:00:00.000Z",
        1709287200000,
    ),
    ValueCase(
        "timestamp_not_iso",
        ("UTC_DATETIME",),
        "yesterday noon",
        "ISO-8601",
        "2024-03-01T10:00:00Z",
        1709287200000,
    ),
    ValueCase(
        "utc_offset_out_of_range",
        ("UTC_DATETIME",),
        "2024-03-01T10:00:00+19:00",
        "offset",
        "2024-03-01T11:00:00+01:00",
        1709287200000,
    ),
    ValueCase(
        "naive_datetime_slashes",
        ("NAIVE_DATETIME",),
        "2024/03/01 10:00",
        "ISO-8601",
        "2024-03-01T10:00:00",
        1709287200000,
    ),
    ValueCase("decimal_malformed", ("DECIMAL", False, (10, 2)), "1.2.3", "not a decimal", "12.50", 12.5),
    ValueCase("decimal_nan", ("DECIMAL", False, (10, 2)), "NaN", "NaN", "0.25", 0.25),
    ValueCase("float_not_numeric", ("FLOAT",), "one-point-five", "floating-point", "1.5", 1.5),
    ValueCase("double_not_numeric", ("DOUBLE",), "1,5e3", "floating-point", "1500", 1500.0),
    ValueCase("boolean_maybe", ("BOOLEAN",), "maybe", "true or false", "true", True),
    ValueCase("boolean_yes", ("BOOLEAN",), "yes!", "true or false", "false", False),
    ValueCase("json_unterminated", ("JSON",), '{"secret": 1', "JSON", '{"a": [1, 2]}', '{"a": [1, 2]}'),
    ValueCase("time_out_of_range", ("NAIVE_TIME",), "25:00:00", "time", "23:59:58", "23:59:58"),
]


@pytest.mark.parametrize("case", VALUE_CASES, ids=[case.name for case in VALUE_CASES])
def test_value_invalid_for_its_type(dest: Dest, case: ValueCase) -> None:
    definition = prepare(dest, case.value_type)
    bad = dest.batch(HEADER, rows_with(case.good, case.bad))
    outcome = dest.write(definition, replace=[bad])
    assert_failure(
        outcome,
        "task",
        [bad.path, f"{dest.schema}.{TABLE}", "row 2", "'v'", case.fragment],
        forbidden=[case.bad],
    )
    dest.assert_serving(TABLE)
    replay_and_check(dest, definition, case.good, case.stored)


def test_decimal_exceeding_precision(dest: Dest) -> None:
    """CrateDB (since 5.9.1) rejects NUMERIC values that do not fit; the row must not vanish silently."""
    definition = prepare(dest, ("DECIMAL", False, (5, 2)))
    bad = dest.batch(HEADER, rows_with("123.45", "98765.43"))
    outcome = dest.write(definition, replace=[bad])
    assert_failure(
        outcome,
        "task",
        [bad.path, f"{dest.schema}.{TABLE}", "row 2", "'v'", "DECIMAL(5,2)"],
        forbidden=["98765.43"],
    )
    dest.assert_serving(TABLE)
    replay_and_check(dest, definition, "123.45", 123.45)


def test_text_over_the_indexed_limit_in_a_key_column(dest: Dest) -> None:
    """CrateDB cannot store a key value over 32,766 bytes: a Task naming the column, without the value."""
    columns = [("code", "STRING", True), ("v", "STRING"), ("_fivetran_synced", "UTC_DATETIME")]
    definition = table(TABLE, columns)
    ok(dest.create(definition))
    huge = (ROW_SECRET + "-") * 2600  # 36,400 bytes
    bad = dest.batch(["code", "v", "_fivetran_synced"], [["k1", "a", SYNCED], [huge, "b", SYNCED]])
    outcome = dest.write(definition, replace=[bad])
    assert_failure(outcome, "task", [f"{dest.schema}.{TABLE}", "'code'", "32,766"], forbidden=[huge[:64]])
    dest.assert_serving(TABLE)
    fixed = dest.batch(["code", "v", "_fivetran_synced"], [["k1", "a", SYNCED], ["k2", "b", SYNCED]])
    ok(dest.write(definition, replace=[fixed]))
    assert dest.rows(TABLE, ["code", "v"]) == [["k1", "a"], ["k2", "b"]]


def test_text_over_the_indexed_limit_is_kept(dest: Dest) -> None:
    """Documented behaviour: a long value in a non-key STRING column rebuilds the column as unindexed
    storage (a Warning in the log) and is stored intact; DescribeTable still answers STRING."""
    definition = prepare(dest, ("STRING",))
    huge = (ROW_SECRET + "-") * 2600
    ok(dest.write(definition, replace=[dest.batch(HEADER, rows_with("short", huge))]))
    assert dest.rows(TABLE, ["id", "v"]) == [[1, "short"], [2, huge], [100, None]]
    described = dest.describe(TABLE)
    assert [(c.name, c.type) for c in described.response.table.columns] == [
        (c.name, c.type) for c in definition.columns
    ]


def test_long_text_fits_a_column_declared_long(dest: Dest) -> None:
    """The fix for long text: a STRING column whose byte length exceeds the limit is stored unindexed."""
    definition = prepare(dest, ("STRING", False, 100_000))
    huge = "x" * 40_000
    ok(dest.write(definition, replace=[dest.batch(HEADER, rows_with(huge, huge))]))
    assert [row[2] == huge for row in dest.rows(TABLE, ["id", "label", "v"])] == [True, True, False]


def test_invalid_base64_is_tolerated_as_documented(dest: Dest) -> None:
    """BINARY cells that are not base64 (the tester sends such) are kept: stored as base64 of their text."""
    definition = prepare(dest, ("BINARY",))
    odd = "[B@7d4991ad not base64!"
    outcome = dest.write(definition, replace=[dest.batch(HEADER, rows_with("AAEC", odd))])
    ok(outcome)
    assert dest.rows(TABLE, ["id", "v"]) == [
        [1, "AAEC"],
        [2, base64.b64encode(odd.encode()).decode()],
        [100, None],
    ]


def test_null_in_primary_key(dest: Dest) -> None:
    definition = prepare(dest, ("STRING",))
    bad = dest.batch(
        HEADER, [["1", ROW_SECRET, "a", SYNCED, "false"], [None, ROW_SECRET, "b", SYNCED, "false"]]
    )
    outcome = dest.write(definition, replace=[bad])
    assert_failure(outcome, "task", [bad.path, "row 2", "'id'", "primary-key"])
    dest.assert_serving(TABLE)
    replay_and_check(dest, definition, "fixed", "fixed")


def test_unmodified_marker_in_a_replace_file(dest: Dest) -> None:
    definition = prepare(dest, ("STRING",))
    bad = dest.batch(HEADER, rows_with("a", UNMODIFIED))
    outcome = dest.write(definition, replace=[bad])
    assert_failure(outcome, "task", [bad.path, "row 2", "'v'", "unmodified"])
    dest.assert_serving(TABLE)
    replay_and_check(dest, definition, "fixed", "fixed")


def test_unmodified_primary_key_in_an_update_file(dest: Dest) -> None:
    definition = prepare(dest, ("STRING",))
    bad = dest.batch(HEADER, [[UNMODIFIED, UNMODIFIED, "changed", SYNCED, UNMODIFIED]])
    outcome = dest.write(definition, update=[bad])
    assert_failure(outcome, "task", [bad.path, "row 1", "'id'"], forbidden=["changed"])
    dest.assert_serving(TABLE)
    replay_and_check(dest, definition, "fixed", "fixed")


# ---------------------------------------------------------------------------------------------------------
# Files that cannot be decrypted, decompressed or found
# ---------------------------------------------------------------------------------------------------------

GOOD_ROWS = rows_with("ok", "ok")


@dataclass(frozen=True)
class FileCase:
    name: str
    build: Callable[[Dest], tuple[BatchRef, dict[str, Any]]]
    fragments: tuple[str, ...]
    kind: str = "task"
    secrets: Callable[[BatchRef], list[str]] = field(default=lambda ref: [])


def plain_csv(rows: list[list[Cell]] | None = None) -> bytes:
    return csv_text(HEADER, rows or GOOD_ROWS, _FMT_PLACEHOLDER).encode()


# Tokens are per request; these builders only ever write NULL-free rows, so any format's tokens do.
_FMT_PLACEHOLDER = new_format()


def encoded(
    dest: Dest, data: bytes, compression: str, encrypted: bool = True
) -> tuple[BatchRef, dict[str, Any]]:
    """A file whose FileParams say `compression` + AES (or none): the bytes are exactly `data` (+AES)."""
    fmt = new_format(compression, "aes" if encrypted else "none")
    key = new_key() if encrypted else None
    ref = dest.raw_batch(aes_encrypt(data, key) if key else data, key)
    return ref, {"fmt": fmt}


def key_secrets(ref: BatchRef) -> list[str]:
    if ref.key is None:
        return []
    return [ref.key.hex(), base64.b64encode(ref.key).decode()]


def missing_key(dest: Dest) -> tuple[BatchRef, dict[str, Any]]:
    ref = dest.batch(HEADER, GOOD_ROWS)
    return ref, {"keys": {}}


def key_under_other_path(dest: Dest) -> tuple[BatchRef, dict[str, Any]]:
    ref = dest.batch(HEADER, GOOD_ROWS)
    assert ref.key is not None
    return ref, {"keys": {"./" + ref.path.lstrip("/"): ref.key}}


def short_key(dest: Dest) -> tuple[BatchRef, dict[str, Any]]:
    ref = dest.batch(HEADER, GOOD_ROWS)
    assert ref.key is not None
    return ref, {"keys": {ref.path: ref.key[:16]}}


def wrong_key_single_block(dest: Dest) -> tuple[BatchRef, dict[str, Any]]:
    """A one-block file decrypted with another key: only the padding check can notice (deterministic)."""
    key = bytes(range(32))
    data = aes_encrypt(b'"id"\n', key, iv=bytes(16))
    for attempt in range(1000):
        wrong = hashlib.sha256(b"wrong key %d" % attempt).digest()
        last = aes_decrypt_raw(data, wrong)[-16:]
        pad = last[-1]
        if not (1 <= pad <= 16 and last[-pad:] == bytes([pad]) * pad):
            break
    ref = dest.raw_batch(data, wrong)
    return ref, {"fmt": new_format("off", "aes")}


def wrong_key(dest: Dest) -> tuple[BatchRef, dict[str, Any]]:
    ref = dest.batch(HEADER, GOOD_ROWS)
    return BatchRef(ref.path, new_key()), {}


def truncated_ciphertext(dest: Dest) -> tuple[BatchRef, dict[str, Any]]:
    ref = dest.batch(HEADER, GOOD_ROWS)
    with open(ref.path, "rb+") as handle:
        handle.truncate(len(handle.read()) - 5)
    return ref, {}


def bad_padding(dest: Dest) -> tuple[BatchRef, dict[str, Any]]:
    """Correct key, but the plaintext ends in a byte that is not PKCS#7 padding."""
    plain = plain_csv()
    plain += b"\n" * (-len(plain) % 16)
    plain = plain[:-1] + b"\x00"
    key = new_key()
    return dest.raw_batch(aes_encrypt(plain, key, pad=False), key), {"fmt": new_format("off", "aes")}


def iv_only(dest: Dest) -> tuple[BatchRef, dict[str, Any]]:
    key = new_key()
    return dest.raw_batch(bytes(16), key), {}


def shorter_than_iv(dest: Dest) -> tuple[BatchRef, dict[str, Any]]:
    key = new_key()
    return dest.raw_batch(bytes(10), key), {}


def flipped(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1 :]


def many_rows() -> bytes:
    rows: list[list[Cell]] = [[str(i), f"label {i}", f"value {i}", SYNCED, "false"] for i in range(1, 400)]
    return plain_csv(rows)


FILE_CASES = [
    FileCase("missing_key", missing_key, ("no decryption key",)),
    FileCase("key_under_another_path", key_under_other_path, ("no decryption key",)),
    FileCase("key_wrong_length", short_key, ("16 bytes", "32"), secrets=key_secrets),
    FileCase("wrong_key_bad_padding", wrong_key_single_block, ("padding",), secrets=key_secrets),
    FileCase("wrong_key", wrong_key, (), secrets=key_secrets),
    FileCase("truncated_ciphertext", truncated_ciphertext, ("multiple of 16",), secrets=key_secrets),
    FileCase("bad_padding", bad_padding, ("padding",), secrets=key_secrets),
    FileCase("iv_without_ciphertext", iv_only, ("no ciphertext",)),
    FileCase("shorter_than_the_iv", shorter_than_iv, ("16-byte IV",)),
    FileCase("gzip_but_params_say_zstd", lambda d: encoded(d, gzip_compress(plain_csv()), "zstd"), ("zstd",)),
    FileCase("zstd_but_params_say_gzip", lambda d: encoded(d, zstd_compress(plain_csv()), "gzip"), ("gzip",)),
    FileCase("plain_but_params_say_zstd", lambda d: encoded(d, plain_csv(), "zstd"), ("zstd",)),
    FileCase("zstd_but_params_say_off", lambda d: encoded(d, zstd_compress(plain_csv()), "off"), ("UTF-8",)),
    FileCase(
        "corrupt_zstd_header", lambda d: encoded(d, flipped(zstd_compress(plain_csv()), 1), "zstd"), ("zstd",)
    ),
    FileCase("truncated_zstd", lambda d: encoded(d, zstd_compress(many_rows())[:-40], "zstd"), ("zstd",)),
    FileCase(
        "corrupt_gzip_body",
        lambda d: encoded(d, flipped(gzip_compress(many_rows()), 200), "gzip"),
        ("gzip",),
    ),
    FileCase("truncated_gzip", lambda d: encoded(d, gzip.compress(many_rows())[:-20], "gzip"), ("gzip",)),
    FileCase("empty_plain_file", lambda d: encoded(d, b"", "off", encrypted=False), ("empty",)),
    FileCase("empty_encrypted_file", lambda d: (d.raw_batch(b"", new_key()), {}), ("16-byte IV",)),
    FileCase("empty_after_decompression", lambda d: encoded(d, zstd_compress(b""), "zstd"), ("empty",)),
    FileCase("missing_file", lambda d: (BatchRef(d.new_path(), new_key()), {}), ("does not exist",)),
    FileCase("directory_instead_of_file", lambda d: (BatchRef(str(d.tmp), new_key()), {}), ("cannot open",)),
]


@pytest.mark.parametrize("case", FILE_CASES, ids=[case.name for case in FILE_CASES])
def test_unreadable_file(dest: Dest, case: FileCase) -> None:
    definition = prepare(dest, ("STRING",))
    ref, options = case.build(dest)
    fmt = options.get("fmt", dest.fmt)
    keys = options.get("keys", {ref.path: ref.key} if ref.key is not None else {})
    outcome = call(dest.stub.WriteBatch, dest.write_request(definition, replace=[ref], fmt=fmt, keys=keys))
    assert_failure(
        outcome, case.kind, [ref.path, f"{dest.schema}.{TABLE}", *case.fragments], forbidden=case.secrets(ref)
    )
    dest.assert_serving(TABLE)
    replay_and_check(dest, definition, "ok", "ok")


# ---------------------------------------------------------------------------------------------------------
# CSV that is not what the header or the table promises
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvCase:
    name: str
    text: str
    fragments: tuple[str, ...]


def _line(*cells: str) -> str:
    return ",".join(cells) + "\n"


_HEAD = '"id","label","v","_fivetran_synced","_fivetran_deleted"\n'
_ROW1 = _line("1", ROW_SECRET, "a", SYNCED, "false")

CSV_CASES = [
    CsvCase(
        "missing_key_column",
        '"label","v","_fivetran_synced"\n' + _line(ROW_SECRET, "a", SYNCED),
        ("primary-key", "'id'"),
    ),
    CsvCase("unknown_column", _HEAD.replace('"v"', '"ghost"') + _ROW1, ("ghost", "does not define")),
    CsvCase("duplicate_column", _HEAD.replace('"v"', '"label"') + _ROW1, ("label", "twice")),
    CsvCase(
        "extra_unnamed_column", _HEAD.rstrip("\n") + ",\n" + _ROW1.rstrip("\n") + ",x\n", ("empty name",)
    ),
    CsvCase("broken_header", '"id","label,"v"\n' + _ROW1, ("CSV",)),
    CsvCase(
        "unterminated_quote", _HEAD + _ROW1 + _line("2", '"' + ROW_SECRET, "b", SYNCED, "false"), ("CSV",)
    ),
    CsvCase(
        "text_after_closing_quote", _HEAD + _line("2", '"ab"' + ROW_SECRET, "b", SYNCED, "false"), ("CSV",)
    ),
    CsvCase(
        "row_with_too_many_fields",
        _HEAD + _ROW1 + _line("2", ROW_SECRET, "b", SYNCED, "false", "extra"),
        ("row 2", "6 cells", "5 columns"),
    ),
    CsvCase("row_with_too_few_fields", _HEAD + _ROW1 + _line("2", ROW_SECRET, SYNCED), ("row 2", "3 cells")),
    CsvCase("header_only_then_blank_names", '"",""\n', ("empty name",)),
]


@pytest.mark.parametrize("case", CSV_CASES, ids=[case.name for case in CSV_CASES])
def test_malformed_csv(dest: Dest, case: CsvCase) -> None:
    definition = prepare(dest, ("STRING",))
    ref = dest.text_batch(case.text)
    outcome = dest.write(definition, replace=[ref])
    assert_failure(outcome, "task", [ref.path, f"{dest.schema}.{TABLE}", *case.fragments])
    dest.assert_serving(TABLE)
    replay_and_check(dest, definition, "ok", "ok")


def test_invalid_utf8(dest: Dest) -> None:
    definition = prepare(dest, ("STRING",))
    data = (
        (_HEAD + _ROW1).encode()
        + b"2,\xff\xfe"
        + ROW_SECRET.encode()
        + b",b,"
        + SYNCED.encode()
        + b",false\n"
    )
    key = new_key()
    ref = dest.raw_batch(aes_encrypt(zstd_compress(data), key), key)
    outcome = dest.write(definition, replace=[ref])
    assert_failure(outcome, "task", [ref.path, f"{dest.schema}.{TABLE}", "UTF-8"])
    dest.assert_serving(TABLE)
    replay_and_check(dest, definition, "ok", "ok")


# ---------------------------------------------------------------------------------------------------------
# Requests that are incomplete or name impossible things
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestCase:
    name: str
    send: Callable[[Dest], Outcome]
    kind: str
    fragments: tuple[str, ...]


GOOD_DEFINITION = columns_with(("STRING",))


def write_with(dest: Dest, definition: Any, schema: str | None = None, **params: Any) -> Outcome:
    ref = dest.batch(HEADER, GOOD_ROWS)
    request = dest.write_request(definition, replace=[ref], schema=schema)
    for name, value in params.items():
        setattr(request.file_params, name, value)
    return call(dest.stub.WriteBatch, request)


def create_named(
    schema: str | None, name: str, columns: list[tuple[Any, ...]] | None = None
) -> Callable[[Dest], Outcome]:
    return lambda dest: dest.create(table(name, columns or GOOD_DEFINITION), schema=schema)


def with_column(extra: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    return [*GOOD_DEFINITION, extra]


REQUEST_CASES = [
    RequestCase(
        "write_without_schema",
        lambda d: write_with(d, table(TABLE, GOOD_DEFINITION), schema=""),
        "task",
        ("schema name is empty",),
    ),
    RequestCase("create_without_schema", create_named("", TABLE), "task", ("schema name is empty",)),
    RequestCase("create_without_table_name", create_named(None, ""), "task", ("table name is empty",)),
    RequestCase("describe_without_table_name", lambda d: d.describe(""), "task", ("table name is empty",)),
    RequestCase(
        "create_without_columns",
        lambda d: d.create(table(TABLE, [])),
        "INVALID_ARGUMENT",
        ("without columns",),
    ),
    RequestCase(
        "write_without_columns",
        lambda d: write_with(d, table(TABLE, [])),
        "INVALID_ARGUMENT",
        ("without columns",),
    ),
    RequestCase(
        "write_without_primary_key",
        lambda d: write_with(d, table(TABLE, [(n, t) for n, t, *_ in GOOD_DEFINITION])),
        "task",
        ("no primary key",),
    ),
    RequestCase(
        "unknown_data_type_number",
        create_named(None, TABLE, with_column(("odd", 99))),
        "task",
        ("'odd'", "unsupported data type"),
    ),
    RequestCase(
        "unspecified_data_type",
        create_named(None, TABLE, with_column(("odd", "UNSPECIFIED"))),
        "task",
        ("'odd'", "UNSPECIFIED"),
    ),
    RequestCase(
        "decimal_precision_too_large",
        create_named(None, TABLE, with_column(("odd", "DECIMAL", False, (60, 2)))),
        "task",
        ("'odd'", "precision"),
    ),
    RequestCase(
        "decimal_scale_above_precision",
        create_named(None, TABLE, with_column(("odd", "DECIMAL", False, (4, 6)))),
        "task",
        ("'odd'", "scale"),
    ),
    RequestCase(
        "duplicate_column_in_definition",
        create_named(None, TABLE, with_column(("label", "STRING"))),
        "task",
        ("'label'", "twice"),
    ),
    RequestCase("table_name_with_dot", create_named(None, "a.b"), "task", ("a.b", "'.'")),
    RequestCase("schema_name_with_slash", create_named("s/x", TABLE), "task", ("s/x", "'/'")),
    RequestCase(
        "table_name_with_quote_and_semicolon",
        create_named(None, 'x"; DROP TABLE items; --'),
        "task",
        ("table name", "'\"'"),
    ),
    RequestCase("table_name_too_long", create_named(None, "t" * 300), "task", ("255",)),
    RequestCase(
        "column_name_with_dot",
        create_named(None, TABLE, with_column(("a.b", "STRING"))),
        "task",
        ("'a.b'", "'.'"),
    ),
    RequestCase(
        "system_column_name_clashes_with_its_stored_name",
        create_named(None, TABLE, [*with_column(("_id", "STRING")), ("__id", "STRING")]),
        "task",
        ("'_id'", "'__id'", "system column"),
    ),
    RequestCase(
        "column_name_with_newline",
        create_named(None, TABLE, with_column(("a\nb", "STRING"))),
        "task",
        ("column name",),
    ),
    RequestCase(
        "unknown_compression",
        lambda d: write_with(d, table(TABLE, GOOD_DEFINITION), compression=7),
        "INVALID_ARGUMENT",
        ("compression",),
    ),
    RequestCase(
        "unknown_encryption",
        lambda d: write_with(d, table(TABLE, GOOD_DEFINITION), encryption=5),
        "INVALID_ARGUMENT",
        ("encryption",),
    ),
    RequestCase(
        "truncate_without_synced_column",
        lambda d: call(
            d.stub.Truncate,
            destination_sdk_pb2.TruncateRequest(
                configuration=d.configuration, schema_name=d.schema, table_name=TABLE
            ),
        ),
        "INVALID_ARGUMENT",
        ("synced_column",),
    ),
    RequestCase(
        "write_to_a_table_never_created",
        lambda d: write_with(d, table("never_created", GOOD_DEFINITION)),
        "task",
        ("never_created",),
    ),
    RequestCase(
        "write_with_a_column_the_table_lacks",
        lambda d: write_with(d, table(TABLE, with_column(("added_later", "STRING")))),
        "task",
        ("added_later",),
    ),
    RequestCase(
        "configuration_without_url",
        lambda d: call(
            d.stub.DescribeTable,
            destination_sdk_pb2.DescribeTableRequest(
                configuration={}, schema_name=d.schema, table_name=TABLE
            ),
        ),
        "task",
        ("URL",),
    ),
]


@pytest.mark.parametrize("case", REQUEST_CASES, ids=[case.name for case in REQUEST_CASES])
def test_bad_request(dest: Dest, case: RequestCase) -> None:
    definition = prepare(dest, ("STRING",))
    outcome = case.send(dest)
    assert_failure(outcome, case.kind, case.fragments)
    dest.assert_serving(TABLE)
    replay_and_check(dest, definition, "ok", "ok")
    assert dest.reader.tables(dest.schema) == [TABLE], "the bad request left a table behind"
