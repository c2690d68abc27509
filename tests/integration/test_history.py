"""WriteHistoryBatch through a real gRPC client: the four file kinds, the worked example of the history-mode
guide, file-order robustness, missing records, truncate, replays and bulk request counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from crate_http import ident
from cratedb_destination.batch import UNMODIFIED
from destination_harness import Dest, ok
from destination_testkit import table

pytestmark = pytest.mark.cratedb

SYSTEM = [
    ("_fivetran_synced", "UTC_DATETIME"),
    ("_fivetran_start", "UTC_DATETIME", True),
    ("_fivetran_end", "UTC_DATETIME"),
    ("_fivetran_active", "BOOLEAN"),
]
GUIDE = table("guide", [("id", "INT", True), ("name", "STRING"), ("qty", "INT"), *SYSTEM])
ALL = ["id", "name", "qty", "_fivetran_synced", "_fivetran_start", "_fivetran_end", "_fivetran_active"]
KEYS = ["id", "_fivetran_start"]

TMAX = "9999-12-31T23:59:59.999Z"
TMAX_MS = 253402300799999
SYNC_1, SYNC_2 = "2024-02-01T00:00:00.000Z", "2024-02-02T00:00:00.000Z"
SYNC_1_MS, SYNC_2_MS = 1706745600000, 1706832000000
DAY = 86_400_000
T2, T3, T4, T5 = (f"2024-01-0{day}T00:00:00.000Z" for day in (2, 3, 4, 5))
T2_MS, T3_MS, T4_MS, T5_MS = (1704067200000 + (day - 1) * DAY for day in (2, 3, 4, 5))


def contents(
    dest: Dest, name: str = "guide", columns: Sequence[str] = ALL, order: Sequence[str] = KEYS
) -> list[list[Any]]:
    return dest.rows(name, columns, order)


def guide_start(dest: Dest) -> None:
    """The guide's destination rows: (1, pqr, 2, T2) and (2, mno, 3, T2), both active."""
    ok(dest.create(GUIDE))
    ok(
        dest.write_history(
            GUIDE,
            earliest=[(KEYS, [["1", T2], ["2", T2]])],
            replace=[
                (
                    ALL,
                    [
                        ["1", "pqr", "2", SYNC_1, T2, TMAX, "true"],
                        ["2", "mno", "3", SYNC_1, T2, TMAX, "true"],
                    ],
                )
            ],
        )
    )


GUIDE_UPDATE = dict(
    earliest=[(KEYS, [["1", T3], ["2", T4]])],
    update=[
        (
            ALL,
            [
                ["1", "xyz", UNMODIFIED, SYNC_2, T3, "2024-01-04T23:59:59.999Z", "false"],
                ["1", "def", UNMODIFIED, SYNC_2, T5, TMAX, "true"],
                ["2", UNMODIFIED, "1000", SYNC_2, T4, TMAX, "true"],
            ],
        )
    ],
)
GUIDE_RESULT = [
    [1, "pqr", 2, SYNC_1_MS, T2_MS, T3_MS - 1, False],
    [1, "xyz", 2, SYNC_2_MS, T3_MS, T5_MS - 1, False],
    [1, "def", 2, SYNC_2_MS, T5_MS, TMAX_MS, True],
    [2, "mno", 3, SYNC_1_MS, T2_MS, T4_MS - 1, False],
    [2, "mno", 1000, SYNC_2_MS, T4_MS, TMAX_MS, True],
]


def test_worked_example_of_the_history_mode_guide(dest: Dest) -> None:
    guide_start(dest)
    ok(dest.write_history(GUIDE, **GUIDE_UPDATE))
    assert contents(dest) == GUIDE_RESULT


def test_worked_example_replayed_twice_is_identical(dest: Dest) -> None:
    guide_start(dest)
    ok(dest.write_history(GUIDE, **GUIDE_UPDATE))
    ok(dest.write_history(GUIDE, **GUIDE_UPDATE))
    ok(dest.write_history(GUIDE, **GUIDE_UPDATE))
    assert contents(dest) == GUIDE_RESULT


