"""Syntax checks ddl.py and dml.py no longer make: the grammar gate rejects every input that reached them.

`Engine.execute` calls `gate.check` before any of the emulator's own parsers. Each case below names a
removed branch, gives statements that would have taken it (checked: the emulator's parse of the statement
has the property the branch tested) and shows that the gate rejects them, on every version the branch
answered for. Version-gated branches are checked on the last release before the feature (newer than the
packaged grammar, so the gate's `newer_than_grammar` allowance is consulted) and on an older one.

The gate gives no verdict for statements nested deeper than Python's stack allows the ANTLR parser;
`test_nesting_beyond_the_grammar_never_reaches_dml` shows that sqlglot, whose tree the DML branches
inspected, gives up at a far smaller depth, so such statements never got that far. The DDL branches'
statements are rejected at a token before anything that can nest (the rejection's column shows it).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cratedb_emulator import ddl_parser, errors, gate, grammar, versions
from cratedb_emulator.lexer import tokenize
from cratedb_emulator.translate import parse_statement
from cratedb_emulator.versions import Version
from sqlglot import exp

CURRENT = Version.parse(versions.DEFAULT_VERSION)
OLD = Version.parse("5.10.1")
DEEP = "(" * 300 + "1" + ")" * 300  # deeper than the grammar's stack allows, when the parser gets there


def before(feature: str) -> Version:
    """The last release before `feature` (6.2.0 -> 6.1.99)."""
    version = Version.parse(feature)
    if version.patch:
        return Version(version.major, version.minor, version.patch - 1)
    return Version(version.major, version.minor - 1, 99)


def conflict(stmt: str) -> exp.OnConflict:
    node = parse_statement(stmt).tree.args["conflict"]
    assert isinstance(node, exp.OnConflict)
    return node


def action(stmt: str) -> str:
    node = conflict(stmt).args.get("action")
    return str(node.this if node else "").upper()


def ddl(stmt: str) -> object:
    return ddl_parser.parse(stmt, tokenize(stmt))


INSERT = "INSERT INTO t (id, v) VALUES (1, 'a') "

# (removed branch, statements that took it, what the emulator's parse shows, versions it answered for)
CASES: list[tuple[str, list[str], Callable[[str], bool], list[Version]]] = [
    (
        "dml InsertStatement: ON DUPLICATE KEY",
        [INSERT + "ON DUPLICATE KEY UPDATE v = 'b'", INSERT + "ON DUPLICATE KEY UPDATE v = excluded.v"],
        lambda s: bool(conflict(s).args.get("duplicate")),
        [CURRENT, OLD],
    ),
    (
        "dml InsertStatement: WHERE after the conflict action",
        [
            INSERT + "ON CONFLICT (id) DO UPDATE SET v = 'b' WHERE v = 'a'",
            INSERT + "ON CONFLICT (id) DO NOTHING WHERE v = 'a'",
            INSERT + "ON CONFLICT DO NOTHING WHERE true",
        ],
        lambda s: conflict(s).args.get("where") is not None,
        [CURRENT, OLD],
    ),
    (
        "dml InsertStatement: conflict action other than DO NOTHING / DO UPDATE",
        [
            INSERT + "ON CONFLICT (id) UPDATE SET v = 'b'",
            INSERT + "ON CONFLICT (id) IGNORE",
            INSERT + "ON CONFLICT (id) REPLACE",
            INSERT + "ON CONFLICT (id) ABORT",
            INSERT + "ON CONFLICT (id)",
            INSERT + "ON CONFLICT",
        ],
        lambda s: action(s) not in ("DO NOTHING", "DO UPDATE"),
        [CURRENT, OLD],
    ),
    (
        "dml InsertStatement: DO UPDATE without a conflict target",
        [
            INSERT + "ON CONFLICT DO UPDATE SET v = 'b'",
            INSERT + "ON CONFLICT ON CONSTRAINT t_pk DO UPDATE SET v = 'b'",
        ],
        lambda s: action(s) == "DO UPDATE" and not conflict(s).args.get("conflict_keys"),
        [CURRENT, OLD],
    ),
    (
        "dml FilteredWrite: UPDATE ... FROM",
        ["UPDATE t SET v = u.v FROM u WHERE t.id = u.id", "UPDATE t SET v = 'b' FROM u"],
        lambda s: bool(parse_statement(s).tree.args.get("from_") or parse_statement(s).tree.args.get("from")),
        [CURRENT, OLD],
    ),
    (
        "dml FilteredWrite: DELETE ... USING",
        ["DELETE FROM t USING u WHERE t.id = u.id", "DELETE FROM t USING u"],
        lambda s: bool(parse_statement(s).tree.args.get("using")),
        [CURRENT, OLD],
    ),
    (
        f"dml InsertStatement._cell: DEFAULT in VALUES before {versions.VALUES_DEFAULT}",
        [
            "INSERT INTO t (id, v) VALUES (1, DEFAULT)",
            "INSERT INTO t (id, v) VALUES (DEFAULT, 1)",
            "INSERT INTO t (id, v) VALUES (1, 'a'), (2, default)",
            f"INSERT INTO t (id, v) VALUES ({DEEP}, DEFAULT)",
        ],
        lambda s: any(
            isinstance(cell, exp.Var) and cell.name.upper() == "DEFAULT"
            for row in parse_statement(s.replace(DEEP, "1")).tree.expression.expressions
            for cell in row.expressions
        ),
        [before(versions.VALUES_DEFAULT), OLD],
    ),
    (
        f"ddl create_table: CREATE TABLE (LIKE ...) before {versions.CREATE_TABLE_LIKE}",
        [
            "CREATE TABLE t2 (LIKE t)",
            'CREATE TABLE IF NOT EXISTS s."t2" (LIKE s.t INCLUDING ALL)',
            "CREATE TABLE t2 (like t EXCLUDING DEFAULTS)",
        ],
        lambda s: isinstance(tree := ddl(s), ddl_parser.CreateTable) and tree.like is not None,
        [before(versions.CREATE_TABLE_LIKE), OLD],
    ),
    (
        f"ddl create_schema: CREATE SCHEMA before {versions.CREATE_SCHEMA}",
        ["CREATE SCHEMA s", 'CREATE SCHEMA IF NOT EXISTS "s"'],
        lambda s: isinstance(ddl(s), ddl_parser.CreateSchema),
        [before(versions.CREATE_SCHEMA), OLD],
    ),
    (
        f"ddl drop_schema: DROP SCHEMA before {versions.CREATE_SCHEMA}",
        ["DROP SCHEMA s", "DROP SCHEMA IF EXISTS s, u CASCADE"],
        lambda s: isinstance(ddl(s), ddl_parser.DropSchema),
        [before(versions.CREATE_SCHEMA), OLD],
    ),
    (
        f"ddl alter_table: ALTER COLUMN ... SET/DROP DEFAULT before {versions.COLUMN_DEFAULT_ALTER}",
        [
            "ALTER TABLE t ALTER COLUMN v SET DEFAULT 'x'",
            "ALTER TABLE ONLY t ALTER v DROP DEFAULT",
            f"ALTER TABLE t ALTER COLUMN v SET DEFAULT {DEEP}",
        ],
        lambda s: (
            isinstance(tree := ddl(s), ddl_parser.AlterTable)
            and tree.action in ("set_default", "drop_default")
        ),
        [before(versions.COLUMN_DEFAULT_ALTER), OLD],
    ),
]

PARAMS = [
    pytest.param(stmt, takes_branch, version, id=f"{branch} | {stmt[:60]} | {version}")
    for branch, stmts, takes_branch, version_list in CASES
    for stmt in stmts
    for version in version_list
]


@pytest.mark.parametrize(("stmt", "takes_branch", "version"), PARAMS)
def test_the_gate_rejects_what_the_removed_branches_handled(
    stmt: str, takes_branch: Callable[[str], bool], version: Version
) -> None:
    assert takes_branch(stmt), "the statement would have reached the removed branch"
    with pytest.raises(errors.CrateError, match=r"^ParsingException\[line 1:") as caught:
        gate.check(stmt, version)
    assert (caught.value.code, caught.value.http_status) == (4000, 400)


def test_the_version_gated_cases_are_newer_than_the_grammar() -> None:
    """So `before(...)` consults the gate's allowance for newer syntax instead of skipping it."""
    grammar_version = Version.parse(grammar.GRAMMAR_VERSION)
    for feature in (versions.VALUES_DEFAULT, versions.CREATE_TABLE_LIKE, versions.CREATE_SCHEMA):
        assert before(feature) > grammar_version


