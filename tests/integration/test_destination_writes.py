"""WriteBatch through a real gRPC client: replace, update, delete, soft delete, keyless tables, every type,
bad input, per-row failures, idempotent replays and request counts."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from typing import Any

import pytest
from cratedb_destination import native
from cratedb_destination import type_mapping as tm
from cratedb_destination.batch import UNMODIFIED, FileFormat
from destination_harness import SYNCED_1, SYNCED_2, SYNCED_3, Dest, ok
from destination_testkit import table
from fivetran_e2e.batch_writer import random_token

pytestmark = pytest.mark.cratedb

COLUMNS = [
    ("id", "INT", True),
    ("name", "STRING"),
    ("amount", "DECIMAL", False, (10, 2)),
    ("_fivetran_synced", "UTC_DATETIME"),
    ("_fivetran_deleted", "BOOLEAN"),
]
NAMES = [c[0] for c in COLUMNS]
T = table("t", COLUMNS)
MS_1, MS_2, MS_3 = 1704067200000, 1704153600000, 1704240000000


@pytest.fixture(params=["native", "python"])
def both_paths(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test with each way replace requests are made: written natively from the Arrow columns
    (`cratedb_destination.native`) and from Python values. The destination is served in this process, so
    the module's switch is the server's."""
    if request.param == "python":
        monkeypatch.setattr(native, "ENABLED", False)
    elif not native.ENABLED:
        pytest.skip("the native extension is not built here")
    return str(request.param)


def amounts(dest: Dest) -> list[list[Any]]:
    return dest.http.run(
        f'SELECT "id", "name", CAST("amount" AS TEXT), "_fivetran_synced", "_fivetran_deleted" '
        f'FROM "{dest.schema}"."t" ORDER BY "id"'
    ).rows


def start(dest: Dest) -> None:
    ok(dest.create(T))
    ok(
        dest.write(
            T,
            replace=[
                (NAMES, [["1", "one", "1.50", SYNCED_1, "false"], ["2", "two", "2.00", SYNCED_1, "false"]])
            ],
        )
    )


def test_replace_inserts_and_replaces(dest: Dest) -> None:
    start(dest)
    ok(
        dest.write(
            T,
            replace=[
                (NAMES, [["2", "TWO", None, SYNCED_2, "false"], ["3", "three", "3.25", SYNCED_2, "false"]])
            ],
        )
    )
    rows = dest.rows("t", ["id", "name", "_fivetran_synced"])
    assert rows == [[1, "one", MS_1], [2, "TWO", MS_2], [3, "three", MS_2]]
    assert dest.rows("t", ["id", "amount"])[1] == [2, None]


def test_replace_without_some_columns_sets_them_null(dest: Dest) -> None:
    start(dest)
    ok(dest.write(T, replace=[(["id", "name", "_fivetran_synced"], [["1", "uno", SYNCED_2]])]))
    assert dest.rows("t", ["id", "name", "amount", "_fivetran_deleted"])[0] == [1, "uno", None, None]


@pytest.mark.usefixtures("both_paths")
def test_replays_leave_identical_contents(dest: Dest) -> None:
    start(dest)
    batch = dict(
        replace=[(NAMES, [["3", "three", "3.00", SYNCED_2, "false"]])],
        update=[(NAMES, [["1", "ONE", UNMODIFIED, SYNCED_2, UNMODIFIED]])],
        delete=[(NAMES, [["2", None, None, SYNCED_2, None]])],
    )
    ok(dest.write(T, **batch))
    first = amounts(dest)
    ok(dest.write(T, **batch))
    ok(dest.write(T, **batch))
    assert amounts(dest) == first
    assert [row[:2] for row in first] == [[1, "ONE"], [3, "three"]]


def test_update_changes_only_modified_columns(dest: Dest) -> None:
    start(dest)
    ok(
        dest.write(
            T,
            update=[
                (
                    NAMES,
                    [
                        ["1", UNMODIFIED, None, SYNCED_2, UNMODIFIED],
                        ["2", "zwei", UNMODIFIED, SYNCED_2, UNMODIFIED],
                    ],
                )
            ],
        )
    )
    assert amounts(dest) == [[1, "one", None, MS_2, False], [2, "zwei", "2.00", MS_2, False]]


