"""Row-by-row comparison of warehouse.db (what `fivetran debug` stored) with CrateDB.

Both sides are streamed sorted by primary key in chunks and merge-joined, so memory stays bounded for
millions of rows. Keyless tables are compared as multisets of rows without `_fivetran_id` (the tester's id
values cannot be reproduced). Every value is normalised before comparison by the normalisers of its
Fivetran type's row in `data_types` (one per side).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from fivetran_proto import common_pb2

from .data_types import EPOCH, FivetranType, Normalizer, row_of


def warehouse_normalizer(column_type: FivetranType) -> Normalizer:
    """For values as `Warehouse.rows` returns them (timestamps in epoch microseconds)."""
    return row_of(column_type.type).warehouse(column_type)


def cratedb_normalizer(column_type: FivetranType) -> Normalizer:
    """For values as the `crate` driver returns them without a converter (timestamps in epoch ms)."""
    return row_of(column_type.type).cratedb_side(column_type)


def display(value: Any, column_type: FivetranType | None = None) -> str:
    """A readable form of a normalised value for reports (timestamps back to ISO)."""
    if value is None:
        return "NULL"
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return f"<{value[0]}: {value[1][:200]}>"
    if column_type is not None and isinstance(value, int) and not isinstance(value, bool):
        row = row_of(column_type.type)
        if row.instant:
            epoch = EPOCH.replace(tzinfo=timezone.utc) if row.zoned else EPOCH
            return (epoch + timedelta(milliseconds=value)).isoformat()
    if isinstance(value, bytes):
        shown = value[:64].hex()
        return f"0x{shown}{'…' if len(value) > 64 else ''} ({len(value)} bytes)"
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return text if len(text) <= 200 else text[:200] + f"… ({len(text)} chars)"


@dataclass(frozen=True)
class CellDiff:
    column: str
    warehouse: str
    cratedb: str


@dataclass(frozen=True)
class RowDiff:
    kind: str  # "different", "missing" (in warehouse only) or "extra" (in CrateDB only)
    key: dict[str, str]
    cells: tuple[CellDiff, ...] = ()


@dataclass
class TableResult:
    """The verdict for one table; `problems` holds table-level findings (columns, types, _fivetran_synced)."""

    table: str
    cratedb_table: str
    keyed: bool
    warehouse_rows: int = 0
    cratedb_rows: int = 0
    matched: int = 0
    different: int = 0
    missing: int = 0
    extra: int = 0
    diffs: list[RowDiff] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.different or self.missing or self.extra or self.problems)


@dataclass(frozen=True)
class CompareColumn:
    name: str
    type: FivetranType


class OrderMismatch(Exception):
    """A side did not arrive sorted the way Python orders its normalised keys."""


def _as_returned(column: CompareColumn) -> bool:
    """Both drivers return the column's values in comparable form already: no per-cell call needed."""
    return row_of(column.type.type).as_returned


def _flatten(
    chunks: Iterable[Sequence[tuple[Any, ...]]], normalize: Sequence[Normalizer | None]
) -> Iterator[tuple]:
    active = [(index, function) for index, function in enumerate(normalize) if function is not None]
    for chunk in chunks:
        if not active:
            yield from map(tuple, chunk)
            continue
        for row in chunk:
            values = list(row)
            for index, function in active:
                values[index] = function(values[index])
            yield tuple(values)


def _sorted_keys(rows: Iterator[tuple], width: int, side: str) -> Iterator[tuple[tuple, tuple]]:
    previous: tuple | None = None
    for row in rows:
        key = row[:width]
        if previous is not None:
            try:
                if key <= previous:
                    raise OrderMismatch(f"{side} rows are not strictly ordered by key")
            except TypeError:
                raise OrderMismatch(f"{side} keys are not comparable") from None
        previous = key
        yield key, row


