"""The destination against CrateDB's real answers: missing keys, whole-request rejections, NUMERIC rounding,
the server version. Each test runs unchanged against a real CrateDB (CRATEDB_URL); request counts need the
emulator's statistics.

CrateDB behaviours relied on (crate/crate):
- a bulk UPDATE/DELETE by primary key answers a missing key with rowcount -2 and code 40411, detailed for
  only 10 failures per shard
  (`RestSQLActionIntegrationTest.test_failing_delete_bulk_response_errors_are_truncated`);
- a bulk request with a parameter CrateDB cannot cast fails whole with HTTP 400
  (`RestSQLActionIntegrationTest.test_insert_with_failing_bulk_args_analysis_error`);
- NUMERIC(p, s) rounds a value to p significant digits, then to the scale (`io.crate.types.NumericType`);
- a bulk answer is compact JSON with `{"rowcount":1}` per row written
  (`RestSQLActionIntegrationTest.test_insert_with_failing_bulk_args_response_error_messages`).
"""

from __future__ import annotations

import socket
from typing import Any

import orjson
import pytest
from cratedb_destination.batch import UNMODIFIED
from cratedb_destination.client import CrateClient, every_row_one
from cratedb_destination.config import parse_configuration
from cratedb_destination.errors import TransientFailure
from destination_harness import SYNCED_1, SYNCED_2, Dest, ok
from destination_testkit import table

pytestmark = pytest.mark.cratedb

COLUMNS = [
    ("id", "INT", True),
    ("name", "STRING"),
    ("amount", "DECIMAL", False, (5, 2)),
    ("_fivetran_synced", "UTC_DATETIME"),
    ("_fivetran_deleted", "BOOLEAN"),
]
NAMES = [c[0] for c in COLUMNS]
T = table("t", COLUMNS)
MISSING = 25_000


def existing(dest: Dest) -> None:
    ok(dest.create(T))
    rows = [[str(i), f"n{i}", "1.00", SYNCED_1, "false"] for i in range(1, 6)]
    ok(dest.write(T, replace=[(NAMES, rows)]))


def contents(dest: Dest) -> list[list[Any]]:
    return dest.rows("t", ["id", "name", "_fivetran_deleted"])


def _missing_then_known(make: Any) -> list[list[Any]]:
    """25,000 keys the table never had, then the keys 1 and 2, which exist."""
    return [make(i) for i in range(1_000_000, 1_000_000 + MISSING)] + [make(1), make(2)]


def test_updates_soft_deletes_and_deletes_of_missing_keys_are_no_ops(dest: Dest) -> None:
    existing(dest)
    update = _missing_then_known(lambda i: [str(i), f"u{i}", "2.00", SYNCED_2, "false"])
    ok(dest.write(T, update=[(NAMES, update)]))
    assert contents(dest)[:3] == [[1, "u1", False], [2, "u2", False], [3, "n3", False]]
    # A soft delete is an update file that sets `_fivetran_deleted` and leaves the other cells unmodified.
    soft = _missing_then_known(lambda i: [str(i), UNMODIFIED, UNMODIFIED, SYNCED_2, "true"])
    ok(dest.write(T, update=[(NAMES, soft)]))
    expected = [[1, "u1", True], [2, "u2", True], [3, "n3", False], [4, "n4", False], [5, "n5", False]]
    assert contents(dest) == expected
    deletes = _missing_then_known(lambda i: [str(i), None, None, SYNCED_2, None])
    ok(dest.write(T, delete=[(NAMES, deletes)]))
    assert [row[0] for row in contents(dest)] == [3, 4, 5]