def test_update_and_delete_of_missing_rows_are_no_ops(dest: Dest) -> None:
    start(dest)
    ok(
        dest.write(
            T,
            update=[(NAMES, [["99", "ghost", UNMODIFIED, SYNCED_2, UNMODIFIED]])],
            delete=[(NAMES, [["98", None, None, SYNCED_2, None]])],
        )
    )
    ok(dest.write(T, update=[(["id", "_fivetran_deleted", "_fivetran_synced"], [["97", "true", SYNCED_2]])]))
    assert [row[0] for row in amounts(dest)] == [1, 2]


def test_soft_delete_arrives_as_update(dest: Dest) -> None:
    start(dest)
    ok(
        dest.write(
            T,
            update=[
                (
                    ["id", "name", "amount", "_fivetran_synced", "_fivetran_deleted"],
                    [["2", UNMODIFIED, UNMODIFIED, SYNCED_2, "true"]],
                )
            ],
        )
    )
    assert amounts(dest) == [[1, "one", "1.50", MS_1, False], [2, "two", "2.00", MS_2, True]]


def test_delete_removes_rows_by_key(dest: Dest) -> None:
    start(dest)
    ok(dest.write(T, delete=[(NAMES, [["1", None, None, SYNCED_2, None]])]))
    assert [row[0] for row in amounts(dest)] == [2]


def test_update_with_many_different_column_sets(dest: Dest) -> None:
    """More distinct modified-column sets than separate statements allow: one selective UPDATE."""
    start(dest)
    ok(
        dest.write(
            T, replace=[(NAMES, [[str(i), f"n{i}", f"{i}.00", SYNCED_1, "false"] for i in range(3, 8)])]
        )
    )
    U = UNMODIFIED
    rows = [
        ["1", "a", U, SYNCED_2, U],
        ["2", U, "9.99", SYNCED_2, U],
        ["3", U, U, SYNCED_2, "true"],
        ["4", None, None, SYNCED_2, U],
        ["5", "e", "5.55", SYNCED_2, "true"],
        ["6", U, U, U, U],  # nothing to change
        ["42", "ghost", U, SYNCED_2, U],  # missing key: no-op
    ]
    ok(dest.write(T, update=[(NAMES, rows)]))
    assert amounts(dest) == [
        [1, "a", "1.50", MS_2, False],
        [2, "two", "9.99", MS_2, False],
        [3, "n3", "3.00", MS_2, True],
        [4, None, None, MS_2, False],
        [5, "e", "5.55", MS_2, True],
        [6, "n6", "6.00", MS_1, False],
        [7, "n7", "7.00", MS_1, False],
    ]


def test_keyless_table_is_keyed_by_fivetran_id(dest: Dest) -> None:
    definition = table(
        "log",
        [
            ("msg", "STRING"),
            ("_fivetran_id", "STRING", True),
            ("_fivetran_synced", "UTC_DATETIME"),
            ("_fivetran_deleted", "BOOLEAN"),
        ],
    )
    names = ["msg", "_fivetran_id", "_fivetran_synced", "_fivetran_deleted"]
    ok(dest.create(definition))
    ok(
        dest.write(
            definition, replace=[(names, [["a", "h1", SYNCED_1, "false"], ["b", "h2", SYNCED_1, "false"]])]
        )
    )
    ok(
        dest.write(
            definition,
            update=[(names, [[UNMODIFIED, "h1", SYNCED_2, "true"]])],
            delete=[(names, [[None, "h2", SYNCED_2, None]])],
        )
    )
    assert dest.rows("log", ["_fivetran_id", "msg", "_fivetran_deleted"]) == [["h1", "a", True]]


def test_composite_keys_with_float_boolean_and_timestamps(dest: Dest) -> None:
    columns = [
        ("f", "FLOAT", True),
        ("b", "BOOLEAN", True),
        ("d", "NAIVE_DATE", True),
        ("ts", "UTC_DATETIME", True),
        ("v", "STRING"),
        ("_fivetran_synced", "UTC_DATETIME"),
    ]
    definition = table("ck", columns)
    names = [c[0] for c in columns]
    ok(dest.create(definition))
    key = ["1.1", "true", "2024-02-29", "2024-02-29T12:00:00.123456Z"]
    ok(
        dest.write(
            definition,
            replace=[
                (
                    names,
                    [
                        [*key, "first", SYNCED_1],
                        ["2.5", "false", "1900-01-01", "2299-12-31T23:59:59.999Z", "x", SYNCED_1],
                    ],
                )
            ],
        )
    )
    ok(dest.write(definition, update=[(names, [[*key, "second", SYNCED_2]])]))
    ok(dest.write(definition, replace=[(names, [[*key, "third", SYNCED_3]])]))
    rows = dest.rows("ck", ["v", "b", "d", "ts"], order_by="v")
    assert rows == [
        ["third", True, 1709164800000, 1709208000123],
        ["x", False, -2208988800000, 10413791999999],
    ]


