"""Statement shapes (a statement with its names, literals and repeated lists folded), and their recording.

`INSERT INTO "s"."t" ("a", "b") VALUES (?, ?), (?, ?)` has the shape
`INSERT INTO "<ident>"."<ident>" ("<ident>", ...) VALUES (?, ...), ...`: statements that differ only in the
table they write or the size of their batch share one shape. Built on the grammar's own lexer, so a quote
inside a string literal or comment never confuses it.

Recording is off unless the environment variable `CRATEDB_EMULATOR_INVENTORY` names a JSON file; then each
process that runs an emulator counts the shapes of the statements it receives and, at exit, merges them
into that file (under a file lock, so pytest and the subprocesses it starts share one file). The summary:
`python -m cratedb_emulator.inventory FILE`.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import re
import threading
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

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
    return _shape_cached(stmt) if len(stmt) <= grammar.CACHEABLE_CHARS else _fold(stmt)


@lru_cache(maxsize=grammar.CACHE_SIZE)
def _shape_cached(stmt: str) -> str:
    return _fold(stmt)


def _fold(stmt: str) -> str:
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


ENV_VAR = "CRATEDB_EMULATOR_INVENTORY"
EXAMPLE_MAX_CHARS = 1_000_000


class Recorder:
    """Counts shapes in memory; `flush` merges them into the JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.shapes: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def record(self, stmt: str) -> None:
        key = shape(stmt)
        with self.lock:
            entry = self.shapes.get(key)
            if entry is None:
                entry = self.shapes[key] = {"count": 0, "example": stmt[:EXAMPLE_MAX_CHARS]}
            entry["count"] += 1

    def flush(self) -> None:
        with self.lock:
            mine, self.shapes = self.shapes, {}
        if not mine:
            return
        with _locked(self.path):
            stored = load(self.path)
            for key, entry in mine.items():
                if key in stored:
                    stored[key]["count"] += entry["count"]
                else:
                    stored[key] = entry
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(dict(sorted(stored.items())), indent=1, ensure_ascii=False))
            tmp.replace(self.path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def load(path: Path) -> dict[str, dict[str, Any]]:
    if not path.exists() or not path.read_text().strip():
        return {}
    data: dict[str, dict[str, Any]] = json.loads(path.read_text())
    return data


def _from_environment() -> Recorder | None:
    target = os.environ.get(ENV_VAR, "").strip()
    if not target:
        return None
    recorder = Recorder(Path(target))
    atexit.register(recorder.flush)
    return recorder


_RECORDER = _from_environment()


def record(stmt: str) -> None:
    """Count `stmt`'s shape when recording is on (a no-op otherwise)."""
    if _RECORDER is not None:
        _RECORDER.record(stmt)
