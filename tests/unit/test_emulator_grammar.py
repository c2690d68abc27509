"""The grammar gate: CrateDB's ANTLR grammar (cratedb-sqlparse) judges every statement the emulator gets."""

from __future__ import annotations

import pytest
from antlr4 import CommonTokenStream
from crate_http import CrateHttp
from cratedb_emulator import Emulator, errors, gate, grammar
from cratedb_emulator.engine import Engine
from cratedb_emulator.outcome import Session
from cratedb_emulator.versions import Version
from cratedb_sqlparse.generated_parser.SqlBaseLexer import SqlBaseLexer
from cratedb_sqlparse.parser import CaseInsensitiveStream
from hypothesis import given, settings
from hypothesis import strategies as st
from test_sql_builders import CASES as DESTINATION_BUILDER_CASES

CURRENT = Version.parse("6.4.3")


def rejection(stmt: str) -> str | None:
    """The gate's answer as the client sees it: None, or the error message."""
    try:
        gate.check(stmt, CURRENT)
    except errors.CrateError as exc:
        assert (exc.code, exc.http_status) == (4000, 400)
        return exc.message
    return None


# ---- CrateDB's error shape ---------------------------------------------------------------------------
def test_two_statements_answer_as_crate_does_over_http() -> None:
    """RestSQLActionIntegrationTest.test_only_single_statements_allowed, byte for byte."""
    with Emulator() as emulator, CrateHttp(emulator.url) as http:
        response = http.sql("select 1; select 2;")
    assert response.status == 400
    assert response.body == {
        "error": {
            "message": "ParsingException[line 1:11: mismatched input 'select' expecting <EOF>]",
            "code": 4000,
        }
    }


@pytest.mark.parametrize(
    ("stmt", "message"),
    [
        ("SELEC 1", "ParsingException[line 1:1: mismatched input 'SELEC' expecting {"),
        ("SELECT 1 FROM t WHERE", "ParsingException[line 1:22: no viable alternative at input"),
        ("SELECT a FROM t)", "ParsingException[line 1:16: extraneous input ')' expecting {<EOF>, ';'}]"),
        ("SELECT `a` FROM t", "ParsingException[line 1:8: backquoted identifiers are not supported"),
        ("SELECT 1a FROM t", "ParsingException[line 1:8: identifiers must not start with a digit"),
        ("SELECT 1\nFROM t\nWHERE ?? = 1", "ParsingException[line 3:8: "),
        (
            "INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = 2",
            "ParsingException[line 1:33: no viable alternative at input 'ON DUPLICATE'",
        ),
    ],
)
def test_rejections_carry_line_and_column(stmt: str, message: str) -> None:
    answer = rejection(stmt)
    assert answer is not None and answer.startswith(message), answer


def test_one_place_builds_the_parse_error_shape() -> None:
    """Hand-written checks and the grammar answer alike (errors.syntax_error)."""
    assert errors.syntax_error(1, 11, "x").payload() == {
        "message": "ParsingException[line 1:11: x]",
        "code": 4000,
    }
    found = grammar.judge("select 1; select 2;")
    assert (
        found is not None
        and found.error().payload()
        == errors.syntax_error(1, 11, "mismatched input 'select' expecting <EOF>").payload()
    )


# ---- what CrateDB accepts passes -------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "build", "_expected"), DESTINATION_BUILDER_CASES)
def test_every_destination_builder_statement_passes(name: str, build: object, _expected: str) -> None:
    assert callable(build)
    assert rejection(build()) is None, name


@pytest.mark.parametrize(
    "stmt",
    [
        "select 1;",
        'SELECT * FROM "s"."t" WHERE "id" = ANY(CAST(? AS ARRAY(BIGINT))) -- trailing comment',
        'INSERT INTO "s"."t" ("a", "b") VALUES (?, ?) ON CONFLICT ("a") DO UPDATE SET "b" = excluded."b"',
        "SELECT $$it's \"quoted\"$$, E'\\'', B'0101', 1e3, -2.5, $tag$x$tag$",
        "SELECT a@b FROM t",  # '@' is the one identifier symbol CrateDB allows
        "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
        'REFRESH TABLE "s"."t"',
    ],
)
def test_accepts_valid_crate_sql(stmt: str) -> None:
    assert rejection(stmt) is None


@pytest.mark.parametrize(
    "stmt",
    [
        'CREATE SCHEMA "s"',
        "DROP SCHEMA IF EXISTS s CASCADE",
        "CREATE TABLE t (LIKE s.u INCLUDING ALL)",
        "ALTER TABLE t ALTER COLUMN a SET DEFAULT 1",
        "INSERT INTO t (a, b) VALUES (1, DEFAULT)",
        "SELECT * FROM t WHERE a IS NOT TRUE",
    ],
)
def test_syntax_newer_than_the_packaged_grammar(stmt: str) -> None:
    """The grammar is CrateDB 6.1.1's: later additions pass on versions that have them, and only there."""
    assert grammar.verdict(stmt) is not None
    assert gate.newer_than_grammar(stmt, CURRENT) is not None
    assert rejection(stmt) is None
    with pytest.raises(errors.CrateError, match=r"^ParsingException\[line 1:"):
        gate.check(stmt, Version.parse("6.1.1"))


def test_the_engine_consults_the_gate_first() -> None:
    """A rejected statement never reaches the emulator's own parsers (their messages are approximations)."""
    engine = Engine()
    try:
        with pytest.raises(errors.CrateError) as caught:
            engine.execute(Session(), "INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = 2")
        assert caught.value.message.startswith("ParsingException[line 1:33: ")
    finally:
        engine.close()