@pytest.mark.emulator_only
def test_missing_keys_cost_a_bounded_number_of_requests(emulator_dest: Dest, emulator: Any) -> None:
    """At most 4 HTTP requests per 10,000 rows, whatever share of the keys is missing (3 chunks here)."""
    existing(emulator_dest)
    files = [
        ("update", _missing_then_known(lambda i: [str(i), f"u{i}", "2.00", SYNCED_2, "false"])),
        ("update", _missing_then_known(lambda i: [str(i), UNMODIFIED, UNMODIFIED, SYNCED_2, "true"])),
        ("delete", _missing_then_known(lambda i: [str(i), None, None, SYNCED_2, None])),
    ]
    chunks = -(-(MISSING + 2) // 10_000)
    for kind, rows in files:
        emulator.reset_stats()
        ok(emulator_dest.write(T, **{kind: [(NAMES, rows)]}))
        stats = emulator.stats()
        # Per chunk: the bulk request, a REFRESH and one lookup of the keys CrateDB answered without
        # details (a bare -2 after 10 errors per shard); then the final REFRESH and the metadata read.
        assert stats["row_errors"] >= MISSING, (kind, stats)  # CrateDB really answered -2 for them
        assert stats["query_jobs"] <= chunks + 1, (kind, stats)
        assert stats["sql_requests"] <= 4 * chunks + 2, (kind, stats)
    assert [row[0] for row in contents(emulator_dest)] == [3, 4, 5]


def test_decimals_are_rounded_once_to_the_scale_and_overflow_is_a_task(dest: Dest) -> None:
    existing(dest)
    ok(dest.write(T, replace=[(NAMES, [["7", "x", "1.23499", SYNCED_2, "false"]])]))
    stored = dest.http.run(f'SELECT CAST("amount" AS TEXT) FROM "{dest.schema}"."t" WHERE "id" = 7').rows
    assert stored == [["1.23"]]
    rows = [["8", "y", "1.00", SYNCED_2, "false"], ["9", "z", "999.999", SYNCED_2, "false"]]
    response = dest.write(T, replace=[(NAMES, rows)])
    message = response.task.message
    assert "row 2" in message and "'amount'" in message and "DECIMAL(5,2)" in message, message
    assert "999.999" not in message


def test_a_value_crate_cannot_cast_is_named_by_row_and_column_and_never_shown(dest: Dest) -> None:
    """The table was recreated outside Fivetran with `name` as INTEGER: CrateDB refuses the whole bulk
    request and quotes the value; the Task names file row and column instead."""
    existing(dest)
    ident = f'"{dest.schema}"."t"'
    dest.http.run(f"DROP TABLE {ident}")
    dest.http.run(
        f'CREATE TABLE {ident} ("id" INTEGER PRIMARY KEY, "name" INTEGER, "amount" NUMERIC(5, 2), '
        '"_fivetran_synced" TIMESTAMP WITH TIME ZONE, "_fivetran_deleted" BOOLEAN)'
    )
    rows = [["1", "12", "1.00", SYNCED_2, "false"], ["2", "secret-abc", "1.00", SYNCED_2, "false"]]
    response = dest.write(T, replace=[(NAMES, rows)])
    message = response.task.message
    assert "row 2" in message and "'name'" in message, message
    assert "secret-abc" not in message


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.emulator_only
def test_the_server_version_is_not_cached_while_unknown() -> None:
    """A cluster that is down at first connect must not leave the client believing in version 0.0.0."""
    from cratedb_emulator import Emulator

    port = _free_port()
    settings = parse_configuration(
        {"url": f"http://127.0.0.1:{port}", "max_retries": "1", "retry_seconds": "1"}
    )
    client = CrateClient(settings, sleep=lambda _: None)
    try:
        with pytest.raises(TransientFailure):
            client.check_server_version()
        with Emulator(host="127.0.0.1", port=port, version="6.4.3"):
            assert client.check_server_version() == (6, 4, 3)
    finally:
        client.close()


@pytest.mark.emulator_only
def test_missing_float_keys_are_settled_in_groups_that_carry_their_codes(
    emulator_dest: Dest, emulator: Any
) -> None:
    """Keys CrateDB cannot match exactly against an array (DOUBLE) are re-sent in groups of 10 rows, few
    enough for CrateDB to detail every failure, instead of being looked up."""
    floats = table("f", [("k", "DOUBLE", True), ("v", "STRING"), ("_fivetran_synced", "UTC_DATETIME")])
    ok(emulator_dest.create(floats))
    names = ["k", "v", "_fivetran_synced"]
    ok(emulator_dest.write(floats, replace=[(names, [["0.5", "kept", SYNCED_1]])]))
    emulator.reset_stats()
    missing = [[f"{i}.25", None, SYNCED_2] for i in range(40)]
    ok(emulator_dest.write(floats, delete=[(names, missing)]))
    stats = emulator.stats()
    # The first answer left rows without details; re-sent in groups, each failed again with its code.
    assert stats["row_errors"] > 40, stats
    assert stats["query_jobs"] == 0, stats  # no lookup
    assert emulator_dest.rows("f", ["k", "v"]) == [[0.5, "kept"]]


def test_a_bulk_answer_of_rows_written_is_recognised_unparsed(cratedb_url: str, unique_schema: str) -> None:
    """The writers read an all-succeeded bulk answer by counting (`client.every_row_one`); CrateDB's real
    answer must be one it recognises, and an answer with a failed row must not be."""
    from crate.client import connect

    connection = connect(cratedb_url)
    try:
        http = connection.client
        table = f'"{unique_schema}"."answers"'

        def post(body: dict[str, Any]) -> bytes:
            response = http._request("POST", http.path, data=orjson.dumps(body))
            assert response.status == 200, response.data
            return bytes(response.data)

        post({"stmt": f"CREATE TABLE {table} (id INT PRIMARY KEY, v TEXT)"})
        insert = f"INSERT INTO {table} (id, v) VALUES (?, ?)"
        written = post({"stmt": insert, "bulk_args": [[1, "a"], [2, "b"]]})
        assert every_row_one(written, 2), written
        duplicate = post({"stmt": insert, "bulk_args": [[3, "c"], [1, "d"]]})
        assert not every_row_one(duplicate, 2)
        assert [item["rowcount"] for item in orjson.loads(duplicate)["results"]] == [1, -2]
        post({"stmt": f"DROP TABLE {table}"})
    finally:
        connection.close()
