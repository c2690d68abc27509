"""Translate-once query plans (prepared.py): same SQL, results and errors as translating every time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import orjson
import pytest
from cratedb_emulator import CrateError, prepared
from cratedb_emulator import engine as engine_module
from cratedb_emulator import types as t
from cratedb_emulator.engine import Engine, Outcome, Session
from cratedb_emulator.prepared import QueryPlan
from cratedb_emulator.results import dumps
from cratedb_emulator.translate import Translator, parse_statement, raw_literal, typed_literal
from cratedb_emulator.types import CrateType
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlglot import exp

TABLE = (
    "CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT, qty INTEGER, price DOUBLE PRECISION, "
    "amount NUMERIC(18, 4), flag BOOLEAN, ts TIMESTAMP WITH TIME ZONE, naive TIMESTAMP WITHOUT TIME ZONE, "
    "small SMALLINT, r REAL)"
)
ROWS: list[list[Any]] = [
    [1, "one", 10, 1.5, "1.2500", True, "2024-05-01T10:00:00.123Z", "2024-05-01T10:00:00", 1, 0.5],
    [2, "it's", 20, -2.25, "-3.0000", False, "2024-05-02T10:00:00Z", "2024-05-02T10:00:00", 2, 1.25],
    [3, None, None, None, None, None, None, None, None, None],
]


@contextmanager
def fresh_engine() -> Iterator[Engine]:
    instance = Engine()
    try:
        yield instance
    finally:
        instance.close()


@pytest.fixture()
def engine() -> Iterator[Engine]:
    instance = Engine()
    instance.execute(Session(), TABLE)
    columns = "id, name, qty, price, amount, flag, ts, naive, small, r"
    instance.execute(
        Session(), f"INSERT INTO t ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", None, ROWS
    )
    instance.execute(Session(), "REFRESH TABLE t")
    yield instance
    instance.close()


def run(engine: Engine, stmt: str, args: list[Any] | None = None) -> Outcome:
    return engine.execute(Session(), stmt, args)


def client_view(outcome: Outcome) -> Any:
    return outcome.cols, outcome.col_types, orjson.loads(dumps(outcome.rows))


def uncached(engine: Engine, stmt: str, args: list[Any] | None) -> Any:
    try:
        return client_view(engine.select(Session(), parse_statement(stmt), args))
    except CrateError as exc:
        return exc.payload()


def cached(engine: Engine, stmt: str, args: list[Any] | None) -> Any:
    try:
        return client_view(run(engine, stmt, args))
    except CrateError as exc:
        return exc.payload()


def plan_of(engine: Engine, stmt: str) -> object:
    return engine.plans.get(engine._plan_key(Session(), stmt))


def reference_sql(engine: Engine, stmt: str, args: list[Any]) -> str:
    parsed = parse_statement(stmt)
    return engine.translate_query(Session(), parsed, args, parsed.tree)[1]


# ---- literal text -----------------------------------------------------------------------------------------
def rendered(node: exp.Expr, engine: Engine) -> str:
    """What the uncached path makes of a bound literal: the rewrite, then DuckDB's dialect."""
    select = exp.Select(expressions=[node])
    Translator(engine, "doc", "crate", None, {}).rewrite(select)
    return select.expressions[0].sql(dialect="duckdb")


SCALAR_CASES: list[tuple[CrateType, st.SearchStrategy[Any]]] = [
    (CrateType(t.BIGINT), st.integers(-(2**63), 2**63 - 1)),
    (CrateType(t.INTEGER), st.integers(-(2**31), 2**31 - 1)),
    (CrateType(t.SMALLINT), st.integers(-(2**15), 2**15 - 1)),
    (CrateType(t.BYTE), st.integers(-128, 127)),
    (CrateType(t.DOUBLE), st.floats(allow_nan=True, allow_infinity=True)),
    (CrateType(t.REAL), st.floats(width=32, allow_nan=True, allow_infinity=True)),
    (
        CrateType(t.NUMERIC, precision=38, scale=10),
        st.decimals(allow_nan=False, allow_infinity=False, places=10),
    ),
    (CrateType(t.TIMESTAMPTZ), st.integers(-(10**14), 10**14)),
    (CrateType(t.TIMESTAMP), st.integers(-(10**14), 10**14)),
    (CrateType(t.DATE), st.integers(-(10**6), 10**6)),
    (CrateType(t.BOOLEAN), st.booleans()),
    (CrateType(t.TEXT), st.text()),
    (
        CrateType(t.OBJECT),
        st.dictionaries(st.text(max_size=5), st.integers(-(2**63), 2**63 - 1)).map(
            lambda d: orjson.dumps(d).decode()
        ),
    ),
]