# ---- non-ASCII input --------------------------------------------------------------------------------------
MULTI_CHAR_UPPER = ["ß", "ﬁ", "ŉ", "ǰ", "ΐ", "և"]  # str.upper() gives two or three characters


@pytest.mark.parametrize("char", MULTI_CHAR_UPPER)
def test_the_packaged_stream_crashes_where_ours_does_not(char: str) -> None:
    """Why grammar._CaseInsensitiveStream exists: the package's LA() calls ord() on str.upper()."""
    stmt = f'CREATE TABLE "stra{char}e" (a TEXT)'
    with pytest.raises(TypeError):
        CommonTokenStream(SqlBaseLexer(CaseInsensitiveStream(stmt))).fill()
    assert rejection(stmt) is None
    assert rejection(f"SELECT '{char}' -- {char}") is None


@pytest.mark.parametrize(
    "stmt",
    ['CREATE TABLE "tëst"."ü" ("名前" TEXT)', 'SELECT "😀", "a""ß" FROM "Ünïcödé"', "SELECT ı, ſ FROM t"],
)
def test_quoted_non_ascii_identifiers_pass(stmt: str) -> None:
    """Quoted identifiers hold anything; `ı`/`ſ` upper-case to ASCII letters, so CrateDB takes them bare."""
    assert rejection(stmt) is None


@pytest.mark.parametrize("name", ["ü", "名前", "😀", "ß", "straße"])
def test_unquoted_non_ascii_identifiers_are_rejected(name: str) -> None:
    """SqlBaseLexer.g4: IDENTIFIER is (LETTER | '_') (LETTER | DIGIT | '_' | '@')*, LETTER is [A-Za-z]."""
    answer = rejection(f"SELECT {name} FROM t")
    first = next(char for char in name if not char.isascii())
    assert answer is not None and answer.startswith("ParsingException[line 1:") and first in answer


def test_placeholder_form_replaces_only_quoted_identifiers() -> None:
    stmt = """SELECT "a""b", 'x"y', $$"$$ /* "c" */ FROM "t" -- "d"\n"""
    assert grammar.placeholder_form(stmt) == """SELECT "x", 'x"y', $$"$$ /* "c" */ FROM "x" -- "d"\n"""


_ASCII_PIECES = st.sampled_from(
    [
        "SELECT", "FROM", "WHERE", "INSERT INTO", "VALUES", "AS", "AND", "a", "t", "1", "?", ",", "(", ")",
        "=", ";", ".", "*", "'it''s \"'", "E'\\'\"'", "$$ \" $$", "-- \"\n", "/* \" */", '""', '"a""b"',
        '"', "'",
    ]
)  # fmt: skip
_ASCII_IDENT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8)
_ANY_IDENT = st.text(st.characters(codec="utf-8"), max_size=12)


def _quoted(content: str) -> str:
    return '"' + content.replace('"', '""') + '"'


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_ASCII_PIECES, _ASCII_IDENT.map(_quoted)), max_size=12))
def test_placeholder_form_never_changes_an_ascii_verdict(pieces: list[str]) -> None:
    stmt = " ".join(pieces)
    form = grammar.placeholder_form(stmt)
    assert form is not None
    assert (grammar.judge(stmt) is None) == (grammar.judge(form) is None)


@settings(max_examples=150, deadline=None)
@given(_ANY_IDENT, _ANY_IDENT, _ANY_IDENT)
def test_any_unicode_identifier_is_opaque(schema: str, table: str, column: str) -> None:
    stmt = f"INSERT INTO {_quoted(schema)}.{_quoted(table)} ({_quoted(column)}) VALUES (?)"
    assert grammar.placeholder_form(stmt) == 'INSERT INTO "x"."x" ("x") VALUES (?)'
    assert grammar.judge(stmt) is None


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=30))
def test_no_input_crashes_the_grammar(text: str) -> None:
    for stmt in (text, f"SELECT {text}", f"SELECT '{text}'"):
        found = grammar.judge(stmt)
        assert found is None or found.line >= 1


# ---- the verdict cache -------------------------------------------------------------------------------------
def test_verdicts_are_cached_and_shared_by_statements_differing_in_names() -> None:
    grammar.clear_caches()
    template = 'INSERT INTO "{0}"."t" ("id") VALUES (?) ON CONFLICT ("id") DO NOTHING'
    assert grammar.verdict(template.format("s1")) is None
    parses = grammar.cache_info()["judge"]["misses"]
    for name in ("s2", "ß", "名前"):
        assert grammar.verdict(template.format(name)) is None
    assert grammar.cache_info()["judge"]["misses"] == parses  # one parse served all four
    assert grammar.verdict(template.format("s1")) is None
    info = grammar.cache_info()
    assert info["verdict"]["hits"] == 1
    assert info["verdict"]["maxsize"] == info["judge"]["maxsize"] == grammar.CACHE_SIZE


def test_long_statements_are_judged_but_not_cached() -> None:
    """The caches hold at most CACHE_SIZE statements of at most CACHEABLE_CHARS characters."""
    grammar.clear_caches()
    long = "SELECT " + ", ".join(["1"] * grammar.CACHEABLE_CHARS)
    assert grammar.verdict(long) is None
    assert grammar.verdict(long + ")") is not None
    assert grammar.cache_info()["verdict"]["currsize"] == grammar.cache_info()["judge"]["currsize"] == 0


def test_a_rejection_names_the_identifiers_the_client_sent() -> None:
    """The placeholder form is only a cache key: messages come from the original text."""
    answer = rejection('SELECT * FROM "Höhe" WHERE "Größe" = = 1')
    context = """'SELECT * FROM "Höhe" WHERE "Größe" = ='"""
    assert answer == f"ParsingException[line 1:38: no viable alternative at input {context}]"
