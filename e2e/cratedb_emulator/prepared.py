"""Translate-once plans for queries: bulk clients repeat one statement text with new `?` values.

Translating a SELECT (sqlglot parse, catalog resolution, rewrite, DuckDB generation) costs time linear in
its size, so it happens once per (statement text, default schema, user, catalog generation); later
executions only bind values:

- a parameter compared with a typed column, or the operand of `CAST(? AS type)`, becomes a *slot*. Binding
  casts the value with CrateDB's implicit-cast rules and splices in the DuckDB text the uncached
  translation would have produced for that literal (tests hold both renderings equal), so DuckDB runs the
  same SQL;
- an array-typed slot (`= ANY(?)`, `CAST(? AS ARRAY(...))`) passes all elements as one Arrow list value of
  a registered one-row table instead of one literal per element;
- statements whose translation depends on more than a slot can express (untyped parameters, subscripts,
  object sub-columns learnt at runtime, information_schema snapshots) are not cached. A value the slot
  cannot bind exactly like the uncached path (NULL, a failing cast, an unusual shape) sends that one
  execution down the uncached path, so results and errors stay the same.
"""

from __future__ import annotations

import math
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

import pyarrow as pa
from sqlglot import exp

from . import casts, errors, infoschema
from . import types as t
from .lexer import quote_ident
from .types import CrateType
from .versions import Version
from .visibility import RefreshTracker, is_pk_lookup

_NONCE = secrets.token_hex(8)
_MARKER_PREFIX = f"__emulator_slot_{_NONCE}_"
_MARKER = re.compile(re.escape(_MARKER_PREFIX) + r"(\d+)")
PARAMS_TABLE = f"__emulator_params_{_NONCE}"

_SCALAR_KINDS = frozenset(
    {
        *t.TEXT_KINDS,
        t.IP,
        t.UUID,
        t.BIT,
        t.BOOLEAN,
        *t.INTEGER_KINDS,
        *t.FLOAT_KINDS,
        t.NUMERIC,
        *t.TIMESTAMP_KINDS,
        t.DATE,
        t.OBJECT,
        t.GEO_SHAPE,
    }
)
_ARRAY_ELEMENT_KINDS = _SCALAR_KINDS - {t.OBJECT, t.GEO_SHAPE}


class Uncacheable(Exception):
    """The statement's translation depends on something a slot cannot express."""


class Fallback(Exception):
    """This execution's values must take the uncached path."""


def supported(ctype: CrateType) -> bool:
    if ctype.kind == t.ARRAY:
        return ctype.inner is not None and ctype.inner.kind in _ARRAY_ELEMENT_KINDS
    return ctype.kind in _SCALAR_KINDS


# ---- literal text -------------------------------------------------------------------------------------
@lru_cache(maxsize=512)
def type_sql(ctype: CrateType) -> str:
    return exp.DataType.build(ctype.duck(), dialect="duckdb").sql(dialect="duckdb")