def test_update_rows_are_completed_in_start_order_whatever_the_file_order(dest: Dest) -> None:
    guide_start(dest)
    ((columns, rows),) = GUIDE_UPDATE["update"]
    ok(dest.write_history(GUIDE, earliest=GUIDE_UPDATE["earliest"], update=[(columns, list(reversed(rows)))]))
    assert contents(dest) == GUIDE_RESULT


def test_update_rows_split_over_files_and_chunks(dest: Dest) -> None:
    """Each row in its own file, one row per bulk chunk: later chunks see what earlier ones wrote."""
    dest.configuration["batch_size_rows"] = "1"
    guide_start(dest)
    ((columns, rows),) = GUIDE_UPDATE["update"]
    ok(
        dest.write_history(
            GUIDE, earliest=GUIDE_UPDATE["earliest"], update=[(columns, [row]) for row in rows]
        )
    )
    assert contents(dest) == GUIDE_RESULT


def test_update_completes_from_a_version_of_the_same_batch(dest: Dest) -> None:
    """A record first seen in this batch: its replace-file version is the previous version of its update."""
    guide_start(dest)
    ok(
        dest.write_history(
            GUIDE,
            earliest=[(KEYS, [["3", T3]])],
            replace=[(ALL, [["3", "new", "7", SYNC_2, T3, "2024-01-03T23:59:59.999Z", "false"]])],
            update=[(ALL, [["3", UNMODIFIED, "8", SYNC_2, T4, TMAX, "true"]])],
        )
    )
    assert contents(dest)[-2:] == [
        [3, "new", 7, SYNC_2_MS, T3_MS, T4_MS - 1, False],
        [3, "new", 8, SYNC_2_MS, T4_MS, TMAX_MS, True],
    ]


def test_update_of_a_missing_record_is_ignored(dest: Dest) -> None:
    guide_start(dest)
    ok(
        dest.write_history(
            GUIDE,
            earliest=[(KEYS, [["9", T3]])],
            update=[(ALL, [["9", "ghost", UNMODIFIED, SYNC_2, T3, TMAX, "true"]])],
        )
    )
    assert [row[0] for row in contents(dest)] == [1, 2]


def test_delete_closes_the_active_version_and_keeps_synced(dest: Dest) -> None:
    guide_start(dest)
    delete = [
        (ALL, [["1", None, None, SYNC_2, None, T4, "false"], ["7", None, None, SYNC_2, None, T4, "false"]])
    ]
    ok(dest.write_history(GUIDE, delete=delete))
    expected = [
        [1, "pqr", 2, SYNC_1_MS, T2_MS, T4_MS, False],
        [2, "mno", 3, SYNC_1_MS, T2_MS, TMAX_MS, True],
    ]
    assert contents(dest) == expected
    # A record without an active version: nothing to close, so a replay changes nothing.
    ok(dest.write_history(GUIDE, delete=delete))
    ok(dest.write_history(GUIDE, delete=[(["id", "_fivetran_end"], [["1", T5]])]))
    assert contents(dest) == expected


