"""The reference model of destination-tester scenarios, checked against the protocol's own examples."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fivetran_e2e.model import (
    ACTIVE,
    DELETED,
    END,
    ID,
    KEEP,
    START,
    SYNCED,
    TMAX_TEXT,
    BatchCall,
    Clock,
    Column,
    CreateCall,
    Model,
    ScenarioError,
    TruncateCall,
    canonical,
    cell_text,
    comparable,
    epoch_ms,
    float32,
    iso_ms,
    load_scenario,
    parse_scenario,
)

CLOCK = Clock(base_ms=epoch_ms("2024-05-01T10:00:00Z"))
CORPUS = Path(__file__).resolve().parents[2] / "e2e" / "scenarios"


def run(doc: dict[str, Any]) -> Model:
    model = Model()
    model.run(parse_scenario(doc), CLOCK)
    return model


def rows(model: Model, table: str, *columns: str) -> list[tuple[Any, ...]]:
    """The table's rows projected on `columns`, TMAX/TMIN folded, sorted for stable comparison."""
    t = model.tables[table]
    projected = [tuple(comparable(row[c], t.columns[c]) for c in columns) for row in t.rows.values()]
    return sorted(projected, key=repr)


def ms(text: str) -> int:
    return epoch_ms(text)


# ---- values ---------------------------------------------------------------------------------------------


def test_timestamps_are_epoch_milliseconds_with_sub_millisecond_digits_dropped() -> None:
    assert epoch_ms("1970-01-01T00:00:00Z") == 0
    assert epoch_ms("2024-01-24T23:11:39.755812480Z") == epoch_ms("2024-01-24T23:11:39.755Z")
    assert epoch_ms("2024-01-01T01:00:00+01:00") == epoch_ms("2024-01-01T00:00:00Z")
    assert epoch_ms("1900-01-01") == -2208988800000
    assert iso_ms(epoch_ms("2299-12-31T23:59:59.999Z")) == "2299-12-31T23:59:59.999Z"
    assert epoch_ms("2007-12-03T10:15") == epoch_ms("2007-12-03T10:15:00.000Z")


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("LONG", "-9223372036854775808", -(2**63)),
        ("LONG", 9223372036854775807, 2**63 - 1),
        (
            "DECIMAL",
            "12345678901234567890123456.789012345678",
            Decimal("12345678901234567890123456.789012345678"),
        ),
        ("FLOAT", Decimal("3.14"), float32(3.14)),
        ("DOUBLE", "-2.2250738585072014E-308", -2.2250738585072014e-308),
        ("NAIVE_DATE", "2299-12-31", epoch_ms("2299-12-31T00:00:00Z")),
        ("NAIVE_TIME", "10:15", dt.time(10, 15)),
        ("BINARY", "AAEC/w==", b"\x00\x01\x02\xff"),
        ("BINARY", "[B@7d4991ad", b"[B@7d4991ad"),
        ("BOOLEAN", "TRUE", True),
        ("STRING", "", ""),
    ],
)
def test_canonical_values(kind: str, value: Any, expected: Any) -> None:
    precision, scale = (38, 12) if kind == "DECIMAL" else (None, None)
    assert canonical(value, Column("c", kind, precision=precision, scale=scale)) == expected


@pytest.mark.parametrize(
    ("kind", "value"),
    [("SHORT", 32768), ("INT", "1.5"), ("LONG", 2**63), ("FLOAT", "3.5e38"), ("BOOLEAN", 1)],
)
def test_values_outside_the_type_are_scenario_errors(kind: str, value: Any) -> None:
    with pytest.raises(ScenarioError, match="column 'c'"):
        canonical(value, Column("c", kind))


def test_decimal_values_must_fit_the_declared_precision_and_scale() -> None:
    column = Column("amount", "DECIMAL", precision=6, scale=3)
    assert canonical("123.450", column) == Decimal("123.45")
    # More decimals than the scale are rounded half away from zero, as DuckDB's DECIMAL cast does.
    assert canonical("1.2345", column) == Decimal("1.235")
    assert canonical("-1.2345", column) == Decimal("-1.235")
    assert canonical("1.2344", column) == Decimal("1.234")
    for too_big in ("1234.5", "999.9995"):
        with pytest.raises(ScenarioError, match=r"DECIMAL\(6,3\)"):
            canonical(too_big, column)


def test_json_is_compared_by_value_and_written_as_text() -> None:
    column = Column("doc", "JSON")
    assert cell_text({"b": [1, Decimal("2.5")], "a": None}, column) == '{"b": [1, 2.5], "a": null}'
    assert comparable('{"a": 1, "b": 2}', column) == comparable('{"b":2,"a":1}', column)


