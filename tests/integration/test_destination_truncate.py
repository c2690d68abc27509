"""Truncate and the operations-on-missing-records scenarios of the destination tester (SDK tester input
operations_on_nonexistent_records/)."""

from __future__ import annotations

import datetime as dt

import pytest
from cratedb_destination.batch import UNMODIFIED
from destination_harness import Dest, ok
from destination_testkit import table

pytestmark = pytest.mark.cratedb

UTC = dt.timezone.utc
COLUMNS = [
    ("id", "INT", True),
    ("name", "STRING"),
    ("_fivetran_synced", "UTC_DATETIME"),
    ("_fivetran_deleted", "BOOLEAN"),
]
NAMES = [c[0] for c in COLUMNS]
T = table("t", COLUMNS)
HISTORY = table(
    "h",
    [
        ("id", "INT", True),
        ("name", "STRING"),
        ("_fivetran_start", "UTC_DATETIME", True),
        ("_fivetran_end", "UTC_DATETIME"),
        ("_fivetran_active", "BOOLEAN"),
        ("_fivetran_synced", "UTC_DATETIME"),
    ],
)

BEFORE = "2024-01-01T10:00:00.000Z"
CUTOFF = dt.datetime(2024, 1, 1, 10, 0, 0, 500000, tzinfo=UTC)
EDGE = "2024-01-01T10:00:00.500Z"  # synced exactly at the cutoff: not before it
AFTER = "2024-01-01T10:00:01.000Z"


def seed(dest: Dest) -> None:
    ok(dest.create(T))
    rows = [["1", "old", BEFORE, "false"], ["2", "edge", EDGE, "false"], ["3", "new", AFTER, "false"]]
    ok(dest.write(T, replace=[(NAMES, rows)]))


def test_hard_truncate_deletes_only_rows_synced_before_the_cutoff(dest: Dest) -> None:
    seed(dest)
    ok(dest.truncate("t", CUTOFF))
    assert dest.rows("t", ["id", "name"]) == [[2, "edge"], [3, "new"]]
    ok(dest.truncate("t", CUTOFF))  # replay
    assert dest.rows("t", ["id"]) == [[2], [3]]


def test_soft_truncate_flags_rows_synced_before_the_cutoff(dest: Dest) -> None:
    seed(dest)
    ok(dest.truncate("t", CUTOFF, soft=True))
    assert dest.rows("t", ["id", "_fivetran_deleted"]) == [[1, True], [2, False], [3, False]]
    ok(dest.truncate("t", CUTOFF, soft=True))
    assert dest.rows("t", ["id", "_fivetran_deleted"]) == [[1, True], [2, False], [3, False]]


def test_truncate_sees_rows_written_just_before(dest: Dest) -> None:
    """Upsert id1, truncate, upsert id2/id3 (tester scenario): only id2 and id3 remain."""
    ok(dest.create(T))
    ok(dest.write(T, replace=[(NAMES, [["1", "a", BEFORE, "false"]])]))
    ok(dest.truncate("t", CUTOFF))
    ok(dest.write(T, replace=[(NAMES, [["2", "b", AFTER, "false"], ["3", "c", AFTER, "false"]])]))
    assert dest.rows("t", ["id"]) == [[2], [3]]


@pytest.mark.parametrize("soft", [False, True])
def test_truncate_of_a_missing_table_succeeds_and_it_stays_not_found(dest: Dest, soft: bool) -> None:
    ok(dest.truncate("missing", CUTOFF, soft=soft))
    response = dest.describe("missing")
    assert response.WhichOneof("response") == "not_found"
    assert dest.tables() == []