def test_earliest_start_replaces_versions_of_a_replayed_upsert(dest: Dest) -> None:
    guide_start(dest)
    batch = dict(
        earliest=[(KEYS, [["1", T3]])],
        replace=[
            (
                ALL,
                [
                    ["1", "v3", "3", SYNC_2, T3, "2024-01-03T23:59:59.999Z", "false"],
                    ["1", "v4", "4", SYNC_2, T4, TMAX, "true"],
                ],
            )
        ],
    )
    ok(dest.write_history(GUIDE, **batch))
    first = contents(dest)
    assert first[:3] == [
        [1, "pqr", 2, SYNC_1_MS, T2_MS, T3_MS - 1, False],
        [1, "v3", 3, SYNC_2_MS, T3_MS, T4_MS - 1, False],
        [1, "v4", 4, SYNC_2_MS, T4_MS, TMAX_MS, True],
    ]
    ok(dest.write_history(GUIDE, **batch))
    ok(dest.write_history(GUIDE, **batch))
    assert contents(dest) == first
    # A later batch starting earlier than versions in the table removes them (they overlap the batch).
    # Step 1b closes only an active version: "v3" was closed already and keeps its end (SDK history guide).
    ok(
        dest.write_history(
            GUIDE,
            earliest=[(KEYS, [["1", "2024-01-03T12:00:00.000Z"]])],
            replace=[(ALL, [["1", "v3b", "5", SYNC_2, "2024-01-03T12:00:00.000Z", TMAX, "true"]])],
        )
    )
    assert contents(dest)[:3] == [
        [1, "pqr", 2, SYNC_1_MS, T2_MS, T3_MS - 1, False],
        [1, "v3", 3, SYNC_2_MS, T3_MS, T4_MS - 1, False],
        [1, "v3b", 5, SYNC_2_MS, T3_MS + DAY // 2, TMAX_MS, True],
    ]


@pytest.mark.parametrize(
    "batch",
    [
        pytest.param(GUIDE_UPDATE, id="earliest+update"),
        pytest.param(
            dict(
                earliest=[(KEYS, [["2", T3]])],
                replace=[(ALL, [["2", "full", "5", SYNC_2, T3, TMAX, "true"]])],
                delete=[(ALL, [["1", None, None, SYNC_2, None, T3, "false"]])],
            ),
            id="earliest+replace+delete",
        ),
        pytest.param(dict(delete=[(["id", "_fivetran_end"], [["2", T5]])]), id="delete only"),
    ],
)
def test_each_batch_kind_replayed_twice_is_identical(dest: Dest, batch: dict[str, Any]) -> None:
    guide_start(dest)
    ok(dest.write_history(GUIDE, **batch))
    first = contents(dest)
    ok(dest.write_history(GUIDE, **batch))
    ok(dest.write_history(GUIDE, **batch))
    assert contents(dest) == first


def test_truncate_then_update_and_delete_of_a_history_table(dest: Dest) -> None:
    """Operations on nonexistent records (tester scenarios): after a hard truncate, the update and delete of
    the truncated records are ignored; new versions still arrive."""
    import datetime as dt

    guide_start(dest)
    ok(dest.truncate("guide", dt.datetime(2024, 2, 1, 12, tzinfo=dt.timezone.utc)))
    assert contents(dest) == []
    ok(
        dest.write_history(
            GUIDE,
            earliest=[(KEYS, [["1", T3], ["3", T3]])],
            update=[(ALL, [["1", "ignored", UNMODIFIED, SYNC_2, T3, TMAX, "true"]])],
            replace=[(ALL, [["3", "after", "1", SYNC_2, T3, TMAX, "true"]])],
            delete=[(ALL, [["2", None, None, SYNC_2, None, T3, "false"]])],
        )
    )
    assert contents(dest) == [[3, "after", 1, SYNC_2_MS, T3_MS, TMAX_MS, True]]


def test_truncate_of_a_missing_history_table_succeeds(dest: Dest) -> None:
    import datetime as dt

    ok(dest.truncate("guide", dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc)))
    assert dest.describe("guide").not_found


TYPED = table(
    "typed",
    [
        ("region", "STRING", True),
        ("day", "NAIVE_DATE", True),
        ("amount", "DECIMAL", False, (38, 10)),
        ("ratio", "FLOAT"),
        ("big", "LONG"),
        ("seen", "NAIVE_DATETIME"),
        ("at", "UTC_DATETIME"),
        ("doc", "JSON"),
        ("blob", "BINARY"),
        ("note", "STRING"),
        *SYSTEM,
    ],
)
TYPED_COLUMNS = [c.name for c in TYPED.columns]
TYPED_KEYS = ["region", "day", "_fivetran_start"]