@pytest.fixture(scope="module")
def blank() -> Iterator[Engine]:
    """For rendering only (nothing is stored)."""
    with fresh_engine() as instance:
        yield instance


@pytest.mark.parametrize("ctype,values", SCALAR_CASES, ids=[c.kind for c, _ in SCALAR_CASES])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_slot_text_equals_the_uncached_literal(
    blank: Engine, ctype: CrateType, values: Any, data: Any
) -> None:
    storage = data.draw(values)
    assert prepared.literal_sql(storage, ctype) == rendered(typed_literal(storage, ctype), blank)


@settings(max_examples=100, deadline=None)
@given(value=st.one_of(st.none(), st.booleans(), st.integers(0, 2**70), st.text()))
def test_untyped_slot_text_equals_the_uncached_literal(blank: Engine, value: Any) -> None:
    assert prepared.untyped_sql(value) == rendered(raw_literal(value), blank)


@settings(max_examples=100, deadline=None)
@given(value=st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(), st.text(max_size=3)))
def test_cast_operands_are_read_back_like_the_uncached_literal(value: Any) -> None:
    from cratedb_emulator.translate import _literal_value

    assert prepared.as_literal(value) == _literal_value(raw_literal(value))
    assert type(prepared.as_literal(value)) is type(_literal_value(raw_literal(value)))