def test_tmax_and_tmin_fold_only_in_history_columns() -> None:
    end, start, data = Column(END, "UTC_DATETIME"), Column(START, "UTC_DATETIME"), Column("x", "UTC_DATETIME")
    assert comparable(ms(TMAX_TEXT), end) == comparable(ms("2262-04-11T23:47:16.854Z"), end) == "TMAX"
    assert comparable(0, start) == comparable(ms("0001-01-01T00:00:00Z"), end) == "TMIN"
    assert comparable(ms(TMAX_TEXT), data) == ms(TMAX_TEXT)


# ---- scenario format ------------------------------------------------------------------------------------


def test_system_columns_are_added_as_the_tester_does() -> None:
    model = run(
        {
            "create_table": {
                "keyed": {"columns": {"id": "INT"}, "primary_key": ["id"]},
                "keyless": {"columns": {"v": "STRING"}, "primary_key": []},
                "history": {"columns": {"id": "INT"}, "primary_key": ["id"], "history_mode": True},
            }
        }
    )

    def described(table: str) -> dict[str, tuple[str, bool]]:
        return {c.name: (c.type, c.primary_key) for c in model.describe(table) or []}

    assert described("keyed") == {
        "id": ("INT", True),
        SYNCED: ("UTC_DATETIME", False),
        DELETED: ("BOOLEAN", False),
    }
    assert described("keyless")[ID] == ("STRING", True)
    assert described("history") == {
        "id": ("INT", True),
        SYNCED: ("UTC_DATETIME", False),
        START: ("UTC_DATETIME", True),
        END: ("UTC_DATETIME", False),
        ACTIVE: ("BOOLEAN", False),
    }
    assert model.describe("missing") is None


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"create": {}}, "unknown top-level keys"),
        ({"create_table": {"t": {"columns": {"_fivetran_deleted": "BOOLEAN"}}}}, "system column"),
        ({"create_table": {"t": {"columns": {"a": "TEXT"}}}}, "unknown data type"),
        ({"create_table": {"t": {"columns": {"a": "INT"}, "primary_key": ["b"]}}}, "not declared"),
        ({"ops": [{"upsert": {}, "delete": {}}]}, "exactly one key"),
        ({"ops": [{"merge": {}}]}, "unknown operation"),
        ({"schema_migration": [{"rename_column": [{"table": "t"}]}]}, "exactly the keys"),
    ],
)
def test_malformed_scenarios_are_rejected(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(doc)


def test_rows_naming_unknown_columns_or_lacking_keys_are_rejected() -> None:
    table = {"t": {"columns": {"id": "INT", "v": "STRING"}, "primary_key": ["id"]}}
    with pytest.raises(ScenarioError, match=r"ops\[0\].upsert.t\[0\]: unknown columns \['w'\]"):
        run({"create_table": table, "ops": [{"upsert": {"t": [{"id": 1, "w": "x"}]}}]})
    with pytest.raises(ScenarioError, match="key columns"):
        run({"create_table": table, "ops": [{"update": {"t": [{"v": "x"}]}}]})


def test_every_corpus_file_is_a_valid_scenario_for_the_model() -> None:
    files = sorted(CORPUS.glob("*.json"))
    assert len(files) >= 25
    for path in files:
        doc = load_scenario(path.read_text(encoding="utf-8"))
        Model().run(parse_scenario(doc), CLOCK)


# ---- WriteBatch and Truncate (SDK guide, "WriteBatchRequest", "Truncate", FAQ) -----------------------------

ITEMS = {"items": {"columns": {"id": "INT", "name": "STRING", "qty": "INT"}, "primary_key": ["id"]}}


def test_upsert_replaces_whole_rows_and_update_changes_only_given_cells() -> None:
    model = run(
        {
            "create_table": ITEMS,
            "ops": [
                {"upsert": {"items": [{"id": 1, "name": "a", "qty": 1}, {"id": 2, "name": "b", "qty": 2}]}},
                {"upsert": {"items": [{"id": 1, "name": "a2"}]}},
                {"update": {"items": [{"id": 2, "qty": None}, {"id": 3, "name": "never inserted"}]}},
            ],
        }
    )
    assert rows(model, "items", "id", "name", "qty", SYNCED) == [
        (1, "a2", None, CLOCK.synced_ms(1)),
        (2, "b", None, CLOCK.synced_ms(2)),
    ]


def test_update_batches_mark_absent_columns_unmodified() -> None:
    model = run({"create_table": ITEMS, "ops": [{"upsert": {"items": [{"id": 1, "name": "a", "qty": 1}]}}]})
    (step,) = parse_scenario({"ops": [{"soft_delete": {"items": [{"id": 1}]}}]})
    call = model.call_for(step, CLOCK)
    assert isinstance(call, BatchCall)
    assert call.update[0]["name"] is KEEP and call.update[0]["qty"] is KEEP
    assert call.update[0][DELETED] is True and call.update[0]["id"] == 1


def test_hard_and_soft_delete() -> None:
    model = run(
        {
            "create_table": ITEMS,
            "ops": [
                {"upsert": {"items": [{"id": 1, "name": "a", "qty": 1}, {"id": 2, "name": "b", "qty": 2}]}},
                {"delete": {"items": [{"id": 1}, {"id": 9}]}},
                {"soft_delete": {"items": [{"id": 2}, {"id": 8}]}},
            ],
        }
    )
    assert rows(model, "items", "id", "name", "qty", DELETED, SYNCED) == [
        (2, "b", 2, True, CLOCK.synced_ms(2))
    ]


@pytest.mark.parametrize("soft", [False, True])
def test_truncate_before_acts_only_on_rows_synced_earlier(soft: bool) -> None:
    kind = "soft_truncate_before" if soft else "truncate_before"
    model = run(
        {
            "create_table": ITEMS,
            "ops": [
                {"upsert": {"items": [{"id": 1, "name": "a"}]}},
                {kind: ["items", "no_such_table"]},
                {"upsert": {"items": [{"id": 2, "name": "b"}, {"id": 3, "name": "c"}]}},
            ],
        }
    )
    expected = [(2, False), (3, False)]
    assert rows(model, "items", "id", DELETED) == ([(1, True), *expected] if soft else expected)
    if soft:
        assert model.tables["items"].rows[(1,)][SYNCED] == CLOCK.synced_ms(0)


NEVER_SOFT_DELETED = {
    "t": {"columns": {"id": "INT", "v": "STRING"}, "primary_key": ["id"], "fivetran_deleted": False}
}


def test_a_key_only_update_of_a_table_without_fivetran_deleted_modifies_only_fivetran_synced() -> None:
    ops: list[dict[str, Any]] = [
        {"upsert": {"t": [{"id": 1, "v": "a"}]}},
        {"update": {"t": [{"id": 1}, {"id": 9}]}},
    ]
    doc = {"create_table": NEVER_SOFT_DELETED, "ops": ops}
    model = Model()
    steps = parse_scenario(doc)
    calls = []
    for step in steps:
        calls.append(model.call_for(step, CLOCK))
        model.apply(calls[-1])
    create, _, update = calls
    assert isinstance(create, CreateCall) and isinstance(update, BatchCall)
    assert [c.name for c in create.columns] == ["id", "v", SYNCED]
    assert update.update[0] == {"id": 1, "v": KEEP, SYNCED: CLOCK.synced_text(1)}
    assert rows(model, "t", "id", "v", SYNCED) == [(1, "a", CLOCK.synced_ms(1))]
    with pytest.raises(ScenarioError, match="has no _fivetran_deleted"):
        run({**doc, "ops": [*ops, {"soft_delete": {"t": [{"id": 1}]}}]})
    altered = run(
        {**doc, "alter_table": {"t": {"columns": {"id": "INT", "v": "STRING"}, "primary_key": ["id"]}}}
    )
    assert DELETED in altered.tables["t"].columns  # an alter_table entry without the key adds it


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"fivetran_deleted": "no"}, "must be true or false"),
        ({"fivetran_deleted": False, "history_mode": True}, "history-mode tables have no"),
    ],
)
def test_bad_fivetran_deleted_flags_are_refused(spec: dict[str, Any], message: str) -> None:
    table = {"columns": {"id": "INT"}, "primary_key": ["id"], **spec}
    with pytest.raises(ScenarioError, match=message):
        parse_scenario({"create_table": {"t": table}})


