"""Emulator fidelity: behaviours the destination relies on, each settled by CrateDB's own source or tests.

Every test names the public CrateDB source file or test (github.com/crate/crate) that fixes the expected
answer. The tests talk plain HTTP to `/_sql` and run unchanged against a real CrateDB when CRATEDB_URL is
set; the ones that read emulator-only statistics are marked `emulator_only`. Tables that assert the
10-errors-per-shard truncation use `CLUSTERED INTO 1 SHARDS`, so the shard of every row is known.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from crate_http import CrateHttp, SqlResponse, drop_schema_contents, ident

pytestmark = pytest.mark.cratedb

# io/crate/execution/engine/indexing/ShardingUpsertExecutor.java: BULK_RESPONSE_MAX_ERRORS_PER_SHARD
MAX_ERRORS_PER_SHARD = 10


@pytest.fixture()
def tbl(db: CrateHttp, unique_schema: str) -> Iterator[Callable[[str], str]]:
    """Quoted table reference in a fresh schema, dropped afterwards."""
    yield lambda name: ident(unique_schema, name)
    drop_schema_contents(db, unique_schema)


def missing(doc_id: str) -> dict[str, Any]:
    """A bulk row whose document is missing: org/elasticsearch/index/engine/DocumentMissingException.java
    (`[<id>]: document missing`, DOCUMENT_NOT_FOUND = 40411 in io/crate/rest/action/HttpErrorStatus.java)."""
    return {
        "rowcount": -2,
        "error": {"code": 40411, "message": f"DocumentMissingException[[{doc_id}]: document missing]"},
    }


def whole_request_error(response: SqlResponse, message: str) -> None:
    """A failed request: HTTP 400 and the single error object (no per-row results)."""
    assert response.status == 400, response.describe()
    assert response.body.get("error") == {"message": message, "code": 4000}, response.describe()
    assert "results" not in response.body


def make_table(db: CrateHttp, table: str, rows: list[list[Any]]) -> None:
    db.run(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v TEXT, x INTEGER) CLUSTERED INTO 1 SHARDS")
    if rows:
        db.run(f"INSERT INTO {table} (id, v) VALUES (?, ?)", bulk_args=rows)
    db.refresh(table)


# ---- 1. bulk UPDATE / DELETE of missing keys ------------------------------------------------------------
@pytest.mark.parametrize(
    "statement", ["UPDATE {t} SET v = 'new' WHERE id = ?", "DELETE FROM {t} WHERE id = ?"]
)
def test_bulk_write_by_key_reports_missing_documents_per_row(
    db: CrateHttp, tbl: Callable[[str], str], statement: str
) -> None:
    """By-id plans (planner/node/dml/UpdateById.java, DeleteById.java) send each key to its shard; the shard
    fails a missing document (execution/dml/delete/TransportShardDeleteAction.java,
    dml/upsert/TransportShardUpsertAction.java `update`) and only the first 10 failures of a shard carry
    their error (execution/dml/ShardResponse.java `add`). RestSQLActionIntegrationTest::
    test_failing_delete_bulk_response_errors_are_truncated."""
    make_table(db, tbl("t"), [[1, "a"]])
    keys = [[1]] + [[100 + i] for i in range(MAX_ERRORS_PER_SHARD + 2)]
    response = db.run(statement.format(t=tbl("t")), bulk_args=keys)
    expected: list[dict[str, Any]] = [{"rowcount": 1}]
    expected += [missing(str(100 + i)) for i in range(MAX_ERRORS_PER_SHARD)]
    expected += [{"rowcount": -2}, {"rowcount": -2}]
    assert response.status == 200
    assert response.results == expected


def test_bulk_write_by_composite_key_names_the_encoded_id(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """A multi-column key's `_id` is Base64 of the length-prefixed key texts (io/crate/analyze/Id.java
    `encode`); a NULL one-column key builds no id, so no item is sent and the row counts 0
    (execution/dml/ShardRequestExecutor.java `addRequests`)."""
    table = tbl("c")
    db.run(f"CREATE TABLE {table} (a INTEGER, b TEXT, x INTEGER, PRIMARY KEY (a, b)) CLUSTERED INTO 1 SHARDS")
    db.run(f"INSERT INTO {table} (a, b) VALUES (1, 'x')")
    response = db.run(f"UPDATE {table} SET x = 1 WHERE a = ? AND b = ?", bulk_args=[[1, "x"], [2, "y"]])
    assert response.results == [{"rowcount": 1}, missing("AgEyAXk=")]
    null_key = "SQLParseException[A primary key value must not be NULL]"  # Id.java `ensureNonNull`
    update = f"UPDATE {table} SET x = 2 WHERE a = ? AND b = ?"
    whole_request_error(db.sql(update, bulk_args=[[1, "x"], [None, "x"]]), null_key)
    whole_request_error(db.sql(update, [1, None]), null_key)
    single = tbl("s")
    make_table(db, single, [])
    assert db.run(f"DELETE FROM {single} WHERE id = ?", bulk_args=[[None]]).results == [{"rowcount": 0}]


@pytest.mark.parametrize(
    "statement", ["UPDATE {t} SET v = 'new' WHERE id = ?", "DELETE FROM {t} WHERE id = ?"]
)
def test_single_write_by_missing_key_counts_zero(
    db: CrateHttp, tbl: Callable[[str], str], statement: str
) -> None:
    """Outside bulk requests a missing document is no error: ShardRequestExecutor.updateOrFail skips
    "document missing" failures, so the row count is 0."""
    make_table(db, tbl("t"), [[1, "a"]])
    assert db.run(statement.format(t=tbl("t")), [42]).rowcount == 0


@pytest.mark.parametrize(
    "statement,bulk_args",
    [
        ("UPDATE {t} SET x = 1 WHERE v = ?", [["a"], ["zzz"]]),
        ("DELETE FROM {t} WHERE id = ? AND v = 'a'", [[1], [9]]),
    ],
)
def test_bulk_write_by_query_counts_zero_for_rows_matching_nothing(
    db: CrateHttp, tbl: Callable[[str], str], statement: str, bulk_args: list[list[Any]]
) -> None:
    """A WHERE with more than the key terms is planned by query (`queryHasPkSymbolsOnly` in
    planner/statement/DeletePlanner.java and planner/consumer/UpdatePlanner.java): one collect job per bulk
    row, which counts what it matched, so a row matching nothing answers 0, not an error."""
    make_table(db, tbl("t"), [[1, "a"], [2, "b"]])
    response = db.run(statement.format(t=tbl("t")), bulk_args=bulk_args)
    assert response.results == [{"rowcount": 1}, {"rowcount": 0}]


# ---- 2. which bulk failures stay per row ------------------------------------------------------------------
CAST_ABC = "SQLParseException[Cannot cast value `abc` to type `integer`]"


@pytest.mark.parametrize(
    "statement,bulk_args",
    [
        ("INSERT INTO {t} (id) VALUES (?)", [["abc"], [6]]),
        ("UPDATE {t} SET x = ? WHERE id = ?", [[5, 1], ["abc", 1]]),
        ("DELETE FROM {t} WHERE id = ?", [[2], ["abc"]]),
    ],
)
def test_bulk_parameter_cast_failure_fails_the_whole_request(
    db: CrateHttp, tbl: Callable[[str], str], statement: str, bulk_args: list[list[Any]]
) -> None:
    """Parameters are cast while the plan binds them, before any shard request: the request fails with one
    error and HTTP 400 (RestSQLActionIntegrationTest::test_insert_with_failing_bulk_args_analysis_error;
    analyze/SymbolEvaluator.java `visitParameterSymbol` raises ConversionException, which
    exceptions/SQLExceptions.java `prepareForClientTransmission` shows as SQLParseException). Nothing is
    written, also not the rows before the bad one."""
    table = tbl("t")
    make_table(db, table, [[1, "a"], [2, "b"]])
    whole_request_error(db.sql(statement.format(t=table), bulk_args=bulk_args), CAST_ABC)
    db.refresh(table)
    assert db.run(f"SELECT id, x FROM {table} ORDER BY id").rows == [[1, None], [2, None]]


def test_bulk_update_null_into_not_null_fails_the_whole_request(
    db: CrateHttp, tbl: Callable[[str], str]
) -> None:
    """UPDATE binds its assignments per bulk row and checks NOT NULL on the bound value before any shard
    request (expression/symbol/Assignments.java `bindSources`, analyze/ConstraintsValidator.java)."""
    table = tbl("nn")
    db.run(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, x INTEGER NOT NULL) CLUSTERED INTO 1 SHARDS")
    db.run(f"INSERT INTO {table} (id, x) VALUES (1, 1)")
    response = db.sql(f"UPDATE {table} SET x = ? WHERE id = ?", bulk_args=[[2, 1], [None, 1]])
    whole_request_error(response, 'SQLParseException["x" must not be null]')
    assert db.run(f"SELECT x FROM {table} WHERE id = 1").rows == [[1]]


def test_bulk_insert_null_key_fails_the_whole_request(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """The row's id is built while the rows are grouped by shard, which propagates errors in bulk mode
    (execution/engine/indexing/GroupRowsByShard.java `apply`, analyze/Id.java `ensureNonNull`)."""
    table = tbl("t")
    make_table(db, table, [])
    response = db.sql(f"INSERT INTO {table} (id) VALUES (?)", bulk_args=[[1], [None]])
    whole_request_error(response, "SQLParseException[A primary key value must not be NULL]")


def test_bulk_insert_document_failures_stay_per_row(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """Failures met while a shard indexes a document stay with their row (rowcount -2 plus the error):
    duplicate keys (4091) and values that conflict with a sub-column the same request added
    (RestSQLActionIntegrationTest::test_insert_with_failing_bulk_args_response_error_messages; the message
    names the key, io/crate/types/ObjectType.java `convert`)."""
    table = tbl("o")
    db.run(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, val OBJECT(DYNAMIC)) CLUSTERED INTO 1 SHARDS")
    response = db.run(
        f"INSERT INTO {table} (id, val) VALUES (?, ?)",
        bulk_args=[[2, {"a": 2}], [2, {"a": 22}], [3, {"a": "asdf"}]],
    )
    assert response.results == [
        {"rowcount": 1},
        {
            "rowcount": -2,
            "error": {
                "code": 4091,
                "message": "DuplicateKeyException[A document with the same primary key exists already]",
            },
        },
        {
            "rowcount": -2,
            "error": {
                "code": 4000,
                "message": "SQLParseException[Cannot cast object element `a` with value `asdf` "
                "to type `bigint`]",
            },
        },
    ]


def test_bulk_insert_too_long_varchar_fails_its_row(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """VARCHAR(n) checks the length in `valueForInsert` (io/crate/types/StringType.java), which the shard's
    indexer applies: the row fails alone and the message shows at most 20 characters of the value."""
    table = tbl("v")
    db.run(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, s VARCHAR(3)) CLUSTERED INTO 1 SHARDS")
    response = db.run(
        f"INSERT INTO {table} (id, s) VALUES (?, ?)",
        bulk_args=[[1, "abc"], [2, "abcdefghijklmnopqrstuvwxyz"], [3, "ab     "]],
    )
    too_long = "SQLParseException['abcdefghijklmnopqrst...' is too long for the text type of length: 3]"
    assert response.results == [
        {"rowcount": 1},
        {"rowcount": -2, "error": {"code": 4000, "message": too_long}},
        {"rowcount": 1},
    ]


# ---- 3. NUMERIC(p, s) -------------------------------------------------------------------------------------
def test_numeric_rounds_to_precision_then_scale(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """io/crate/types/NumericType.java `implicitCast`: round to p significant digits (HALF_UP), then to the
    scale (HALF_UP): 1.23499 -> 1.2350 -> 1.24 in NUMERIC(5, 2); a value with more integral digits than
    p - s does not cast ("as it looses precision"), which a parameter reports as `Cannot cast value`."""
    table = tbl("n")
    db.run(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, n NUMERIC(5, 2)) CLUSTERED INTO 1 SHARDS")
    db.run(f"INSERT INTO {table} (id, n) VALUES (?, ?)", [1, "1.23499"])
    db.run(f"INSERT INTO {table} (id, n) VALUES (?, ?)", bulk_args=[[2, 1.005], [3, "-0.125"]])
    db.refresh(table)
    assert db.run(f"SELECT id, n::TEXT FROM {table} ORDER BY id").rows == [
        [1, "1.24"],
        [2, "1.01"],
        [3, "-0.13"],
    ]
    too_big = "SQLParseException[Cannot cast value `999.999` to type `numeric(5,2)`]"
    whole_request_error(db.sql(f"INSERT INTO {table} (id, n) VALUES (?, ?)", [4, 999.999]), too_big)
    whole_request_error(
        db.sql(f"INSERT INTO {table} (id, n) VALUES (?, ?)", bulk_args=[[5, 1], [6, 999.999]]), too_big
    )
    db.refresh(table)
    assert db.run(f"SELECT count(*) FROM {table}").rows == [[3]]


# ---- 4. error codes and HTTP statuses ---------------------------------------------------------------------
@pytest.mark.emulator_only
def test_http_status_of_five_digit_codes() -> None:
    """io/crate/rest/action/HttpErrorStatus.java: 40010-40013 are 400, 40410/40411 are 404, 40910/40911
    are 409."""
    from cratedb_emulator import errors

    for code, status in {
        40000: 400,
        40010: 400,
        40011: 400,
        40012: 400,
        40013: 400,
        40410: 404,
        40411: 404,
        40910: 409,
        40911: 409,
    }.items():
        assert errors.http_status(code) == status, code
    assert errors.document_missing("7").payload() == {
        "message": "DocumentMissingException[[7]: document missing]",
        "code": 40411,
    }


# ---- 5. year 0 and negative years -------------------------------------------------------------------------
def epoch_ms(year: int, month: int, day: int) -> int:
    """Proleptic Gregorian date (any year, also <= 0) in epoch milliseconds (days-from-civil)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return (era * 146097 + doe - 719468) * 86_400_000


