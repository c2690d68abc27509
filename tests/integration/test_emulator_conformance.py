"""CrateDB conformance suite: the emulator's independent specification.

Every test states a documented CrateDB behaviour and, in parentheses, the public source it comes from
(prefixes as in docs/sources.md: mostly CrateDB's reference docs and server source). The tests speak raw
HTTP to `/_sql` (see `crate_http.py`) so they can check error codes, HTTP statuses and per-row bulk
results exactly.

They run against the session emulator by default and unchanged against a real CrateDB when CRATEDB_URL
is set: every table lives in a fresh schema that is dropped afterwards, and every non-primary-key read
follows a `REFRESH TABLE`. Tests marked `emulator_only` rely on what only the emulator offers: strict
read-visibility errors, other server versions, credentials, fault injection and statistics.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from crate_http import CrateHttp, SqlResponse, drop_schema_contents, ident

pytestmark = pytest.mark.cratedb

TS_2024_01_02_030405 = 1704164645000  # 2024-01-02T03:04:05Z in epoch milliseconds
TWO_HOURS_MS = 2 * 3600 * 1000
STATEMENT_MAX_LENGTH = 262_144
TEXT_TERM_LIMIT = 32_766


# --------------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------------


@pytest.fixture()
def schema(db: CrateHttp, unique_schema: str) -> Iterator[str]:
    """A fresh schema; every table in it (and the schema itself, if explicit) is dropped afterwards."""
    yield unique_schema
    drop_schema_contents(db, unique_schema)


@pytest.fixture()
def tbl(schema: str) -> Callable[[str], str]:
    """Quoted, schema-qualified reference to a table in the test schema."""
    return lambda name: ident(schema, name)


@pytest.fixture()
def server_version(db: CrateHttp) -> tuple[int, ...]:
    return version_tuple(db.root().body["version"]["number"])


def version_tuple(number: str) -> tuple[int, ...]:
    match = re.match(r"^(\d+)\.(\d+)\.(\d+)", number)
    assert match, f"not a version number: {number!r}"
    return tuple(int(part) for part in match.groups())


def assert_error(response: SqlResponse, status: int, code: int | None = None) -> None:
    """An error response with CrateDB's JSON shape, the HTTP status and (optionally) the error code."""
    assert response.status == status, response.describe()
    assert isinstance(response.error.get("code"), int), response.describe()
    assert isinstance(response.error.get("message"), str) and response.error["message"], response.describe()
    if code is not None:
        assert response.code == code, response.describe()


def assert_client_error(response: SqlResponse) -> None:
    """A rejected statement: a 4xx status and an error body (used where CrateDB documents no exact code)."""
    assert 400 <= response.status < 500, response.describe()
    assert isinstance(response.error.get("code"), int), response.describe()
    assert response.message, response.describe()


def columns_of(db: CrateHttp, schema: str, table: str) -> dict[str, dict[str, Any]]:
    result = db.run(
        "SELECT column_name, data_type, ordinal_position, is_nullable, character_maximum_length "
        "FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, table],
    )
    return {
        row[0]: {"data_type": row[1], "ordinal_position": row[2], "is_nullable": row[3], "max_length": row[4]}
        for row in result.rows
    }


def table_names(db: CrateHttp, schema: str) -> set[str]:
    result = db.run(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = ? AND table_type = 'BASE TABLE'",
        [schema],
    )
    return {row[0] for row in result.rows}


def pk_columns(db: CrateHttp, schema: str, table: str) -> list[str]:
    result = db.run(
        "SELECT column_name FROM information_schema.key_column_usage "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    )
    return [row[0] for row in result.rows]


def make_kv(db: CrateHttp, table: str, rows: list[list[Any]] | None = None) -> None:
    """`(id INTEGER PRIMARY KEY, v TEXT)` on one shard, optionally filled through bulk_args."""
    db.run(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v TEXT) CLUSTERED INTO 1 SHARDS")
    if rows:
        result = db.run(f"INSERT INTO {table} (id, v) VALUES (?, ?)", bulk_args=rows)
        assert [r["rowcount"] for r in result.results] == [1] * len(rows)


def count(db: CrateHttp, table: str) -> int:
    db.refresh(table)
    return int(db.run(f"SELECT count(*) FROM {table}").rows[0][0])


def start_emulator(**kwargs: Any) -> Any:
    from cratedb_emulator import Emulator

    emulator = Emulator(host="127.0.0.1", port=0, **kwargs)
    emulator.start()
    return emulator


# --------------------------------------------------------------------------------------------------
# HTTP protocol (CrateDB docs interfaces/http)
# --------------------------------------------------------------------------------------------------


def test_root_reports_a_supported_version_number(db: CrateHttp) -> None:
    """GET / returns node info; the driver reads version.number from it (project needs >= 6.2) (crate-python
    http.py, `server_infos`)."""
    response = db.root()
    assert response.status == 200, response.describe()
    assert version_tuple(response.body["version"]["number"]) >= (6, 2, 0)


def test_sys_nodes_report_the_same_version_as_root(db: CrateHttp) -> None:
    """sys.nodes (minimal): each node's version['number'] matches GET / (CrateDB docs
    admin/system-information)."""
    number = db.root().body["version"]["number"]
    nodes = db.run("SELECT name, version['number'] FROM sys.nodes")
    assert nodes.rows
    assert all(isinstance(name, str) and name for name, _ in nodes.rows)
    assert {row[1] for row in nodes.rows} == {number}


def test_sys_cluster_has_exactly_one_named_row(db: CrateHttp) -> None:
    """sys.cluster (minimal): one row with the cluster name."""
    result = db.run("SELECT name FROM sys.cluster")
    assert len(result.rows) == 1
    assert isinstance(result.rows[0][0], str) and result.rows[0][0]


def test_select_response_has_cols_rows_rowcount_duration(db: CrateHttp) -> None:
    """Success shape {cols, rows, rowcount, duration}; no col_types without ?types (CrateDB docs
    interfaces/http)."""
    result = db.run("SELECT 1 AS one, 'x' AS two")
    assert result.cols == ["one", "two"]
    assert result.rows == [[1, "x"]]
    assert result.rowcount == 1
    assert isinstance(result.body["duration"], (int, float))
    assert "col_types" not in result.body
    assert result.content_type.startswith("application/json")  # the driver reads error bodies only then


def test_error_responses_are_json_too(db: CrateHttp) -> None:
    """Error bodies are JSON (content type application/json), so the driver can read the message (CrateDB docs
    interfaces/http, "Error handling"; crate-python http.py)."""
    response = db.sql("SELEC 1")
    assert response.content_type.startswith("application/json")


@pytest.mark.parametrize("stmt", ["SELECT ? AS a, ? AS b", "SELECT $1 AS a, $2 AS b"])
def test_args_fill_question_mark_and_dollar_placeholders(db: CrateHttp, stmt: str) -> None:
    """Placeholders are `?` or `$n`, filled from `args` (CrateDB docs interfaces/http, "Parameter
    substitution")."""
    assert db.run(stmt, [7, "seven"]).rows == [[7, "seven"]]


def test_dollar_placeholders_may_repeat_and_reorder(db: CrateHttp) -> None:
    """`$n` refers to the n-th element of `args` (CrateDB docs interfaces/http, "Parameter substitution")."""
    assert db.run("SELECT $2 AS a, $1 AS b, $2 AS c", [1, 2]).rows == [[2, 1, 2]]


def test_trailing_semicolon_is_accepted(db: CrateHttp) -> None:
    """One statement per request; a trailing `;` is allowed (CrateDB source SqlBaseParser.g4)."""
    assert db.run("SELECT 1 AS one;").rows == [[1]]


def test_two_statements_in_one_request_are_a_parse_error(db: CrateHttp) -> None:
    """`stmt` holds exactly one statement (grammar rule singleStatement) -> 4000 / HTTP 400 (CrateDB source
    SqlBaseParser.g4)."""
    assert_error(db.sql("SELECT 1; SELECT 2"), 400, 4000)


def test_args_and_bulk_args_together_are_rejected(db: CrateHttp) -> None:
    """Sending both `args` and `bulk_args` non-empty is forbidden -> 4000 / HTTP 400 (CrateDB source
    SqlHttpHandler.java)."""
    response = db.sql("SELECT ? AS a", args=[1], bulk_args=[[1]])
    assert_error(response, 400, 4000)
    assert "both" in response.message


@pytest.mark.parametrize(
    ("expression", "type_id"),
    [
        ("NULL", 0),
        ("true", 3),
        ("'x'", 4),
        ("1.5::DOUBLE PRECISION", 6),
        ("1.5::REAL", 7),
        ("1::SMALLINT", 8),
        ("1::INTEGER", 9),
        ("1::BIGINT", 10),
        ("'2024-01-02T03:04:05Z'::TIMESTAMP WITH TIME ZONE", 11),
        ("{a = 1}", 12),
        ("'2024-01-02T03:04:05'::TIMESTAMP WITHOUT TIME ZONE", 15),
        ("'1.5'::NUMERIC(5, 2)", 22),
        ("[1, 2]::INTEGER[]", [100, 9]),
        ("['a', 'b']", [100, 4]),
    ],
)
def test_types_flag_adds_col_types(db: CrateHttp, expression: str, type_id: Any) -> None:
    """`?types` adds col_types with CrateDB's numeric type ids; arrays are [100, inner] (CrateDB docs
    interfaces/http, "Column types")."""
    response = db.sql(f"SELECT {expression} AS v", types=True)
    assert response.ok, response.describe()
    assert response.body["col_types"] == [type_id]


def test_error_trace_flag_adds_a_trace(db: CrateHttp) -> None:
    """`?error_trace=true` adds `error_trace` next to `error` in error responses (CrateDB docs
    interfaces/http, "Error handling")."""
    response = db.sql("SELEC 1", error_trace=True)
    assert_error(response, 400, 4000)
    assert isinstance(response.body.get("error_trace"), str)


