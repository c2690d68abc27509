"""CrateDB's own ANTLR grammar, as the verdict behind the statement gate (`gate.check`).

The emulator's hand-written parsers only understand what the emulator models; they cannot tell whether
CrateDB would accept a statement at all. `judge` parses the statement with the grammar shipped in the
`cratedb-sqlparse` package (CrateDB's `SqlBaseLexer.g4`/`SqlBaseParser.g4`, generated for Python) the way
CrateDB's `SqlParser` does for an HTTP request:

- the `singleStatement` rule (one statement, an optional `;`, then end of input: `select 1; select 2;`
  is rejected at the second `select`);
- SLL prediction only: CrateDB's error listener throws on the first error, so its LL fallback never runs;
- lexer and parser errors, "extraneous input" with the dollar-string token names spelled out, and the
  parse-time checks on identifiers (backquoted and digit-leading identifiers are rejected);
- a rejection becomes `ParsingException[line L:C: <antlr message>]`, code 4000, HTTP 400.

Deeply nested statements that exhaust Python's recursion limit get no verdict (they pass the gate).

The grammar is CrateDB 6.1.1's (`GRAMMAR_VERSION`); `gate` lets through syntax CrateDB added since.

We drive the generated lexer and parser ourselves instead of calling `cratedb_sqlparse.sqlparse`: that
function parses with the multi-statement rule (it accepts `select 1; select 2;`), drops lexer errors,
reports errors in its own format, and with `raise_exception=True` crashes (AttributeError on `e.ctx`)
on errors ANTLR reports without an exception object, such as the extraneous input of `SELECT 1 1`.

Non-ASCII input: the package's case-insensitive stream upper-cases each code point with `str.upper()`,
which returns two characters for about a hundred code points (`ß` -> `SS`, `ﬁ` -> `FI`, `ŉ` -> `ʼN`), and
then crashes in `ord()` (TypeError) - wherever the character stands: quoted identifier, string literal or
comment. CrateDB's Java stream uses `Character.toUpperCase(int)`, which maps one code point to one code
point and leaves those characters alone. `_CaseInsensitiveStream` does the same, so no input crashes the
lexer, and unquoted non-ASCII letters are judged as CrateDB judges them: the `IDENTIFIER` rule only knows
`[A-Za-z]` (after upper-casing, so `ı`/`ſ` pass as `I`/`S`), anything else is an unrecognized token.

Cost: the Python parser needs milliseconds per statement, so verdicts are cached twice (bounded LRU):
by the statement text, and by its *placeholder form* (`placeholder_form`), in which every quoted
identifier is replaced by `"x"`. The grammar treats a quoted identifier as one opaque token, so both forms
get the same verdict, and statements that differ only in table or column names (a test schema per test, a
table per sync) share one parse. A rejected placeholder form is parsed again in its original text, so the
error message shows the identifiers the client sent.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import cratedb_sqlparse  # importing it installs the lexer's dollar-quote actions
from antlr4 import CommonTokenStream, InputStream, Token
from antlr4.atn.PredictionMode import PredictionMode
from antlr4.error.ErrorListener import ErrorListener
from antlr4.error.ErrorStrategy import DefaultErrorStrategy
from cratedb_sqlparse.generated_parser.SqlBaseLexer import SqlBaseLexer
from cratedb_sqlparse.generated_parser.SqlBaseParser import SqlBaseParser
from cratedb_sqlparse.generated_parser.SqlBaseParserListener import SqlBaseParserListener

from . import errors

CACHE_SIZE = 4096
CACHEABLE_CHARS = 16_384  # longer statements are parsed each time, so the caches' memory stays bounded
PLACEHOLDER = '"x"'
GRAMMAR_VERSION: str = cratedb_sqlparse.__cratedb_version__  # the CrateDB release the grammar comes from

# The generated parser shares its DFA between instances and is not written for concurrent use; the
# emulator serves requests on threads, and the parse is pure Python (GIL-bound) anyway.
_PARSE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Rejection:
    """Where and why CrateDB's parser rejects a statement (`column` is 1-based, as CrateDB prints it)."""

    line: int
    column: int
    message: str

    def error(self) -> errors.CrateError:
        return errors.syntax_error(self.line, self.column, self.message)


class _Rejected(Exception):
    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.message)
        self.rejection = rejection


class _CaseInsensitiveStream(InputStream):
    """Upper-cases for matching only, one code point to one code point (as Java's `toUpperCase(int)`)."""

    def LA(self, offset: int) -> int:
        result: int = super().LA(offset)
        if result <= 0:
            return result
        upper = chr(result).upper()
        return ord(upper) if len(upper) == 1 else result


class _RaiseOnError(ErrorListener):
    """The first lexer or parser error ends the parse (CrateDB's listener throws, too)."""

    def syntaxError(
        self, recognizer: object, offendingSymbol: object, line: int, column: int, msg: str, e: object
    ) -> None:
        raise _Rejected(Rejection(line, column + 1, msg))