class TableComparer:
    """Compares one table given both sides as chunked row streams in the order of `columns`.

    For keyed tables the first `key_width` columns are the primary key and both streams must be sorted by
    it; for keyless tables (`key_width == 0`) order does not matter.
    """

    def __init__(
        self, result: TableResult, columns: Sequence[CompareColumn], key_width: int, max_diffs: int = 20
    ):
        self.result = result
        self.columns = list(columns)
        self.key_width = key_width
        self.max_diffs = max_diffs
        full_warehouse = [warehouse_normalizer(column.type) for column in self.columns]
        full_cratedb = [cratedb_normalizer(column.type) for column in self.columns]
        # Full normalisation, for keyless tables (rows are hashed) and for keys.
        self.warehouse_normalizers: list[Normalizer | None] = [
            None if _as_returned(c) else f for c, f in zip(self.columns, full_warehouse, strict=True)
        ]
        self.cratedb_normalizers: list[Normalizer | None] = [
            None if _as_returned(c) else f for c, f in zip(self.columns, full_cratedb, strict=True)
        ]
        # Keyed rows are first compared cheaply: JSON values as text, canonicalised only when the texts
        # differ (parsing every document on both sides would dominate the comparison).
        self.lazy = [
            (index, full_warehouse[index], full_cratedb[index])
            for index, column in enumerate(self.columns)
            if index >= key_width and column.type.type == common_pb2.JSON
        ]
        self.cheap_warehouse = list(self.warehouse_normalizers)
        self.cheap_cratedb = list(self.cratedb_normalizers)
        for index, _, _ in self.lazy:
            self.cheap_warehouse[index] = self.cheap_cratedb[index] = None

    def _settle(self, left: tuple, right: tuple) -> tuple[tuple, tuple]:
        """Both rows with the lazily normalised columns normalised fully."""
        if not self.lazy:
            return left, right
        a, b = list(left), list(right)
        for index, warehouse, cratedb in self.lazy:
            a[index], b[index] = warehouse(a[index]), cratedb(b[index])
        return tuple(a), tuple(b)

    def _pair(self, left: tuple, right: tuple) -> None:
        """Count one row present on both sides."""
        if left != right:
            left, right = self._settle(left, right)
            if left != right:
                self._different(left, right)
                return
        self.result.matched += 1

    # -- shared helpers ---------------------------------------------------------------------------

    def _key_dict(self, row: tuple) -> dict[str, str]:
        width = self.key_width or len(self.columns)
        return {self.columns[i].name: display(row[i], self.columns[i].type) for i in range(width)}

    def _add(self, diff: RowDiff) -> None:
        if len(self.result.diffs) < self.max_diffs:
            self.result.diffs.append(diff)

    def _different(self, left: tuple, right: tuple) -> None:
        self.result.different += 1
        if len(self.result.diffs) >= self.max_diffs:
            return
        cells = tuple(
            CellDiff(column.name, display(a, column.type), display(b, column.type))
            for column, a, b in zip(self.columns, left, right, strict=True)
            if a != b
        )
        self._add(RowDiff("different", self._key_dict(left), cells))

    def _one_sided(self, kind: str, row: tuple) -> None:
        if kind == "missing":
            self.result.missing += 1
        else:
            self.result.extra += 1
        if len(self.result.diffs) < self.max_diffs:
            values = (
                self._key_dict(row)
                if self.key_width
                else {
                    column.name: display(value, column.type)
                    for column, value in zip(self.columns, row, strict=True)
                }
            )
            self._add(RowDiff(kind, values))

    # -- keyed tables -----------------------------------------------------------------------------

    def compare_keyed(
        self,
        warehouse: Callable[[], Iterable[Sequence[tuple]]],
        cratedb: Callable[[], Iterable[Sequence[tuple]]],
    ) -> None:
        """Merge-join by key; if a side's sort order disagrees with Python's, compare through a dict."""
        try:
            self.compare_sorted(warehouse(), cratedb())
        except OrderMismatch as mismatch:
            self.result.notes.append(f"{mismatch}; compared through an in-memory index instead")
            self.compare_unsorted(warehouse(), cratedb())

    def compare_sorted(
        self, warehouse: Iterable[Sequence[tuple]], cratedb: Iterable[Sequence[tuple]]
    ) -> None:
        """Merge-join two key-sorted streams; raises OrderMismatch (before counting anything) if unsorted."""
        width = self.key_width
        left = _sorted_keys(_flatten(warehouse, self.cheap_warehouse), width, "warehouse.db")
        right = _sorted_keys(_flatten(cratedb, self.cheap_cratedb), width, "CrateDB")
        r = self.result
        counts = (r.warehouse_rows, r.cratedb_rows, r.matched, r.different, r.missing, r.extra)
        saved = len(r.diffs)
        try:
            self._merge(left, right)
        except OrderMismatch:
            r.warehouse_rows, r.cratedb_rows, r.matched, r.different, r.missing, r.extra = counts
            del r.diffs[saved:]
            raise

    def _merge(self, left: Iterator[tuple[tuple, tuple]], right: Iterator[tuple[tuple, tuple]]) -> None:
        result = self.result
        a = next(left, None)
        b = next(right, None)
        while a is not None or b is not None:
            if b is None or (a is not None and a[0] < b[0]):
                assert a is not None
                result.warehouse_rows += 1
                self._one_sided("missing", a[1])
                a = next(left, None)
            elif a is None or b[0] < a[0]:
                result.cratedb_rows += 1
                self._one_sided("extra", b[1])
                b = next(right, None)
            else:
                result.warehouse_rows += 1
                result.cratedb_rows += 1
                self._pair(a[1], b[1])
                a = next(left, None)
                b = next(right, None)

    def compare_unsorted(
        self, warehouse: Iterable[Sequence[tuple]], cratedb: Iterable[Sequence[tuple]]
    ) -> None:
        """Keyed comparison through a dictionary (for key types whose sort orders differ between sides)."""
        width = self.key_width
        pending: dict[tuple, tuple] = {}
        for row in _flatten(warehouse, self.cheap_warehouse):
            self.result.warehouse_rows += 1
            pending[row[:width]] = row
        for row in _flatten(cratedb, self.cheap_cratedb):
            self.result.cratedb_rows += 1
            match = pending.pop(row[:width], None)
            if match is None:
                self._one_sided("extra", row)
            else:
                self._pair(match, row)
        for row in pending.values():
            self._one_sided("missing", row)

    # -- keyless tables ---------------------------------------------------------------------------

    def compare_multiset(
        self,
        warehouse: Callable[[], Iterable[Sequence[tuple]]],
        cratedb: Callable[[], Iterable[Sequence[tuple]]],
    ) -> None:
        """Multisets of whole rows, counted by hash; a second pass fetches examples only if they differ."""
        counts: Counter[int] = Counter()
        for row in _flatten(warehouse(), self.warehouse_normalizers):
            self.result.warehouse_rows += 1
            counts[hash(row)] += 1
        for row in _flatten(cratedb(), self.cratedb_normalizers):
            self.result.cratedb_rows += 1
            counts[hash(row)] -= 1
        surplus = {digest: count for digest, count in counts.items() if count}
        self.result.missing = sum(count for count in surplus.values() if count > 0)
        self.result.extra = -sum(count for count in surplus.values() if count < 0)
        self.result.matched = self.result.warehouse_rows - self.result.missing
        if not surplus:
            return
        for kind, source, normalizers, sign in (
            ("missing", warehouse, self.warehouse_normalizers, 1),
            ("extra", cratedb, self.cratedb_normalizers, -1),
        ):
            for row in _flatten(source(), normalizers):
                if len(self.result.diffs) >= self.max_diffs:
                    return
                digest = hash(row)
                if surplus.get(digest, 0) * sign > 0:
                    surplus[digest] -= sign
                    self._add(
                        RowDiff(
                            kind, {c.name: display(v, c.type) for c, v in zip(self.columns, row, strict=True)}
                        )
                    )