@pytest.mark.parametrize("soft", [False, True])
def test_a_row_synced_in_the_cutoffs_millisecond_survives_the_truncate(soft: bool) -> None:
    """`truncate_cutoff: previous_op_millisecond`: the cut-off is the millisecond of the previous op's
    `_fivetran_synced`; those rows are not older than it (strictly `<`), earlier ones are."""
    kind = "soft_truncate_before" if soft else "truncate_before"
    doc = {
        "truncate_cutoff": "previous_op_millisecond",
        "create_table": ITEMS,
        "ops": [
            {"upsert": {"items": [{"id": 1, "name": "a"}]}},
            {"upsert": {"items": [{"id": 2, "name": "b"}]}},
            {kind: ["items"]},
        ],
    }
    steps = parse_scenario(doc)
    truncate = Model()
    for step in steps[:-1]:
        truncate.apply(truncate.call_for(step, CLOCK))
    call = truncate.call_for(steps[-1], CLOCK)
    assert isinstance(call, TruncateCall) and call.before_ms == CLOCK.synced_ms(1)
    model = run(doc)
    assert model.tables["items"].rows[(2,)][SYNCED] == call.before_ms
    expected = [(2, False)]
    assert rows(model, "items", "id", DELETED) == ([(1, True), *expected] if soft else expected)
    default = run({**doc, "truncate_cutoff": "between_ops"})
    assert rows(default, "items", "id", DELETED) == ([(1, True), (2, True)] if soft else [])


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"truncate_cutoff": "same", "ops": []}, "truncate_cutoff must be one of"),
        (
            {"truncate_cutoff": "previous_op_millisecond", "ops": [{"truncate_before": ["t"]}]},
            "needs an op before the truncate",
        ),
    ],
)
def test_bad_truncate_cutoffs_are_refused(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(doc)


# The "operations on nonexistent records" scenarios of the tester (SDK tester input
# operations_on_nonexistent_records/README.md): all must be ignored.
@pytest.mark.parametrize("op", ["update", "delete", "soft_delete"])
@pytest.mark.parametrize("truncate", ["truncate_before", "soft_truncate_before"])
def test_truncate_then_write_to_the_same_keys(op: str, truncate: str) -> None:
    change = {"id": 1, "name": "changed"} if op == "update" else {"id": 1}
    model = run(
        {
            "create_table": ITEMS,
            "ops": [
                {"upsert": {"items": [{"id": 1, "name": "a"}]}},
                {truncate: ["items"]},
                {op: {"items": [change]}},
            ],
        }
    )
    if truncate == "truncate_before" or op == "delete":
        assert rows(model, "items", "id") == []
    else:  # a soft-truncated row still exists, so later writes reach it
        expected_name = "changed" if op == "update" else "a"
        assert rows(model, "items", "name", DELETED) == [(expected_name, op == "soft_delete")]


def test_truncate_of_a_missing_table_then_describe_is_not_found() -> None:
    model = run(
        {
            "ops": [{"truncate_before": ["ghost"]}, {"soft_truncate_before": ["ghost"]}],
            "describe_table": ["ghost"],
        }
    )
    assert model.describe("ghost") is None


@pytest.mark.parametrize("op", ["update", "delete", "soft_delete"])
def test_missing_records_in_pk_less_and_history_tables_are_ignored(op: str) -> None:
    doc = {
        "create_table": {
            "keyless": {"columns": {"v": "STRING"}, "primary_key": []},
            "hist": {"columns": {"id": "INT", "v": "STRING"}, "primary_key": ["id"], "history_mode": True},
        },
        "ops": [
            {
                "upsert": {
                    "keyless": [{"_fivetran_id": "a", "v": "x"}],
                    "hist": [{"id": 1, "v": "x", "op_time": "2024-01-01T00:00:00Z"}],
                }
            },
            {
                op: {
                    "keyless": [{"_fivetran_id": "zzz", "v": "y"}],
                    "hist": [{"id": 2, "v": "y", "op_time": "2024-02-01T00:00:00Z"}],
                }
            },
        ],
    }
    model = run(doc)
    assert rows(model, "keyless", ID, "v", DELETED) == [("a", "x", False)]
    assert rows(model, "hist", "id", "v", START, END, ACTIVE) == [
        (1, "x", ms("2024-01-01T00:00:00Z"), "TMAX", True)
    ]


# ---- AlterTable (SDK guide, "AlterTable") -----------------------------------------------------------------


def test_alter_adds_columns_changes_types_and_key_but_never_drops_without_drop_columns() -> None:
    model = run(
        {
            "create_table": {
                "t": {
                    "columns": {"old_pk": "INT", "amount": {"type": "DECIMAL", "precision": 20, "scale": 10}},
                    "primary_key": ["old_pk"],
                }
            },
            "alter_table": {
                "t": {
                    "columns": {
                        "new_pk": "LONG",
                        "amount": {"type": "DECIMAL", "precision": 25, "scale": 15},
                    },
                    "primary_key": ["new_pk"],
                }
            },
            "ops": [{"upsert": {"t": [{"new_pk": 1, "amount": "1.000000000000001"}]}}],
        }
    )
    columns = {c.name: c for c in model.describe("t") or []}
    assert columns["old_pk"] == Column("old_pk", "INT", primary_key=False)
    assert columns["new_pk"].primary_key and columns["new_pk"].type == "LONG"
    assert (columns["amount"].precision, columns["amount"].scale) == (25, 15)
    assert rows(model, "t", "new_pk", "old_pk", "amount") == [(1, None, Decimal("1.000000000000001"))]


def test_schema_migration_ddl_changes_types_with_data_and_drops_columns() -> None:
    model = run(
        {
            "create_table": {
                "t": {"columns": {"id": "INT", "amount": "DOUBLE", "desc": "STRING"}, "primary_key": ["id"]}
            },
            "ops": [{"upsert": {"t": [{"id": 1, "amount": Decimal("2.5"), "desc": "x"}]}}],
            "schema_migration": [
                {
                    "add_column": [{"table": "t", "column": "operation_time", "data_type": "UTC_DATETIME"}],
                    "change_column_data_type": [
                        {"table": "t", "column": "amount", "data_type": "FLOAT"},
                        {"table": "t", "column": "id", "data_type": "LONG"},
                    ],
                    "drop_column": [{"table": "t", "column": "desc"}],
                }
            ],
        }
    )
    assert {c.name: c.type for c in model.describe("t") or []} == {
        "id": "LONG",
        "amount": "FLOAT",
        "operation_time": "UTC_DATETIME",
        SYNCED: "UTC_DATETIME",
        DELETED: "BOOLEAN",
    }
    assert rows(model, "t", "id", "amount", "operation_time") == [(1, 2.5, None)]


def test_unmodelled_type_changes_are_refused() -> None:
    with pytest.raises(ScenarioError, match="BOOLEAN to INT is not modelled"):
        run(
            {
                "create_table": {"t": {"columns": {"id": "INT", "b": "BOOLEAN"}, "primary_key": ["id"]}},
                "ops": [{"upsert": {"t": [{"id": 1, "b": True}]}}],
                "schema_migration": [
                    {"change_column_data_type": [{"table": "t", "column": "b", "data_type": "INT"}]}
                ],
            }
        )


# ---- history mode (SDK history guide) ---------------------------------------------------------------------

T2, T3, T4, T5 = (
    "2024-01-02T00:00:00Z",
    "2024-01-03T00:00:00Z",
    "2024-01-04T00:00:00Z",
    "2024-01-05T00:00:00Z",
)
HISTORY = {
    "h": {
        "columns": {"id": "INT", "name": "STRING", "qty": "INT"},
        "primary_key": ["id"],
        "history_mode": True,
    }
}


def test_history_worked_example_of_the_guide() -> None:
    """Destination (1, pqr, 2, T2), (2, mno, 3, T2); update file (1, xyz, -, T3), (1, def, -, T5) and
    (2, -, 1000, T4): id 1 gets two versions filled from pqr's qty, id 2 one filled from mno's name."""
    doc = {
        "create_table": HISTORY,
        "ops": [
            {
                "upsert": {
                    "h": [
                        {"id": 1, "name": "pqr", "qty": 2, "op_time": T2},
                        {"id": 2, "name": "mno", "qty": 3, "op_time": T2},
                    ]
                }
            },
            {
                "update": {
                    "h": [
                        {"id": 1, "name": "xyz", "op_time": T3},
                        {"id": 1, "name": "def", "op_time": T5},
                        {"id": 2, "qty": 1000, "op_time": T4},
                    ]
                }
            },
        ],
    }
    model = run(doc)
    one_ms = 1
    assert rows(model, "h", "id", "name", "qty", START, END, ACTIVE) == sorted(
        [
            (1, "pqr", 2, ms(T2), ms(T3) - one_ms, False),
            (1, "xyz", 2, ms(T3), ms(T5) - one_ms, False),
            (1, "def", 2, ms(T5), "TMAX", True),
            (2, "mno", 3, ms(T2), ms(T4) - one_ms, False),
            (2, "mno", 1000, ms(T4), "TMAX", True),
        ],
        key=repr,
    )


def test_history_batches_carry_earliest_start_and_precomputed_version_columns() -> None:
    model = run({"create_table": HISTORY})
    (step,) = parse_scenario(
        {
            "ops": [
                {
                    "upsert": {
                        "h": [{"id": 1, "name": "b", "op_time": T3}, {"id": 1, "name": "a", "op_time": T2}]
                    }
                }
            ]
        }
    )
    call = model.call_for(step, CLOCK)
    assert isinstance(call, BatchCall) and call.history
    assert call.earliest_start == ({"id": 1, START: T2},)
    assert [(r["name"], r[START], r[END], r[ACTIVE]) for r in call.replace] == [
        ("a", T2, "2024-01-02T23:59:59.999Z", False),
        ("b", T3, TMAX_TEXT, True),
    ]


def test_history_observed_result_of_the_current_tester() -> None:
    """Upsert ids 1..5, then update ids 1 and 2 a day later: the old versions end one ms before."""
    day1, day2 = "2025-11-10T20:57:00Z", "2025-11-11T20:57:00Z"
    model = run(
        {
            "create_table": HISTORY,
            "ops": [
                {
                    "upsert": {
                        "h": [{"id": i, "name": f"n{i}", "qty": i, "op_time": day1} for i in range(1, 6)]
                    }
                },
                {
                    "update": {
                        "h": [{"id": 1, "qty": 10, "op_time": day2}, {"id": 2, "qty": 20, "op_time": day2}]
                    }
                },
            ],
        }
    )
    closed = ms("2025-11-11T20:56:59.999Z")
    assert rows(model, "h", "id", "qty", END, ACTIVE) == sorted(
        [(1, 1, closed, False), (1, 10, "TMAX", True), (2, 2, closed, False), (2, 20, "TMAX", True)]
        + [(i, i, "TMAX", True) for i in (3, 4, 5)],
        key=repr,
    )


def test_history_replays_are_idempotent() -> None:
    versions = [{"id": 1, "name": n, "op_time": t} for n, t in (("a", T2), ("b", T3), ("c", T4))]
    once = run({"create_table": HISTORY, "ops": [{"upsert": {"h": versions}}]})
    replayed = run(
        {
            "create_table": HISTORY,
            "ops": [
                {"upsert": {"h": versions}},
                {"upsert": {"h": versions[1:]}},
                {"upsert": {"h": versions}},
            ],
        }
    )
    columns = ("id", "name", START, END, ACTIVE)
    assert rows(replayed, "h", *columns) == rows(once, "h", *columns)
    assert len(rows(once, "h", *columns)) == 3


def test_history_delete_closes_the_active_version_and_keeps_synced() -> None:
    model = run(
        {
            "create_table": HISTORY,
            "ops": [
                {
                    "upsert": {
                        "h": [{"id": 1, "name": "a", "op_time": T2}, {"id": 2, "name": "b", "op_time": T2}]
                    }
                },
                {"delete": {"h": [{"id": 1, "op_time": T3}, {"id": 7, "op_time": T3}]}},
                {"soft_delete": {"h": [{"id": 2, "op_time": T4}]}},
            ],
        }
    )
    assert rows(model, "h", "id", END, ACTIVE, SYNCED) == [
        (1, ms(T3), False, CLOCK.synced_ms(0)),
        (2, ms(T4), False, CLOCK.synced_ms(0)),
    ]


def test_soft_truncate_of_a_history_table_is_unspecified() -> None:
    with pytest.raises(ScenarioError, match="unspecified"):
        run({"create_table": HISTORY, "ops": [{"soft_truncate_before": ["h"]}]})


# ---- Migrate (SDK migration guide) ------------------------------------------------------------------------

SOFT = {"s": {"columns": {"id": "INT", "amount": "DOUBLE", "note": "STRING"}, "primary_key": ["id"]}}
SOFT_ROWS = {
    "upsert": {"s": [{"id": 1, "amount": Decimal("1.5"), "note": "a"}, {"id": 2, "amount": 2, "note": "b"}]}
}


def migrated(
    *migrations: dict[str, Any], create: dict[str, Any] = SOFT, ops: tuple[Any, ...] = (SOFT_ROWS,)
) -> Model:
    return run({"create_table": create, "ops": list(ops), "schema_migration": list(migrations)})


def test_dml_migrations() -> None:
    model = migrated(
        {"copy_column": [{"table": "s", "from_column": "note", "to_column": "note_copy"}]},
        {"update_column_value": [{"table": "s", "column": "amount", "value": "202.57"}]},
        {
            "add_column_with_default_value": [
                {
                    "table": "s",
                    "column": "since",
                    "data_type": "UTC_DATETIME",
                    "default_value": "2005-05-28T20:57:00Z",
                },
                {"table": "s", "column": "note", "data_type": "STRING", "default_value": "again"},
            ]
        },
        {"set_column_to_null": [{"table": "s", "column": "note_copy"}]},
        {
            "copy_table": [
                {"from_table": "s", "to_table": "s_copy"},
                {"from_table": "s", "to_table": "s_copy"},
            ]
        },
        {"rename_column": [{"table": "s_copy", "from_column": "note", "to_column": "remark"}]},
        {"rename_table": [{"from_table": "s_copy", "to_table": "s_renamed"}]},
        {"drop_table": [{"table": "s"}]},
    )
    assert set(model.tables) == {"s_renamed"}
    assert rows(model, "s_renamed", "id", "amount", "remark", "note_copy", "since") == [
        (1, 202.57, "again", None, ms("2005-05-28T20:57:00Z")),
        (2, 202.57, "again", None, ms("2005-05-28T20:57:00Z")),
    ]
    described = {c.name: c.type for c in model.describe("s_renamed") or []}
    assert described["note_copy"] == "STRING" and "note" not in described


def test_migrations_on_missing_columns_or_tables_are_scenario_errors() -> None:
    with pytest.raises(ScenarioError, match="no column 'nope'"):
        migrated({"copy_column": [{"table": "s", "from_column": "nope", "to_column": "x"}]})
    with pytest.raises(ScenarioError, match="'ghost' does not exist"):
        migrated({"drop_table": [{"table": "ghost"}]})


def test_add_and_drop_column_in_history_mode_at_one_timestamp_make_one_version() -> None:
    op = "2024-02-01T00:00:00Z"
    model = migrated(
        {
            "add_column_in_history_mode": [
                {
                    "table": "h",
                    "column": "tier",
                    "data_type": "STRING",
                    "default_value": "gold",
                    "operation_timestamp": op,
                }
            ]
        },
        {"drop_column_in_history_mode": [{"table": "h", "column": "name", "operation_timestamp": op}]},
        create=HISTORY,
        ops=(
            {
                "upsert": {
                    "h": [
                        {"id": 1, "name": "a", "qty": 1, "op_time": T2},
                        {"id": 1, "name": "a2", "qty": 2, "op_time": T3},
                        {"id": 2, "name": None, "qty": 3, "op_time": T2},
                    ]
                }
            },
        ),
    )
    assert rows(model, "h", "id", "name", "tier", START, END, ACTIVE) == sorted(
        [
            (1, "a", None, ms(T2), ms(T3) - 1, False),
            (1, "a2", None, ms(T3), ms(op) - 1, False),
            (1, None, "gold", ms(op), "TMAX", True),
            (2, None, None, ms(T2), ms(op) - 1, False),
            (2, None, "gold", ms(op), "TMAX", True),
        ],
        key=repr,
    )
    assert "name" in model.tables["h"].columns  # dropping in history mode keeps the column


def test_soft_delete_to_history_and_back() -> None:
    ops = (SOFT_ROWS, {"soft_delete": {"s": [{"id": 2}]}})
    model = migrated({"migrate_soft_delete_to_history": [{"table": "s", "deleted_column": DELETED}]}, ops=ops)
    latest_synced = CLOCK.synced_ms(1)
    assert rows(model, "s", "id", START, END, ACTIVE) == [
        (1, latest_synced, "TMAX", True),
        (2, "TMIN", "TMIN", False),
    ]
    assert DELETED not in model.tables["s"].columns and model.tables["s"].key_columns == ["id", START]

    back = migrated(
        {"migrate_soft_delete_to_history": [{"table": "s", "deleted_column": DELETED}]},
        {"migrate_history_to_soft_delete": [{"table": "s", "deleted_column": DELETED}]},
        ops=ops,
    )
    assert rows(back, "s", "id", "note", DELETED) == [(1, "a", False), (2, "b", True)]
    assert back.tables["s"].key_columns == ["id"] and START not in back.tables["s"].columns


def test_history_to_soft_delete_keeps_the_latest_version_of_each_record() -> None:
    model = migrated(
        {"migrate_history_to_soft_delete": [{"table": "h", "deleted_column": DELETED}]},
        create=HISTORY,
        ops=(
            {
                "upsert": {
                    "h": [
                        {"id": 1, "name": "a", "op_time": T2},
                        {"id": 1, "name": "b", "op_time": T3},
                        {"id": 2, "name": "c", "op_time": T2},
                    ]
                }
            },
            {"delete": {"h": [{"id": 2, "op_time": T4}]}},
        ),
    )
    assert rows(model, "h", "id", "name", DELETED) == [(1, "b", False), (2, "c", True)]


def test_copy_table_to_history_mode_leaves_the_source_alone() -> None:
    model = migrated(
        {
            "copy_table_to_history_mode": [
                {"from_table": "s", "to_table": "s_hist", "deleted_column": DELETED}
            ]
        },
        ops=(SOFT_ROWS, {"soft_delete": {"s": [{"id": 1}]}}),
    )
    assert rows(model, "s", "id", DELETED) == [(1, True), (2, False)]
    assert rows(model, "s_hist", "id", "note", START, END, ACTIVE) == [
        (1, "a", "TMIN", "TMIN", False),
        (2, "b", CLOCK.synced_ms(1), "TMAX", True),
    ]
    assert model.tables["s_hist"].history and DELETED not in model.tables["s_hist"].columns


def test_migration_values_written_as_json_numbers_or_booleans_travel_as_text() -> None:
    model = migrated(
        {"update_column_value": [{"table": "s", "column": "amount", "value": 5}]},
        {
            "add_column_with_default_value": [
                {"table": "s", "column": "ok", "data_type": "BOOLEAN", "default_value": True}
            ]
        },
    )
    assert rows(model, "s", "id", "amount", "ok") == [(1, 5.0, True), (2, 5.0, True)]


def test_destination_settings_of_a_scenario_file() -> None:
    """Our extension of the tester's format: configuration-form values one file runs with."""
    from fivetran_e2e.model import scenario_settings

    settings = {"json_storage": "object"}
    assert scenario_settings({"destination_settings": settings}) == settings
    assert scenario_settings({"ops": []}) == {}
    with pytest.raises(ScenarioError, match="string values"):
        scenario_settings({"destination_settings": {"default_shards": 2}})
    with pytest.raises(ScenarioError, match="url"):
        scenario_settings({"destination_settings": {"url": "http://elsewhere:4200"}})


# ---- keys that are one key in CrateDB -------------------------------------------------------------------

UTC_KEYED = {"t": {"columns": {"ts": "UTC_DATETIME", "v": "INT", "w": "STRING"}, "primary_key": ["ts"]}}


def test_sub_millisecond_digits_are_what_epoch_ms_drops() -> None:
    from fivetran_e2e.data_types import sub_millisecond_digits
    from fivetran_e2e.model import source_key_part

    assert sub_millisecond_digits("2024-01-01T00:00:00.123456789Z") == "456789"
    assert sub_millisecond_digits("2024-01-01T00:00:00.123000Z") == ""
    assert sub_millisecond_digits("2024-01-01T00:00:00Z") == sub_millisecond_digits("2024-01-01") == ""
    column = Column("ts", "UTC_DATETIME", True)
    one, other = "2024-01-01T00:00:00.0001Z", "2024-01-01T00:00:00.0002Z"
    assert canonical(one, column) == canonical(other, column)
    assert source_key_part(one, column) != source_key_part(other, column)
    assert source_key_part("2024-01-01T01:00:00.0001+01:00", column) == source_key_part(one, column)


def test_keys_differing_below_the_millisecond_in_one_batch_merge_and_the_later_row_wins() -> None:
    model = run(
        {
            "create_table": UTC_KEYED,
            "ops": [
                {
                    "upsert": {
                        "t": [
                            {"ts": "2024-01-01T00:00:00.000100Z", "v": 1, "w": "first"},
                            {"ts": "2024-01-01T00:00:00.000900Z", "v": 2},
                        ]
                    }
                }
            ],
        }
    )
    assert rows(model, "t", "ts", "v", "w") == [(ms("2024-01-01T00:00:00Z"), 2, None)]
    (note,) = model.notes
    assert "ops[0].upsert.t[0] (ts=2024-01-01T00:00:00.000100Z)" in note
    assert "ops[0].upsert.t[1] (ts=2024-01-01T00:00:00.000900Z)" in note
    assert "below the millisecond" in note and "(ts=2024-01-01T00:00:00.000Z)" in note
    assert "later write wins" in note


def test_an_update_and_a_delete_of_a_key_that_differs_below_the_millisecond_reach_the_row() -> None:
    doc = {
        "create_table": UTC_KEYED,
        "ops": [
            {"upsert": {"t": [{"ts": "2024-01-01T00:00:00.123Z", "v": 1, "w": "kept"}]}},
            {"update": {"t": [{"ts": "2024-01-01T00:00:00.1239Z", "v": 2}]}},
        ],
    }
    model = run(doc)
    assert rows(model, "t", "v", "w") == [(2, "kept")]  # in the source the update misses: no such key
    assert (
        len(model.notes) == 1
        and "ops[0].upsert.t[0]" in model.notes[0]
        and "ops[1].update.t[0]" in model.notes[0]
    )
    doc["ops"].append({"delete": {"t": [{"ts": "2024-01-01T00:00:00.12301Z"}]}})
    model = run(doc)
    assert rows(model, "t", "v") == [] and len(model.notes) == 2 and "ops[2].delete.t[0]" in model.notes[1]


def test_the_same_instant_written_differently_is_one_key_without_a_note() -> None:
    model = run(
        {
            "create_table": UTC_KEYED,
            "ops": [
                {"upsert": {"t": [{"ts": "2024-01-01T01:00:00.000500+01:00", "v": 1}]}},
                {"update": {"t": [{"ts": "2024-01-01T00:00:00.0005Z", "v": 2}]}},
            ],
        }
    )
    assert rows(model, "t", "v") == [(2,)] and model.notes == []


def test_a_key_named_twice_in_one_batch_is_accepted_and_the_later_row_wins() -> None:
    model = run(
        {
            "create_table": UTC_KEYED,
            "ops": [
                {
                    "upsert": {
                        "t": [{"ts": "2024-01-01T00:00:00Z", "v": 1}, {"ts": "2024-01-01T00:00:00Z", "v": 2}]
                    }
                }
            ],
        }
    )
    assert rows(model, "t", "v") == [(2,)]
    (note,) = model.notes
    assert "names the key (ts=2024-01-01T00:00:00.000Z) 2 times in one batch" in note


def test_a_key_rewritten_after_a_delete_is_not_merged_with_the_deleted_one() -> None:
    model = run(
        {
            "create_table": UTC_KEYED,
            "ops": [
                {"upsert": {"t": [{"ts": "2024-01-01T00:00:00.0001Z", "v": 1}]}},
                {"delete": {"t": [{"ts": "2024-01-01T00:00:00.0001Z"}]}},
                {"upsert": {"t": [{"ts": "2024-01-01T00:00:00.0002Z", "v": 2}]}},
            ],
        }
    )
    assert rows(model, "t", "v") == [(2,)] and model.notes == []


def test_the_corpus_file_for_sub_millisecond_keys_runs_with_notes() -> None:
    doc = load_scenario((CORPUS / "044_sub_millisecond_keys.json").read_text(encoding="utf-8"))
    model = run(doc)
    assert len(model.notes) >= 5 and all("below the millisecond" in note for note in model.notes)
    assert rows(model, "by_utc", "v", "note") == [
        (2, "second"),
        (30, "replaces third"),
        (40, "updated twice"),
    ]