ALL_TYPES = [
    ("id", "INT", True),
    ("flag", "BOOLEAN"),
    ("small", "SHORT"),
    ("big", "LONG"),
    ("amount", "DECIMAL", False, (38, 10)),
    ("ratio", "FLOAT"),
    ("precise", "DOUBLE"),
    ("day", "NAIVE_DATE"),
    ("moment", "NAIVE_DATETIME"),
    ("instant", "UTC_DATETIME"),
    ("payload", "BINARY"),
    ("markup", "XML"),
    ("label", "STRING"),
    ("doc", "JSON"),
    ("clock", "NAIVE_TIME"),
    ("_fivetran_synced", "UTC_DATETIME"),
]
ALL_VALUES = [
    "1",
    "TRUE",
    "-32768",
    "9223372036854775807",
    "1234567890123456789012345678.0123456789",
    "3.4028235E38",
    "-2.2250738585072014E-308",
    "2007-12-03",
    "2007-12-03T10:15:30.123456",
    "2007-12-03T10:15:30.987654321+02:00",
    base64.b64encode(b"\x00\x01\xfe\xff").decode(),
    "<a>b</a>",
    'größe "quoted", comma\nnewline',
    '{"a": [1, 2.5, null], "b": {"c": "ü"}}',
    "15:00",
    SYNCED_1,
]


@pytest.mark.usefixtures("both_paths")
def test_every_type_is_stored_and_read_back_exactly(dest: Dest) -> None:
    definition = table("typed", ALL_TYPES)
    names = [str(c[0]) for c in ALL_TYPES]
    ok(dest.create(definition))
    ok(dest.write(definition, replace=[(names, [ALL_VALUES, ["2", *([None] * (len(names) - 2)), SYNCED_1]])]))
    specs = {spec.name: spec.type for spec in (tm.spec_from_proto(c) for c in definition.columns)}
    select = ", ".join(tm.read_expression(f'"{n}"', specs[n]) for n in names)
    dest.http.refresh(f'"{dest.schema}"."typed"')
    raw = dest.http.run(f'SELECT {select} FROM "{dest.schema}"."typed" ORDER BY "id"').rows
    values = [[tm.read_value(specs[n], v) for n, v in zip(names, row, strict=True)] for row in raw]
    assert values[0] == [
        1,
        True,
        -32768,
        2**63 - 1,
        decimal.Decimal("1234567890123456789012345678.0123456789"),
        pytest.approx(3.4028235e38, rel=1e-7),
        -2.2250738585072014e-308,
        dt.date(2007, 12, 3),
        dt.datetime(2007, 12, 3, 10, 15, 30, 123000),
        dt.datetime(2007, 12, 3, 8, 15, 30, 987000, tzinfo=dt.timezone.utc),
        b"\x00\x01\xfe\xff",
        "<a>b</a>",
        'größe "quoted", comma\nnewline',
        {"a": [1, 2.5, None], "b": {"c": "ü"}},
        dt.time(15, 0),
        dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
    ]
    assert values[1] == [2, *([None] * (len(names) - 2)), dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)]


def test_nan_and_infinity_are_stored(dest: Dest) -> None:
    definition = table("f", [("id", "INT", True), ("x", "DOUBLE"), ("y", "FLOAT")])
    ok(dest.create(definition))
    ok(
        dest.write(
            definition, replace=[(["id", "x", "y"], [["1", "NaN", "Infinity"], ["2", "-Infinity", "1.5"]])]
        )
    )
    rows = dest.rows("f", ["id", "x", "y"])
    assert str(rows[0][1]).lower() == "nan" and str(rows[0][2]).lower() in ("infinity", "inf")
    assert str(rows[1][1]).lower() in ("-infinity", "-inf") and rows[1][2] == 1.5


@pytest.mark.usefixtures("both_paths")
def test_values_over_32k_bytes_fit_in_long_text_columns(dest: Dest) -> None:
    definition = table(
        "big", [("id", "INT", True), ("doc", "JSON"), ("blob", "BINARY"), ("text", "STRING", False, 131072)]
    )
    ok(dest.create(definition))
    doc = '{"k": "' + "x" * 70000 + '"}'
    blob = base64.b64encode(bytes(range(256)) * 200).decode()
    ok(dest.write(definition, replace=[(["id", "doc", "blob", "text"], [["1", doc, blob, "ü" * 40000]])]))
    assert dest.rows("big", ["doc", "blob", "text"]) == [[doc, blob, "ü" * 40000]]