# ---- same SQL, same answers -------------------------------------------------------------------------------
SAME_SQL = [
    ("SELECT id, name FROM t WHERE id = ?", [[1], [2], ["3"], [2**40]]),
    (
        "SELECT * FROM t WHERE ts >= ? AND ts < ? ORDER BY id",
        [["2024-05-01", "2024-05-02T10:00:00Z"], [0, 10**13]],
    ),
    ("SELECT id FROM t WHERE naive = ?", [["2024-05-01T10:00:00+05:00"], [1714557600000]]),
    ("SELECT id FROM t WHERE amount = ? OR price < ?", [["1.25", 0], [1.25, -2.0]]),
    ("SELECT id FROM t WHERE flag = ? AND name <> ?", [[True, "x"], ["false", "it's"], ["yes", ""]]),
    ("SELECT id FROM t WHERE id IN (?, ?, ?) ORDER BY id", [[1, 2, 3], [3, "1", 9]]),
    ("SELECT id FROM t WHERE qty BETWEEN ? AND ?", [[5, 15], ["5", 25]]),
    ("SELECT id FROM t WHERE ts < CAST(? AS TIMESTAMP WITH TIME ZONE)", [["2024-05-02"], [1714600000000]]),
    (
        "SELECT CAST(? AS TEXT) AS v, CAST(? AS DOUBLE PRECISION) AS w",
        [["a", "1.5"], [5, -0.0], ["x", 1e300]],
    ),
    ("SELECT id FROM t WHERE name LIKE ? OR name ~ ?", [["on%", "x.*"], ["%'%", "^o"]]),
    ("SELECT id FROM t ORDER BY id LIMIT ? OFFSET ?", [[1, 0], [2, 1]]),
    ("SELECT id FROM t WHERE small = ? AND r > ?", [[1, 0.25], [2, -1]]),
    ("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [["t"], ["missing"]]),
    ("SELECT id, amount::TEXT FROM t WHERE id = 1", [[]]),
]


@pytest.mark.parametrize("stmt,arg_sets", SAME_SQL, ids=[s for s, _ in SAME_SQL])
def test_a_cached_plan_runs_the_sql_the_uncached_path_would(
    engine: Engine, stmt: str, arg_sets: list[Any]
) -> None:
    for args in arg_sets:
        assert cached(engine, stmt, args) == uncached(engine, stmt, args)
        plan = plan_of(engine, stmt)
        assert isinstance(plan, QueryPlan), stmt
        if not plan.has_arrays:
            assert plan.bind(args).sql == reference_sql(engine, stmt, args)


FALLBACKS = [
    ("SELECT id FROM t WHERE qty = ?", [["abc"], [None], [1.5], [True], [{"a": 1}]]),
    ("SELECT id FROM t WHERE ts = ?", [["not a time"], [None], [True]]),
    ("SELECT CAST(? AS INTEGER) AS v", [["x"], [None], [True], [float("nan")], [[1, 2]]]),
    ("SELECT id FROM t WHERE name = ? OR id = ?", [["a"], []]),
    ("SELECT id FROM t WHERE name LIKE ?", [[1.5], [-1], [None], [["a"]]]),
    ("SELECT id FROM t WHERE id = ANY(?)", [[[1, 2]], ["{1,2}"], [None], [[1, "x"]], [[]]]),
]


@pytest.mark.parametrize("stmt,arg_sets", FALLBACKS, ids=[s for s, _ in FALLBACKS])
def test_values_a_slot_cannot_bind_exactly_give_the_uncached_answer(
    engine: Engine, stmt: str, arg_sets: list[Any]
) -> None:
    for args in arg_sets:
        assert cached(engine, stmt, args) == uncached(engine, stmt, args), args


UNCACHEABLE = [
    "SELECT ? AS a",
    "SELECT id FROM t WHERE name = upper(?)",
    "SELECT id FROM t WHERE TRY_CAST(? AS INTEGER) = qty",
    "SELECT id FROM t UNION ALL SELECT id FROM t",
    "SELECT CAST('x' AS INTEGER)",
]


@pytest.mark.parametrize("stmt", UNCACHEABLE)
def test_statements_a_plan_cannot_express_stay_on_the_uncached_path(engine: Engine, stmt: str) -> None:
    args = [1] if "?" in stmt else []
    assert cached(engine, stmt, args) == uncached(engine, stmt, args)
    assert plan_of(engine, stmt) is prepared.UNCACHEABLE


# ---- translate once ---------------------------------------------------------------------------------------
def test_a_repeated_query_is_parsed_once(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = engine_module.parse_statement

    def counting(sql: str, *rest: Any) -> Any:
        calls.append(sql)
        return original(sql, *rest)

    monkeypatch.setattr(engine_module, "parse_statement", counting)
    stmt = "SELECT name FROM t WHERE id = ?"
    assert [orjson.loads(dumps(run(engine, stmt, [i]).rows)) for i in (1, 2, 1)] == [
        [["one"]],
        [["it's"]],
        [["one"]],
    ]
    assert calls == [stmt]


def test_ddl_invalidates_plans(engine: Engine) -> None:
    stmt = "SELECT * FROM t WHERE id = ?"
    assert len(run(engine, stmt, [1]).cols) == 10
    run(engine, "ALTER TABLE t ADD COLUMN extra TEXT")
    assert run(engine, stmt, [1]).cols[-1] == "extra"
    run(engine, "DROP TABLE t")
    with pytest.raises(CrateError, match="Relation 't' unknown"):
        run(engine, stmt, [1])


def test_plans_are_per_default_schema(engine: Engine) -> None:
    run(engine, "CREATE TABLE other.t (id BIGINT PRIMARY KEY, v TEXT)")
    run(engine, "INSERT INTO other.t (id, v) VALUES (1, 'other')")
    stmt = "SELECT * FROM t WHERE id = ?"
    assert engine.execute(Session(), stmt, [1]).rows[0][1] == "one"
    assert engine.execute(Session(default_schema="other"), stmt, [1]).rows[0][1] == "other"


# ---- arrays and visibility --------------------------------------------------------------------------------
def test_a_large_array_parameter_binds_as_one_value(engine: Engine) -> None:
    keys = list(range(-5000, 5000))
    stmt = "SELECT id FROM t WHERE id = ANY(CAST(? AS ARRAY(BIGINT))) ORDER BY id"
    assert run(engine, stmt, [keys]).rows == [(1,), (2,), (3,)]
    plan = plan_of(engine, stmt)
    assert isinstance(plan, QueryPlan)
    bound = plan.bind([keys])  # one Arrow list value, not 10,000 literals in the SQL text
    assert bound.arrays is not None and bound.arrays.num_rows == 1 and len(bound.sql) < 300
    starts = ["2024-05-01T10:00:00.123Z", "2024-05-02T10:00:00Z", "2030-01-01T00:00:00Z"]
    stmt = "SELECT id FROM t WHERE id = ANY(?) AND ts = ANY(CAST(? AS ARRAY(TIMESTAMP WITH TIME ZONE)))"
    assert cached(engine, stmt, [[1, 2, 3], starts]) == uncached(engine, stmt, [[1, 2, 3], starts])
    assert sorted(r[0] for r in run(engine, stmt, [[1, 2, 3], starts]).rows) == [1, 2]


@pytest.mark.parametrize(
    "values,element",
    [
        ([1.5, None, -0.5], "DOUBLE PRECISION"),
        (["1.2500", "-3"], "NUMERIC(18, 4)"),
        (["one", None], "TEXT"),
        ([True], "BOOLEAN"),
        ([0, 1], "SMALLINT"),
        (["2024-05-01T10:00:00"], "TIMESTAMP WITHOUT TIME ZONE"),
        ([0.5], "REAL"),
    ],
)
def test_array_slots_of_every_element_type_answer_like_literals(
    engine: Engine, values: list[Any], element: str
) -> None:
    stmt = f"SELECT CAST(? AS ARRAY({element})) AS a"
    assert cached(engine, stmt, [values]) == uncached(engine, stmt, [values])


def test_stale_reads_are_checked_on_every_execution(engine: Engine) -> None:
    scan = "SELECT count(*) FROM t WHERE qty > ?"
    lookup = "SELECT id FROM t WHERE id = ANY(?)"
    assert run(engine, scan, [0]).rows == [(2,)]
    run(engine, lookup, [[1]])
    engine.execute(Session(), "INSERT INTO t (id, name) VALUES (?, ?)", [9, "nine"])
    with pytest.raises(CrateError, match="stale read"):
        run(engine, scan, [0])
    assert run(engine, lookup, [[9]]).rows == [(9,)]  # a primary-key Get sees the write
    many = list(range(1001))
    with pytest.raises(CrateError, match="stale read"):  # too many keys for a Get
        run(engine, lookup, [many])
    run(engine, "REFRESH TABLE t")
    assert len(run(engine, lookup, [many]).rows) == 4


def test_missing_parameters_fail_like_the_uncached_path(engine: Engine) -> None:
    stmt = "SELECT id FROM t WHERE id = ? AND qty = ?"
    assert cached(engine, stmt, [1]) == uncached(engine, stmt, [1])
    assert "placeholder $2" in cached(engine, stmt, [1])["message"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.integers(-10, 10), st.floats(), st.text(max_size=4), st.booleans()),
        min_size=2,
        max_size=2,
    )
)
@example([0.0, -1.1676978559731914e16])  # sqlglot reads this literal back as an integer
def test_any_values_give_the_uncached_answer(values: list[Any]) -> None:
    with fresh_engine() as engine:
        engine.execute(Session(), TABLE)
        engine.execute(Session(), "INSERT INTO t (id, qty, price, name) VALUES (1, 1, 1.0, '1')")
        engine.execute(Session(), "REFRESH TABLE t")
        for stmt in (
            "SELECT id FROM t WHERE qty = ? OR price > ?",
            "SELECT id FROM t WHERE name = ? AND id <> ?",
            "SELECT CAST(? AS REAL) AS a, CAST(? AS TEXT) AS b",
        ):
            assert cached(engine, stmt, values) == uncached(engine, stmt, values), (stmt, values)