def test_unmodified_values_of_every_kind_are_carried_over_exactly(dest: Dest) -> None:
    """Composite key with a date; previous values (decimal digits, 32-bit float, extreme long, naive and
    UTC timestamps, JSON, binary) are copied into the new version without loss."""
    ok(dest.create(TYPED))
    first = ["eu", "2024-01-01", "1234567890123456789012345678.0123456789", "0.1", "-9223372036854775808",
             "1900-01-01T00:00:00", "2299-12-31T23:59:59.999Z", '{"a": [1, 2]}', "AAEC", "n1",
             SYNC_1, T2, TMAX, "true"]  # fmt: skip
    ok(
        dest.write_history(
            TYPED,
            earliest=[(TYPED_KEYS, [["eu", "2024-01-01", T2]])],
            replace=[(TYPED_COLUMNS, [first])],
        )
    )
    second = ["eu", "2024-01-01", *[UNMODIFIED] * 7, "n2", SYNC_2, T3, TMAX, "true"]
    batch = dict(earliest=[(TYPED_KEYS, [["eu", "2024-01-01", T3]])], update=[(TYPED_COLUMNS, [second])])
    ok(dest.write_history(TYPED, **batch))
    ok(dest.write_history(TYPED, **batch))
    read = ["region", "day", "amount::TEXT", "ratio", "big", "seen", "at", "doc", "blob", "note",
            "_fivetran_start", "_fivetran_end", "_fivetran_active"]  # fmt: skip
    dest.http.refresh(ident(dest.schema, "typed"))
    rows = dest.http.run(
        "SELECT "
        + ", ".join(r if "::" in r else ident(r) for r in read).replace(
            "amount::TEXT", 'CAST("amount" AS TEXT)'
        )
        + f" FROM {ident(dest.schema, 'typed')} ORDER BY {ident('_fivetran_start')}"
    ).rows
    assert len(rows) == 2
    old, new = rows
    assert old[:10] == [*new[:9], "n1"]
    assert new[2] == "1234567890123456789012345678.0123456789"
    assert new[3] == pytest.approx(0.1, rel=1e-6) and new[4] == -9223372036854775808
    assert new[5] == -2208988800000 and new[6] == 10413791999999
    assert new[7] == '{"a": [1, 2]}' and new[8] == "AAEC" and new[9] == "n2"
    assert old[10:] == [T2_MS, T3_MS - 1, False] and new[10:] == [T3_MS, TMAX_MS, True]


KEYLESS = table(
    "keyless",
    [("v", "STRING"), ("_fivetran_id", "STRING", True), *SYSTEM],
)


def test_keyless_table_uses_fivetran_id_as_record_key(dest: Dest) -> None:
    ok(dest.create(KEYLESS))
    columns = [
        "v",
        "_fivetran_id",
        "_fivetran_synced",
        "_fivetran_start",
        "_fivetran_end",
        "_fivetran_active",
    ]
    id_keys = ["_fivetran_id", "_fivetran_start"]
    ok(
        dest.write_history(
            KEYLESS,
            earliest=[(id_keys, [["k1", T2]])],
            replace=[(columns, [["a", "k1", SYNC_1, T2, TMAX, "true"]])],
        )
    )
    ok(
        dest.write_history(
            KEYLESS,
            earliest=[(id_keys, [["k1", T3]])],
            update=[(columns, [["b", "k1", SYNC_2, T3, TMAX, "true"]])],
        )
    )
    ok(dest.write_history(KEYLESS, delete=[(columns, [[None, "k1", SYNC_2, None, T4, "false"]])]))
    assert contents(
        dest,
        "keyless",
        ["_fivetran_id", "v", "_fivetran_start", "_fivetran_end", "_fivetran_active"],
        id_keys,
    ) == [
        ["k1", "a", T2_MS, T3_MS - 1, False],
        ["k1", "b", T3_MS, T4_MS, False],
    ]


