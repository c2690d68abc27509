"""The statement gate: CrateDB's grammar judges every statement before the emulator's own parsers see it.

The grammar comes from `cratedb-sqlparse` and is that of CrateDB `grammar.GRAMMAR_VERSION` (6.1.1), older
than the versions the emulator plays (6.4.3 by default). Statements that use syntax added since are
rejected by that grammar but accepted by the CrateDB being emulated; `_NEWER_THAN_GRAMMAR` lists those
additions (from the diff of CrateDB's `SqlBaseParser.g4` between the grammar's release and 6.4.3, which
equals the current one), each with the release that added it. A rejected statement that uses one of them,
on an emulated version that has it, passes the gate: the emulator's own parser and version gates judge it.
Where a statement fails in both grammars, the message is 6.1.1's, which can name an earlier position than
6.4.3 would (`ALTER TABLE t ALTER COLUMN v TYPE bigint` fails at the second `ALTER` in 6.1.1; 6.4.3 knows
`ALTER COLUMN ... SET DEFAULT` and gets further).
"""

from __future__ import annotations

import re

from . import grammar
from .shapes import shape
from .versions import Version

_GRAMMAR = Version.parse(grammar.GRAMMAR_VERSION)

# (release that added it, what, pattern on the statement's shape)
_NEWER_THAN_GRAMMAR: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (since, what, re.compile(pattern))
    for since, what, pattern in (
        ("6.2.0", "CREATE SCHEMA", r"^CREATE SCHEMA\b"),
        ("6.2.0", "DROP SCHEMA", r"^DROP SCHEMA\b"),
        ("6.2.0", "ALTER TABLE SET/RESET ... WITH (...)", r"^ALTER TABLE\b.*\b(SET|RESET)\b.*\bWITH \("),
        ("6.3.0", "IS [NOT] TRUE/FALSE", r"\bIS (NOT )?(TRUE|FALSE)\b"),
        ("6.3.0", "DEFAULT in VALUES", r"^INSERT\b.*\bVALUES\b.*[(,] ?DEFAULT\b"),
        ("6.3.0", "CREATE TABLE (LIKE ...)", r"^CREATE TABLE\b[^(]*\(LIKE\b"),
        ("6.3.0", "ALTER COLUMN SET/DROP DEFAULT", r"^ALTER TABLE\b.* ALTER\b.*\b(SET|DROP) DEFAULT\b"),
        ("6.3.0", "empty statement", r"^;?$"),
        ("6.3.0", "SELECT without select items", r"^SELECT( ALL| DISTINCT)?( FROM\b| WHERE\b|;|$)"),
        ("6.4.0", "ALTER REPOSITORY", r"^ALTER REPOSITORY\b"),
        ("6.4.0", "ALLOCATE STALE/EMPTY PRIMARY", r"\bALLOCATE (STALE|EMPTY) PRIMARY\b"),
    )
    if Version.parse(since) > _GRAMMAR
)


def newer_than_grammar(stmt: str, version: Version) -> str | None:
    """The syntax `stmt` uses that CrateDB `version` has and the packaged grammar lacks, if any."""
    if version <= _GRAMMAR:
        return None
    form = shape(stmt)
    for since, what, pattern in _NEWER_THAN_GRAMMAR:
        if version.at_least(since) and pattern.search(form):
            return f"{what} (CrateDB {since})"
    return None


def check(stmt: str, version: Version) -> None:
    """Raise CrateDB's ParsingException (code 4000, HTTP 400) when CrateDB `version` cannot parse `stmt`."""
    rejection = grammar.verdict(stmt)
    if rejection is not None and newer_than_grammar(stmt, version) is None:
        raise rejection.error()