def test_decimal_results_keep_every_digit(engine: Engine) -> None:
    document = dumps({"rows": run(engine, "SELECT amount FROM t WHERE id = ?", [1]).rows}).decode()
    assert document == '{"rows":[[1.2500]]}'
    assert Decimal("1.2500") == orjson.loads(document)["rows"][0][0]


def test_the_plan_cache_is_bounded_by_entries_and_text() -> None:
    cache = prepared.PlanCache(entries=3, text_budget=100)
    for key in "abc":
        cache.put(key, key.upper(), 10)
    assert cache.get("a") == "A"  # now the most recently used
    cache.put("d", "D", 10)
    assert (len(cache), cache.get("b"), cache.get("a")) == (3, None, "A")
    cache.put("big", "BIG", 95)
    assert len(cache) == 1 and cache.get("big") == "BIG"
    cache.put("big", "BIGGER", 20)
    assert cache.get("big") == "BIGGER"


def test_statistics_count_the_time_spent_answering_sql() -> None:
    from crate import client
    from cratedb_emulator import Emulator

    with Emulator(port=0) as emulator:
        cursor = client.connect(emulator.url).cursor()
        cursor.execute("SELECT 1")
        assert emulator.stats()["sql_seconds"] > 0
        emulator.reset_stats()
        assert emulator.stats()["sql_seconds"] == 0
