"""Statement shapes: a statement with its names, literals and repeated lists folded.

`INSERT INTO "s"."t" ("a", "b") VALUES (?, ?), (?, ?)` has the shape
`INSERT INTO "<ident>"."<ident>" ("<ident>", ...) VALUES (?, ...), ...`: statements that differ only in the
table they write or the size of their batch share one shape. Built on the grammar's own lexer, so a quote
inside a string literal or comment never confuses it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from cratedb_sqlparse.generated_parser.SqlBaseLexer import SqlBaseLexer

from . import grammar

_LITERALS = frozenset(
    {
        SqlBaseLexer.STRING,
        SqlBaseLexer.ESCAPED_STRING,
        SqlBaseLexer.BIT_STRING,
        SqlBaseLexer.INTEGER_VALUE,
        SqlBaseLexer.DECIMAL_VALUE,
        SqlBaseLexer.BEGIN_DOLLAR_QUOTED_STRING,
    }
)
_INSIDE_DOLLAR = frozenset({SqlBaseLexer.DOLLAR_QUOTED_STRING_BODY, SqlBaseLexer.END_DOLLAR_QUOTED_STRING})
_SKIPPED = frozenset({SqlBaseLexer.WS, SqlBaseLexer.COMMENT})
_NO_SPACE_BEFORE = frozenset({",", ")", ".", "::", "[", "]", ";"})
_NO_SPACE_AFTER = frozenset({"(", ".", "::", "["})
# One list item (no commas or parentheses), or one parenthesised group, repeated by `,`, OR or AND.
_REPEATED_ITEM = re.compile(r"(?<![^ (])([^,()]+?)(?:, \1(?=[,)]|$))+")
_GROUP = r"\((?:[^()]|\([^()]*\))*\)"
_REPEATED_GROUP = re.compile(rf"({_GROUP})(?: (OR|AND) \1)+|({_GROUP})(?:, \3)+")
_KEYWORD = re.compile(r"[A-Za-z_]+")


def _words(stmt: str) -> Iterator[str]:
    """The statement's tokens with names and literals folded (the grammar's own lexer: exact classes).

    Unquoted words stay (type and function names say what a statement does) unless they are part of a
    qualified name (`schema.table`, `excluded.column`).
    """
    lexed = grammar.tokens(stmt)
    if lexed is None:
        yield stmt
        return
    tokens = [token for token in lexed if token.type not in _SKIPPED and token.type not in _INSIDE_DOLLAR]
    for index, token in enumerate(tokens):
        kind, text = token.type, token.text
        if kind == SqlBaseLexer.QUOTED_IDENTIFIER:
            yield '"<ident>"'
        elif kind in _LITERALS:
            yield "<lit>"
        elif kind == SqlBaseLexer.IDENTIFIER:
            before = tokens[index - 1].text if index else ""
            after = tokens[index + 1].text if index + 1 < len(tokens) else ""
            yield "<ident>" if "." in (before, after) else text.lower()
        else:
            yield text.upper() if _KEYWORD.fullmatch(text) else text


def shape(stmt: str) -> str:
    """Fold `stmt` into its shape: `"<ident>"`, `<ident>`, `<lit>`, and repeated items or groups as `, ...`.

    `INSERT INTO "s"."t" ("a", "b") VALUES (?, ?), (?, ?)` becomes
    `INSERT INTO "<ident>"."<ident>" ("<ident>", ...) VALUES (?, ...), ...`.
    """
    text = ""
    previous = ""
    for word in _words(stmt):
        call = word == "(" and previous[-1:].isalpha() and previous.islower()
        if text and not call and word not in _NO_SPACE_BEFORE and previous not in _NO_SPACE_AFTER:
            text += " "
        text += word
        previous = word
    while True:
        folded = _REPEATED_ITEM.sub(r"\1, ...", text)
        folded = _REPEATED_GROUP.sub(lambda m: f"{m[1]} {m[2]} ..." if m[1] else f"{m[3]}, ...", folded)
        if folded == text:
            return text
        text = folded