def test_invalid_base64_is_kept_as_text_bytes(dest: Dest) -> None:
    definition = table("b", [("id", "INT", True), ("payload", "BINARY")])
    ok(dest.create(definition))
    ok(dest.write(definition, replace=[(["id", "payload"], [["1", "[B@7d4991ad"], ["2", "FFFA"]])]))
    stored = dest.rows("b", ["id", "payload"])
    assert base64.b64decode(stored[0][1]) == b"[B@7d4991ad" and stored[1][1] == "FFFA"


def test_bad_value_is_a_task_naming_file_row_and_column_but_not_the_value(dest: Dest) -> None:
    start(dest)
    response = dest.write(
        T,
        replace=[
            (NAMES, [["3", "ok", "1.00", SYNCED_2, "false"], ["4", "x", "secret-value", SYNCED_2, "false"]])
        ],
    )
    assert response.WhichOneof("response") == "task"
    message = response.task.message
    assert "row 2" in message and "'amount'" in message and ".csv" in message
    assert "secret-value" not in message


def test_rows_crate_rejects_fail_the_batch_naming_table_file_and_row(dest: Dest) -> None:
    definition = table("n", [("id", "INT", True), ("amount", "DECIMAL", False, (4, 2))])
    ok(dest.create(definition))
    response = dest.write(definition, replace=[(["id", "amount"], [["1", "12.34"], ["2", "12345.67"]])])
    assert response.WhichOneof("response") == "task"
    message = response.task.message
    assert "row 2" in message and f"{dest.schema}.n" in message
    assert "12345.67" not in message.split("error")[0]


def test_unknown_column_in_file_is_a_task(dest: Dest) -> None:
    start(dest)
    response = dest.write(T, replace=[(["id", "nope"], [["1", "x"]])])
    assert response.WhichOneof("response") == "task" and "nope" in response.task.message


def test_write_to_missing_table_is_a_task(dest: Dest) -> None:
    response = dest.write(T, replace=[(NAMES, [["1", "one", "1.50", SYNCED_1, "false"]])])
    assert response.WhichOneof("response") == "task" and dest.schema in response.task.message


@pytest.mark.parametrize(("compression", "encryption"), [("off", "none"), ("gzip", "aes"), ("zstd", "none")])
def test_file_encodings(dest: Dest, compression: Any, encryption: Any) -> None:
    dest.fmt = FileFormat(
        compression=compression,
        encryption=encryption,
        null_string=random_token("null"),
        unmodified_string=random_token("unmod"),
    )
    start(dest)
    assert [row[:2] for row in amounts(dest)] == [[1, "one"], [2, "two"]]


@pytest.mark.usefixtures("both_paths")
def test_small_chunks_still_write_every_row(dest: Dest) -> None:
    dest.configuration["batch_size_rows"] = "7"
    ok(dest.create(T))
    rows = [[str(i), f"n{i}", f"{i}.00", SYNCED_1, "false"] for i in range(100)]
    ok(dest.write(T, replace=[(NAMES, rows[:50]), (NAMES, rows[50:])]))
    U = UNMODIFIED
    updates = [
        [str(i), U if i % 3 else f"u{i}", U if i % 2 else "0.00", SYNCED_2, U if i % 5 else "true"]
        for i in range(100)
    ]
    ok(
        dest.write(
            T,
            update=[(NAMES, updates)],
            delete=[(NAMES, [[str(i), None, None, SYNCED_2, None] for i in range(90, 100)])],
        )
    )
    result = amounts(dest)
    assert len(result) == 90
    for i, row in enumerate(result):
        assert row[0] == i
        assert row[1] == (f"n{i}" if i % 3 else f"u{i}")
        assert row[2] == (f"{i}.00" if i % 2 else "0.00")
        assert row[4] is (i % 5 == 0)