def test_ddl_rejections_come_before_anything_that_nests() -> None:
    """The grammar stops at the token that makes these statements invalid, so depth never hides it."""
    expected = {
        "CREATE SCHEMA s": 8,
        "DROP SCHEMA s": 6,
        "CREATE TABLE t2 (LIKE t)": 18,
        "ALTER TABLE t ALTER COLUMN v SET DEFAULT " + DEEP: 15,
        "INSERT INTO t (id, v) VALUES (1, DEFAULT)": 34,
    }
    for stmt, column in expected.items():
        rejection = grammar.judge(stmt)
        assert rejection is not None and rejection.column == column, stmt


NESTINGS: dict[str, Callable[[int], str]] = {
    "parentheses": lambda n: "(" * n + "1" + ")" * n,
    "arrays": lambda n: "[" * n + "1" + "]" * n,
    "function calls": lambda n: "abs(" * n + "1" + ")" * n,
    "subqueries": lambda n: "(SELECT " * n + "1" + ")" * n,
    "CASE": lambda n: "CASE WHEN true THEN " * n + "1" + " END" * n,
    "object literals": lambda n: "{a=" * n + "1" + "}" * n,
    "casts": lambda n: "CAST(" * n + "1" + " AS INT)" * n,
}


@pytest.mark.parametrize("nesting", list(NESTINGS))
def test_nesting_beyond_the_grammar_never_reaches_dml(nesting: str) -> None:
    """The smallest depth sqlglot cannot parse still gets the grammar's verdict (the gate answers first)."""
    make = NESTINGS[nesting]

    def stmt(depth: int) -> str:
        return f"UPDATE t SET v = {make(depth)} FROM u WHERE t.id = u.id"

    depth = 1
    while True:
        try:
            parse_statement(stmt(depth))
        except RecursionError:
            break
        depth += 1
        assert depth < 1000
    assert grammar.judge(stmt(depth)) is not None