def string_sql(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def literal_sql(storage: Any, ctype: CrateType) -> str:
    """DuckDB text of `translate.typed_literal(storage, ctype)` after the rewrite, for scalar kinds."""
    kind = ctype.kind
    if kind in t.INTEGER_KINDS:
        return f"CAST({int(storage)} AS {type_sql(ctype)})"
    if kind in t.FLOAT_KINDS:
        target = "REAL" if kind == t.REAL else "DOUBLE"
        text = repr(float(storage))
        if not math.isfinite(storage):
            special = f"CAST('{text}' AS DOUBLE)"
            return special if kind == t.DOUBLE else f"CAST({special} AS REAL)"
        if storage < 0:
            # sqlglot's Literal.number negates the Decimal text of the absolute value; the rewrite types
            # that literal as DOUBLE when it looks like a float.
            positive = str(abs(Decimal(text)))
            inner = f"CAST({positive} AS DOUBLE)" if any(c in positive for c in ".eE") else positive
            return f"CAST(-{inner} AS {target})"
        return f"CAST({text} AS {target})"
    if kind == t.NUMERIC:
        return f"CAST({string_sql(str(storage))} AS {type_sql(ctype)})"
    if kind == t.TIMESTAMPTZ:
        return f"CAST(MAKE_TIMESTAMP_MS({int(storage)}) AS TIMESTAMPTZ)"
    if kind == t.TIMESTAMP:
        return f"MAKE_TIMESTAMP_MS({int(storage)})"
    if kind == t.DATE:
        return f"CAST(CAST('1970-01-01' AS DATE) + {int(storage)} AS DATE)"
    if kind == t.BOOLEAN:
        return "TRUE" if storage else "FALSE"
    if kind in (t.OBJECT, t.GEO_SHAPE):
        return f"CAST({string_sql(storage)} AS JSON)"
    return string_sql(storage)


def _plain_scalar(value: Any) -> bool:
    kind = type(value)
    return kind is str or kind is int or (kind is float and math.isfinite(value))


def literal_shaped(value: Any) -> bool:
    """Values whose uncached `CAST(? AS type)` goes through the cast layer (see Translator._rewrite_cast):
    strings, numbers and flat lists of them; booleans, objects, NULL and NaN become DuckDB casts."""
    if _plain_scalar(value):
        return True
    if type(value) is list:
        return all(item is None or _plain_scalar(item) for item in value)
    return False


def untyped_sql(value: Any) -> str:
    """DuckDB text of `translate.raw_literal(value)` for the values an untyped slot binds."""
    if value is None:
        return "NULL"
    kind = type(value)
    if kind is str:
        return string_sql(value)
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is int and value >= 0:  # a negative number is a negation, whose text depends on its parent
        return str(value)
    raise Fallback()  # floats, arrays and objects are rewritten depending on where they appear


def as_literal(value: Any) -> Any:
    """The value the uncached path reads back from the literal it writes for a literal-shaped value.

    sqlglot writes a negative number as the negation of the Decimal text of its absolute value, so a
    float like -1.1676978559731914e+16 comes back as the integer -11676978559731914.
    """
    kind = type(value)
    if kind is float and value < 0:
        positive = str(abs(Decimal(repr(value))))
        return value if any(c in positive for c in ".eE") else -int(positive)
    if kind is list and float in set(map(type, value)):
        return [as_literal(item) for item in value]
    return value


# ---- slots --------------------------------------------------------------------------------------------
COMPARED = "compared"  # compared with (or in a list/range of) a typed column: cast like the uncached bind
CAST_OPERAND = "cast"  # CAST(? AS type): only literal-shaped values go through the cast layer
UNTYPED = "untyped"  # no type to go by: the literal as the client sent it

# Parents under which an untyped literal is rendered the same whatever its kind.
UNTYPED_PARENTS = (
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.NullSafeEQ,
    exp.NullSafeNEQ,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.RegexpLike,
    exp.RegexpILike,
    exp.DPipe,
    exp.Limit,
    exp.Offset,
)


@dataclass
class Slot:
    number: int
    index: int  # 0-based parameter index
    mode: str
    target: CrateType | None
    convert: casts.Caster | None = None
    column: str | None = None  # array slots: column of the parameter table
    arrow_type: pa.DataType | None = None
    array_sql: str = ""

    def bind(self, params: Sequence[Any], arrays: dict[str, pa.Array]) -> str:
        if self.index >= len(params):
            raise Fallback()  # the uncached path names the missing parameter
        value = params[self.index]
        if self.mode == UNTYPED:
            return untyped_sql(value)
        assert self.target is not None and self.convert is not None
        if value is None:
            return "NULL" if self.mode == COMPARED else f"CAST(NULL AS {type_sql(self.target)})"
        if self.mode == CAST_OPERAND:
            if not literal_shaped(value):
                raise Fallback()
            value = as_literal(value)
        if self.column is not None and type(value) is not list:
            raise Fallback()
        try:
            storage = self.convert(value)
        except errors.CrateError:
            raise Fallback() from None  # the uncached path keeps the value as it is, or raises in order
        if self.column is None:
            return literal_sql(storage, self.target)
        try:
            arrays[self.column] = pa.array([storage], type=self.arrow_type)
        except (pa.ArrowException, TypeError, OverflowError):
            raise Fallback() from None
        return self.array_sql


class Preparation:
    """Collects the slots while a Translator translates a statement once for all executions."""

    def __init__(self, version: Version) -> None:
        self.version = version
        self.slots: list[Slot] = []
        self.virtuals: dict[str, infoschema.VirtualTable] = {}  # registered view name -> system table

    def slot(self, index: int, target: CrateType | None, mode: str) -> exp.Expr:
        slot = Slot(number=len(self.slots), index=index, mode=mode, target=target)
        if target is not None:
            if not supported(target):
                raise Uncacheable(f"parameters of type {target.sql()}")
            slot.convert = casts.caster(target, self.version)
        if target is not None and target.kind == t.ARRAY:
            assert target.inner is not None
            slot.column = f"a{slot.number}"
            slot.arrow_type = pa.list_(target.inner.arrow())
            slot.array_sql = (
                f"CAST((SELECT {quote_ident(slot.column)} FROM {quote_ident(PARAMS_TABLE)}) "
                f"AS {type_sql(target)})"
            )
        self.slots.append(slot)
        return exp.Var(this=f"{_MARKER_PREFIX}{slot.number}")

    def slot_of(self, node: exp.Expr) -> Slot | None:
        if isinstance(node, exp.Var):
            match = _MARKER.fullmatch(node.name)
            if match:
                return self.slots[int(match.group(1))]
        return None


# ---- plans --------------------------------------------------------------------------------------------
@dataclass
class Bound:
    sql: str
    arrays: pa.Table | None


@dataclass
class PrimaryKeyCheck:
    """Whether the WHERE is a primary-key Get; with `= ANY(?)` that depends on the array's length."""

    where: exp.Expr
    pk: tuple[str, ...]
    qualifiers: set[str]
    preparation: Preparation

    def holds(self, params: Sequence[Any]) -> bool:
        def length(node: exp.Expr) -> int | None:
            if isinstance(node, exp.Parameter):
                index = int(node.name) - 1
            else:
                slot = self.preparation.slot_of(node)
                if slot is None:
                    return None
                index = slot.index
            value = params[index] if index < len(params) else None
            return len(value) if isinstance(value, list) else None

        return is_pk_lookup(self.where, self.pk, self.qualifiers, length)


class QueryPlan:
    """What a query needs per execution: SQL pieces around its slots, the tables it reads, result types.

    It keeps no syntax tree (big statements stay small in the cache), except a WHERE with `= ANY(?)`.
    """

    def __init__(
        self,
        preparation: Preparation,
        sql: str,
        types: list[CrateType | None] | None,
        reads: list[tuple[tuple[str, str], str, int]],
        pk_check: PrimaryKeyCheck | bool,
    ) -> None:
        pieces = _MARKER.split(sql)
        self.parts = pieces[0::2]
        self.order = [preparation.slots[int(n)] for n in pieces[1::2]]
        self.slots = preparation.slots
        self.virtuals = preparation.virtuals
        self.types = types
        self.reads = reads
        self.pk_check = pk_check
        self.has_arrays = any(slot.column is not None for slot in self.slots)

    def bind(self, params: Sequence[Any]) -> Bound:
        """SQL for these parameter values; raises Fallback when only the uncached path is exact."""
        arrays: dict[str, pa.Array] = {}
        texts = {slot.number: slot.bind(params, arrays) for slot in self.slots}
        pieces = [self.parts[0]]
        for slot, part in zip(self.order, self.parts[1:], strict=True):
            pieces.append(texts[slot.number])
            pieces.append(part)
        return Bound("".join(pieces), pa.table(arrays) if arrays else None)

    def is_lookup(self, params: Sequence[Any]) -> bool:
        """Does CrateDB answer these values with a Get on complete primary keys?"""
        if not self.reads:
            return False
        if isinstance(self.pk_check, PrimaryKeyCheck):
            return self.pk_check.holds(params)
        return bool(self.pk_check)

    def check_visibility(self, tracker: RefreshTracker, params: Sequence[Any]) -> None:
        if self.reads and not self.is_lookup(params):
            tracker.check_read(self.reads)

    def output_types(self, count: int) -> list[CrateType | None]:
        if self.types is None or len(self.types) != count:
            return [None] * count
        return self.types


UNCACHEABLE = object()


class PlanCache:
    """Least-recently-used plans (or the UNCACHEABLE marker) by statement key; shared by request threads.

    Bounded by entries and by the statement text they hold (a plan is about twice its statement's size).
    """

    def __init__(self, entries: int = 256, text_budget: int = 16 * 1024 * 1024) -> None:
        self.entries = entries
        self.text_budget = text_budget
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._text = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> object | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, entry: object, text_size: int) -> None:
        with self._lock:
            previous = self._items.pop(key, None)
            if previous is not None:
                self._text -= previous[1]
            self._items[key] = (entry, text_size)
            self._text += text_size
            while self._items and (len(self._items) > self.entries or self._text > self.text_budget):
                _, (_, size) = self._items.popitem(last=False)
                self._text -= size

    def __len__(self) -> int:
        return len(self._items)


def probe_array_lengths(where: exp.Expr | None, pk: tuple[str, ...], qualifiers: set[str]) -> bool | None:
    """is_pk_lookup's answer if it does not depend on parameter array lengths, else None."""
    asked = False

    def length(_node: exp.Expr) -> int | None:
        nonlocal asked
        asked = True
        return None

    answer = is_pk_lookup(where, pk, qualifiers, length)
    return None if asked else answer
