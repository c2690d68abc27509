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
    node: exp.Expr, pk: tuple[str, ...], qualifiers: set[str], resolve: ArrayLength, pk_only: bool = False
) -> int | None:
    counts: dict[str, int] = {}
    for term in _flatten(node, exp.And):
        if pk_only and not _is_key_term(term, pk, qualifiers, resolve):
            return None
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


def _is_key_term(term: exp.Expr, pk: tuple[str, ...], qualifiers: set[str], resolve: ArrayLength) -> bool:
    """`pk = const`, `pk = ANY(array)` or `pk IN (consts)`: a term the key extraction fully consumes."""
    term = _strip(term)
    if isinstance(term, exp.EQ):
        left, right = _strip(term.left), _strip(term.right)
        if isinstance(right, exp.Any):
            return (
                _pk_column(left, pk, qualifiers) is not None
                and _array_length(right.this, resolve) is not None
            )
        if _pk_column(left, pk, qualifiers) is not None:
            return is_constant(right)
        return _pk_column(right, pk, qualifiers) is not None and is_constant(left)
    if isinstance(term, exp.In) and not term.args.get("query"):
        return _pk_column(term.this, pk, qualifiers) is not None and all(
            is_constant(v) for v in term.expressions
        )
    return False


def is_pk_lookup(
    where: exp.Expr | None,
    pk: tuple[str, ...],
    qualifiers: set[str],
    resolve: ArrayLength = None,
    pk_only: bool = False,
) -> bool:
    """Would CrateDB plan this WHERE as a Get on complete primary keys?

    `pk_only`: UPDATE and DELETE run by id only when the WHERE holds nothing but the key terms
    (`queryHasPkSymbolsOnly` in server/src/main/java/io/crate/planner/statement/DeletePlanner.java and
    planner/consumer/UpdatePlanner.java); a SELECT's Get filters any other terms itself (operators/Get.java).
    """
    if where is None or not pk:
        return False
    if isinstance(where, exp.Where):
        where = where.this
    total = 0
    for disjunct in _flatten(where, exp.Or):
        keys = _conjunct_keys(disjunct, pk, qualifiers, resolve, pk_only)
        if keys is None:
            return False
        total += keys
    return total <= MAX_PK_LOOKUP_KEYS


def single_key(
    where: exp.Expr | None, pk: tuple[str, ...], qualifiers: set[str]
) -> dict[str, exp.Expr] | None:
    """The constant each key column equals when the WHERE names exactly one document (`a = ? AND b = 1`
    over the whole key and nothing else), else None."""
    if where is None or not pk:
        return None
    if isinstance(where, exp.Where):
        where = where.this
    found: dict[str, exp.Expr] = {}
    for term in _flatten(where, exp.And):
        term = _strip(term)
        if not isinstance(term, exp.EQ):
            return None
        left, right = _strip(term.left), _strip(term.right)
        column, value = _pk_column(left, pk, qualifiers), right
        if column is None:
            column, value = _pk_column(right, pk, qualifiers), left
        if column is None or column in found or isinstance(value, exp.Any) or not is_constant(value):
            return None
        found[column] = value
    return found if len(found) == len(pk) else None
