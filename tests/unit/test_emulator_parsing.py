"""The emulator's tokenizer, DDL parser, SQL pre-pass and identifier encoding."""

from __future__ import annotations

import pytest
from cratedb_emulator import CrateError
from cratedb_emulator import types as t
from cratedb_emulator.catalog import decode_name, encode_name, validate_column_name
from cratedb_emulator.ddl_parser import (
    AlterTable,
    CreateSchema,
    CreateTable,
    DropTable,
    SwapTable,
    TableList,
    parse,
)
from cratedb_emulator.lexer import IDENT, PARAM, QIDENT, STRING, tokenize
from cratedb_emulator.translate import prepass
from cratedb_emulator.versions import Version


def ddl(sql: str) -> object:
    return parse(sql, tokenize(sql))


def test_tokenizer_folds_unquoted_identifiers_and_unescapes() -> None:
    tokens = tokenize("SELECT Foo, \"Bar\"\"x\", 'it''s', ?, $2 -- comment\n/* block */")
    assert [(tok.kind, tok.value) for tok in tokens[:6]] == [
        (IDENT, "select"),
        (IDENT, "foo"),
        ("op", ","),
        (QIDENT, 'Bar"x'),
        ("op", ","),
        (STRING, "it's"),
    ]
    assert [tok.value for tok in tokens if tok.kind == PARAM] == ["?", "$2"]


def test_tokenizer_reports_position_of_bad_input() -> None:
    with pytest.raises(CrateError) as error:
        tokenize("SELECT 'open")
    assert error.value.code == 4000
    assert "line 1:8" in error.value.message


def test_create_table_with_every_clause() -> None:
    statement = ddl(
        'CREATE TABLE IF NOT EXISTS s."T" ('
        " id BIGINT PRIMARY KEY,"
        " day TIMESTAMP WITH TIME ZONE NOT NULL,"
        " body TEXT INDEX OFF STORAGE WITH (columnstore = false),"
        " n NUMERIC(10, 2) DEFAULT 1.5 NOT NULL,"
        " o OBJECT(STRICT) AS (k TEXT),"
        " tags ARRAY(TEXT),"
        " g INTEGER GENERATED ALWAYS AS (id * 2),"
        " CONSTRAINT c CHECK (n > 0),"
        " PRIMARY KEY (id, day)"
        ") PARTITIONED BY (day) CLUSTERED BY (id) INTO 3 SHARDS"
        " WITH (number_of_replicas = '0-1', \"translog.durability\" = 'ASYNC', refresh_interval = 500)"
    )
    assert isinstance(statement, CreateTable)
    assert (statement.name.schema, statement.name.name, statement.if_not_exists) == ("s", "T", True)
    columns = {c.name: c for c in statement.columns}
    assert columns["id"].primary_key and statement.primary_key == ["id", "day"]
    day_type, object_type = columns["day"].ctype, columns["o"].ctype
    assert day_type is not None and object_type is not None
    assert columns["day"].not_null and day_type.kind == t.TIMESTAMPTZ
    assert columns["body"].index_off and not columns["body"].columnstore
    assert columns["n"].default_sql == "1.5" and columns["n"].not_null
    assert object_type.policy == "strict" and object_type.fields[0][0] == "k"
    assert columns["g"].generated_sql == "(id * 2)"
    assert statement.checks == [("c", "n > 0")]
    assert statement.partitioned_by == ["day"] and statement.clustered_by == "id" and statement.shards == 3
    assert statement.settings == {
        "number_of_replicas": "0-1",
        "translog.durability": "ASYNC",
        "refresh_interval": 500,
    }


def test_create_table_as_and_like() -> None:
    statement = ddl("CREATE TABLE t AS (SELECT * FROM u)")
    assert isinstance(statement, CreateTable) and statement.as_query == "SELECT * FROM u"
    like = ddl("CREATE TABLE t (LIKE s.u INCLUDING ALL)")
    assert isinstance(like, CreateTable) and like.like is not None and like.like.shown == "s.u"


