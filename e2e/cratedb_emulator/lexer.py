"""A small SQL tokenizer with CrateDB's lexical rules.

Used for the statement kinds sqlglot does not know (CrateDB DDL, REFRESH, SWAP TABLE, ...) and for the
pre-pass that rewrites CrateDB-only spellings before sqlglot parses DML and queries. Unquoted identifiers
fold to lower case; quoted ones keep their case (`""` escapes a quote).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from . import errors

IDENT = "ident"  # unquoted identifier or keyword; value is lower-cased
QIDENT = "qident"  # "quoted" identifier; value keeps its case
STRING = "string"
NUMBER = "number"
PARAM = "param"  # ? or $n
OP = "op"
EOF = "eof"

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|--[^\n]*|/\*.*?\*/)
  | (?P<qident>"(?:[^"]|"")*")
  | (?P<string>[eE]?'(?:[^']|'')*')
  | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<param>\?|\$\d+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_@$]*)
  | (?P<op>::|<>|!=|<=|>=|\|\||->>|->|~\*|!~\*|!~|[(),;.\[\]{}=<>+\-*/%~:^&|!])
    """,
    re.VERBOSE | re.DOTALL,
)


# CrateDB's reserved keywords: usable as identifiers only when quoted.
RESERVED = frozenset(
    [
        "add",
        "all",
        "alter",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "between",
        "by",
        "called",
        "case",
        "cast",
        "column",
        "constraint",
        "costs",
        "create",
        "cross",
        "current_date",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "delete",
        "deny",
        "desc",
        "describe",
        "directory",
        "distinct",
        "drop",
        "else",
        "end",
        "escape",
        "except",
        "exists",
        "extract",
        "false",
        "first",
        "for",
        "from",
        "full",
        "function",
        "grant",
        "group",
        "having",
        "if",
        "in",
        "index",
        "inner",
        "input",
        "insert",
        "intersect",
        "into",
        "is",
        "join",
        "last",
        "left",
        "like",
        "limit",
        "match",
        "natural",
        "not",
        "null",
        "nulls",
        "object",
        "offset",
        "on",
        "or",
        "order",
        "outer",
        "persistent",
        "recursive",
        "reset",
        "returns",
        "revoke",
        "right",
        "select",
        "session_user",
        "set",
        "some",
        "stratify",
        "table",
        "then",
        "transient",
        "true",
        "try_cast",
        "unbounded",
        "union",
        "update",
        "user",
        "using",
        "when",
        "where",
        "with",
    ]
)


@dataclass(frozen=True)
class Token:
    kind: str
    value: str
    text: str
    start: int
    end: int

    def is_word(self, *words: str) -> bool:
        return self.kind == IDENT and self.value in words

    def is_op(self, *ops: str) -> bool:
        return self.kind == OP and self.value in ops


def position(sql: str, offset: int) -> tuple[int, int]:
    """1-based line and column of an offset, as CrateDB's parser reports them."""
    line = sql.count("\n", 0, offset) + 1
    column = offset - (sql.rfind("\n", 0, offset) + 1) + 1
    return line, column


def tokenize(sql: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    length = len(sql)
    while pos < length:
        match = _TOKEN.match(sql, pos)
        if match is None:
            line, column = position(sql, pos)
            raise errors.syntax_error(line, column, f"token recognition error at: '{sql[pos]}'")
        kind = match.lastgroup or ""
        text = match.group()
        start, pos = pos, match.end()
        if kind == "ws":
            if text.startswith("/*") and not text.endswith("*/"):
                line, column = position(sql, start)
                raise errors.syntax_error(line, column, "unterminated comment")
            continue
        if kind == "ident":
            tokens.append(Token(IDENT, text.lower(), text, start, pos))
        elif kind == "qident":
            tokens.append(Token(QIDENT, text[1:-1].replace('""', '"'), text, start, pos))
        elif kind == "string":
            body = text[2:-1] if text[0] in "eE" else text[1:-1]
            tokens.append(Token(STRING, body.replace("''", "'"), text, start, pos))
        else:
            tokens.append(Token(kind, text, text, start, pos))
    # Unterminated quotes fall through to a single-character op/error above; catch them explicitly.
    tokens.append(Token(EOF, "", "", length, length))
    return tokens


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def join_text(sql: str, tokens: Iterable[Token]) -> str:
    """The original source text spanning the given tokens."""
    items = [t for t in tokens if t.kind != EOF]
    if not items:
        return ""
    return sql[items[0].start : items[-1].end]


class TokenStream:
    """Cursor over tokens with CrateDB-style syntax errors."""

    def __init__(self, sql: str, tokens: list[Token] | None = None) -> None:
        self.sql = sql
        self.tokens = tokens if tokens is not None else tokenize(sql)
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != EOF:
            self.index += 1
        return token

    def at_end(self) -> bool:
        current = self.current
        if current.is_op(";") and self.peek().kind == EOF:
            return True
        return current.kind == EOF

    def error(self, expecting: str) -> errors.CrateError:
        token = self.current
        line, column = position(self.sql, token.start)
        shown = "<EOF>" if token.kind == EOF else token.text
        return errors.syntax_error(line, column, f"mismatched input '{shown}' expecting {expecting}")

    def accept_word(self, *words: str) -> bool:
        """Consume the words in sequence if all are next."""
        for offset, word in enumerate(words):
            if not self.peek(offset).is_word(word):
                return False
        self.index += len(words)
        return True

    def expect_word(self, *words: str) -> None:
        for word in words:
            if not self.current.is_word(word):
                raise self.error(f"'{word.upper()}'")
            self.advance()

    def accept_op(self, op: str) -> bool:
        if self.current.is_op(op):
            self.advance()
            return True
        return False

    def expect_op(self, op: str) -> None:
        if not self.accept_op(op):
            raise self.error(f"'{op}'")

    def identifier(self, what: str = "identifier") -> str:
        token = self.current
        if token.kind == QIDENT or (token.kind == IDENT and token.value not in RESERVED):
            self.advance()
            return token.value
        raise self.error(what)

    def qualified_name(self) -> list[str]:
        parts = [self.identifier()]
        while self.current.is_op("."):
            self.advance()
            parts.append(self.identifier())
        return parts

    def integer(self) -> int:
        token = self.current
        if token.kind == NUMBER and token.value.isdigit():
            self.advance()
            return int(token.value)
        raise self.error("integer")

    def expect_end(self) -> None:
        self.accept_op(";")
        if self.current.kind != EOF:
            raise self.error("<EOF>")

    def skip_balanced(self) -> list[Token]:
        """Consume tokens up to the next ',' or ')' at depth 0 (not consumed); return them."""
        taken: list[Token] = []
        depth = 0
        while True:
            token = self.current
            if token.kind == EOF:
                return taken
            if token.kind == OP:
                if token.value in ("(", "[", "{"):
                    depth += 1
                elif token.value in (")", "]", "}"):
                    if depth == 0:
                        return taken
                    depth -= 1
                elif token.value == "," and depth == 0:
                    return taken
            taken.append(self.advance())
