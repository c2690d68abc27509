"""Read visibility: which WHERE clauses are primary-key Gets, and the strict / lenient refresh models."""

from __future__ import annotations

import pytest
import sqlglot
from cratedb_emulator import CrateError
from cratedb_emulator.visibility import RefreshTracker, is_pk_lookup


def where_of(sql: str) -> sqlglot.exp.Expression | None:
    tree = sqlglot.parse_one(f"SELECT * FROM t WHERE {sql}", read="postgres")
    where = tree.args.get("where")
    return where.this if where is not None else None


@pytest.mark.parametrize(
    ("condition", "pk", "lookup"),
    [
        ("id = 1", ("id",), True),
        ("1 = id", ("id",), True),
        ("id = $1", ("id",), True),
        ("t.id = 'x'", ("id",), True),
        ("id = 1 AND v > 3", ("id",), True),
        ("id IN (1, 2, 3)", ("id",), True),
        ("id = 1 OR id = 2", ("id",), True),
        ("id = ANY([1, 2])", ("id",), True),
        ("a = 1 AND b = 2", ("a", "b"), True),
        ("(a = 1 AND b = 2) OR (a = 3 AND b = 4)", ("a", "b"), True),
        ("a = 1", ("a", "b"), False),
        ("id > 1", ("id",), False),
        ("id = 1 OR v = 2", ("id",), False),
        ("v = 1", ("id",), False),
        ("id = other_id", ("id",), False),
        ("u.id = 1", ("id",), False),
        ("id IN (SELECT x FROM u)", ("id",), False),
    ],
)
def test_pk_lookup_detection(condition: str, pk: tuple[str, ...], lookup: bool) -> None:
    assert is_pk_lookup(where_of(condition), pk, {"t"}) is lookup


def test_no_where_or_no_pk_is_never_a_lookup() -> None:
    assert not is_pk_lookup(None, ("id",), {"t"})
    assert not is_pk_lookup(where_of("id = 1"), (), {"t"})


def test_long_key_lists_fall_back_to_collect() -> None:
    values = ", ".join(str(i) for i in range(1001))
    assert not is_pk_lookup(where_of(f"id IN ({values})"), ("id",), {"t"})


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_strict_tracker_fails_until_refresh() -> None:
    clock = Clock()
    tracker = RefreshTracker(strict=True, clock=clock)
    key = ("s", "t")
    tracker.created(key)
    tracker.check_read([(key, "s.t", 1000)])  # nothing written yet
    tracker.written(key)
    clock.now += 60
    with pytest.raises(CrateError, match="stale read: REFRESH TABLE required") as error:
        tracker.check_read([(key, "s.t", 1000)])
    assert error.value.code == 4000 and error.value.http_status == 400
    tracker.refreshed(key)
    tracker.check_read([(key, "s.t", 1000)])


def test_lenient_tracker_models_the_periodic_refresh() -> None:
    clock = Clock()
    tracker = RefreshTracker(strict=False, clock=clock)
    key = ("s", "t")
    tracker.created(key)
    clock.now += 0.5
    tracker.written(key)
    assert tracker.is_stale(key, 1000)  # next tick at created + 1 s
    tracker.check_read([(key, "s.t", 1000)])  # never raises, counts instead
    assert tracker.stale_reads == 1
    clock.now += 0.6
    assert not tracker.is_stale(key, 1000)
    tracker.written(key)
    assert tracker.is_stale(key, 0)  # refresh_interval <= 0: only REFRESH TABLE helps


def test_tracker_follows_renames_and_swaps() -> None:
    tracker = RefreshTracker(strict=True)
    a, b = ("s", "a"), ("s", "b")
    tracker.created(a)
    tracker.created(b)
    tracker.written(a)
    tracker.swapped(a, b)
    assert tracker.is_stale(b, 1000) and not tracker.is_stale(a, 1000)
    tracker.renamed(b, ("s", "c"))
    assert tracker.is_stale(("s", "c"), 1000)