@pytest.mark.parametrize(
    ("sql", "action"),
    [
        ("ALTER TABLE t ADD COLUMN a INT, ADD b TEXT DEFAULT 'x'", "add"),
        ("ALTER TABLE t DROP COLUMN IF EXISTS a, DROP b", "drop"),
        ("ALTER TABLE t RENAME COLUMN a TO b", "rename_columns"),
        ("ALTER TABLE t RENAME TO u", "rename_table"),
        ("ALTER TABLE t SET (refresh_interval = 0)", "set"),
        ("ALTER TABLE t RESET (refresh_interval)", "reset"),
        ("ALTER TABLE t ALTER COLUMN a SET DEFAULT 1", "set_default"),
        ("ALTER TABLE t DROP CONSTRAINT c", "drop_constraint"),
    ],
)
def test_alter_table_forms(sql: str, action: str) -> None:
    statement = ddl(sql)
    assert isinstance(statement, AlterTable) and statement.action == action


def test_alter_table_add_several_columns() -> None:
    statement = ddl("ALTER TABLE t ADD COLUMN a INT, ADD b TEXT DEFAULT 'x'")
    assert isinstance(statement, AlterTable)
    assert [(c.name, c.default_sql) for c in statement.add] == [("a", None), ("b", "'x'")]


def test_column_type_change_is_a_parse_error() -> None:
    with pytest.raises(CrateError) as error:
        ddl("ALTER TABLE t ALTER COLUMN a TYPE BIGINT")
    assert error.value.code == 4000


def test_other_statements() -> None:
    assert isinstance(ddl("CREATE SCHEMA IF NOT EXISTS s"), CreateSchema)
    assert isinstance(ddl("DROP TABLE IF EXISTS s.t;"), DropTable)
    swap = ddl("ALTER CLUSTER SWAP TABLE a TO b WITH (drop_source = true)")
    assert isinstance(swap, SwapTable) and swap.drop_source
    refresh = ddl("REFRESH TABLE a, s.b PARTITION (day = 1)")
    assert isinstance(refresh, TableList) and [n.shown for n in refresh.names] == ["a", "s.b"]


def test_reserved_words_need_quotes() -> None:
    with pytest.raises(CrateError):
        ddl("CREATE TABLE select (x INT)")
    assert isinstance(ddl('CREATE TABLE "select" ("limit" INT)'), CreateTable)


def test_prepass_numbers_placeholders_and_marks_cast_types() -> None:
    text, types, count = prepass("SELECT ?::FLOAT, CAST(? AS TIMESTAMP WITH TIME ZONE), $1,$2 FROM t")
    assert "__ctype_0" in text and "__ctype_1" in text and " $1 , $2 " in text
    assert types[0].kind == t.REAL and types[1].kind == t.TIMESTAMPTZ
    assert count == 2


def test_identifier_encoding_keeps_case_distinct_for_duckdb() -> None:
    assert encode_name("plain_name") == "plain_name"
    assert encode_name("MixedCase") == "^mixed^case"
    assert encode_name("a^b") == "a^^b"
    for name in ("MixedCase", "a^B", "^", "ÄÖ", "x"):
        assert decode_name(encode_name(name)) == name
    assert encode_name("Id").lower() != encode_name("id").lower()


def test_column_name_rules_and_version_gate() -> None:
    for bad, code in (("a.b", 4008), ("a[1]", 4008), ("a\tb", 4008), ("_id", 4008)):
        with pytest.raises(CrateError) as error:
            validate_column_name(bad, Version.parse("6.4.3"))
        assert error.value.code == code
    validate_column_name("_fivetran_synced", Version.parse("6.2.0"))
    with pytest.raises(CrateError, match="system column pattern"):
        validate_column_name("_fivetran_synced", Version.parse("6.1.2"))
    validate_column_name("_Fivetran", Version.parse("6.1.2"))  # upper case never matched the pattern