def test_bad_input_is_a_task_naming_the_file_or_table(dest: Dest) -> None:
    guide_start(dest)
    response = dest.write_history(GUIDE, update=[(["id", "name"], [["1", "x"]])])
    assert response.WhichOneof("response") == "task"
    assert "update file" in response.task.message and "_fivetran_start" in response.task.message
    response = dest.write_history(GUIDE, delete=[(["id"], [["1"]])])
    assert "delete file" in response.task.message and "_fivetran_end" in response.task.message
    response = dest.write_history(GUIDE, earliest=[(KEYS, [["1", None]])])
    assert "earliest_start file" in response.task.message and "row 1" in response.task.message
    live = table("live", [("id", "INT", True), ("_fivetran_synced", "UTC_DATETIME")])
    ok(dest.create(live))
    response = dest.write_history(live, replace=[(["id", "_fivetran_synced"], [["1", SYNC_1]])])
    assert "not a history-mode table" in response.task.message
    # The server keeps serving.
    ok(dest.write_history(GUIDE, **GUIDE_UPDATE))


@pytest.mark.emulator_only
def test_history_batches_are_bulk(emulator_dest: Dest, emulator: Any) -> None:
    """A batch of 300 records costs a handful of requests per file kind, not one per row."""
    guide_start(emulator_dest)
    ids = [str(n) for n in range(3, 303)]
    ok(
        emulator_dest.write_history(
            GUIDE,
            earliest=[(KEYS, [[i, T3] for i in ids])],
            replace=[(ALL, [[i, "r", "1", SYNC_2, T3, "2024-01-03T23:59:59.999Z", "false"] for i in ids])],
        )
    )
    emulator.reset_stats()
    ok(
        emulator_dest.write_history(
            GUIDE,
            earliest=[(KEYS, [[i, T4] for i in ids])],
            update=[(ALL, [[i, UNMODIFIED, "2", SYNC_2, T4, TMAX, "true"] for i in ids])],
            delete=[(ALL, [[i, None, None, SYNC_2, None, T5, "false"] for i in ids])],
        )
    )
    stats = emulator.stats()
    # earliest_start: refresh, one lookup of the versions to drop or close (none here: the records'
    # versions start before T4 and are inactive); update: refresh, 2 lookups, upsert; delete: refresh,
    # one lookup of the active versions, close by full key; final refresh.
    assert stats["http_requests"] <= 15, stats
    assert stats["bulk_rows"] == 2 * 300, stats
    # One query job per lookup (earliest_start 1, update 2, delete 1), not one per bulk row of a by-query
    # UPDATE/DELETE (CrateDB source UpdatePlanner.java / DeletePlanner.java run such a plan per bulk row).
    assert stats["query_jobs"] <= 4, stats
    rows = contents(emulator_dest)
    assert len(rows) == 2 + 2 * 300
    assert rows[-1] == [302, "r", 2, SYNC_2_MS, T4_MS, T5_MS, False]


@pytest.mark.emulator_only
def test_failed_rows_are_a_task_and_transient_failures_are_retried(
    emulator_dest: Dest, emulator: Any
) -> None:
    guide_start(emulator_dest)
    emulator.faults.bulk_row_failure(
        row_share=1.0,
        statements=["UPDATE"],
        times=1,
        error_code=4000,
        error_message="rejected for the test",
    )
    response = emulator_dest.write_history(
        GUIDE, delete=[(ALL, [["1", None, None, SYNC_2, None, T4, "false"]])]
    )
    assert response.WhichOneof("response") == "task"
    assert "delete file" in response.task.message and "row 1" in response.task.message
    emulator.faults.clear()
    emulator.faults.http_503(statements=["UPDATE", "DELETE", "SELECT", "INSERT"], probability=0.3)
    ok(emulator_dest.write_history(GUIDE, **GUIDE_UPDATE))
    emulator.faults.clear()
    assert contents(emulator_dest) == GUIDE_RESULT