def test_failure_in_a_later_chunk_then_replay_gives_the_contents_of_a_clean_write(dest: Dest) -> None:
    """Pipelined chunks: a bad cell in chunk 3 of the update file fails the batch after chunks 1-2 were
    applied; the corrected batch, replayed, ends exactly as if it had been written once."""
    dest.configuration["batch_size_rows"] = "7"
    ok(dest.create(T))
    base = [[str(i), f"n{i}", f"{i}.00", SYNCED_1, "false"] for i in range(60)]
    ok(dest.write(T, replace=[(NAMES, base)]))
    U = UNMODIFIED
    updates = [[str(i), f"u{i}" if i % 2 else U, U, SYNCED_2, U] for i in range(60)]
    batch = dict(
        replace=[(NAMES, [[str(i), f"r{i}", "1.00", SYNCED_2, "false"] for i in range(60, 80)])],
        update=[(NAMES, updates)],
        delete=[(NAMES, [[str(i), None, None, SYNCED_2, None] for i in range(0, 60, 4)])],
    )
    broken = [row[:] for row in updates]
    broken[16][2] = "not a number"  # file row 17: the third chunk of 7 rows
    response = dest.write(T, **{**batch, "update": [(NAMES, broken)]})
    assert response.WhichOneof("response") == "task"
    assert "row 17" in response.task.message and "'amount'" in response.task.message
    dest.http.run(f'REFRESH TABLE "{dest.schema}"."t"')  # a failed batch is not refreshed
    partial = amounts(dest)
    assert [row[1] for row in partial[:14]] == [f"u{i}" if i % 2 else f"n{i}" for i in range(14)]
    assert [row[1] for row in partial[14:21]] == [f"n{i}" for i in range(14, 21)]  # chunk 3 not sent
    ok(dest.write(T, **batch))
    replayed = amounts(dest)
    ok(dest.write(T, **batch))
    assert amounts(dest) == replayed
    assert len(replayed) == 80 - 15
    assert [row[1] for row in replayed if row[0] < 60] == [
        f"u{i}" if i % 2 else f"n{i}" for i in range(60) if i % 4
    ]


@pytest.mark.emulator_only
def test_bulk_requests_per_10000_rows(emulator_dest: Dest, emulator: Any) -> None:
    dest = emulator_dest
    ok(dest.create(T))
    n = 10_000
    emulator.reset_stats()
    ok(dest.write(T, replace=[(NAMES, [[str(i), f"n{i}", "1.00", SYNCED_1, "false"] for i in range(n)])]))
    replace_stats = emulator.stats()
    emulator.reset_stats()
    U = UNMODIFIED
    ok(dest.write(T, update=[(NAMES, [[str(i), f"u{i}" if i % 2 else U, U, SYNCED_2, U] for i in range(n)])]))
    update_stats = emulator.stats()
    emulator.reset_stats()
    ok(dest.write(T, delete=[(NAMES, [[str(i), None, None, SYNCED_2, None] for i in range(n)])]))
    delete_stats = emulator.stats()
    # one REFRESH per batch on top of the bulk requests
    assert replace_stats["statements"].get("INSERT", 0) <= 2
    assert update_stats["statements"].get("UPDATE", 0) <= 4
    assert delete_stats["statements"].get("DELETE", 0) <= 2
    assert replace_stats["bulk_rows"] == n and delete_stats["bulk_rows"] == n


@pytest.mark.emulator_only
def test_byte_budget_splits_chunks_without_losing_rows(emulator_dest: Dest, emulator: Any) -> None:
    """`batch_size_bytes` caps each bulk request: rows of ~400 characters go two per request under a
    1024-byte budget (chunks of 7 rows at most), and every row of every file kind arrives."""
    dest = emulator_dest
    dest.configuration.update(batch_size_rows="7", batch_size_bytes="1024")
    ok(dest.create(T))
    n = 30
    emulator.reset_stats()
    ok(
        dest.write(
            T,
            replace=[
                (NAMES, [[str(i), f"{i:03d}" + "n" * 400, "1.00", SYNCED_1, "false"] for i in range(n)])
            ],
        )
    )
    replace_stats = emulator.stats()
    U = UNMODIFIED
    ok(dest.write(T, update=[(NAMES, [[str(i), f"{i:03d}" + "u" * 400, U, SYNCED_2, U] for i in range(n)])]))
    result = amounts(dest)
    assert [row[0] for row in result] == list(range(n))
    assert [row[1][:4] for row in result] == [f"{i:03d}u" for i in range(n)]
    # The reader ends each chunk at the budget: 15 chunks of 2 rows (cutting 7-row chunks afterwards would
    # leave a 1-row request behind each: 17)
    assert replace_stats["statements"].get("INSERT", 0) == 15
    assert replace_stats["bulk_rows"] == n