class _ErrorStrategy(DefaultErrorStrategy):
    """CrateDB's strategy: no recovery, and readable names for the dollar-quoted string tokens."""

    def recover(self, recognizer: SqlBaseParser, e: Exception) -> None:
        raise e

    def reportUnwantedToken(self, recognizer: SqlBaseParser) -> None:
        if self.inErrorRecoveryMode(recognizer):
            return
        self.beginErrorCondition(recognizer)
        token = recognizer.getCurrentToken()
        expecting = self.getExpectedTokens(recognizer).toString(
            recognizer.literalNames, recognizer.symbolicNames
        )
        message = f"extraneous input {self.getTokenErrorDisplay(token)} expecting {expecting}"
        message = message.replace("DOLLAR_QUOTED_STRING_BODY", "$<tag>$<quoted string>$<tag>$").replace(
            "END_DOLLAR_QUOTED_STRING", "closing $<tag>$ for quoted string"
        )
        recognizer.notifyErrorListeners(message, token, None)


class _IdentifierChecks(SqlBaseParserListener):
    """Identifier forms the grammar matches but CrateDB's parser rejects while parsing."""

    def exitBackQuotedIdentifier(self, ctx: SqlBaseParser.BackQuotedIdentifierContext) -> None:
        _reject_at(
            ctx.BACKQUOTED_IDENTIFIER().getSymbol(),
            "backquoted identifiers are not supported; use double quotes to quote identifiers",
        )

    def exitDigitIdentifier(self, ctx: SqlBaseParser.DigitIdentifierContext) -> None:
        _reject_at(
            ctx.DIGIT_IDENTIFIER().getSymbol(),
            "identifiers must not start with a digit; surround the identifier with double quotes",
        )


def _reject_at(token: Token, message: str) -> None:
    raise _Rejected(Rejection(token.line, token.column + 1, message))


_LISTENER = _RaiseOnError()
_CHECKS = _IdentifierChecks()


def _lexer(text: str) -> SqlBaseLexer:
    lexer = SqlBaseLexer(_CaseInsensitiveStream(text))
    lexer.tags = []  # the package keeps the dollar-quote tag stack on the class; keep it per parse
    lexer.removeErrorListeners()
    lexer.addErrorListener(_LISTENER)
    return lexer


def judge(text: str) -> Rejection | None:
    """Parse `text` as CrateDB parses an HTTP request's statement; None when it is accepted."""
    return _judge_cached(text) if len(text) <= CACHEABLE_CHARS else _parse(text)


@lru_cache(maxsize=CACHE_SIZE)
def _judge_cached(text: str) -> Rejection | None:
    return _parse(text)


def _parse(text: str) -> Rejection | None:
    with _PARSE_LOCK:
        parser = SqlBaseParser(CommonTokenStream(_lexer(text)))
        parser.removeErrorListeners()
        parser.addErrorListener(_LISTENER)
        parser._errHandler = _ErrorStrategy()
        parser.addParseListener(_CHECKS)
        parser._interp.predictionMode = PredictionMode.SLL
        try:
            parser.singleStatement()
        except _Rejected as rejected:
            return rejected.rejection
        except RecursionError:
            # Python's stack gives out near 200 nested parentheses, the JVM's much later: no verdict,
            # so the emulator's own parser decides (never reject what CrateDB may accept).
            return None
    return None


def tokens(stmt: str) -> list[Token] | None:
    """All of `stmt`'s tokens (whitespace and comments included) by the grammar's lexer; None if it fails."""
    try:
        with _PARSE_LOCK:
            return list(_lexer(stmt).getAllTokens())
    except _Rejected:
        return None


def placeholder_form(stmt: str) -> str | None:
    """`stmt` with each quoted identifier replaced by `"x"`; None when the lexer rejects `stmt`.

    Uses the grammar's own lexer, so a `"` inside a string literal, comment or dollar-quoted string is
    never mistaken for an identifier.
    """
    lexed = tokens(stmt)
    if lexed is None:
        return None
    quoted = SqlBaseLexer.QUOTED_IDENTIFIER
    return "".join(PLACEHOLDER if token.type == quoted else token.text for token in lexed)


def verdict(stmt: str) -> Rejection | None:
    """The grammar's verdict on `stmt`, shared by all statements with the same placeholder form."""
    return _verdict_cached(stmt) if len(stmt) <= CACHEABLE_CHARS else _verdict(stmt)


@lru_cache(maxsize=CACHE_SIZE)
def _verdict_cached(stmt: str) -> Rejection | None:
    return _verdict(stmt)


def _verdict(stmt: str) -> Rejection | None:
    form = placeholder_form(stmt)
    if form is None or form == stmt or judge(form) is not None:
        return judge(stmt)
    return None


def cache_info() -> dict[str, object]:
    """Hit/miss counts of both caches (for the benchmark and tests)."""
    return {"verdict": _verdict_cached.cache_info()._asdict(), "judge": _judge_cached.cache_info()._asdict()}


def clear_caches() -> None:
    _verdict_cached.cache_clear()
    _judge_cached.cache_clear()