def test_gzip_request_bodies_are_accepted(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """The server always accepts gzip request bodies (the driver gzips bodies >= 8 KB) (CrateDB source
    Netty4HttpServerTransport.java; crate-python http.py)."""
    make_kv(db, tbl("t"))
    rows = [[i, "x" * 100] for i in range(200)]
    response = db.sql(f"INSERT INTO {tbl('t')} (id, v) VALUES (?, ?)", bulk_args=rows, gzip_body=True)
    assert response.ok, response.describe()
    assert [r["rowcount"] for r in response.results] == [1] * 200


def test_parse_error_has_code_4000_and_http_400(db: CrateHttp) -> None:
    """Error body is {"error": {"message", "code"}}; invalid syntax -> 4000 / HTTP 400 (CrateDB docs
    interfaces/http, "Error codes")."""
    response = db.sql("SELEC 1")
    assert_error(response, 400, 4000)
    assert set(response.body) == {"error"}


def test_unknown_relation_has_code_4041_and_http_404(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """A missing table in an existing schema -> RelationUnknown 4041 / HTTP 404 (CrateDB docs interfaces/http,
    "Error codes")."""
    make_kv(db, tbl("present"))
    response = db.sql(f"SELECT * FROM {tbl('absent')}")
    assert_error(response, 404, 4041)
    assert "absent" in response.message


def test_unknown_schema_has_code_4045_and_http_404(db: CrateHttp) -> None:
    """A table in a schema that does not exist -> SchemaUnknown 4045 / HTTP 404 (CrateDB docs interfaces/http,
    "Error codes")."""
    missing = f"never_{uuid.uuid4().hex[:12]}"
    assert_error(db.sql(f"SELECT * FROM {ident(missing, 't')}"), 404, 4045)


def test_unknown_column_has_code_4043_and_http_404(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """Selecting a column the table lacks -> ColumnUnknown 4043 / HTTP 404 (CrateDB docs interfaces/http,
    "Error codes")."""
    make_kv(db, tbl("t"))
    response = db.sql(f"SELECT nope FROM {tbl('t')}")
    assert_error(response, 404, 4043)
    assert "nope" in response.message


def test_duplicate_primary_key_has_code_4091_and_http_409(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """A single-row INSERT of an existing PK -> DuplicateKey 4091 / HTTP 409 (CrateDB docs interfaces/http,
    "Error codes"; CrateDB docs general/dml)."""
    make_kv(db, tbl("t"), [[1, "a"]])
    response = db.sql(f"INSERT INTO {tbl('t')} (id, v) VALUES (?, ?)", [1, "b"])
    assert_error(response, 409, 4091)
    assert db.run(f"SELECT v FROM {tbl('t')} WHERE id = 1").rows == [["a"]]


def test_existing_relation_has_code_4093_and_http_409(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """CREATE TABLE of an existing table -> RelationAlreadyExists 4093 / HTTP 409 (CrateDB docs
    interfaces/http, "Error codes")."""
    make_kv(db, tbl("t"))
    assert_error(db.sql(f"CREATE TABLE {tbl('t')} (x INTEGER)"), 409, 4093)


def test_create_table_if_not_exists_is_a_no_op(db: CrateHttp, schema: str, tbl: Callable[[str], str]) -> None:
    """CREATE TABLE IF NOT EXISTS on an existing table: rowcount 0, table unchanged (CrateDB docs
    sql/statements/create-table)."""
    make_kv(db, tbl("t"))
    assert db.run(f"CREATE TABLE IF NOT EXISTS {tbl('t')} (x INTEGER)").rowcount == 0
    assert list(columns_of(db, schema, "t")) == ["id", "v"]


def test_default_schema_header_resolves_unqualified_names(
    cratedb_url: str, db: CrateHttp, tbl: Callable[[str], str], schema: str
) -> None:
    """The Default-Schema header sets the schema of unqualified names (CrateDB docs interfaces/http,
    "Default schema"). A fresh connection: CrateDB source HttpHandler.java reads it once per connection."""
    make_kv(db, tbl("t"), [[1, "scoped"]])
    with CrateHttp(cratedb_url, default_schema=schema) as scoped:
        assert scoped.run('SELECT v FROM "t" WHERE id = 1').rows == [["scoped"]]


def test_without_default_schema_unqualified_names_use_doc(db: CrateHttp) -> None:
    """Without Default-Schema unqualified tables are created in schema `doc` (CrateDB docs interfaces/http,
    "Default schema")."""
    name = f"conformance_{uuid.uuid4().hex[:12]}"
    db.run(f"CREATE TABLE {ident(name)} (id INTEGER PRIMARY KEY)")
    try:
        found = db.run("SELECT table_schema FROM information_schema.tables WHERE table_name = ?", [name])
        assert found.rows == [["doc"]]
    finally:
        db.run(f"DROP TABLE IF EXISTS {ident('doc', name)}")


# --------------------------------------------------------------------------------------------------
# bulk requests (CrateDB docs interfaces/http, "Bulk operations", "Bulk errors")
# --------------------------------------------------------------------------------------------------


def test_bulk_insert_returns_one_result_per_row(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """bulk_args response: cols [] and results with one {rowcount: 1} per argument row, in order (CrateDB docs
    interfaces/http, "Bulk operations")."""
    make_kv(db, tbl("t"))
    response = db.run(
        f"INSERT INTO {tbl('t')} (id, v) VALUES (?, ?)", bulk_args=[[1, "a"], [2, "b"], [3, "c"]]
    )
    assert response.body["cols"] == []
    assert response.results == [{"rowcount": 1}] * 3
    assert count(db, tbl("t")) == 3


def test_bulk_duplicate_row_is_minus_two_with_error_inside_http_200(
    db: CrateHttp, tbl: Callable[[str], str]
) -> None:
    """A duplicate PK in bulk_args: HTTP 200, that row rowcount -2 plus error {code 4091} (CrateDB docs
    interfaces/http, "Bulk errors")."""
    make_kv(db, tbl("t"), [[1, "old"]])
    response = db.sql(
        f"INSERT INTO {tbl('t')} (id, v) VALUES (?, ?)", bulk_args=[[2, "a"], [1, "b"], [3, "c"]]
    )
    assert response.status == 200, response.describe()
    first, failed, last = response.results
    assert first == {"rowcount": 1} and last == {"rowcount": 1}
    assert failed["rowcount"] == -2
    assert failed["error"]["code"] == 4091
    assert "primary key" in failed["error"]["message"].lower()
    assert db.run(f"SELECT v FROM {tbl('t')} WHERE id = 1").rows == [["old"]]


def test_bulk_analysis_error_fails_the_whole_request(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """An analysis error (unknown column) fails the whole bulk request with one 4xx error; no rows (CrateDB
    docs interfaces/http, "Bulk errors")."""
    make_kv(db, tbl("t"))
    response = db.sql(f"INSERT INTO {tbl('t')} (id, nope) VALUES (?, ?)", bulk_args=[[1, "a"], [2, "b"]])
    assert_error(response, 404, 4043)
    assert count(db, tbl("t")) == 0


def test_bulk_error_details_only_for_first_ten_per_shard(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """Only the first 10 failed rows per shard carry `error`; the rest are a bare -2 (CrateDB docs
    interfaces/http, "Bulk errors"; CrateDB source ShardingUpsertExecutor.java)."""
    rows = [[i, "x"] for i in range(12)]
    make_kv(db, tbl("t"), rows)
    response = db.sql(f"INSERT INTO {tbl('t')} (id, v) VALUES (?, ?)", bulk_args=rows)
    assert response.status == 200, response.describe()
    assert [r["rowcount"] for r in response.results] == [-2] * 12
    assert sum("error" in r for r in response.results) == 10


def test_bulk_update_and_delete_report_per_row_counts(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """Bulk UPDATE/DELETE by PK: rowcount 1 where a row matched; a missing key is rowcount -2 with code 40411
    (CrateDB test RestSQLActionIntegrationTest.java, test_failing_delete_bulk_response_errors_are_truncated;
    CrateDB source TransportShardUpsertAction.java raises the same DocumentMissingException for updates)."""
    make_kv(db, tbl("t"), [[1, "a"], [2, "b"]])
    updated = db.run(f"UPDATE {tbl('t')} SET v = ? WHERE id = ?", bulk_args=[["A", 1], ["Z", 9]])
    assert [r["rowcount"] for r in updated.results] == [1, -2]
    assert updated.results[1]["error"]["code"] == 40411
    deleted = db.run(f"DELETE FROM {tbl('t')} WHERE id = ?", bulk_args=[[2], [9]])
    assert [r["rowcount"] for r in deleted.results] == [1, -2]
    assert deleted.results[1]["error"]["code"] == 40411
    assert deleted.results[1]["error"]["message"].startswith("DocumentMissingException[")
    db.refresh(tbl("t"))
    assert db.run(f"SELECT id, v FROM {tbl('t')} ORDER BY id").rows == [[1, "A"]]


def test_bulk_on_conflict_do_nothing_reports_zero_for_skipped_rows(
    db: CrateHttp, tbl: Callable[[str], str]
) -> None:
    """A row skipped by ON CONFLICT DO NOTHING reports rowcount 0, not -2 (inferred; CrateDB docs do not
    say)."""
    make_kv(db, tbl("t"), [[1, "old"]])
    response = db.run(
        f"INSERT INTO {tbl('t')} (id, v) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
        bulk_args=[[1, "new"], [2, "b"]],
    )
    assert [r["rowcount"] for r in response.results] == [0, 1]
    assert db.run(f"SELECT v FROM {tbl('t')} WHERE id = 1").rows == [["old"]]


def test_bulk_select_is_refused(db: CrateHttp) -> None:
    """Statements with a result set cannot run with bulk_args (no error code documented) (CrateDB source
    SqlHttpHandler.java; no error code is documented)."""
    response = db.sql("SELECT ? AS a", bulk_args=[[1], [2]])
    assert response.status >= 400 and response.error, response.describe()


# --------------------------------------------------------------------------------------------------
# multi-row VALUES (CrateDB source InsertFromValues.java)
# --------------------------------------------------------------------------------------------------


def test_multi_row_values_swallow_a_duplicate_key_row(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """Multi-row VALUES on a non-partitioned table: no error, only a smaller rowcount (CrateDB source
    InsertFromValues.java; crate/crate#13348)."""
    make_kv(db, tbl("t"), [[2, "old"]])
    response = db.sql(f"INSERT INTO {tbl('t')} (id, v) VALUES (1, 'a'), (2, 'dup'), (3, 'c')")
    assert response.ok, response.describe()
    assert response.rowcount == 2
    assert count(db, tbl("t")) == 3
    assert db.run(f"SELECT v FROM {tbl('t')} WHERE id = 2").rows == [["old"]]


def test_multi_row_values_on_partitioned_table_raise_duplicate_key(
    db: CrateHttp, tbl: Callable[[str], str]
) -> None:
    """On a partitioned table a duplicate in multi-row VALUES is raised (4091 / HTTP 409) (CrateDB source
    InsertFromValues.java)."""
    db.run(f"CREATE TABLE {tbl('p')} (id INTEGER, part TEXT, PRIMARY KEY (id, part)) PARTITIONED BY (part)")
    db.run(f"INSERT INTO {tbl('p')} (id, part) VALUES (1, 'x')")
    assert_error(db.sql(f"INSERT INTO {tbl('p')} (id, part) VALUES (1, 'x'), (2, 'x')"), 409, 4091)


def test_multi_row_values_insert_all_rows_without_conflicts(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """Multi-row VALUES without failures: rowcount is the number of rows (CrateDB docs general/dml)."""
    make_kv(db, tbl("t"))
    assert db.run(f"INSERT INTO {tbl('t')} (id, v) VALUES (?, ?), (?, ?)", [1, "a", 2, "b"]).rowcount == 2
    assert count(db, tbl("t")) == 2


# --------------------------------------------------------------------------------------------------
# no transactions (CrateDB docs appendices/compatibility, "Transactions")
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stmt", ["BEGIN", "START TRANSACTION", "COMMIT", "END"])
def test_transaction_statements_are_accepted_and_ignored(db: CrateHttp, stmt: str) -> None:
    """BEGIN, START TRANSACTION, COMMIT and END are accepted (and do nothing) (CrateDB docs
    appendices/compatibility, "Transactions")."""
    assert db.sql(stmt).ok


def test_rollback_is_not_in_the_grammar(db: CrateHttp) -> None:
    """ROLLBACK is not part of CrateDB's SQL grammar -> 4000 / HTTP 400 (CrateDB source SqlBaseParser.g4)."""
    assert_error(db.sql("ROLLBACK"), 400, 4000)


def test_writes_inside_begin_commit_immediately(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """Every statement commits on its own; there is nothing to roll back (CrateDB docs
    concepts/storage-consistency)."""
    make_kv(db, tbl("t"))
    db.run("BEGIN")
    db.run(f"INSERT INTO {tbl('t')} (id, v) VALUES (1, 'kept')")
    assert not db.sql("ROLLBACK").ok
    assert db.run(f"SELECT v FROM {tbl('t')} WHERE id = 1").rows == [["kept"]]


# --------------------------------------------------------------------------------------------------
# read visibility (CrateDB docs general/dql/refresh, sql/statements/refresh)
# --------------------------------------------------------------------------------------------------


def test_full_pk_lookup_sees_a_row_written_just_before(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """A full-PK lookup is a Get and always sees the latest write, without REFRESH (CrateDB docs
    sql/statements/refresh)."""
    make_kv(db, tbl("t"))
    db.run(f"INSERT INTO {tbl('t')} (id, v) VALUES (5, 'fresh')")
    assert db.run(f"SELECT v FROM {tbl('t')} WHERE id = 5").rows == [["fresh"]]


def test_refresh_table_of_missing_table_fails(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """REFRESH TABLE naming a missing table returns an error (RelationUnknown 4041) (CrateDB docs
    general/dql/refresh)."""
    make_kv(db, tbl("t"))
    assert_error(db.sql(f"REFRESH TABLE {tbl('t')}, {tbl('missing')}"), 404, 4041)


def test_refresh_several_tables_at_once(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """REFRESH TABLE t1, t2 makes all their rows visible to non-PK reads (CrateDB docs
    general/dql/refresh)."""
    make_kv(db, tbl("a"), [[1, "a"]])
    make_kv(db, tbl("b"), [[1, "b"], [2, "c"]])
    db.run(f"REFRESH TABLE {tbl('a')}, {tbl('b')}")
    assert db.run(f"SELECT count(*) FROM {tbl('a')}").rows == [[1]]
    assert db.run(f"SELECT count(*) FROM {tbl('b')}").rows == [[2]]


@pytest.mark.emulator_only
@pytest.mark.parametrize(
    "stmt",
    [
        "SELECT v FROM {t} WHERE v = 'a'",
        "SELECT count(*) FROM {t}",
        "UPDATE {t} SET v = 'b' WHERE v = 'a'",
        "DELETE FROM {t} WHERE v = 'a'",
    ],
    ids=["select", "count", "update", "delete"],
)
def test_strict_non_pk_statement_before_refresh_is_a_stale_read(emulator: Any, stmt: str) -> None:
    """Strict emulator: non-PK SELECT/UPDATE/DELETE after a write without REFRESH errors (CrateDB docs
    sql/statements/refresh)."""
    with CrateHttp(emulator.url) as http:
        table = ident("s", "t")
        make_kv(http, table)
        http.run(f"INSERT INTO {table} (id, v) VALUES (1, 'a')")
        response = http.sql(stmt.format(t=table))
        assert 400 <= response.status < 600, response.describe()
        assert "REFRESH TABLE" in response.message


@pytest.mark.emulator_only
def test_strict_refresh_makes_non_pk_statements_work(emulator: Any) -> None:
    """Strict emulator: after REFRESH TABLE non-PK statements see the rows (CrateDB docs
    sql/statements/refresh)."""
    with CrateHttp(emulator.url) as http:
        table = ident("s", "t")
        make_kv(http, table)
        http.run(f"INSERT INTO {table} (id, v) VALUES (1, 'a')")
        http.refresh(table)
        assert http.run(f"SELECT id FROM {table} WHERE v = 'a'").rows == [[1]]
        assert http.run(f"UPDATE {table} SET v = 'b' WHERE v = 'a'").rowcount == 1


@pytest.mark.emulator_only
def test_strict_full_pk_lookups_need_no_refresh(emulator: Any) -> None:
    """Strict emulator: exact full-PK SELECT/UPDATE/DELETE are Gets and need no refresh (CrateDB docs
    sql/statements/refresh; CrateDB docs concepts/storage-consistency)."""
    with CrateHttp(emulator.url) as http:
        table = ident("s", "t")
        make_kv(http, table)
        http.run(f"INSERT INTO {table} (id, v) VALUES (1, 'a'), (2, 'b')")
        assert http.run(f"SELECT v FROM {table} WHERE id = 1").rows == [["a"]]
        assert http.run(f"UPDATE {table} SET v = 'c' WHERE id = 1").rowcount == 1
        assert http.run(f"DELETE FROM {table} WHERE id = 2").rowcount == 1


@pytest.mark.emulator_only
def test_strict_partial_composite_pk_is_not_a_get(emulator: Any) -> None:
    """Strict emulator: only equality on ALL PK columns is a Get; part of a composite PK is not (CrateDB docs
    sql/statements/refresh)."""
    with CrateHttp(emulator.url) as http:
        table = ident("s", "c")
        http.run(f"CREATE TABLE {table} (a INTEGER, b TEXT, v TEXT, PRIMARY KEY (a, b))")
        http.run(f"INSERT INTO {table} (a, b, v) VALUES (1, 'x', 'one')")
        assert http.run(f"SELECT v FROM {table} WHERE a = 1 AND b = 'x'").rows == [["one"]]
        assert "REFRESH TABLE" in http.sql(f"SELECT v FROM {table} WHERE a = 1").message


# --------------------------------------------------------------------------------------------------
# identifiers and reserved names (CrateDB docs sql/general/lexical-structure; CrateDB source ColumnIdent.java)
# --------------------------------------------------------------------------------------------------


def test_fivetran_system_column_names_are_accepted(
    db: CrateHttp, schema: str, tbl: Callable[[str], str]
) -> None:
    """From 6.2.0 `_fivetran_*` names are ordinary column names (CrateDB 6.2.0 release notes)."""
    names = ["_fivetran_synced", "_fivetran_deleted", "_fivetran_id", "_fivetran_active", "_fivetran_start"]
    columns = ", ".join(f"{ident(n)} TEXT" for n in names)
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, {columns})")
    placeholders = ", ".join("?" for _ in names)
    db.run(
        f"INSERT INTO {tbl('t')} (id, {', '.join(ident(n) for n in names)}) VALUES (?, {placeholders})",
        [1, *names],
    )
    selected = db.run(f"SELECT {', '.join(ident(n) for n in names)} FROM {tbl('t')} WHERE id = 1")
    assert selected.rows == [names]
    assert list(columns_of(db, schema, "t")) == ["id", *names]


@pytest.mark.parametrize("name", ["_id", "_version", "_score", "_raw", "_seq_no", "_primary_term"])
def test_system_column_names_are_reserved(db: CrateHttp, tbl: Callable[[str], str], name: str) -> None:
    """The exact system-column names cannot be used as column names -> InvalidColumnName 4008 (CrateDB source
    SysColumns.java, ColumnIdent.java)."""
    assert_error(db.sql(f"CREATE TABLE {tbl('t')} (id INTEGER, {ident(name)} TEXT)"), 400, 4008)


def test_writing_to_a_system_column_is_rejected(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """Since 6.2.0 `INSERT ... (_id)` raises InvalidColumnName 4008 (it used to be ignored) (CrateDB 6.2.0
    release notes)."""
    make_kv(db, tbl("t"))
    response = db.sql(f"INSERT INTO {tbl('t')} (id, \"_id\") VALUES (1, 'x')")
    assert_error(response, 400, 4008)


def test_unquoted_identifiers_fold_to_lower_case_quoted_keep_case(
    db: CrateHttp, schema: str, tbl: Callable[[str], str]
) -> None:
    """Unquoted identifiers are lower-cased; quoted ones keep their case (CrateDB docs
    sql/general/lexical-structure)."""
    db.run(f'CREATE TABLE {ident(schema)}.MixedCase (Id INTEGER PRIMARY KEY, "CamelCol" TEXT)')
    assert table_names(db, schema) == {"mixedcase"}
    assert list(columns_of(db, schema, "mixedcase")) == ["id", "CamelCol"]
    db.run(f"INSERT INTO {ident(schema)}.MIXEDCASE (ID, \"CamelCol\") VALUES (1, 'x')")
    assert db.run(f'SELECT "CamelCol" FROM {tbl("mixedcase")} WHERE iD = 1').rows == [["x"]]
    assert_error(db.sql(f"SELECT CamelCol FROM {tbl('mixedcase')} WHERE id = 1"), 404, 4043)


def test_quoted_names_differing_in_case_are_distinct_tables(
    db: CrateHttp, schema: str, tbl: Callable[[str], str]
) -> None:
    """Quoted identifiers keep their case, so "MixedCase" and mixedcase are two tables (CrateDB docs
    sql/general/lexical-structure)."""
    make_kv(db, tbl("mixedcase"), [[1, "lower"]])
    make_kv(db, tbl("MixedCase"), [[1, "mixed"]])
    assert table_names(db, schema) == {"mixedcase", "MixedCase"}
    assert db.run(f"SELECT v FROM {ident(schema)}.MixedCase WHERE id = 1").rows == [["lower"]]
    assert db.run(f"SELECT v FROM {tbl('MixedCase')} WHERE id = 1").rows == [["mixed"]]


def test_reserved_words_need_quoting(db: CrateHttp, schema: str) -> None:
    """Reserved words (e.g. select, limit) are parse errors unquoted and fine quoted (CrateDB docs
    sql/general/lexical-structure)."""
    assert_error(db.sql(f"CREATE TABLE {ident(schema)}.select (x INTEGER)"), 400, 4000)
    db.run(f'CREATE TABLE {ident(schema, "select")} ("limit" INTEGER PRIMARY KEY)')
    db.run(f'INSERT INTO {ident(schema, "select")} ("limit") VALUES (3)')
    assert db.run(f'SELECT "limit" FROM {ident(schema, "select")} WHERE "limit" = 3').rows == [[3]]


@pytest.mark.parametrize("column", ["a.b", "a[1]", "a\tb"], ids=["dot", "subscript", "tab"])
def test_invalid_column_names_are_rejected(db: CrateHttp, tbl: Callable[[str], str], column: str) -> None:
    """Column names must not contain a dot, `[` or tab/CR/LF (CrateDB source ColumnIdent.java)."""
    response = db.sql(f"CREATE TABLE {tbl('t')} (id INTEGER, {ident(column)} TEXT)")
    assert_client_error(response)
    if column == "a.b":
        assert response.code == 4008


@pytest.mark.parametrize(
    "name",
    ["a.b", "a b", "a#b", "a/b", "_all", "x" * 256],
    ids=["dot", "space", "hash", "slash", "all", "long"],
)
def test_invalid_table_names_are_rejected(db: CrateHttp, schema: str, name: str) -> None:
    """Table names: none of `\\ / * ? " < > | , # .` or a space, not `_all`, at most 255 bytes (CrateDB docs
    general/ddl/create-table; CrateDB source IndexName.java, RelationName.java)."""
    assert_client_error(db.sql(f"CREATE TABLE {ident(schema, name)} (x INTEGER)"))


def test_leading_dash_is_refused_only_where_it_starts_the_index_name(db: CrateHttp, schema: str) -> None:
    """IndexName.java `validate` refuses a leading `-`/`+` of the *index name*, which is the table name in
    `doc` but `<schema>.<table>` in any other schema (CrateDB source RelationName.java `indexNameOrAlias`,
    validated in TransportCreateTable.java): `"s"."-a"` is a valid table, `doc."-a"` is not."""
    db.run(f"CREATE TABLE {ident(schema, '-a')} (x INTEGER)")
    assert_error(db.sql('CREATE TABLE doc."-a" (x INTEGER)'), 400, 4002)


def test_statement_of_max_length_is_accepted(db: CrateHttp) -> None:
    """A statement of exactly statement_max_length (262,144) characters is accepted (CrateDB docs
    config/node)."""
    head, tail = "SELECT '", "' AS s"
    stmt = head + "x" * (STATEMENT_MAX_LENGTH - len(head) - len(tail)) + tail
    assert len(stmt) == STATEMENT_MAX_LENGTH
    assert len(db.run(stmt).rows[0][0]) == STATEMENT_MAX_LENGTH - len(head) - len(tail)


def test_statement_over_max_length_is_rejected(db: CrateHttp) -> None:
    """A statement one character over 262,144 is rejected (HTTP 400) (CrateDB docs config/node)."""
    head, tail = "SELECT '", "' AS s"
    stmt = head + "x" * (STATEMENT_MAX_LENGTH + 1 - len(head) - len(tail)) + tail
    assert_client_error(db.sql(stmt))


def test_statement_length_counts_utf16_code_units(db: CrateHttp) -> None:
    """The limit compares Java's String.length() (CrateDB source Session.java `validateStatementLength`):
    131,079 code points of which 131,070 lie outside the BMP are 262,149 UTF-16 units, over the limit."""
    stmt = "SELECT '" + "\U0001f600" * 131_070 + "'"
    assert len(stmt) < STATEMENT_MAX_LENGTH
    response = db.sql(stmt)
    assert_client_error(response)
    assert "262149 provided" in response.message


# --------------------------------------------------------------------------------------------------
# data types (CrateDB docs general/ddl/data-types)
# --------------------------------------------------------------------------------------------------


def test_date_column_is_not_storable_before_6_5(
    db: CrateHttp, tbl: Callable[[str], str], server_version: tuple[int, ...]
) -> None:
    """CREATE TABLE (d DATE) -> "Type 'date' does not support storage" (released <= 6.4) (CrateDB source
    DateType.java at tag 6.4.3 has no storage; CrateDB 6.5.0 release notes)."""
    if server_version >= (6, 5, 0):
        pytest.skip("DATE is storable from 6.5.0")
    response = db.sql(f"CREATE TABLE {tbl('t')} (id INTEGER, d DATE)")
    assert_client_error(response)
    assert "does not support storage" in response.message


@pytest.mark.parametrize(
    "type_name", ["TIME WITH TIME ZONE", "TIMETZ", "TIME", "INTERVAL", "JSON", "BLOB", "BYTEA"]
)
def test_types_that_cannot_be_stored(db: CrateHttp, tbl: Callable[[str], str], type_name: str) -> None:
    """TIME(TZ), INTERVAL and JSON cannot be stored; there is no BLOB/BYTEA type (CrateDB docs
    general/ddl/data-types; CrateDB docs appendices/compatibility, "BLOB support")."""
    assert_client_error(db.sql(f"CREATE TABLE {tbl('t')} (id INTEGER, c {type_name})"))


def test_timestamps_truncate_to_milliseconds(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """Timestamps are epoch-ms integers; digits past the millisecond are dropped, not rounded (CrateDB docs
    general/ddl/data-types; CrateDB source TimestampType.java)."""
    db.run(
        f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, tz TIMESTAMP WITH TIME ZONE, "
        "naive TIMESTAMP WITHOUT TIME ZONE)"
    )
    db.run(
        f"INSERT INTO {tbl('t')} (id, tz, naive) VALUES (1, ?, ?)",
        ["2024-01-02T03:04:05.678901Z", "2024-01-02T03:04:05.678999"],
    )
    row = db.run(f"SELECT tz, naive FROM {tbl('t')} WHERE id = 1").rows[0]
    assert row == [TS_2024_01_02_030405 + 678, TS_2024_01_02_030405 + 678]
    assert all(type(value) is int for value in row)


def test_timestamp_without_time_zone_ignores_the_offset(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """WITHOUT TIME ZONE drops a given UTC offset; WITH TIME ZONE applies it (CrateDB docs
    general/ddl/data-types)."""
    db.run(
        f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, tz TIMESTAMP WITH TIME ZONE, "
        "naive TIMESTAMP WITHOUT TIME ZONE)"
    )
    value = "2024-01-02T03:04:05+02:00"
    db.run(f"INSERT INTO {tbl('t')} (id, tz, naive) VALUES (1, ?, ?)", [value, value])
    assert db.run(f"SELECT tz, naive FROM {tbl('t')} WHERE id = 1").rows == [
        [TS_2024_01_02_030405 - TWO_HOURS_MS, TS_2024_01_02_030405]
    ]


def test_timestamp_digit_string_is_ms_and_double_is_seconds(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """A digits-only string is epoch milliseconds; a double is epoch seconds (CrateDB source
    TimestampType.java)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, ts TIMESTAMP WITH TIME ZONE)")
    db.run(f"INSERT INTO {tbl('t')} (id, ts) VALUES (?, ?)", [1, "1704164645000"])
    db.run(f"INSERT INTO {tbl('t')} (id, ts) VALUES (?, ?)", [2, 1.5])
    assert db.run(f"SELECT ts FROM {tbl('t')} WHERE id IN (1, 2) ORDER BY id").rows == [
        [TS_2024_01_02_030405],
        [1500],
    ]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("TEXT", "x" * TEXT_TERM_LIMIT, 1),
        ("TEXT", "x" * (TEXT_TERM_LIMIT + 1), -2),
        ("TEXT", "é" * (TEXT_TERM_LIMIT // 2 + 1), -2),
        ("TEXT INDEX OFF", "x" * (TEXT_TERM_LIMIT + 1), -2),
        ("TEXT INDEX OFF STORAGE WITH (columnstore = false)", "x" * 100_000, 1),
        ("TEXT INDEX OFF STORAGE WITH (columnstore = false)", "é" * 50_000, 1),
    ],
    ids=["ascii-at-limit", "ascii-over", "utf8-bytes-over", "index-off-only", "both-ascii", "both-utf8"],
)
def test_text_value_byte_limit(
    db: CrateHttp, tbl: Callable[[str], str], column: str, value: str, expected: int
) -> None:
    """Indexed or column-stored TEXT holds <= 32,766 UTF-8 bytes; INDEX OFF plus columnstore = false lifts the
    limit (INDEX OFF alone does not) (CrateDB docs general/ddl/data-types; CrateDB docs
    general/ddl/storage)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, c {column})")
    response = db.sql(f"INSERT INTO {tbl('t')} (id, c) VALUES (?, ?)", bulk_args=[[1, value], [2, "small"]])
    assert response.status == 200, response.describe()
    assert [r["rowcount"] for r in response.results] == [expected, 1]
    stored = db.run(f"SELECT c FROM {tbl('t')} WHERE id = 1").rows
    assert stored == ([[value]] if expected == 1 else [])


def test_numeric_is_exact_when_sent_as_string_and_read_as_text(
    db: CrateHttp, tbl: Callable[[str], str]
) -> None:
    """NUMERIC(38,10) keeps exact values sent as strings; `::TEXT` reads them exactly (CrateDB docs
    general/ddl/data-types)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, n NUMERIC(38, 10))")
    values = ["1234567890123456789012345678.1234567890", "-98765.4321098765"]
    db.run(f"INSERT INTO {tbl('t')} (id, n) VALUES (?, ?)", bulk_args=[[1, values[0]], [2, values[1]]])
    db.refresh(tbl("t"))
    assert db.run(f"SELECT n::TEXT FROM {tbl('t')} ORDER BY id").rows == [[values[0]], [values[1]]]


def test_numeric_results_are_json_numbers(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """NUMERIC values come back as JSON numbers (so a JSON parser may lose precision) (CrateDB docs
    general/ddl/data-types)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, n NUMERIC(10, 2))")
    db.run(f"INSERT INTO {tbl('t')} (id, n) VALUES (1, ?)", ["12.34"])
    (value,) = db.run(f"SELECT n FROM {tbl('t')} WHERE id = 1").rows[0]
    assert isinstance(value, (int, float)) and not isinstance(value, bool)
    assert value == pytest.approx(12.34)


def test_numeric_without_precision_cannot_be_stored(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """A bare NUMERIC column is refused: storage needs precision (and scale) (CrateDB source
    NumericStorage.java)."""
    response = db.sql(f"CREATE TABLE {tbl('t')} (id INTEGER, n NUMERIC)")
    assert_client_error(response)
    assert "precision" in response.message.lower()


def test_numeric_precision_over_38_cannot_be_stored(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """NUMERIC(p, s) storage allows p <= 38 (CrateDB source NumericStorage.java)."""
    response = db.sql(f"CREATE TABLE {tbl('t')} (id INTEGER, n NUMERIC(39, 2))")
    assert_client_error(response)
    assert "38" in response.message
    db.run(f"CREATE TABLE {tbl('ok')} (id INTEGER, n NUMERIC(38, 2))")


def test_numeric_value_too_large_for_precision_is_rejected(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """Since 5.9.1 inserting a value that does not fit NUMERIC(p, s) is an error, not a rounding (CrateDB
    5.9.1 release notes)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, n NUMERIC(5, 2))")
    response = db.sql(f"INSERT INTO {tbl('t')} (id, n) VALUES (1, ?)", ["12345.67"])
    assert 400 <= response.status < 600 and response.error, response.describe()
    assert db.run(f"SELECT n FROM {tbl('t')} WHERE id = 1").rows == []


def test_float_is_real_and_double_is_double_precision(
    db: CrateHttp, schema: str, tbl: Callable[[str], str]
) -> None:
    """FLOAT means REAL (32-bit) in CrateDB; DOUBLE means DOUBLE PRECISION (CrateDB docs
    general/ddl/data-types)."""
    db.run(f"CREATE TABLE {tbl('t')} (f FLOAT, r REAL, d DOUBLE, dp DOUBLE PRECISION)")
    types = {name: col["data_type"] for name, col in columns_of(db, schema, "t").items()}
    assert types == {"f": "real", "r": "real", "d": "double precision", "dp": "double precision"}


def test_nan_and_infinity_strings_are_stored_in_double(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """The strings 'NaN', 'Infinity', '-Infinity' are accepted into DOUBLE; null is NULL (CrateDB docs
    general/ddl/data-types)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, d DOUBLE PRECISION)")
    rows = [[1, "NaN"], [2, "Infinity"], [3, "-Infinity"], [4, None]]
    assert [
        r["rowcount"] for r in db.run(f"INSERT INTO {tbl('t')} (id, d) VALUES (?, ?)", bulk_args=rows).results
    ] == [1] * 4
    db.refresh(tbl("t"))
    assert db.run(f"SELECT id FROM {tbl('t')} WHERE d IS NULL").rows == [[4]]
    assert db.run(f"SELECT id FROM {tbl('t')} WHERE d = 'Infinity'::DOUBLE PRECISION").rows == [[2]]
    assert db.run(f"SELECT id FROM {tbl('t')} WHERE d = '-Infinity'::DOUBLE PRECISION").rows == [[3]]


def test_boolean_accepts_documented_strings(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """BOOLEAN accepts t/true/y/yes/on/1 and f/false/n/no/off/0 (any case) as strings (CrateDB source
    BooleanType.java)."""
    words = {
        "t": True,
        "TRUE": True,
        "y": True,
        "yes": True,
        "On": True,
        "1": True,
        "f": False,
        "false": False,
        "n": False,
        "NO": False,
        "off": False,
        "0": False,
    }
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, b BOOLEAN)")
    rows = [[i, word] for i, word in enumerate(words)]
    response = db.run(f"INSERT INTO {tbl('t')} (id, b) VALUES (?, ?)", bulk_args=rows)
    assert [r["rowcount"] for r in response.results] == [1] * len(words)
    db.refresh(tbl("t"))
    assert [row[0] for row in db.run(f"SELECT b FROM {tbl('t')} ORDER BY id").rows] == list(words.values())


def test_integer_truncates_fractional_numbers_and_rejects_fractional_strings(
    db: CrateHttp, tbl: Callable[[str], str]
) -> None:
    """INTEGER: a fractional JSON number is truncated (longValue); the string '1.5' is an error (CrateDB
    source IntegerType.java)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, i INTEGER)")
    db.run(f"INSERT INTO {tbl('t')} (id, i) VALUES (1, ?)", [1.9])
    assert db.run(f"SELECT i FROM {tbl('t')} WHERE id = 1").rows == [[1]]
    response = db.sql(f"INSERT INTO {tbl('t')} (id, i) VALUES (2, ?)", ["1.5"])
    assert 400 <= response.status < 600 and response.error, response.describe()
    assert db.run(f"SELECT i FROM {tbl('t')} WHERE id = 2").rows == []


def test_bigint_round_trips_its_extremes(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """BIGINT holds -2^63 .. 2^63-1 exactly (also from digit strings) (CrateDB docs general/ddl/data-types;
    CrateDB source LongType.java)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, b BIGINT)")
    db.run(f"INSERT INTO {tbl('t')} (id, b) VALUES (?, ?)", [1, 2**63 - 1])
    db.run(f"INSERT INTO {tbl('t')} (id, b) VALUES (?, ?)", [2, str(-(2**63))])
    db.refresh(tbl("t"))
    assert db.run(f"SELECT b FROM {tbl('t')} ORDER BY id").rows == [[2**63 - 1], [-(2**63)]]


def test_varchar_length_is_enforced_except_trailing_spaces(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """VARCHAR(n): a longer value is an error unless the excess is spaces, which are trimmed (CrateDB docs
    general/ddl/data-types)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, c VARCHAR(3))")
    assert_client_error(db.sql(f"INSERT INTO {tbl('t')} (id, c) VALUES (1, ?)", ["abcd"]))
    db.run(f"INSERT INTO {tbl('t')} (id, c) VALUES (2, ?)", ["abc   "])
    assert db.run(f"SELECT c FROM {tbl('t')} WHERE id = 2").rows == [["abc"]]


def test_uuid_column_is_storable(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """UUID is a storable type since 6.2.0; dashed strings go in and come out (CrateDB 6.2.0 release
    notes)."""
    value = str(uuid.uuid4())
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, u UUID)")
    db.run(f"INSERT INTO {tbl('t')} (id, u) VALUES (1, ?)", [value])
    assert db.run(f"SELECT u FROM {tbl('t')} WHERE id = 1").rows == [[value]]


# --------------------------------------------------------------------------------------------------
# OBJECT and ARRAY (CrateDB docs general/ddl/data-types)
# --------------------------------------------------------------------------------------------------


def test_object_round_trips_and_subscripts(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """An OBJECT with declared sub-columns round-trips; obj['k'] selects a sub-column (CrateDB docs
    general/ddl/data-types)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, o OBJECT AS (a INTEGER, b TEXT))")
    db.run(f"INSERT INTO {tbl('t')} (id, o) VALUES (1, ?)", [{"a": 1, "b": "x"}])
    assert db.run(f"SELECT o, o['a'] FROM {tbl('t')} WHERE id = 1").rows == [[{"a": 1, "b": "x"}, 1]]


def test_object_accepts_json_text(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """A JSON string is implicitly cast into an OBJECT column (CrateDB docs general/ddl/data-types)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, o OBJECT AS (a INTEGER))")
    db.run(f"INSERT INTO {tbl('t')} (id, o) VALUES (1, ?)", ['{"a": 5}'])
    assert db.run(f"SELECT o['a'] FROM {tbl('t')} WHERE id = 1").rows == [[5]]


def test_dynamic_object_fixes_the_type_of_a_new_key(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """OBJECT(DYNAMIC) types a key on first sight; a later non-castable value fails (CrateDB docs
    general/ddl/data-types)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, o OBJECT(DYNAMIC))")
    db.run(f"INSERT INTO {tbl('t')} (id, o) VALUES (1, ?)", [{"n": 1}])
    response = db.sql(f"INSERT INTO {tbl('t')} (id, o) VALUES (2, ?)", [{"n": "not a number"}])
    assert 400 <= response.status < 600 and response.error, response.describe()
    assert db.run(f"SELECT o FROM {tbl('t')} WHERE id = 2").rows == []


def test_dynamic_object_rejects_dotted_keys(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """Dynamic sub-column names must not contain a dot (CrateDB source ColumnIdent.java)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, o OBJECT(DYNAMIC))")
    response = db.sql(f"INSERT INTO {tbl('t')} (id, o) VALUES (1, ?)", [{"a.b": 1}])
    assert 400 <= response.status < 600 and response.error, response.describe()


def test_strict_object_rejects_unknown_keys(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """OBJECT(STRICT) rejects keys it does not declare (CrateDB docs general/ddl/data-types)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, o OBJECT(STRICT) AS (a INTEGER))")
    db.run(f"INSERT INTO {tbl('t')} (id, o) VALUES (1, ?)", [{"a": 1}])
    response = db.sql(f"INSERT INTO {tbl('t')} (id, o) VALUES (2, ?)", [{"a": 1, "b": 2}])
    assert 400 <= response.status < 600 and response.error, response.describe()
    assert db.run(f"SELECT o FROM {tbl('t')} WHERE id = 2").rows == []


def test_ignored_object_accepts_any_keys_and_mixed_types(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """OBJECT(IGNORED) stores arbitrary keys with changing types untouched (CrateDB docs
    general/ddl/data-types)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, o OBJECT(IGNORED))")
    values = [{"k": 1, "nested": {"x": [1, 2]}}, {"k": "text", "other": None}]
    db.run(f"INSERT INTO {tbl('t')} (id, o) VALUES (?, ?)", bulk_args=[[1, values[0]], [2, values[1]]])
    db.refresh(tbl("t"))
    assert db.run(f"SELECT o FROM {tbl('t')} ORDER BY id").rows == [[values[0]], [values[1]]]


def test_strict_table_rejects_unknown_columns(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """column_policy is 'strict' by default: inserting an unknown column -> ColumnUnknown 4043 (CrateDB docs
    general/ddl/column-policy)."""
    make_kv(db, tbl("t"))
    assert_error(db.sql(f"INSERT INTO {tbl('t')} (id, extra) VALUES (1, 'x')"), 404, 4043)


def test_dynamic_table_accepts_new_columns(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """WITH (column_policy = 'dynamic') adds unknown columns on insert (CrateDB docs
    general/ddl/column-policy)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY) WITH (column_policy = 'dynamic')")
    assert db.run(f"INSERT INTO {tbl('t')} (id, extra) VALUES (1, 'x')").rowcount == 1


def test_arrays_round_trip_and_match_with_any(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """ARRAY(t) / t[] columns take JSON arrays; `x = ANY(col)` filters on elements (CrateDB docs
    general/ddl/data-types)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, nums INTEGER[], tags ARRAY(TEXT))")
    db.run(
        f"INSERT INTO {tbl('t')} (id, nums, tags) VALUES (?, ?, ?)",
        bulk_args=[[1, [1, 2, 3], ["a", "b"]], [2, [4], []], [3, None, None]],
    )
    assert db.run(f"SELECT nums, tags FROM {tbl('t')} WHERE id = 1").rows == [[[1, 2, 3], ["a", "b"]]]
    db.refresh(tbl("t"))
    assert db.run(f"SELECT id FROM {tbl('t')} WHERE 2 = ANY(nums)").rows == [[1]]


def test_array_cannot_be_a_primary_key(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """Array (and object) columns cannot be primary keys (CrateDB docs sql/general/constraints)."""
    assert_client_error(db.sql(f"CREATE TABLE {tbl('t')} (tags ARRAY(TEXT) PRIMARY KEY)"))


# --------------------------------------------------------------------------------------------------
# DDL (CrateDB docs sql/statements/)
# --------------------------------------------------------------------------------------------------


def test_create_schema_and_drop_schema(db: CrateHttp, schema: str) -> None:
    """CREATE SCHEMA [IF NOT EXISTS] and DROP SCHEMA exist since 6.2.0 (CrateDB docs
    sql/statements/create-schema; CrateDB 6.2.0 release notes)."""
    db.run(f"CREATE SCHEMA {ident(schema)}")
    db.run(f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}")
    listed = "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?"
    assert db.run(listed, [schema]).rows == [[schema]]
    db.run(f"DROP SCHEMA {ident(schema)}")
    assert db.run(listed, [schema]).rows == []


def test_create_table_creates_its_schema_implicitly(
    db: CrateHttp, schema: str, tbl: Callable[[str], str]
) -> None:
    """CREATE TABLE in a missing schema creates it (listed in information_schema.schemata) (CrateDB docs
    sql/statements/create-table)."""
    make_kv(db, tbl("t"))
    assert db.run(
        "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?", [schema]
    ).rows == [[schema]]


def test_create_table_with_all_clauses(db: CrateHttp, schema: str, tbl: Callable[[str], str]) -> None:
    """PRIMARY KEY, NOT NULL, DEFAULT, INDEX OFF, STORAGE WITH, CLUSTERED INTO n SHARDS and WITH(...) (CrateDB
    docs sql/statements/create-table)."""
    db.run(
        f"CREATE TABLE {tbl('t')} ("
        "id BIGINT PRIMARY KEY, "
        "name TEXT NOT NULL, "
        "qty INTEGER DEFAULT 7, "
        "note TEXT INDEX OFF, "
        "blob_text TEXT INDEX OFF STORAGE WITH (columnstore = false)"
        ") CLUSTERED INTO 2 SHARDS "
        "WITH (number_of_replicas = 0, refresh_interval = 1000, column_policy = 'strict', "
        "\"translog.durability\" = 'ASYNC')"
    )
    columns = columns_of(db, schema, "t")
    assert list(columns) == ["id", "name", "qty", "note", "blob_text"]
    assert [columns[c]["ordinal_position"] for c in columns] == [1, 2, 3, 4, 5]
    assert columns["id"]["is_nullable"] is False
    assert columns["name"]["is_nullable"] is False
    assert columns["qty"]["is_nullable"] is True
    shards = db.run(
        "SELECT number_of_shards FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, "t"],
    )
    assert shards.rows == [[2]]
    db.run(f"INSERT INTO {tbl('t')} (id, name) VALUES (1, 'a')")
    assert db.run(f"SELECT qty, note FROM {tbl('t')} WHERE id = 1").rows == [[7, None]]


def test_not_null_column_rejects_null(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """A NOT NULL column refuses NULL (CrateDB docs general/ddl/constraints)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    response = db.sql(f"INSERT INTO {tbl('t')} (id, name) VALUES (1, ?)", [None])
    assert 400 <= response.status < 600 and response.error, response.describe()
    assert db.run(f"SELECT name FROM {tbl('t')} WHERE id = 1").rows == []


def test_clustered_by_must_be_a_primary_key_column(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """With a primary key, the CLUSTERED BY routing column must be one of the PK columns (CrateDB docs
    sql/statements/create-table)."""
    assert_client_error(
        db.sql(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, v TEXT) CLUSTERED BY (v) INTO 2 SHARDS")
    )
    db.run(f"CREATE TABLE {tbl('ok')} (id INTEGER PRIMARY KEY, v TEXT) CLUSTERED BY (id) INTO 2 SHARDS")


def test_partitioned_table_round_trip(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """PARTITIONED BY: partition columns are part of the PK; rows land and read back per partition (CrateDB
    docs sql/statements/create-table)."""
    db.run(
        f"CREATE TABLE {tbl('p')} (id INTEGER, day TEXT, v TEXT, PRIMARY KEY (id, day)) "
        "PARTITIONED BY (day) CLUSTERED INTO 1 SHARDS"
    )
    db.run(
        f"INSERT INTO {tbl('p')} (id, day, v) VALUES (?, ?, ?)",
        bulk_args=[[1, "mon", "a"], [2, "mon", "b"], [1, "tue", "c"]],
    )
    db.refresh(tbl("p"))
    assert db.run(f"SELECT day, count(*) FROM {tbl('p')} GROUP BY day ORDER BY day").rows == [
        ["mon", 2],
        ["tue", 1],
    ]


def test_partition_column_must_be_in_primary_key(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """If a PK exists every PARTITIONED BY column must be part of it (CrateDB docs
    sql/statements/create-table)."""
    assert_client_error(
        db.sql(f"CREATE TABLE {tbl('p')} (id INTEGER PRIMARY KEY, day TEXT) PARTITIONED BY (day)")
    )


def test_partition_column_cannot_be_updated(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """Partition columns cannot be updated (CrateDB source DocTableRelation.java)."""
    db.run(f"CREATE TABLE {tbl('p')} (id INTEGER, day TEXT, PRIMARY KEY (id, day)) PARTITIONED BY (day)")
    db.run(f"INSERT INTO {tbl('p')} (id, day) VALUES (1, 'mon')")
    db.refresh(tbl("p"))
    assert_client_error(db.sql(f"UPDATE {tbl('p')} SET day = 'tue' WHERE id = 1"))


def test_create_table_as_copies_columns_and_rows(
    db: CrateHttp, schema: str, tbl: Callable[[str], str]
) -> None:
    """CREATE TABLE t AS (SELECT ...) copies column names, types and rows (CrateDB docs
    sql/statements/create-table-as)."""
    make_kv(db, tbl("src"), [[1, "a"], [2, "b"]])
    db.refresh(tbl("src"))
    db.run(f"CREATE TABLE {tbl('copy')} AS (SELECT id, v FROM {tbl('src')})")
    types = {name: col["data_type"] for name, col in columns_of(db, schema, "copy").items()}
    assert types == {"id": "integer", "v": "text"}
    db.refresh(tbl("copy"))
    assert db.run(f"SELECT id, v FROM {tbl('copy')} ORDER BY id").rows == [[1, "a"], [2, "b"]]


def test_drop_table_and_if_exists(db: CrateHttp, schema: str, tbl: Callable[[str], str]) -> None:
    """DROP TABLE removes a table; a missing one is 4041 unless IF EXISTS is given (CrateDB docs
    sql/statements/drop-table)."""
    make_kv(db, tbl("t"))
    db.run(f"DROP TABLE {tbl('t')}")
    assert "t" not in table_names(db, schema)
    make_kv(db, tbl("other"))
    assert_error(db.sql(f"DROP TABLE {tbl('t')}"), 404, 4041)
    assert db.sql(f"DROP TABLE IF EXISTS {tbl('t')}").ok


def test_alter_table_add_several_columns(db: CrateHttp, schema: str, tbl: Callable[[str], str]) -> None:
    """ALTER TABLE ... ADD COLUMN a ..., ADD COLUMN b ... adds several columns at once (CrateDB docs
    sql/statements/alter-table)."""
    make_kv(db, tbl("t"), [[1, "a"]])
    db.run(f"ALTER TABLE {tbl('t')} ADD COLUMN n BIGINT, ADD COLUMN ts TIMESTAMP WITH TIME ZONE")
    types = {name: col["data_type"] for name, col in columns_of(db, schema, "t").items()}
    assert types == {"id": "integer", "v": "text", "n": "bigint", "ts": "timestamp with time zone"}
    db.run(f"INSERT INTO {tbl('t')} (id, v, n, ts) VALUES (2, 'b', 5, 0)")
    assert db.run(f"SELECT n, ts FROM {tbl('t')} WHERE id = 2").rows == [[5, 0]]


def test_alter_table_add_existing_column_fails(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """ADD COLUMN has no IF NOT EXISTS; adding a column that exists is an error (CrateDB source
    SqlBaseParser.g4, `addColumnDefinition`)."""
    make_kv(db, tbl("t"))
    assert_client_error(db.sql(f"ALTER TABLE {tbl('t')} ADD COLUMN v TEXT"))


def test_add_column_default_does_not_backfill(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """ADD COLUMN ... DEFAULT x: existing rows stay NULL, only new rows get x (crate/crate#18783)."""
    make_kv(db, tbl("t"), [[1, "old"]])
    db.run(f"ALTER TABLE {tbl('t')} ADD COLUMN flag INTEGER DEFAULT 7")
    db.run(f"INSERT INTO {tbl('t')} (id, v) VALUES (2, 'new')")
    db.refresh(tbl("t"))
    assert db.run(f"SELECT id, flag FROM {tbl('t')} ORDER BY id").rows == [[1, None], [2, 7]]


@pytest.mark.parametrize(
    "clause",
    ["ALTER COLUMN v TYPE BIGINT", "ALTER COLUMN v SET DATA TYPE BIGINT"],
    ids=["type", "set-data-type"],
)
def test_column_type_cannot_be_changed(db: CrateHttp, tbl: Callable[[str], str], clause: str) -> None:
    """There is no ALTER COLUMN ... TYPE in the grammar -> 4000 (CrateDB source SqlBaseParser.g4)."""
    make_kv(db, tbl("t"))
    assert_error(db.sql(f"ALTER TABLE {tbl('t')} {clause}"), 400, 4000)


def test_primary_key_constraint_cannot_be_dropped(
    db: CrateHttp, schema: str, tbl: Callable[[str], str]
) -> None:
    """DROP CONSTRAINT only removes CHECK constraints; the PK stays (CrateDB docs sql/statements/alter-table,
    "DROP CONSTRAINT")."""
    make_kv(db, tbl("t"))
    name = db.run(
        "SELECT constraint_name FROM information_schema.table_constraints "
        "WHERE table_schema = ? AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
        [schema, "t"],
    ).rows[0][0]
    assert_client_error(db.sql(f"ALTER TABLE {tbl('t')} DROP CONSTRAINT {ident(name)}"))
    assert pk_columns(db, schema, "t") == ["id"]


def test_primary_key_values_cannot_be_updated(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """ "Updating a primary key is not supported" (CrateDB source DocTableRelation.java)."""
    make_kv(db, tbl("t"), [[1, "a"]])
    response = db.sql(f"UPDATE {tbl('t')} SET id = 2 WHERE id = 1")
    assert_client_error(response)
    assert "primary key" in response.message.lower()


def test_primary_key_column_can_be_added_only_to_an_empty_table(
    db: CrateHttp, schema: str, tbl: Callable[[str], str]
) -> None:
    """ADD COLUMN ... PRIMARY KEY works on an empty table and fails on a non-empty one (CrateDB source
    AlterTableClient.java)."""
    db.run(f"CREATE TABLE {tbl('empty')} (id INTEGER PRIMARY KEY, v TEXT)")
    db.run(f"ALTER TABLE {tbl('empty')} ADD COLUMN k TEXT PRIMARY KEY")
    assert pk_columns(db, schema, "empty") == ["id", "k"]
    make_kv(db, tbl("full"), [[1, "a"]])
    db.refresh(tbl("full"))
    response = db.sql(f"ALTER TABLE {tbl('full')} ADD COLUMN k TEXT PRIMARY KEY")
    assert 400 <= response.status < 600 and response.error, response.describe()
    assert "primary key" in response.message.lower()
    assert pk_columns(db, schema, "full") == ["id"]


def test_drop_column(db: CrateHttp, schema: str, tbl: Callable[[str], str]) -> None:
    """DROP COLUMN [IF EXISTS] (since 5.5.0); PK columns cannot be dropped (CrateDB docs
    sql/statements/alter-table; CrateDB 5.5.0 release notes)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, a TEXT, b TEXT)")
    db.run(f"ALTER TABLE {tbl('t')} DROP COLUMN a")
    db.run(f"ALTER TABLE {tbl('t')} DROP COLUMN IF EXISTS missing")
    assert list(columns_of(db, schema, "t")) == ["id", "b"]
    assert_client_error(db.sql(f"ALTER TABLE {tbl('t')} DROP COLUMN id"))


def test_rename_column_keeps_data(db: CrateHttp, schema: str, tbl: Callable[[str], str]) -> None:
    """RENAME COLUMN a TO b (since 5.6.0) keeps the values (CrateDB 5.6.0 release notes)."""
    make_kv(db, tbl("t"), [[1, "kept"]])
    db.run(f"ALTER TABLE {tbl('t')} RENAME COLUMN v TO w")
    assert list(columns_of(db, schema, "t")) == ["id", "w"]
    assert db.run(f"SELECT w FROM {tbl('t')} WHERE id = 1").rows == [["kept"]]


def test_rename_table_within_its_schema(db: CrateHttp, schema: str, tbl: Callable[[str], str]) -> None:
    """ALTER TABLE ... RENAME TO new; the target must not include a schema (CrateDB source
    AlterTableAnalyzer.java)."""
    make_kv(db, tbl("old"), [[1, "a"]])
    assert_client_error(db.sql(f"ALTER TABLE {tbl('old')} RENAME TO {tbl('new')}"))
    db.run(f"ALTER TABLE {tbl('old')} RENAME TO {ident('new')}")
    assert table_names(db, schema) == {"new"}
    assert db.run(f"SELECT v FROM {tbl('new')} WHERE id = 1").rows == [["a"]]


def test_alter_table_set_and_reset_parameters(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """ALTER TABLE SET (refresh_interval = ...) and RESET (refresh_interval) are accepted (CrateDB docs
    sql/statements/alter-table; CrateDB docs sql/statements/create-table)."""
    make_kv(db, tbl("t"))
    db.run(f"ALTER TABLE {tbl('t')} SET (refresh_interval = 0)")
    db.run(f"ALTER TABLE {tbl('t')} SET (number_of_replicas = 0)")
    db.run(f"ALTER TABLE {tbl('t')} RESET (refresh_interval)")


def test_swap_table_with_drop_source(db: CrateHttp, schema: str, tbl: Callable[[str], str]) -> None:
    """SWAP TABLE src TO target WITH (drop_source = true): target holds src's table, src is gone (CrateDB docs
    sql/statements/alter-cluster)."""
    make_kv(db, tbl("target"), [[1, "old"]])
    db.run(f"CREATE TABLE {tbl('src')} (id INTEGER PRIMARY KEY, v TEXT, extra TEXT)")
    db.run(f"INSERT INTO {tbl('src')} (id, v, extra) VALUES (1, 'new', 'x')")
    db.run(f"ALTER CLUSTER SWAP TABLE {tbl('src')} TO {tbl('target')} WITH (drop_source = true)")
    assert table_names(db, schema) == {"target"}
    assert list(columns_of(db, schema, "target")) == ["id", "v", "extra"]
    assert db.run(f"SELECT v, extra FROM {tbl('target')} WHERE id = 1").rows == [["new", "x"]]


def test_swap_table_without_drop_source_exchanges_names(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """ALTER CLUSTER SWAP TABLE a TO b exchanges the two tables' names atomically (CrateDB docs
    sql/statements/alter-cluster)."""
    make_kv(db, tbl("a"), [[1, "from-a"]])
    make_kv(db, tbl("b"), [[1, "from-b"]])
    db.run(f"ALTER CLUSTER SWAP TABLE {tbl('a')} TO {tbl('b')}")
    assert db.run(f"SELECT v FROM {tbl('a')} WHERE id = 1").rows == [["from-b"]]
    assert db.run(f"SELECT v FROM {tbl('b')} WHERE id = 1").rows == [["from-a"]]


def test_optimize_table_is_accepted(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """OPTIMIZE TABLE (segment merge) runs on an existing table (CrateDB docs sql/statements/optimize)."""
    make_kv(db, tbl("t"), [[1, "a"]])
    assert db.sql(f"OPTIMIZE TABLE {tbl('t')}").ok


def test_there_is_no_truncate_statement(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """There is no TRUNCATE in the grammar (use DELETE FROM t) -> 4000 (CrateDB source SqlBaseParser.g4)."""
    make_kv(db, tbl("t"))
    assert_error(db.sql(f"TRUNCATE TABLE {tbl('t')}"), 400, 4000)


# --------------------------------------------------------------------------------------------------
# DML and queries (CrateDB docs general/dml, sql/statements/)
# --------------------------------------------------------------------------------------------------


def test_insert_single_row_reports_rowcount_one(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """A single-row INSERT ... VALUES reports rowcount 1 (CrateDB docs sql/statements/insert)."""
    make_kv(db, tbl("t"))
    assert db.run(f"INSERT INTO {tbl('t')} (id, v) VALUES (?, ?)", [1, "a"]).rowcount == 1


def test_insert_without_column_list_uses_table_order(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """Without a column list the VALUES follow the CREATE TABLE column order (CrateDB docs
    sql/statements/insert)."""
    make_kv(db, tbl("t"))
    db.run(f"INSERT INTO {tbl('t')} VALUES (1, 'a')")
    assert db.run(f"SELECT v FROM {tbl('t')} WHERE id = 1").rows == [["a"]]


def test_insert_from_select_skips_failing_rows_silently(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """INSERT INTO t (SELECT ...) copies rows; duplicate-key rows are skipped, rowcount shrinks (CrateDB docs
    general/dml)."""
    make_kv(db, tbl("src"), [[1, "a"], [2, "b"], [3, "c"]])
    make_kv(db, tbl("dst"), [[2, "kept"]])
    db.refresh(tbl("src"))
    response = db.sql(f"INSERT INTO {tbl('dst')} (id, v) (SELECT id, v FROM {tbl('src')})")
    assert response.ok, response.describe()
    assert response.rowcount == 2
    db.refresh(tbl("dst"))
    assert db.run(f"SELECT id, v FROM {tbl('dst')} ORDER BY id").rows == [[1, "a"], [2, "kept"], [3, "c"]]


def test_insert_select_fail_fast_setting_turns_skips_into_an_error(
    cratedb_url: str, db: CrateHttp, tbl: Callable[[str], str]
) -> None:
    """`SET insert_select_fail_fast = true` (per connection, since 6.0) makes INSERT ... SELECT fail on the
    first failing row instead of skipping it (CrateDB docs general/dml; CrateDB 6.0.0 release notes)."""
    make_kv(db, tbl("src"), [[1, "a"], [2, "b"]])
    make_kv(db, tbl("dst"), [[2, "kept"]])
    db.refresh(tbl("src"))
    with CrateHttp(cratedb_url) as session:  # one pool, so the SET and the INSERT share a connection
        session.run("SET insert_select_fail_fast = true")
        response = session.sql(f"INSERT INTO {tbl('dst')} (id, v) (SELECT id, v FROM {tbl('src')})")
    assert response.status >= 400 and response.error, response.describe()


def test_insert_from_unnest_of_array_args(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """INSERT INTO t (a, b) (SELECT * FROM UNNEST(?, ?)) takes one array per column (cratedb-guide
    docs/performance/inserts/methods.md)."""
    make_kv(db, tbl("t"))
    response = db.run(
        f"INSERT INTO {tbl('t')} (id, v) (SELECT * FROM UNNEST(?, ?))", [[1, 2, 3], ["a", "b", "c"]]
    )
    assert response.rowcount == 3
    db.refresh(tbl("t"))
    assert db.run(f"SELECT id, v FROM {tbl('t')} ORDER BY id").rows == [[1, "a"], [2, "b"], [3, "c"]]


def test_upsert_with_excluded_and_existing_values(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """ON CONFLICT (pk) DO UPDATE SET may use excluded.col and the existing row's columns (CrateDB docs
    sql/statements/insert)."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, name TEXT, visits INTEGER)")
    upsert = (
        f"INSERT INTO {tbl('t')} (id, name, visits) VALUES (?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, visits = visits + excluded.visits"
    )
    db.run(upsert, [1, "first", 1])
    response = db.run(upsert, bulk_args=[[1, "second", 5], [2, "other", 1]])
    assert [r["rowcount"] for r in response.results] == [1, 1]
    assert db.run(f"SELECT name, visits FROM {tbl('t')} WHERE id = 1").rows == [["second", 6]]


def test_upsert_do_nothing_keeps_the_existing_row(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """ON CONFLICT DO NOTHING leaves the row alone and reports rowcount 0 (CrateDB docs
    sql/statements/insert)."""
    make_kv(db, tbl("t"), [[1, "old"]])
    assert db.run(f"INSERT INTO {tbl('t')} (id, v) VALUES (1, 'new') ON CONFLICT DO NOTHING").rowcount == 0
    assert db.run(f"SELECT v FROM {tbl('t')} WHERE id = 1").rows == [["old"]]


def test_upsert_do_update_has_no_where_clause(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """DO UPDATE SET ... WHERE ... is not in the grammar -> 4000 (CrateDB source SqlBaseParser.g4,
    `onConflict`)."""
    make_kv(db, tbl("t"))
    response = db.sql(
        f"INSERT INTO {tbl('t')} (id, v) VALUES (1, 'x') "
        f"ON CONFLICT (id) DO UPDATE SET v = excluded.v WHERE v < excluded.v"
    )
    assert_error(response, 400, 4000)


def test_upsert_cannot_assign_the_primary_key(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """Assigning a PK column in DO UPDATE SET is rejected (CrateDB source DocTableRelation.java)."""
    make_kv(db, tbl("t"))
    response = db.sql(
        f"INSERT INTO {tbl('t')} (id, v) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET id = excluded.id"
    )
    assert_client_error(response)
    assert "primary key" in response.message.lower()


def test_upsert_conflict_target_must_be_the_primary_key(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """Only the primary key can be the ON CONFLICT target (CrateDB docs sql/statements/insert)."""
    make_kv(db, tbl("t"))
    assert_client_error(
        db.sql(f"INSERT INTO {tbl('t')} (id, v) VALUES (1, 'x') ON CONFLICT (v) DO UPDATE SET v = excluded.v")
    )


def test_insert_returning(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """INSERT ... RETURNING returns the written values (CrateDB docs sql/statements/insert)."""
    make_kv(db, tbl("t"))
    response = db.run(f"INSERT INTO {tbl('t')} (id, v) VALUES (1, 'a') RETURNING id, v")
    assert response.rows == [[1, "a"]]


def test_update_by_query_and_by_primary_key(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """UPDATE ... WHERE (after REFRESH) and by PK report the rows changed (CrateDB docs
    sql/statements/update)."""
    make_kv(db, tbl("t"), [[1, "a"], [2, "a"], [3, "b"]])
    db.refresh(tbl("t"))
    assert db.run(f"UPDATE {tbl('t')} SET v = 'z' WHERE v = 'a'").rowcount == 2
    assert db.run(f"UPDATE {tbl('t')} SET v = ? WHERE id = ?", ["y", 3]).rowcount == 1
    db.refresh(tbl("t"))
    assert db.run(f"SELECT id, v FROM {tbl('t')} ORDER BY id").rows == [[1, "z"], [2, "z"], [3, "y"]]


def test_delete_by_primary_key_by_query_and_all(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """DELETE by PK, by query (after REFRESH) and DELETE FROM t without WHERE (CrateDB docs
    sql/statements/delete)."""
    make_kv(db, tbl("t"), [[1, "a"], [2, "b"], [3, "b"], [4, "c"]])
    assert db.run(f"DELETE FROM {tbl('t')} WHERE id = 1").rowcount == 1
    db.refresh(tbl("t"))
    assert db.run(f"DELETE FROM {tbl('t')} WHERE v = 'b'").rowcount == 2
    assert count(db, tbl("t")) == 1
    db.run(f"DELETE FROM {tbl('t')}")
    assert count(db, tbl("t")) == 0


def test_join_between_two_tables(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """SELECT with an inner and a left join across two tables."""
    make_kv(db, tbl("names"), [[1, "one"], [2, "two"]])
    db.run(f"CREATE TABLE {tbl('facts')} (id INTEGER PRIMARY KEY, name_id INTEGER)")
    db.run(f"INSERT INTO {tbl('facts')} (id, name_id) VALUES (?, ?)", bulk_args=[[10, 1], [11, 2], [12, 3]])
    db.refresh(tbl("names"), tbl("facts"))
    inner = db.run(
        f"SELECT f.id, n.v FROM {tbl('facts')} f JOIN {tbl('names')} n ON f.name_id = n.id ORDER BY f.id"
    )
    assert inner.rows == [[10, "one"], [11, "two"]]
    left = db.run(
        f"SELECT f.id, n.v FROM {tbl('facts')} f LEFT JOIN {tbl('names')} n ON f.name_id = n.id ORDER BY f.id"
    )
    assert left.rows == [[10, "one"], [11, "two"], [12, None]]


def test_aggregates_group_by_order_by_limit_offset(db: CrateHttp, tbl: Callable[[str], str]) -> None:
    """SELECT with count/sum/min/max/avg, GROUP BY, ORDER BY, LIMIT and OFFSET."""
    db.run(f"CREATE TABLE {tbl('t')} (id INTEGER PRIMARY KEY, g TEXT, n INTEGER)")
    rows = [[1, "a", 1], [2, "a", 3], [3, "b", 10], [4, "c", 5], [5, "c", 7]]
    db.run(f"INSERT INTO {tbl('t')} (id, g, n) VALUES (?, ?, ?)", bulk_args=rows)
    db.refresh(tbl("t"))
    total = db.run(f"SELECT count(*), sum(n), min(n), max(n), avg(n) FROM {tbl('t')}")
    assert total.rows == [[5, 26, 1, 10, pytest.approx(5.2)]]
    grouped = db.run(
        f"SELECT g, count(*) AS c, sum(n) FROM {tbl('t')} GROUP BY g ORDER BY g DESC LIMIT 2 OFFSET 1"
    )
    assert grouped.rows == [["b", 1, 10], ["a", 2, 4]]


def test_casts_and_try_cast(db: CrateHttp) -> None:
    """CAST/`::` between text, numbers and timestamps; TRY_CAST yields NULL instead of failing (CrateDB docs
    general/ddl/data-types)."""
    result = db.run(
        "SELECT CAST('42' AS INTEGER), '3.5'::DOUBLE PRECISION, 42::TEXT, TRY_CAST('x' AS INTEGER), "
        "'2024-01-02T03:04:05Z'::TIMESTAMP WITH TIME ZONE"
    )
    assert result.rows == [[42, 3.5, "42", None, TS_2024_01_02_030405]]
    assert_client_error(db.sql("SELECT CAST('x' AS INTEGER)"))


# --------------------------------------------------------------------------------------------------
# information_schema (CrateDB docs general/information-schema)
# --------------------------------------------------------------------------------------------------


def test_information_schema_tables_lists_base_tables(
    db: CrateHttp, schema: str, tbl: Callable[[str], str]
) -> None:
    """information_schema.tables lists created tables with table_type 'BASE TABLE' (CrateDB docs
    general/information-schema)."""
    make_kv(db, tbl("t"))
    result = db.run(
        "SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE table_schema = ?",
        [schema],
    )
    assert result.rows == [[schema, "t", "BASE TABLE"]]


@pytest.mark.parametrize(
    ("declared", "data_type"),
    [
        ("TEXT", "text"),
        ("STRING", "text"),
        ("INTEGER", "integer"),
        ("INT", "integer"),
        ("BIGINT", "bigint"),
        ("SMALLINT", "smallint"),
        ("BOOLEAN", "boolean"),
        ("TIMESTAMP WITH TIME ZONE", "timestamp with time zone"),
        ("TIMESTAMPTZ", "timestamp with time zone"),
        ("TIMESTAMP WITHOUT TIME ZONE", "timestamp without time zone"),
        ("TIMESTAMP", "timestamp without time zone"),
        ("NUMERIC(10, 2)", "numeric"),
        ("OBJECT", "object"),
        ("OBJECT(IGNORED)", "object"),
        ("TEXT[]", "text_array"),
        ("ARRAY(BIGINT)", "bigint_array"),
    ],
)
def test_information_schema_column_data_types(
    db: CrateHttp, schema: str, tbl: Callable[[str], str], declared: str, data_type: str
) -> None:
    """information_schema.columns.data_type uses CrateDB type names; arrays are `<inner>_array` (CrateDB docs
    general/information-schema)."""
    db.run(f"CREATE TABLE {tbl('t')} (c {declared})")
    assert columns_of(db, schema, "t")["c"]["data_type"] == data_type


def test_information_schema_varchar_length(db: CrateHttp, schema: str, tbl: Callable[[str], str]) -> None:
    """VARCHAR(n) is reported as `text` with character_maximum_length n (CrateDB source
    InformationColumnsTableInfo.java)."""
    db.run(f"CREATE TABLE {tbl('t')} (c VARCHAR(10), d TEXT)")
    columns = columns_of(db, schema, "t")
    assert (columns["c"]["data_type"], columns["c"]["max_length"]) == ("text", 10)
    assert columns["d"]["max_length"] is None


def test_information_schema_primary_key_constraint_and_key_columns(
    db: CrateHttp, schema: str, tbl: Callable[[str], str]
) -> None:
    """table_constraints has one PRIMARY KEY; key_column_usage lists its columns in key order (CrateDB docs
    general/information-schema)."""
    db.run(f"CREATE TABLE {tbl('t')} (b TEXT, a INTEGER, v TEXT, PRIMARY KEY (a, b))")
    constraints = db.run(
        "SELECT constraint_type FROM information_schema.table_constraints "
        "WHERE table_schema = ? AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
        [schema, "t"],
    )
    assert constraints.rows == [["PRIMARY KEY"]]
    assert pk_columns(db, schema, "t") == ["a", "b"]


def test_table_without_primary_key_has_no_key_columns(
    db: CrateHttp, schema: str, tbl: Callable[[str], str]
) -> None:
    """A table without PK gets auto `_id`s and lists no key columns (CrateDB docs
    concepts/storage-consistency)."""
    db.run(f"CREATE TABLE {tbl('t')} (v TEXT)")
    db.run(f"INSERT INTO {tbl('t')} (v) VALUES (?)", bulk_args=[["a"], ["a"]])
    assert pk_columns(db, schema, "t") == []
    assert count(db, tbl("t")) == 2


# --------------------------------------------------------------------------------------------------
# Version gates (emulators of other versions)
# --------------------------------------------------------------------------------------------------


@pytest.mark.emulator_only
def test_version_6_1_rejects_system_column_pattern_and_create_schema() -> None:
    """Before 6.2: `_fivetran_synced` matches the system column pattern (4008); `_x1` and `__x` do not; CREATE
    SCHEMA does not exist (CrateDB source ColumnIdent.java at tag 6.1.0; CrateDB 6.2.0 release notes)."""
    emulator = start_emulator(version="6.1.0")
    try:
        with CrateHttp(emulator.url) as http:
            assert http.root().body["version"]["number"] == "6.1.0"
            response = http.sql('CREATE TABLE s.t (id INTEGER, "_fivetran_synced" TIMESTAMP)')
            assert_error(response, 400, 4008)
            http.run('CREATE TABLE s.ok (id INTEGER, "_x1" TEXT, "__x" TEXT, "_a_" TEXT)')
            assert_error(http.sql("CREATE SCHEMA s2"), 400, 4000)
    finally:
        emulator.stop()


@pytest.mark.emulator_only
def test_version_6_1_has_no_uuid_type() -> None:
    """The UUID column type exists only since 6.2.0 (CrateDB 6.2.0 release notes)."""
    emulator = start_emulator(version="6.1.0")
    try:
        with CrateHttp(emulator.url) as http:
            assert_client_error(http.sql("CREATE TABLE s.t (id INTEGER, u UUID)"))
    finally:
        emulator.stop()


@pytest.mark.emulator_only
def test_version_5_8_cannot_store_numeric() -> None:
    """NUMERIC storage exists only since 5.9.0 (CrateDB 5.9.0 release notes)."""
    emulator = start_emulator(version="5.8.0")
    try:
        with CrateHttp(emulator.url) as http:
            assert_client_error(http.sql("CREATE TABLE s.t (id INTEGER, n NUMERIC(10, 2))"))
    finally:
        emulator.stop()


@pytest.mark.emulator_only
def test_version_5_4_has_no_drop_column_and_5_5_no_rename_column() -> None:
    """DROP COLUMN needs 5.5.0; RENAME COLUMN needs 5.6.0 (CrateDB 5.5.0 and 5.6.0 release notes)."""
    for version, ok_stmt, refused in [
        ("5.4.0", None, "ALTER TABLE s.t DROP COLUMN b"),
        ("5.5.0", "ALTER TABLE s.t DROP COLUMN b", "ALTER TABLE s.t RENAME COLUMN a TO c"),
    ]:
        emulator = start_emulator(version=version)
        try:
            with CrateHttp(emulator.url) as http:
                http.run("CREATE TABLE s.t (id INTEGER PRIMARY KEY, a TEXT, b TEXT)")
                if ok_stmt:
                    http.run(ok_stmt)
                assert_client_error(http.sql(refused))
        finally:
            emulator.stop()


@pytest.mark.emulator_only
def test_version_6_5_stores_date() -> None:
    """DATE becomes storable in 6.5.0: midnight UTC in epoch ms (CrateDB 6.5.0 release notes)."""
    emulator = start_emulator(version="6.5.0")
    try:
        with CrateHttp(emulator.url) as http:
            http.run("CREATE TABLE s.t (id INTEGER PRIMARY KEY, d DATE)")
            http.run("INSERT INTO s.t (id, d) VALUES (1, '2024-01-02')")
            assert http.run("SELECT d FROM s.t WHERE id = 1").rows == [[1704153600000]]
    finally:
        emulator.stop()


# --------------------------------------------------------------------------------------------------
# authentication, emulator with credentials (CrateDB docs admin/auth/methods)
# --------------------------------------------------------------------------------------------------


@pytest.mark.emulator_only
def test_basic_auth_is_required_when_the_server_has_credentials() -> None:
    """With password authentication, requests need `Authorization: Basic` with the right password (CrateDB
    docs admin/auth/methods)."""
    emulator = start_emulator(user="alice", password="s3cret")
    try:
        host = emulator.url.removeprefix("http://")
        for url in (emulator.url, f"http://alice:wrong@{host}", f"http://bob:s3cret@{host}"):
            with CrateHttp(url) as http:
                assert http.sql("SELECT 1 AS one").status == 401
        with CrateHttp(f"http://alice:s3cret@{host}") as http:
            assert http.run("SELECT 1 AS one").rows == [[1]]
    finally:
        emulator.stop()


# --------------------------------------------------------------------------------------------------
# Emulator fault injection and statistics (no CrateDB counterpart; emulator_only)
# --------------------------------------------------------------------------------------------------


@pytest.mark.emulator_only
def test_fault_http_503_on_the_nth_request(emulator: Any) -> None:
    """Fault injection: the Nth SQL request answers HTTP 503 with a CrateDB 503x body, once (CrateDB source
    HttpErrorStatus.java)."""
    emulator.faults.http_503(nth=2)
    with CrateHttp(emulator.url) as http:
        assert http.sql("SELECT 1 AS one").ok
        failed = http.sql("SELECT 1 AS one")
        assert failed.status == 503, failed.describe()
        assert failed.code is not None and 5030 <= failed.code <= 5035
        assert http.sql("SELECT 1 AS one").ok


@pytest.mark.emulator_only
def test_fault_http_503_executes_nothing(emulator: Any) -> None:
    """Fault injection: a request answered with 503 is not executed (no partial write)."""
    with CrateHttp(emulator.url) as http:
        make_kv(http, ident("s", "t"))
        emulator.faults.http_503(nth=1, statements=["INSERT"])
        assert http.sql("SELECT 1 AS one").ok  # other statement kinds are not matched
        assert http.sql("INSERT INTO s.t (id, v) VALUES (1, 'a')").status == 503
        assert http.run("SELECT v FROM s.t WHERE id = 1").rows == []


@pytest.mark.emulator_only
def test_fault_connection_reset(emulator: Any) -> None:
    """Fault injection: the connection is dropped without an answer; the next request works again."""
    import urllib3

    emulator.faults.reset(nth=1)
    with CrateHttp(emulator.url) as http, pytest.raises(urllib3.exceptions.HTTPError):
        http.sql("SELECT 1 AS one")
    with CrateHttp(emulator.url) as http:
        assert http.sql("SELECT 1 AS one").ok


@pytest.mark.emulator_only
def test_fault_delay(emulator: Any) -> None:
    """Fault injection: a delayed request still succeeds, after at least the configured delay."""
    import time

    emulator.faults.delay(200, nth=1)
    with CrateHttp(emulator.url) as http:
        started = time.perf_counter()
        assert http.sql("SELECT 1 AS one").ok
        assert time.perf_counter() - started >= 0.2


@pytest.mark.emulator_only
def test_fault_bulk_row_failures_write_only_the_successful_rows(emulator: Any) -> None:
    """Fault injection: bulk rows fail with -2 plus an error inside HTTP 200; only the others land (CrateDB
    docs interfaces/http, "Bulk errors")."""
    emulator.faults.seed(7)
    emulator.faults.bulk_row_failure(row_share=0.5, times=1)
    with CrateHttp(emulator.url) as http:
        make_kv(http, ident("s", "t"))
        rows = [[i, f"v{i}"] for i in range(40)]
        response = http.sql("INSERT INTO s.t (id, v) VALUES (?, ?)", bulk_args=rows)
        assert response.status == 200, response.describe()
        counts = [r["rowcount"] for r in response.results]
        assert set(counts) == {1, -2}
        assert all("error" in r for r in response.results if r["rowcount"] == -2)
        http.refresh(ident("s", "t"))
        stored = {row[0] for row in http.run("SELECT id FROM s.t").rows}
        assert stored == {i for i, c in enumerate(counts) if c == 1}


@pytest.mark.emulator_only
def test_statistics_count_requests_statements_and_rows(emulator: Any) -> None:
    """Statistics: HTTP requests, statements by kind, bulk rows, rows and bytes received; reset_stats."""
    with CrateHttp(emulator.url) as http:
        make_kv(http, ident("s", "t"))
        emulator.reset_stats()
        http.run("INSERT INTO s.t (id, v) VALUES (?, ?)", bulk_args=[[1, "a"], [2, "b"], [3, "c"]])
        http.run("INSERT INTO s.t (id, v) VALUES (4, 'd'), (5, 'e')")
        http.run("UPDATE s.t SET v = 'x' WHERE id = 1")
        http.run("SELECT v FROM s.t WHERE id = 1")
        stats = emulator.stats()
    assert stats["http_requests"] == 4
    assert stats["statements"] == {"INSERT": 2, "UPDATE": 1, "SELECT": 1}
    assert stats["bulk_rows"] == 3
    assert stats["rows_received"] == 5
    assert stats["bytes_received"] > 0
    emulator.reset_stats()
    assert emulator.stats()["http_requests"] == 0
