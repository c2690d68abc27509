"""Read-after-write visibility: which statements CrateDB would answer from a stale (unrefreshed) reader.

CrateDB answers a statement whose WHERE pins every primary-key column to constants (or an OR/IN of such
key tuples) with a direct Get that always sees the latest writes; everything else is a Collect over
searchers that only see data as of the last refresh.

Strict mode turns a Collect on a table written since its last REFRESH TABLE into an error, so tests catch
a missing REFRESH deterministically. Lenient mode never fails: it models the periodic refresh (every
`refresh_interval` ms, ticking from table creation; <= 0 disables it) only to count stale reads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlglot import exp

from . import errors

# Longer key lists fall back to a Collect in the emulator (CrateDB has a similar, undocumented cutoff).
MAX_PK_LOOKUP_KEYS = 1000

TableKey = tuple[str, str]
# Length of an array that is not spelled out in the statement (a parameter bound later), or None.
ArrayLength = Callable[[exp.Expr], int | None] | None


@dataclass
class _State:
    created: float
    last_write: float | None = None
    last_refresh: float = 0.0


class RefreshTracker:
    def __init__(self, strict: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self.strict = strict
        self.clock = clock
        self._states: dict[TableKey, _State] = {}
        self._lock = threading.Lock()
        self.stale_reads = 0

    def created(self, key: TableKey) -> None:
        with self._lock:
            self._states[key] = _State(created=self.clock())

    def dropped(self, key: TableKey) -> None:
        with self._lock:
            self._states.pop(key, None)

    def renamed(self, old: TableKey, new: TableKey) -> None:
        with self._lock:
            state = self._states.pop(old, None)
            if state is not None:
                self._states[new] = state

    def swapped(self, a: TableKey, b: TableKey) -> None:
        with self._lock:
            first, second = self._states.pop(a, None), self._states.pop(b, None)
            if first is not None:
                self._states[b] = first
            if second is not None:
                self._states[a] = second

    def written(self, key: TableKey) -> None:
        with self._lock:
            state = self._states.setdefault(key, _State(created=self.clock()))
            # Strictly later than any refresh that happened in the same clock tick.
            now = self.clock()
            state.last_write = max(now, state.last_refresh + 1e-9)

    def refreshed(self, key: TableKey) -> None:
        with self._lock:
            state = self._states.setdefault(key, _State(created=self.clock()))
            state.last_refresh = max(self.clock(), state.last_write or 0.0)

    def is_stale(self, key: TableKey, refresh_interval_ms: int) -> bool:
        with self._lock:
            state = self._states.get(key)
            if state is None or state.last_write is None or state.last_write <= state.last_refresh:
                return False
            if self.strict or refresh_interval_ms <= 0:
                return True
            interval = refresh_interval_ms / 1000.0
            now = self.clock()
            tick = state.created + ((now - state.created) // interval) * interval
            if tick >= state.last_write:
                state.last_refresh = tick
                return False
            return True

    def check_read(self, tables: Iterable[tuple[TableKey, str, int]]) -> None:
        """Fail (strict) or count (lenient) a Collect on tables with unrefreshed writes.

        `tables` holds (key, name shown to the user, refresh_interval ms).
        """
        for key, shown, interval in tables:
            if self.is_stale(key, interval):
                if self.strict:
                    raise stale_read(shown)
                with self._lock:
                    self.stale_reads += 1
                return


def stale_read(shown: str) -> errors.CrateError:
    return errors.CrateError(
        errors.PARSE,
        "StaleReadException",
        f"stale read: REFRESH TABLE required: {shown} was written since its last refresh and this statement "
        "is not a primary-key lookup, so CrateDB would not see those writes (emulator strict mode)",
    )


# ---- primary-key lookups ------------------------------------------------------------------------------
def _strip(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _flatten(node: exp.Expr, kind: type[exp.Expr]) -> list[exp.Expr]:
    node = _strip(node)
    if isinstance(node, kind) and isinstance(node, exp.Binary):
        return _flatten(node.left, kind) + _flatten(node.right, kind)
    return [node]


def is_constant(node: exp.Expr) -> bool:
    """Literals, parameters and expressions of them (casts, negation, arrays); no columns or subqueries."""
    if isinstance(node, (exp.Column, exp.Subquery, exp.Select, exp.Star)):
        return False
    return not any(
        isinstance(n, (exp.Column, exp.Subquery, exp.Select)) for n in node.find_all(exp.Expression)
    )


def _pk_column(node: exp.Expr, pk: tuple[str, ...], qualifiers: set[str]) -> str | None:
    node = _strip(node)
    if not isinstance(node, exp.Column):
        return None
    if node.table and node.table not in qualifiers:
        return None
    name = node.name
    return name if name in pk else None


def _array_length(node: exp.Expr, resolve: ArrayLength) -> int | None:
    node = _strip(node)
    if isinstance(node, exp.Array):
        return len(node.expressions)
    if isinstance(node, exp.Cast):
        return _array_length(node.this, resolve)
    return resolve(node) if resolve is not None else None


def _conjunct_keys(
    node: exp.Expr, pk: tuple[str, ...], qualifiers: set[str], resolve: ArrayLength
) -> int | None:
    counts: dict[str, int] = {}
    for term in _flatten(node, exp.And):
        if isinstance(term, exp.EQ):
            left, right = _strip(term.left), _strip(term.right)
            if isinstance(right, exp.Any):
                column = _pk_column(left, pk, qualifiers)
                length = _array_length(right.this, resolve)
                if column and length is not None:
                    counts[column] = min(counts.get(column, length), length)
                continue
            column = _pk_column(left, pk, qualifiers)
            other = right
            if column is None:
                column = _pk_column(right, pk, qualifiers)
                other = left
            if column and is_constant(other):
                counts[column] = 1
        elif isinstance(term, exp.In) and not term.args.get("query"):
            column = _pk_column(term.this, pk, qualifiers)
            values = term.expressions
            if column and values and all(is_constant(v) for v in values):
                counts[column] = min(counts.get(column, len(values)), len(values))
    if not all(column in counts for column in pk):
        return None
    keys = 1
    for column in pk:
        keys *= counts[column]
    return keys


def is_pk_lookup(
    where: exp.Expr | None, pk: tuple[str, ...], qualifiers: set[str], resolve: ArrayLength = None
) -> bool:
    """Would CrateDB plan this WHERE as a Get on complete primary keys?"""
    if where is None or not pk:
        return False
    if isinstance(where, exp.Where):
        where = where.this
    total = 0
    for disjunct in _flatten(where, exp.Or):
        keys = _conjunct_keys(disjunct, pk, qualifiers, resolve)
        if keys is None:
            return False
        total += keys
    return total <= MAX_PK_LOOKUP_KEYS