def test_timestamps_of_year_zero_and_negative_years(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """io/crate/types/TimestampType.java: TIMESTAMP_PARSER starts with ISO_LOCAL_DATE (proleptic year, a
    sign allowed), so `0000-01-01` and `-0001-06-01` are valid; HTTP answers epoch milliseconds."""
    assert epoch_ms(1970, 1, 1) == 0 and epoch_ms(2000, 3, 1) == 951_868_800_000
    table = tbl("ts")
    db.run(
        f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, tz TIMESTAMP WITH TIME ZONE, "
        "naive TIMESTAMP WITHOUT TIME ZONE) CLUSTERED INTO 1 SHARDS"
    )
    db.run(
        f"INSERT INTO {table} (id, tz, naive) VALUES (?, ?, ?)",
        bulk_args=[
            [1, "0000-01-01T00:00:00Z", "0000-01-01"],
            [2, "-0001-06-01T00:00:00+00:00", "-0001-06-01T00:00:00"],
        ],
    )
    db.refresh(table)
    year_zero, minus_one = epoch_ms(0, 1, 1), epoch_ms(-1, 6, 1)
    assert year_zero == -62_167_219_200_000
    assert db.run(f"SELECT id, tz, naive FROM {table} ORDER BY id").rows == [
        [1, year_zero, year_zero],
        [2, minus_one, minus_one],
    ]
    literal = db.run("SELECT '0000-01-01T00:00:00Z'::TIMESTAMP WITH TIME ZONE, '0000-01-01'::TIMESTAMP")
    assert literal.rows == [[year_zero, year_zero]]


# ---- 6. statistics (emulator only) ------------------------------------------------------------------------
@pytest.mark.emulator_only
def test_pk_lookup_and_query_job_statistics(emulator: Any) -> None:
    """`pk_lookups` counts executions CrateDB plans by id (operators/Get.java, UpdateById, DeleteById; one
    per bulk row), `query_jobs` executions over the shards (Delete/Update `executeBulk` plans one job per
    bulk row, planner/statement/DeletePlanner.java; a SELECT without a Get is one job)."""
    with CrateHttp(emulator.url) as http:
        make_table(http, '"t"', [[1, "a"], [2, "b"]])
        emulator.reset_stats()
        http.run('UPDATE "t" SET x = 1 WHERE id = ?', bulk_args=[[1], [2], [3]])  # 3 lookups
        http.run('DELETE FROM "t" WHERE id = ?', [2])  # 1 lookup
        http.run('SELECT * FROM "t" WHERE id = 1')  # 1 lookup
        http.run('INSERT INTO "t" (id) VALUES (?) ON CONFLICT (id) DO UPDATE SET x = 2', [1])  # no lookup
        http.run('REFRESH TABLE "t"')
        http.run('UPDATE "t" SET x = 3 WHERE v = ?', bulk_args=[["a"], ["b"]])  # 2 jobs
        http.run('REFRESH TABLE "t"')
        http.run("DELETE FROM \"t\" WHERE id = 1 AND v = 'zzz'")  # 1 job
        http.run('SELECT count(*) FROM "t"')  # 1 job
        http.run("SELECT 1")  # 1 job
    snapshot = emulator.stats()
    with urllib.request.urlopen(f"{emulator.url}/_emulator/stats") as answer:
        endpoint = json.load(answer)
    assert snapshot["pk_lookups"] == 5
    assert snapshot["query_jobs"] == 5
    assert (endpoint["pk_lookups"], endpoint["query_jobs"]) == (5, 5)


# ---- 7. INSERT ... SELECT ... RETURNING --------------------------------------------------------------------
def test_insert_from_query_with_returning(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """Supported: InsertIntoIntegrationTest::test_insert_from_subquery_with_id_field_in_returning_clause."""
    table = tbl("r")
    db.run(f"CREATE TABLE {table} (id INTEGER, owner TEXT DEFAULT 'crate')")
    response = db.run(f"INSERT INTO {table} (id) (SELECT '1' AS id) RETURNING id AS foo, owner AS name")
    assert response.cols == ["foo", "name"]
    assert response.rows == [[1, "crate"]]
    assert response.rowcount == 1


# ---- 8. session settings live on one HTTP connection ------------------------------------------------------
def test_session_settings_belong_to_one_connection(cratedb_url: str) -> None:
    """One session per HTTP channel (io/crate/protocols/http/HttpHandler.java `ensureSession`, closed in
    `channelUnregistered`): SET affects later requests on the same connection, a new one starts fresh."""
    with CrateHttp(cratedb_url) as first, CrateHttp(cratedb_url) as second:
        first.run("SET insert_select_fail_fast = true")
        assert first.run("SHOW insert_select_fail_fast").rows == [["true"]]
        assert second.run("SHOW insert_select_fail_fast").rows == [["false"]]
    with CrateHttp(cratedb_url) as third:
        assert third.run("SHOW insert_select_fail_fast").rows == [["false"]]


# ---- 9. invalid relation names -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "schema,table,code,detail",
    [
        ("a.b", "t", 4002, 'schema name "a.b" is invalid.'),
        ("{s}", "a.b", 4002, "Relation name '{s}.a.b' is invalid. Name can't contain '.'"),
        ("{s}", "a#b", 4002, "Relation name '{s}.a#b' is invalid. Must not contain '#'"),
        ("sys", "t", 4000, "Cannot create relation in read-only schema: sys"),
        ("{s}", "_all", 4000, '"_all" cannot be used as schema or table name'),
    ],
    ids=["schema-dot", "table-dot", "hash", "read-only-schema", "all"],
)
def test_invalid_relation_names_have_crate_codes(
    db: CrateHttp, unique_schema: str, schema: str, table: str, code: int, detail: str
) -> None:
    """io/crate/metadata/RelationName.java: a schema name with a dot is InvalidSchemaNameException, which
    rest/action/HttpError.java `fromThrowable` maps to RELATION_INVALID_NAME 4002 (ErrorMappingTest::
    test_invalid_schema_name_exception_error_mapping); a table name with a dot, or one that
    metadata/IndexName.java `validate` refuses, is InvalidRelationName (4002; RelationNameTest); a read-only
    system schema or `_all` is an IllegalArgumentException (`ensureValidForRelationCreation`;
    CreateAlterTableStatementAnalyzerTest), which clients see as SQLParseException with code 4000."""
    schema, table, detail = (part.replace("{s}", unique_schema) for part in (schema, table, detail))
    response = db.sql(f"CREATE TABLE {ident(schema, table)} (x INTEGER)")
    assert response.status == 400, response.describe()
    assert response.code == code, response.describe()
    assert detail in response.message, response.describe()
