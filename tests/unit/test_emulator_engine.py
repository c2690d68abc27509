"""The emulator's SQL engine in-process (no HTTP): DML semantics, DDL rules, translation, result shapes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from cratedb_emulator import CrateError
from cratedb_emulator.engine import Engine, Outcome, Session
from cratedb_emulator.results import dumps


@pytest.fixture()
def engine() -> Iterator[Engine]:
    instance = Engine()
    yield instance
    instance.close()


def run(engine: Engine, stmt: str, args: list[Any] | None = None, session: Session | None = None) -> Outcome:
    return engine.execute(session or Session(), stmt, args)


def bulk(engine: Engine, stmt: str, rows: list[list[Any]]) -> list[dict[str, Any]]:
    outcome = engine.execute(Session(), stmt, None, rows)
    assert outcome.results is not None
    return outcome.results


def rows(engine: Engine, stmt: str, args: list[Any] | None = None) -> list[Any]:
    """Rows as the client sees them (JSON round trip)."""
    return orjson.loads(dumps(run(engine, stmt, args).rows))


def error_of(engine: Engine, stmt: str, args: list[Any] | None = None) -> CrateError:
    with pytest.raises(CrateError) as caught:
        run(engine, stmt, args)
    return caught.value


def kv(engine: Engine, extra: str = "") -> None:
    run(engine, f"CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT{extra})")


# ---- INSERT semantics ------------------------------------------------------------------------------------
def test_bulk_insert_reports_duplicates_inside_and_across_requests(engine: Engine) -> None:
    kv(engine)
    assert [r["rowcount"] for r in bulk(engine, "INSERT INTO t (id, v) VALUES (?, ?)", [[1, "a"]])] == [1]
    results = bulk(engine, "INSERT INTO t (id, v) VALUES (?, ?)", [[1, "x"], [2, "b"], [2, "c"]])
    assert [r["rowcount"] for r in results] == [-2, 1, -2]
    assert results[0]["error"]["code"] == 4091 and "DuplicateKeyException" in results[0]["error"]["message"]
    run(engine, "REFRESH TABLE t")
    assert rows(engine, "SELECT id, v FROM t ORDER BY id") == [[1, "a"], [2, "b"]]


def test_upsert_rows_repeating_a_key_apply_in_order(engine: Engine) -> None:
    run(engine, "CREATE TABLE t (id INTEGER PRIMARY KEY, visits INTEGER, latest TEXT)")
    stmt = (
        "INSERT INTO t (id, visits, latest) VALUES (?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET visits = visits + excluded.visits, latest = excluded.latest"
    )
    results = bulk(engine, stmt, [[1, 1, "a"], [1, 2, "b"], [2, 5, "c"], [1, 4, "d"]])
    assert [r["rowcount"] for r in results] == [1, 1, 1, 1]
    assert rows(engine, "SELECT visits, latest FROM t WHERE id = 1") == [[7, "d"]]


def test_on_conflict_do_nothing_counts_zero(engine: Engine) -> None:
    kv(engine)
    run(engine, "INSERT INTO t (id, v) VALUES (1, 'old')")
    results = bulk(
        engine, "INSERT INTO t (id, v) VALUES (?, ?) ON CONFLICT DO NOTHING", [[1, "new"], [2, "b"]]
    )
    assert [r["rowcount"] for r in results] == [0, 1]
    assert rows(engine, "SELECT v FROM t WHERE id = 1") == [["old"]]


def test_on_conflict_rules(engine: Engine) -> None:
    kv(engine)
    assert (
        "Updating a primary key is not supported"
        in error_of(
            engine, "INSERT INTO t (id, v) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET id = 2"
        ).message
    )
    assert (
        error_of(engine, "INSERT INTO t (id, v) VALUES (1, 'a') ON CONFLICT (v) DO UPDATE SET v = 'b'").code
        == 4000
    )
    assert (
        error_of(
            engine,
            "INSERT INTO t (id, v) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET v = 'b' WHERE t.v = 'x'",
        ).code
        == 4000
    )


def test_multi_row_values_swallow_row_failures_single_row_raises(engine: Engine) -> None:
    kv(engine, ", n INTEGER NOT NULL")
    assert run(engine, "INSERT INTO t (id, v, n) VALUES (1, 'a', 1)").rowcount == 1
    outcome = run(engine, "INSERT INTO t (id, v, n) VALUES (1, 'dup', 1), (2, 'b', 2), (3, 'c', NULL)")
    assert outcome.rowcount == 1
    assert error_of(engine, "INSERT INTO t (id, v, n) VALUES (1, 'dup', 1)").code == 4091
    assert "must not be null" in error_of(engine, "INSERT INTO t (id, v, n) VALUES (9, 'x', NULL)").message
    # A value that cannot be cast fails the whole statement, even with several rows.
    assert error_of(engine, "INSERT INTO t (id, v, n) VALUES (4, 'd', 4), (5, 'e', 'five')").code == 4000
    run(engine, "REFRESH TABLE t")
    assert rows(engine, "SELECT id FROM t ORDER BY id") == [[1], [2]]


def test_partitioned_tables_raise_multi_row_failures(engine: Engine) -> None:
    run(engine, "CREATE TABLE p (id INTEGER, day TEXT, PRIMARY KEY (id, day)) PARTITIONED BY (day)")
    run(engine, "INSERT INTO p (id, day) VALUES (1, 'a')")
    assert error_of(engine, "INSERT INTO p (id, day) VALUES (1, 'a'), (2, 'a')").code == 4091


def test_insert_select_skips_failures_unless_fail_fast(engine: Engine) -> None:
    kv(engine)
    run(engine, "CREATE TABLE src (id INTEGER, v TEXT)")
    run(engine, "INSERT INTO src (id, v) VALUES (1, 'a'), (1, 'dup'), (2, 'b')")
    run(engine, "REFRESH TABLE src")
    assert run(engine, "INSERT INTO t (id, v) (SELECT id, v FROM src ORDER BY v)").rowcount == 2
    session = Session()
    run(engine, "SET insert_select_fail_fast = true", session=session)
    with pytest.raises(CrateError) as error:
        run(engine, "INSERT INTO t (id, v) (SELECT id, v FROM src)", session=session)
    assert error.value.code == 4091


def test_unnest_insert(engine: Engine) -> None:
    kv(engine)
    outcome = run(engine, "INSERT INTO t (id, v) (SELECT * FROM UNNEST(?, ?))", [[1, 2, 3], ["a", "b"]])
    assert outcome.rowcount == 3
    run(engine, "REFRESH TABLE t")
    assert rows(engine, "SELECT id, v FROM t ORDER BY id") == [[1, "a"], [2, "b"], [3, None]]


def test_text_limit_needs_index_off_and_no_columnstore(engine: Engine) -> None:
    run(
        engine,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT INDEX OFF, "
        "c TEXT INDEX OFF STORAGE WITH (columnstore = false))",
    )
    big = "x" * 40000
    results = bulk(
        engine,
        "INSERT INTO t (id, a, b, c) VALUES (?, ?, ?, ?)",
        [[1, big, None, None], [2, None, big, None], [3, None, None, big]],
    )
    assert [r["rowcount"] for r in results] == [-2, -2, 1]
    assert "immense term" in results[0]["error"]["message"]
    assert "DocValuesField" in results[1]["error"]["message"]


def test_defaults_generated_and_checks(engine: Engine) -> None:
    run(
        engine,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, d TEXT DEFAULT 'dflt', "
        "g INTEGER GENERATED ALWAYS AS (id * 2), n INTEGER CHECK (n > 0))",
    )
    run(engine, "INSERT INTO t (id, n) VALUES (1, 5)")
    assert rows(engine, "SELECT d, g FROM t WHERE id = 1") == [["dflt", 2]]
    results = bulk(engine, "INSERT INTO t (id, n) VALUES (?, ?)", [[2, -1], [3, 1]])
    assert [r["rowcount"] for r in results] == [-2, 1]
    assert "CHECK" in results[0]["error"]["message"]


def test_add_column_default_does_not_backfill(engine: Engine) -> None:
    kv(engine)
    run(engine, "INSERT INTO t (id, v) VALUES (1, 'a')")
    assert run(engine, "ALTER TABLE t ADD COLUMN d TEXT DEFAULT 'new'").rowcount == -1
    run(engine, "INSERT INTO t (id, v) VALUES (2, 'b')")
    run(engine, "REFRESH TABLE t")
    assert rows(engine, "SELECT id, d FROM t ORDER BY id") == [[1, None], [2, "new"]]


def test_dynamic_tables_add_columns_on_insert(engine: Engine) -> None:
    run(engine, "CREATE TABLE d (id INTEGER PRIMARY KEY) WITH (column_policy = 'dynamic')")
    run(engine, "INSERT INTO d (id, extra) VALUES (1, 'x')")
    assert rows(engine, "SELECT data_type FROM information_schema.columns WHERE column_name = 'extra'") == [
        ["text"]
    ]
    kv(engine)
    assert error_of(engine, "INSERT INTO t (id, extra) VALUES (1, 'x')").code == 4043


def test_system_columns_cannot_be_written(engine: Engine) -> None:
    kv(engine)
    error = error_of(engine, "INSERT INTO t (id, _id) VALUES (1, 'x')")
    assert error.code == 4008 and "Cannot write to system column" in error.message


# ---- UPDATE / DELETE -----------------------------------------------------------------------------------
def test_bulk_update_and_delete_counts(engine: Engine) -> None:
    """By key, a missing document is a failed row (rowcount -2): TransportShardDeleteAction /
    TransportShardUpsertAction raise DocumentMissingException (RestSQLActionIntegrationTest::
    test_failing_delete_bulk_response_errors_are_truncated)."""
    kv(engine)
    bulk(engine, "INSERT INTO t (id, v) VALUES (?, ?)", [[1, "a"], [2, "b"], [3, "c"]])
    assert [r["rowcount"] for r in bulk(engine, "UPDATE t SET v = ? WHERE id = ?", [["A", 1], ["Z", 9]])] == [
        1,
        -2,
    ]
    assert [r["rowcount"] for r in bulk(engine, "DELETE FROM t WHERE id = ?", [[2], [2], [9]])] == [1, -2, -2]
    run(engine, "REFRESH TABLE t")
    assert rows(engine, "SELECT id, v FROM t ORDER BY id") == [[1, "A"], [3, "c"]]


def test_bulk_update_rows_hitting_the_same_row_run_in_order(engine: Engine) -> None:
    run(engine, "CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER)")
    run(engine, "INSERT INTO c (id, n) VALUES (1, 0)")
    results = bulk(engine, "UPDATE c SET n = n + ? WHERE id = ?", [[1, 1], [10, 1], [100, 1]])
    assert [r["rowcount"] for r in results] == [1, 1, 1]
    assert rows(engine, "SELECT n FROM c WHERE id = 1") == [[111]]


def test_update_rules(engine: Engine) -> None:
    kv(engine, ", n INTEGER NOT NULL")
    run(engine, "INSERT INTO t (id, v, n) VALUES (1, 'a', 1)")
    assert "primary key" in error_of(engine, "UPDATE t SET id = 2 WHERE id = 1").message
    assert "must not be null" in error_of(engine, "UPDATE t SET n = NULL WHERE id = 1").message
    assert error_of(engine, "UPDATE t SET n = 'x' WHERE id = 1").code == 4000
    assert error_of(engine, "UPDATE t SET missing = 1 WHERE id = 1").code == 4043
    assert (
        run(engine, "UPDATE t SET v = CASE WHEN n > 0 THEN 'pos' ELSE 'neg' END WHERE id = 1").rowcount == 1
    )
    assert rows(engine, "SELECT v FROM t WHERE id = 1") == [["pos"]]


def test_update_returning_and_object_key_assignment(engine: Engine) -> None:
    run(engine, "CREATE TABLE o (id INTEGER PRIMARY KEY, obj OBJECT(DYNAMIC))")
    run(engine, "INSERT INTO o (id, obj) VALUES (1, {a = 1})")
    run(engine, "UPDATE o SET obj['b'] = 'x' WHERE id = 1")
    assert rows(engine, "SELECT obj FROM o WHERE id = 1") == [[{"a": 1, "b": "x"}]]
    outcome = run(engine, "UPDATE o SET obj = {c = 2} WHERE id = 1 RETURNING id, obj")
    assert outcome.cols == ["id", "obj"]


# ---- visibility ------------------------------------------------------------------------------------------
def test_strict_reads_need_refresh_except_pk_lookups(engine: Engine) -> None:
    kv(engine)
    run(engine, "INSERT INTO t (id, v) VALUES (1, 'a'), (2, 'b')")
    assert rows(engine, "SELECT v FROM t WHERE id = ?", [1]) == [["a"]]
    assert rows(engine, "SELECT v FROM t WHERE id IN (1, 2) ORDER BY v") == [["a"], ["b"]]
    for stmt in ("SELECT count(*) FROM t", "UPDATE t SET v = 'x' WHERE v = 'a'", "DELETE FROM t"):
        assert "stale read" in error_of(engine, stmt).message
    assert rows(engine, "SELECT count(*) FROM information_schema.tables WHERE table_name = 't'") == [[1]]
    run(engine, "REFRESH TABLE t")
    assert rows(engine, "SELECT count(*) FROM t") == [[2]]


def test_lenient_mode_never_fails_reads() -> None:
    engine = Engine(strict=False)
    try:
        kv(engine)
        run(engine, "INSERT INTO t (id, v) VALUES (1, 'a')")
        assert rows(engine, "SELECT count(*) FROM t") == [[1]]
        assert engine.tracker.stale_reads == 1
    finally:
        engine.close()


# ---- DDL -----------------------------------------------------------------------------------------------
def test_create_table_rules(engine: Engine) -> None:
    kv(engine)
    assert run(engine, "CREATE TABLE IF NOT EXISTS t (id INTEGER)").rowcount == 0
    assert error_of(engine, "CREATE TABLE t (id INTEGER)").code == 4093
    assert error_of(engine, "CREATE TABLE o (o OBJECT PRIMARY KEY)").code == 4000
    assert error_of(engine, "CREATE TABLE p (a INT, b INT, PRIMARY KEY (a)) PARTITIONED BY (b)").code == 4000
    assert error_of(engine, "CREATE TABLE c (a INT PRIMARY KEY, b INT) CLUSTERED BY (b)").code == 4000
    assert error_of(engine, "CREATE TABLE w (a INT) WITH (nonsense = 1)").code == 4000
    assert error_of(engine, "CREATE TABLE d (a DATE)").code == 4000
    assert error_of(engine, 'CREATE TABLE "a/b" (a INT)').code == 4002
    assert error_of(engine, f'CREATE TABLE "{"x" * 256}" (a INT)').code == 4002


def test_alter_table_rules(engine: Engine) -> None:
    kv(engine)
    run(engine, "INSERT INTO t (id, v) VALUES (1, 'a')")
    assert "isn't empty" in error_of(engine, "ALTER TABLE t ADD COLUMN k INTEGER PRIMARY KEY").message
    assert error_of(engine, "ALTER TABLE t DROP COLUMN id").code == 4004
    run(engine, "ALTER TABLE t RENAME COLUMN v TO w")
    run(engine, "ALTER TABLE t DROP COLUMN IF EXISTS missing")
    run(engine, "ALTER TABLE t RENAME TO u")
    assert error_of(engine, "ALTER TABLE u RENAME TO s.x").code == 4000
    run(engine, "REFRESH TABLE u")
    assert rows(engine, "SELECT id, w FROM u") == [[1, "a"]]
    run(engine, "CREATE TABLE e (id INTEGER)")
    run(engine, "ALTER TABLE e ADD COLUMN k INTEGER PRIMARY KEY")


def test_version_gates() -> None:
    old = Engine(version="6.1.0")
    try:
        with pytest.raises(CrateError):
            old.execute(Session(), "CREATE SCHEMA s")
        with pytest.raises(CrateError, match="system column pattern"):
            old.execute(Session(), 'CREATE TABLE t ("_fivetran_synced" TIMESTAMP)')
        with pytest.raises(CrateError):
            old.execute(Session(), "CREATE TABLE t2 (LIKE t)")
    finally:
        old.close()
    older = Engine(version="5.4.0")
    try:
        older.execute(Session(), "CREATE TABLE t (a INT, b INT)")
        with pytest.raises(CrateError):
            older.execute(Session(), "ALTER TABLE t DROP COLUMN b")
        with pytest.raises(CrateError):
            older.execute(Session(), "ALTER TABLE t RENAME COLUMN b TO c")
    finally:
        older.close()


def test_swap_table_and_create_table_as(engine: Engine) -> None:
    kv(engine)
    run(engine, "INSERT INTO t (id, v) VALUES (1, 'old')")
    run(engine, "REFRESH TABLE t")
    assert run(engine, "CREATE TABLE n AS (SELECT id, v || '!' AS v FROM t)").rowcount == 1
    run(engine, "REFRESH TABLE n")
    run(engine, "ALTER CLUSTER SWAP TABLE n TO t WITH (drop_source = true)")
    assert rows(engine, "SELECT v FROM t WHERE id = 1") == [["old!"]]
    assert error_of(engine, "SELECT * FROM n").code == 4041


def test_case_sensitive_names_are_distinct(engine: Engine) -> None:
    run(engine, 'CREATE TABLE "T" ("Id" INTEGER PRIMARY KEY, id INTEGER)')
    run(engine, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
    run(engine, 'INSERT INTO "T" ("Id", id) VALUES (1, 2)')
    outcome = run(engine, 'SELECT * FROM "T" WHERE "Id" = 1')
    assert outcome.cols == ["Id", "id"] and orjson.loads(dumps(outcome.rows)) == [[1, 2]]


def test_transactions_and_unknown_statements(engine: Engine) -> None:
    assert run(engine, "BEGIN").rowcount == 0
    assert run(engine, "COMMIT").rowcount == 0
    assert error_of(engine, "ROLLBACK").code == 4000
    assert error_of(engine, "FROBNICATE t").code == 4000
    assert error_of(engine, "SELECT 1; SELECT 2").code == 4000
    assert error_of(engine, "COPY t FROM 'file:///x'").code == 4004


def test_statement_length_limit(engine: Engine) -> None:
    long = "SELECT 1" + " " * 262_140
    assert "statement_max_length" in error_of(engine, long).message


# ---- results -----------------------------------------------------------------------------------------
def test_result_shapes_and_col_types(engine: Engine) -> None:
    run(
        engine,
        "CREATE TABLE r (id INTEGER PRIMARY KEY, ts TIMESTAMP WITH TIME ZONE, n NUMERIC(20, 5), f REAL, "
        "o OBJECT(IGNORED), a ARRAY(TEXT))",
    )
    run(
        engine,
        "INSERT INTO r (id, ts, n, f, o, a) VALUES (?, ?, ?, ?, ?, ?)",
        [1, "2024-01-02T03:04:05.678901+01:00", "123456789012345.12345", 1.1, {"k": [1]}, ["x"]],
    )
    outcome = run(engine, "SELECT id, ts, n, n::TEXT, f, o, a, o['k'] FROM r WHERE id = 1")
    assert outcome.col_types == [9, 11, 22, 4, 7, 12, [100, 4], 0]
    document = dumps({"rows": outcome.rows}).decode()
    assert "123456789012345.12345," in document  # exact JSON number
    assert orjson.loads(document)["rows"] == [
        [1, 1704161045678, 123456789012345.12345, "123456789012345.12345", 1.1, {"k": [1]}, ["x"], [1]]
    ]


def test_literal_types_follow_cratedb(engine: Engine) -> None:
    outcome = run(engine, "SELECT 1.5, 5 / 2, NULL, 'x', [1, 2], {a = 1}")
    assert outcome.col_types == [6, 9, 0, 4, [100, 9], 12]
    assert orjson.loads(dumps(outcome.rows)) == [[1.5, 2, None, "x", [1, 2], {"a": 1}]]


def test_information_schema_and_show_create_table(engine: Engine) -> None:
    run(
        engine,
        "CREATE TABLE s.t (id BIGINT PRIMARY KEY, v VARCHAR(10) NOT NULL, n NUMERIC(12, 3), "
        "ts TIMESTAMP, body TEXT INDEX OFF STORAGE WITH (columnstore = false))",
    )
    assert rows(
        engine,
        "SELECT column_name, data_type, is_nullable, character_maximum_length, numeric_precision "
        "FROM information_schema.columns WHERE table_schema = 's' ORDER BY ordinal_position",
    ) == [
        ["id", "bigint", False, None, 64],
        ["v", "text", False, 10, None],
        ["n", "numeric", True, None, 12],
        ["ts", "timestamp without time zone", True, None, None],
        ["body", "text", True, None, None],
    ]
    assert rows(
        engine,
        "SELECT k.column_name, c.constraint_type FROM information_schema.key_column_usage k "
        "JOIN information_schema.table_constraints c ON c.constraint_name = k.constraint_name "
        "WHERE k.table_schema = 's'",
    ) == [["id", "PRIMARY KEY"]]
    text = rows(engine, "SHOW CREATE TABLE s.t")[0][0]
    assert '"body" TEXT INDEX OFF STORAGE WITH (' in text and 'PRIMARY KEY ("id")' in text


def test_catalog_survives_restart_with_a_data_file(tmp_path: Path) -> None:
    path = str(tmp_path / "data.duckdb")
    first = Engine(data=path)
    run(first, 'CREATE TABLE s."T" (id INTEGER PRIMARY KEY, o OBJECT)')
    run(first, 'INSERT INTO s."T" (id, o) VALUES (1, {k = 1})')
    first.close()
    second = Engine(data=path)
    try:
        assert rows(second, 'SELECT id, o FROM s."T" WHERE id = 1') == [[1, {"k": 1}]]
        assert rows(
            second, "SELECT column_name FROM information_schema.columns WHERE table_name = 'T' ORDER BY 1"
        ) == [["id"], ["o"], ["o['k']"]]
    finally:
        second.close()


def test_bulk_upsert_with_braces_in_column_names(engine: Engine) -> None:
    """Quoted names may contain braces; the bulk write templates must not treat them as placeholders."""
    run(engine, 'CREATE TABLE s.t ("{k}" TEXT PRIMARY KEY, "v}" INT)')
    sql = 'INSERT INTO s.t ("{k}", "v}") VALUES (?, ?) ON CONFLICT ("{k}") DO UPDATE SET "v}" = excluded."v}"'
    assert bulk(engine, sql, [["x", 1], ["y", 2]]) == [{"rowcount": 1}, {"rowcount": 1}]
    assert bulk(engine, sql, [["x", 5]]) == [{"rowcount": 1}]
    run(engine, "REFRESH TABLE s.t")
    assert rows(engine, 'SELECT "{k}", "v}" FROM s.t ORDER BY 1') == [["x", 5], ["y", 2]]