@pytest.mark.parametrize("operation", ["update", "delete", "soft_delete"])
def test_truncate_then_operate_on_the_same_keys_is_ignored(dest: Dest, operation: str) -> None:
    ok(dest.create(T))
    ok(dest.write(T, replace=[(NAMES, [["1", "a", BEFORE, "false"], ["2", "b", BEFORE, "false"]])]))
    ok(dest.truncate("t", CUTOFF))
    if operation == "update":
        ok(dest.write(T, update=[(NAMES, [["1", "changed", AFTER, UNMODIFIED]])]))
    elif operation == "delete":
        ok(dest.write(T, delete=[(NAMES, [["1", None, AFTER, None], ["2", None, AFTER, None]])]))
    else:
        ok(dest.write(T, update=[(NAMES, [["2", UNMODIFIED, AFTER, "true"]])]))
    assert dest.rows("t", ["id"]) == []
    assert dest.describe("t").WhichOneof("response") == "table"


@pytest.mark.parametrize("operation", ["delete", "soft_delete"])
def test_soft_truncate_then_operate_on_the_same_keys(dest: Dest, operation: str) -> None:
    ok(dest.create(T))
    ok(dest.write(T, replace=[(NAMES, [["1", "a", BEFORE, "false"]])]))
    ok(dest.truncate("t", CUTOFF, soft=True))
    if operation == "delete":
        ok(dest.write(T, delete=[(NAMES, [["1", None, AFTER, None]])]))
        assert dest.rows("t", ["id"]) == []
    else:
        ok(dest.write(T, update=[(NAMES, [["1", UNMODIFIED, AFTER, "true"]])]))
        assert dest.rows("t", ["id", "_fivetran_deleted"]) == [[1, True]]


def test_hard_truncate_of_a_history_table(dest: Dest) -> None:
    names = [c.name for c in HISTORY.columns]
    ok(dest.create(HISTORY))
    rows = [
        ["1", "a", BEFORE, "9999-12-31T23:59:59.999Z", "true", BEFORE],
        ["2", "b", AFTER, "9999-12-31T23:59:59.999Z", "true", AFTER],
    ]
    ok(dest.write(HISTORY, replace=[(names, rows)]))
    ok(dest.truncate("h", CUTOFF))
    assert dest.rows("h", ["id"]) == [[2]]


def test_soft_truncate_without_the_deleted_column_warns_and_changes_nothing(dest: Dest) -> None:
    names = [c.name for c in HISTORY.columns]
    ok(dest.create(HISTORY))
    ok(
        dest.write(
            HISTORY, replace=[(names, [["1", "a", BEFORE, "9999-12-31T23:59:59.999Z", "true", BEFORE]])]
        )
    )
    response = dest.truncate("h", CUTOFF, soft=True)
    assert response.WhichOneof("response") == "warning"
    assert "_fivetran_deleted" in response.warning.message
    assert dest.rows("h", ["id", "_fivetran_active"]) == [[1, True]]


def test_truncate_with_an_unknown_synced_column_is_a_task(dest: Dest) -> None:
    seed(dest)
    response = dest.truncate("t", CUTOFF, synced="no_such_column")
    assert response.WhichOneof("response") == "task" and "no_such_column" in response.task.message
    assert len(dest.rows("t", ["id"])) == 3


def test_extreme_cutoffs(dest: Dest) -> None:
    seed(dest)
    ok(dest.truncate("t", dt.datetime(1900, 1, 1, tzinfo=UTC)))
    assert len(dest.rows("t", ["id"])) == 3
    ok(dest.truncate("t", dt.datetime(2299, 12, 31, tzinfo=UTC)))
    assert dest.rows("t", ["id"]) == []


def test_truncate_refreshes_before_its_non_key_delete(dest: Dest) -> None:
    """Rows written by someone else and not yet refreshed must still be truncated."""
    ok(dest.create(T))
    dest.http.run(
        f'INSERT INTO "{dest.schema}"."t" ("id", "name", "_fivetran_synced") VALUES (?, ?, ?)',
        bulk_args=[[1, "a", BEFORE], [2, "b", AFTER]],
    )
    ok(dest.truncate("t", CUTOFF))
    assert dest.rows("t", ["id"]) == [[2]]
