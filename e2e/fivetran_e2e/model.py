"""Reference model: what a destination's tables must contain after a destination-tester scenario.

The model is deliberately independent of the destination's code. It plays both roles of the protocol:

* Fivetran's side (`Model.call_for`): turns a scenario step into the request Fivetran would send — the full
  column list with system columns, the rows of each batch file, the Migrate operation.
* The destination's side (`Model.apply`): applies that request to in-memory tables (a dict keyed by primary
  key) exactly as the protocol documents it.

Docstrings cite Fivetran's public partner SDK (github.com/fivetran/fivetran_partner_sdk) with the prefixes
of docs/sources.md: "SDK guide" (the destination connector development guide), "SDK history guide",
"SDK migration guide", "SDK proto" and "SDK tester" (the destination tester's README and input files).

Values live in a canonical, comparable form so the runner can hold CrateDB's rows against the model's;
each type's row in `data_types` defines it (`TypeRow.canonical`). Scenario values are JSON values (numbers
parsed as `Decimal` so no digit is lost).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from . import years
from .data_types import (
    SCENARIO_TYPES,
    ScenarioError,
    epoch_ms,
    float32,
    row_named,
    sub_millisecond_digits,
)

SYNCED = "_fivetran_synced"
DELETED = "_fivetran_deleted"
ID = "_fivetran_id"
START = "_fivetran_start"
END = "_fivetran_end"
ACTIVE = "_fivetran_active"
HISTORY_COLUMNS = (START, END, ACTIVE)
OP_TIME = "op_time"  # per-row version time in history-mode scenario rows (SDK tester input input.json)

# The "max timestamp" Fivetran puts into `_fivetran_end` of active versions. Its literal is undocumented
# (the SDK migration guide names none); this is what our runner sends. When comparing, every `_fivetran_end`
# from year 2262 on counts as TMAX and every `_fivetran_start`/`_fivetran_end` at or before the epoch counts
# as TMIN, so a destination may pick its own literals where it generates them (sync-mode migrations).
TMAX_TEXT = "9999-12-31T23:59:59.999Z"
TMIN_TEXT = "1970-01-01T00:00:00.000Z"
_TMAX_FROM_MS = 9_203_760_000_000  # 2261-09-30: below ClickHouse's 2262-04-11 clamp, far above real data


class _Keep:
    """Marker for a cell Fivetran writes as `unmodified_string` (update files only; SDK guide,
    "WriteBatchRequest")."""

    _instance: _Keep | None = None

    def __new__(cls) -> _Keep:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()

Row = dict[str, Any]


# --------------------------------------------------------------------------------------------------------
# Columns and tables


@dataclass(frozen=True)
class Column:
    """One column as Fivetran describes it: DataType name, PK flag and optional params (SDK proto
    common.proto, Column)."""

    name: str
    type: str
    primary_key: bool = False
    precision: int | None = None  # DECIMAL params
    scale: int | None = None
    string_byte_length: int | None = None  # STRING param

    def same_type(self, other: Column) -> bool:
        return (self.type, self.precision, self.scale, self.string_byte_length) == (
            other.type,
            other.precision,
            other.scale,
            other.string_byte_length,
        )


@dataclass
class Table:
    name: str
    columns: dict[str, Column]
    history: bool
    rows: dict[tuple[Any, ...], Row] = field(default_factory=dict)

    @property
    def key_columns(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.primary_key]

    @property
    def entity_columns(self) -> list[str]:
        """The key of a source record: the PK without `_fivetran_start` (SDK history guide)."""
        return [name for name in self.key_columns if name != START]

    def key(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(row[name] for name in self.key_columns)

    def entity(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(row[name] for name in self.entity_columns)

    def versions(self, entity: tuple[Any, ...]) -> list[Row]:
        return [row for row in self.rows.values() if self.entity(row) == entity]

    def insert(self, row: Row) -> None:
        self.rows[self.key(row)] = row

    def rekey(self) -> None:
        rekeyed: dict[tuple[Any, ...], Row] = {}
        for row in self.rows.values():
            key = self.key(row)
            if key in rekeyed:
                raise ScenarioError(
                    f"table {self.name!r}: the new primary key {self.key_columns} is not unique"
                )
            rekeyed[key] = row
        self.rows = rekeyed


def parse_type(spec: Any, where: str) -> Column:
    """A scenario type: a DataType name, or {"type": "DECIMAL", "precision": p, "scale": s} (SDK tester input
    input.json).

    Our extension: {"type": "STRING", "string_byte_length": n}, to exercise STRING params.
    """
    original = spec
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict) or spec.get("type") not in SCENARIO_TYPES:
        raise ScenarioError(
            f"{where}: unknown data type {original!r}; expected one of {', '.join(SCENARIO_TYPES)}"
        )
    unknown = set(spec) - {"type", "precision", "scale", "string_byte_length"}
    if unknown:
        raise ScenarioError(f"{where}: unknown type keys {sorted(unknown)}")
    kind = spec["type"]
    if kind != "DECIMAL" and ("precision" in spec or "scale" in spec):
        raise ScenarioError(f"{where}: precision/scale only apply to DECIMAL")
    if kind != "STRING" and "string_byte_length" in spec:
        raise ScenarioError(f"{where}: string_byte_length only applies to STRING")
    if kind == "DECIMAL" and ("precision" in spec) != ("scale" in spec):
        raise ScenarioError(f"{where}: DECIMAL needs both precision and scale, or neither")
    return Column("", kind, False, spec.get("precision"), spec.get("scale"), spec.get("string_byte_length"))


@dataclass(frozen=True)
class TableSpec:
    """A `create_table` / `alter_table` entry: source columns, PK list, history flag (SDK tester input
    input.json).

    Our extension: `"fivetran_deleted": false`, a table without `_fivetran_deleted`, as Fivetran keeps the
    table of a source that never soft-deletes (SDK guide, "System columns": the column is added "if the
    source soft-deletes a row or a table"). An alter_table entry without the key adds the column.
    """

    columns: tuple[Column, ...]
    history: bool
    fivetran_deleted: bool = True

    @classmethod
    def parse(cls, table: str, spec: Any) -> TableSpec:
        if not isinstance(spec, dict) or not isinstance(spec.get("columns"), dict):
            raise ScenarioError(f"table {table!r}: expected {{'columns': {{...}}, 'primary_key': [...]}}")
        unknown = set(spec) - {"columns", "primary_key", "history_mode", "fivetran_deleted"}
        if unknown:
            raise ScenarioError(f"table {table!r}: unknown keys {sorted(unknown)}")
        fivetran_deleted = spec.get("fivetran_deleted", True)
        if not isinstance(fivetran_deleted, bool):
            raise ScenarioError(f"table {table!r}: fivetran_deleted must be true or false")
        if spec.get("history_mode") and "fivetran_deleted" in spec:
            raise ScenarioError(
                f"table {table!r}: history-mode tables have no {DELETED}; omit fivetran_deleted"
            )
        pk = spec.get("primary_key", [])
        missing = [name for name in pk if name not in spec["columns"]]
        if missing:
            raise ScenarioError(f"table {table!r}: primary key columns {missing} are not declared")
        columns = []
        for name, type_spec in spec["columns"].items():
            if name.startswith("_fivetran_"):
                raise ScenarioError(f"table {table!r}: do not declare system column {name!r}; it is added")
            parsed = parse_type(type_spec, f"table {table!r} column {name!r}")
            columns.append(replace(parsed, name=name, primary_key=name in pk))
        return cls(tuple(columns), bool(spec.get("history_mode", False)), fivetran_deleted)

    def with_system_columns(self, history: bool | None = None) -> list[Column]:
        """The columns Fivetran sends for this table (as partner destinations see the tester send them)."""
        history = self.history if history is None else history
        columns = list(self.columns)
        if not any(c.primary_key for c in columns):
            columns.append(Column(ID, "STRING", primary_key=True))
        columns.append(Column(SYNCED, "UTC_DATETIME"))
        if history:
            columns += [
                Column(START, "UTC_DATETIME", primary_key=True),
                Column(END, "UTC_DATETIME"),
                Column(ACTIVE, "BOOLEAN"),
            ]
        elif self.fivetran_deleted:
            columns.append(Column(DELETED, "BOOLEAN"))
        return columns


# --------------------------------------------------------------------------------------------------------
# Values: scenario value -> canonical value, and the text that goes into a batch file


_YEAR_ONE_MS = (dt.date(1, 1, 1) - dt.date(1970, 1, 1)).days * 86_400_000


def iso_ms(ms: int) -> str:
    """The UTC ISO-8601 text of an epoch-millisecond value, e.g. 2024-01-01T00:00:00.000Z."""
    cycles = max(0, -((ms - _YEAR_ONE_MS) // years.CYCLE_MS))
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=ms + cycles * years.CYCLE_MS)
    text = f"{moment.year:04d}" + moment.strftime("-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return years.shifted_back(text, cycles * years.CYCLE_YEARS)


def cell_text(value: Any, column: Column) -> str | None:
    """The batch-file text of a scenario value (SDK guide, "Examples of data types"); None stands for
    null_string."""
    if value is None:
        return None
    typed = row_named(column.type).cell_text
    if typed is not None:
        return typed(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal, str)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    raise ScenarioError(f"column {column.name!r}: cannot write {value!r} into a {column.type} cell")


def canonical(value: Any, column: Column) -> Any:
    """The comparable form of a scenario value (or of its batch-file text) for `column`'s type."""
    if value is None:
        return None
    convert = row_named(column.type).canonical
    assert convert is not None, f"{column.type} is not a scenario type"  # parse_type admits no other
    try:
        return convert(value, column)
    except (ValueError, InvalidOperation) as error:
        raise ScenarioError(f"column {column.name!r} ({column.type}): {value!r}: {error}") from None


def source_key_part(value: Any, column: Column) -> Any:
    """A key value as the source tells keys apart: like `canonical`, but an instant keeps the digits below
    the millisecond, which CrateDB drops (so two such keys are one key in CrateDB)."""
    value_key = canonical(value, column)
    if isinstance(value, str) and row_named(column.type).instant:
        return (value_key, sub_millisecond_digits(value))
    return value_key


def shown_key_part(value: Any, column: Column) -> str:
    """A canonical key value for a report: instants as ISO text to the millisecond."""
    if isinstance(value, int) and row_named(column.type).instant:
        text = iso_ms(value)
        return text if column.type == "UTC_DATETIME" else text[:-1]
    return repr(value)


def convert(value: Any, old: Column, new: Column) -> Any:
    """Existing data under a changed column type (SDK guide, "AlterTable": change data types).

    The protocol leaves casts to the database, so only conversions with one obvious result are modelled;
    a scenario asking for any other is rejected rather than guessed.
    """
    if value is None:
        return None
    a, b = old.type, new.type
    was, becomes = row_named(a), row_named(b)
    numeric = becomes.integer or becomes.floating or b == "DECIMAL"
    if a == b or (was.instant and b in {"NAIVE_DATETIME", "UTC_DATETIME"}):
        return canonical(value, new) if a == "DECIMAL" else value
    if was.integer and (numeric or b == "STRING"):
        return canonical(str(value), new)
    if was.floating and becomes.floating:
        return float32(value) if b == "FLOAT" else value
    if a == "DECIMAL" and becomes.floating:
        return canonical(str(value), new)
    if (was.text or a == "JSON") and (becomes.text or b == "JSON"):
        return canonical(value, new)
    if a == "STRING" and (numeric or b == "BOOLEAN" or becomes.instant):
        return canonical(value, new)
    raise ScenarioError(
        f"column {old.name!r}: changing {a} to {b} is not modelled (the result is DB-specific)"
    )


def comparable(value: Any, column: Column) -> Any:
    """A hashable value to compare model and database rows: per type (JSON by parsed value), TMAX/TMIN
    folded."""
    if value is None:
        return None
    key = row_named(column.type).model_key
    if key is not None:
        return key(value)
    if column.name == END and isinstance(value, int) and value >= _TMAX_FROM_MS:
        return "TMAX"
    if column.name in (START, END) and isinstance(value, int) and value <= 0:
        return "TMIN"
    return value


# --------------------------------------------------------------------------------------------------------
# Scenario steps (SDK tester, "Input Files"); the order, inferred from partner tests: create_table ->
# alter_table -> ops -> schema_migration -> describe


@dataclass(frozen=True)
class CreateTable:
    table: str
    spec: TableSpec


@dataclass(frozen=True)
class AlterTable:
    table: str
    spec: TableSpec


@dataclass(frozen=True)
class Write:
    """One table's part of an `ops` entry: upsert, update, delete or soft_delete."""

    op: int
    kind: str
    table: str
    rows: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Truncate:
    """A truncate_before / soft_truncate_before of one table. `cutoff_op`: the op in whose millisecond the
    truncate was called (the file's `truncate_cutoff`), else None: a cut-off between the previous op and
    this one (`Clock.truncate_ms`)."""

    op: int
    table: str
    soft: bool
    cutoff_op: int | None = None


@dataclass(frozen=True)
class SchemaChange:
    """A schema_migration key: the DDL ones become AlterTable, the others Migrate (as partner destinations see
    the tester do it)."""

    kind: str
    args: Mapping[str, Any]


@dataclass(frozen=True)
class Describe:
    table: str


Step = CreateTable | AlterTable | Write | Truncate | SchemaChange | Describe

WRITE_KINDS = ("upsert", "update", "delete", "soft_delete")
TRUNCATE_KINDS = {"truncate_before": False, "soft_truncate_before": True}
# Our extension, a top-level "truncate_cutoff": where each truncate's `utc_delete_before` falls. "between_ops"
# (the default): after every earlier op's `_fivetran_synced`, so all earlier rows are strictly older.
# "previous_op_millisecond": the millisecond in which the previous op's rows were synced (the source called
# truncate in that millisecond and Fivetran delivered those rows first), so they are not older and stay.
TRUNCATE_CUTOFFS = ("between_ops", "previous_op_millisecond")
DDL_CHANGES = {
    "add_column": ("table", "column", "data_type"),
    "change_column_data_type": ("table", "column", "data_type"),
    "drop_column": ("table", "column"),
}
MIGRATIONS = {
    "copy_column": ("table", "from_column", "to_column"),
    "update_column_value": ("table", "column", "value"),
    "add_column_with_default_value": ("table", "column", "data_type", "default_value"),
    "set_column_to_null": ("table", "column"),
    "copy_table": ("from_table", "to_table"),
    "rename_column": ("table", "from_column", "to_column"),
    "rename_table": ("from_table", "to_table"),
    "drop_table": ("table",),
    "add_column_in_history_mode": ("table", "column", "data_type", "default_value", "operation_timestamp"),
    "drop_column_in_history_mode": ("table", "column", "operation_timestamp"),
    "copy_table_to_history_mode": ("from_table", "to_table", "deleted_column"),
    "migrate_soft_delete_to_history": ("table", "deleted_column"),
    "migrate_history_to_soft_delete": ("table", "deleted_column"),
}
SCENARIO_KEYS = (
    "create_table",
    "alter_table",
    "ops",
    "schema_migration",
    "describe_table",
    "destination_settings",
    "truncate_cutoff",
)


def load_scenario(text: str) -> Any:
    """Parse a scenario file: numbers with a fraction become `Decimal` so DECIMAL(38,x) keeps every digit.

    Our one extension to the tester's format: {"$repeat": ["text", n]} anywhere stands for "text" * n,
    so values over 32 KB need not be spelled out.
    """
    return _expand(json.loads(text, parse_float=Decimal))


def _expand(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$repeat"}:
            text, count = value["$repeat"]
            return str(text) * int(count)
        return {key: _expand(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand(item) for item in value]
    return value


def scenario_settings(doc: Any) -> dict[str, str]:
    """Our extension of the tester's format: `destination_settings`, configuration-form values the file
    runs with (e.g. `{"json_storage": "object"}`), added to the runner's configuration for this file."""
    settings = doc.get("destination_settings", {}) if isinstance(doc, dict) else {}
    if not isinstance(settings, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in settings.items()
    ):
        raise ScenarioError("destination_settings must be an object of string values")
    if "url" in settings:
        raise ScenarioError("destination_settings must not name the CrateDB url")
    return dict(settings)


def parse_scenario(doc: Any) -> list[Step]:
    """The steps of one scenario file, in the order the tester executes them."""
    if not isinstance(doc, dict):
        raise ScenarioError("a scenario file holds one JSON object")
    unknown = set(doc) - set(SCENARIO_KEYS)
    if unknown:
        raise ScenarioError(f"unknown top-level keys {sorted(unknown)}; expected {', '.join(SCENARIO_KEYS)}")
    cutoff = doc.get("truncate_cutoff", TRUNCATE_CUTOFFS[0])
    if cutoff not in TRUNCATE_CUTOFFS:
        raise ScenarioError(f"truncate_cutoff must be one of {', '.join(TRUNCATE_CUTOFFS)}, got {cutoff!r}")
    steps: list[Step] = []
    for table, spec in _mapping(doc, "create_table").items():
        steps.append(CreateTable(table, TableSpec.parse(table, spec)))
    for table, spec in _mapping(doc, "alter_table").items():
        steps.append(AlterTable(table, TableSpec.parse(table, spec)))
    for index, op in enumerate(_list(doc, "ops")):
        steps += _parse_op(index, op, same_millisecond=cutoff == "previous_op_millisecond")
    for entry in _list(doc, "schema_migration"):
        if not isinstance(entry, dict):
            raise ScenarioError(f"schema_migration entries are objects, got {entry!r}")
        for kind, specs in entry.items():
            steps += _parse_schema_change(kind, specs)
    for table in _list(doc, "describe_table"):
        if not isinstance(table, str):
            raise ScenarioError(f"describe_table lists table names, got {table!r}")
        steps.append(Describe(table))
    return steps


def _mapping(doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise ScenarioError(f"{key!r} must be an object")
    return value


def _list(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise ScenarioError(f"{key!r} must be a list")
    return value


def _parse_op(index: int, op: Any, *, same_millisecond: bool = False) -> list[Step]:
    if not isinstance(op, dict) or len(op) != 1:
        raise ScenarioError(f"ops[{index}] must be an object with exactly one key, got {op!r}")
    ((kind, body),) = op.items()
    if kind in TRUNCATE_KINDS:
        if not isinstance(body, list) or not all(isinstance(name, str) for name in body):
            raise ScenarioError(f"ops[{index}].{kind} must list table names")
        if same_millisecond and index == 0:
            raise ScenarioError(
                f"ops[0].{kind}: truncate_cutoff previous_op_millisecond needs an op before the truncate"
            )
        cutoff_op = index - 1 if same_millisecond else None
        return [Truncate(index, table, TRUNCATE_KINDS[kind], cutoff_op) for table in body]
    if kind not in WRITE_KINDS:
        raise ScenarioError(f"ops[{index}]: unknown operation {kind!r}")
    if not isinstance(body, dict):
        raise ScenarioError(f"ops[{index}].{kind} must map table names to row lists")
    steps: list[Step] = []
    for table, rows in body.items():
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise ScenarioError(f"ops[{index}].{kind}.{table} must be a list of row objects")
        steps.append(Write(index, kind, table, tuple(rows)))
    return steps


def _parse_schema_change(kind: str, specs: Any) -> list[Step]:
    fields = DDL_CHANGES.get(kind) or MIGRATIONS.get(kind)
    if fields is None:
        raise ScenarioError(f"schema_migration: unknown key {kind!r}")
    if not isinstance(specs, list):
        raise ScenarioError(f"schema_migration.{kind} must be a list")
    steps: list[Step] = []
    for spec in specs:
        if not isinstance(spec, dict) or set(spec) != set(fields):
            raise ScenarioError(f"schema_migration.{kind} entries need exactly the keys {list(fields)}")
        steps.append(SchemaChange(kind, dict(spec)))
    return steps


# --------------------------------------------------------------------------------------------------------
# Calls: what Fivetran sends for a step


@dataclass(frozen=True)
class CreateCall:
    table: str
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class AlterCall:
    table: str
    columns: tuple[Column, ...]
    drop_columns: bool


@dataclass(frozen=True)
class BatchCall:
    """A WriteBatch (or, with `history`, a WriteHistoryBatch): the files' rows as scenario values."""

    table: str
    columns: tuple[Column, ...]
    history: bool
    replace: tuple[Row, ...] = ()
    update: tuple[Row, ...] = ()
    delete: tuple[Row, ...] = ()
    earliest_start: tuple[Row, ...] = ()

    @property
    def earliest_start_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.primary_key)


@dataclass(frozen=True)
class TruncateCall:
    table: str
    before_ms: int
    soft: bool


@dataclass(frozen=True)
class MigrateCall:
    """`MigrationDetails`: the operation name (a oneof leaf; SDK proto destination_sdk.proto) and its
    fields."""

    table: str
    operation: str
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class DescribeCall:
    table: str


Call = CreateCall | AlterCall | BatchCall | TruncateCall | MigrateCall | DescribeCall


@dataclass(frozen=True)
class Clock:
    """Distinct, increasing `_fivetran_synced` per op (inferred from partner tests); sub-ms digits as the
    tester sends. A truncate's cut-off (`utc_delete_before`, milliseconds: SDK guide, "Truncate") falls on
    the whole second before its op, after every earlier op's rows, or, with the file's `truncate_cutoff`
    "previous_op_millisecond", on the millisecond of the previous op's `_fivetran_synced`
    (`Truncate.cutoff_op`)."""

    base_ms: int

    def synced_ms(self, op: int) -> int:
        return self.base_ms + op * 1000 + 123

    def synced_text(self, op: int) -> str:
        return iso_ms(self.synced_ms(op))[:-1] + "456789Z"

    def truncate_ms(self, op: int) -> int:
        return self.base_ms + op * 1000


# --------------------------------------------------------------------------------------------------------
# The model


_SourceKey = tuple[tuple[Any, ...], str]  # a key with its sub-millisecond digits, and where it was written


class Model:
    """In-memory tables of one schema; `call_for` plays Fivetran, `apply` plays the destination."""

    def __init__(self) -> None:
        self.tables: dict[str, Table] = {}
        # Where CrateDB's rows differ from the source's, and why (reported with the file's result).
        self.notes: list[str] = []
        # (table, key columns, key as CrateDB holds it) -> (key as the source wrote it, where), for notes
        self._source_keys: dict[tuple[str, tuple[str, ...], tuple[Any, ...]], _SourceKey] = {}

    def table(self, name: str) -> Table:
        table = self.tables.get(name)
        if table is None:
            raise ScenarioError(f"table {name!r} does not exist at this point of the scenario")
        return table

    def run(self, steps: Iterable[Step], clock: Clock) -> None:
        """Apply a whole scenario without a destination (the dry run of the runner, and the unit tests)."""
        for step in steps:
            self.apply(self.call_for(step, clock))

    # ---- Fivetran's side ---------------------------------------------------------------------------

    def call_for(self, step: Step, clock: Clock) -> Call:
        """The request Fivetran sends for `step`, given the tables as they are now."""
        if isinstance(step, CreateTable):
            return CreateCall(step.table, tuple(step.spec.with_system_columns()))
        if isinstance(step, AlterTable):
            table = self.table(step.table)
            return AlterCall(step.table, tuple(step.spec.with_system_columns(table.history)), False)
        if isinstance(step, Write):
            return self._batch(step, clock.synced_text(step.op))
        if isinstance(step, Truncate):
            before = clock.truncate_ms(step.op) if step.cutoff_op is None else clock.synced_ms(step.cutoff_op)
            return TruncateCall(step.table, before, step.soft)
        if isinstance(step, SchemaChange):
            return self._ddl_change(step) if step.kind in DDL_CHANGES else self._migration(step)
        return DescribeCall(step.table)

    def _row_columns(self, table: Table) -> set[str]:
        """Columns a scenario row may name: the non-system columns, `_fivetran_id`, and op_time."""
        allowed = {name for name in table.columns if not name.startswith("_fivetran_")}
        if ID in table.columns:
            allowed.add(ID)
        if table.history:
            allowed.add(OP_TIME)
        return allowed

    def _check_rows(self, step: Write, table: Table) -> None:
        allowed = self._row_columns(table)
        for number, row in enumerate(step.rows):
            where = f"ops[{step.op}].{step.kind}.{step.table}[{number}]"
            unknown = set(row) - allowed
            if unknown:
                raise ScenarioError(f"{where}: unknown columns {sorted(unknown)}")
            missing = [name for name in table.entity_columns if name not in row]
            if missing:
                raise ScenarioError(f"{where}: key columns {missing} missing")
            if table.history and OP_TIME not in row:
                raise ScenarioError(f"{where}: history-mode rows need {OP_TIME!r}")

    def _batch(self, step: Write, synced: str) -> BatchCall:
        table = self.table(step.table)
        self._check_rows(step, table)
        if table.history:
            return self._history_batch(step, table, synced)
        keys = [tuple(canonical(row[c], table.columns[c]) for c in table.entity_columns) for row in step.rows]
        self._note_merged_keys(step, table, keys)
        columns = tuple(table.columns.values())
        system: Row = {SYNCED: synced}
        if DELETED in table.columns:
            system[DELETED] = step.kind == "soft_delete"
        elif step.kind == "soft_delete":
            raise ScenarioError(
                f"ops[{step.op}].soft_delete.{step.table}: the table has no {DELETED} (Fivetran adds it "
                "before the first soft delete: alter_table the table without fivetran_deleted: false first)"
            )
        if step.kind == "upsert":  # replace_files: every column, NULL where absent (SDK guide)
            rows = tuple({c.name: row.get(c.name) for c in columns} | system for row in step.rows)
            return BatchCall(table.name, columns, False, replace=rows)
        if step.kind in ("update", "soft_delete"):
            # update_files: absent columns unmodified; a soft delete flags _fivetran_deleted (SDK guide)
            rows = tuple({c.name: row.get(c.name, KEEP) for c in columns} | system for row in step.rows)
            return BatchCall(table.name, columns, False, update=rows)
        rows = tuple(
            {c.name: row.get(c.name) if c.primary_key else None for c in columns} | {SYNCED: synced}
            for row in step.rows
        )
        return BatchCall(table.name, columns, False, delete=rows)

    def _note_merged_keys(self, step: Write, table: Table, keys: list[tuple[Any, ...]]) -> None:
        """Rows that are one row in CrateDB: keys that differ only below the millisecond (CrateDB keeps
        milliseconds), within this batch or with a row written before, and a key named twice in one batch.

        Nothing is refused: the destination writes such rows in order, so the later write wins, as an upsert
        (or update, or delete) of the same key; `apply` does the same. Each case becomes a note that says
        which source rows CrateDB merged and why.
        """
        names = tuple(table.entity_columns)
        columns = [table.columns[name] for name in names]
        where = f"ops[{step.op}].{step.kind}.{step.table}"
        members: dict[tuple[Any, ...], list[int]] = {}
        for number, key in enumerate(keys):
            members.setdefault(key, []).append(number)
        for key, numbers in members.items():
            writes = []
            earlier = self._source_keys.get((table.name, names, key))
            if earlier is not None and key in table.rows:
                writes.append(earlier)
            for number in numbers:
                row = step.rows[number]
                exact = tuple(source_key_part(row[c.name], c) for c in columns)
                shown = ", ".join(f"{c.name}={row[c.name]}" for c in columns)
                writes.append((exact, f"{where}[{number}] ({shown})"))
            self._source_keys[(table.name, names, key)] = writes[-1]
            held = ", ".join(f"{c.name}={shown_key_part(v, c)}" for c, v in zip(columns, key, strict=True))
            sources = len({exact for exact, _ in writes})
            if sources > 1:
                self.notes.append(
                    f"table {table.name!r}: {sources} keys that differ only below the millisecond are one "
                    f"key in CrateDB, which keeps milliseconds ({held}): {'; '.join(p for _, p in writes)}. "
                    "These writes land on one row, in order, so the later write wins where the source keeps "
                    "the keys apart"
                )
            elif len(numbers) > 1:
                self.notes.append(
                    f"table {table.name!r}: {where} names the key ({held}) {len(numbers)} times in one "
                    "batch; the later row wins"
                )

    def _history_batch(self, step: Write, table: Table, synced: str) -> BatchCall:
        """Versions with op_time become rows as Fivetran produces them for history mode (SDK history guide).

        A history table has no `_fivetran_deleted`, so a scenario soft_delete closes the record like a
        delete does (our reading; the tester is closed source).
        """
        columns = tuple(table.columns.values())
        by_entity: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
        for row in step.rows:
            entity = tuple(canonical(row[c], table.columns[c]) for c in table.entity_columns)
            by_entity.setdefault(entity, []).append(row)
        if step.kind in ("delete", "soft_delete"):
            if any(len(rows) > 1 for rows in by_entity.values()):
                raise ScenarioError(f"ops[{step.op}].{step.kind}.{step.table}: one delete per key per op")
            deletes = tuple(
                {c.name: row.get(c.name) if c.name in table.entity_columns else None for c in columns}
                | {END: row[OP_TIME], ACTIVE: False, SYNCED: synced}
                for row in step.rows
            )
            return BatchCall(table.name, columns, True, delete=deletes)
        absent: Any = None if step.kind == "upsert" else KEEP
        earliest, versions = [], []
        for rows in by_entity.values():
            ordered = sorted(rows, key=lambda row: epoch_ms(str(row[OP_TIME])))
            starts = [epoch_ms(str(row[OP_TIME])) for row in ordered]
            if len(set(starts)) != len(starts):
                raise ScenarioError(f"ops[{step.op}].{step.table}: two versions of one key share op_time")
            first = ordered[0]
            earliest.append({c: first[c] for c in table.entity_columns} | {START: first[OP_TIME]})
            for index, row in enumerate(ordered):
                last = index == len(ordered) - 1
                end = TMAX_TEXT if last else iso_ms(starts[index + 1] - 1)
                version = {c.name: row.get(c.name, absent) for c in columns}
                versions.append(version | {START: row[OP_TIME], END: end, ACTIVE: last, SYNCED: synced})
        if step.kind == "upsert":
            return BatchCall(
                table.name, columns, True, replace=tuple(versions), earliest_start=tuple(earliest)
            )
        return BatchCall(table.name, columns, True, update=tuple(versions), earliest_start=tuple(earliest))

    def _ddl_change(self, step: SchemaChange) -> AlterCall:
        """add_column / change_column_data_type / drop_column go through AlterTable (SDK guide,
        "AlterTable")."""
        args = step.args
        table = self.table(args["table"])
        columns = dict(table.columns)
        name = args["column"]
        where = f"schema_migration.{step.kind} {table.name}.{name}"
        if step.kind == "add_column":
            if name in columns:
                raise ScenarioError(f"{where}: the column exists already")
            columns[name] = replace(parse_type(args["data_type"], where), name=name)
        elif name not in columns:
            raise ScenarioError(f"{where}: no such column")
        elif step.kind == "change_column_data_type":
            new = parse_type(args["data_type"], where)
            columns[name] = replace(new, name=name, primary_key=columns[name].primary_key)
        else:
            del columns[name]
        return AlterCall(table.name, tuple(columns.values()), step.kind == "drop_column")

    def _migration(self, step: SchemaChange) -> MigrateCall:
        """The Migrate operation for a DML / sync-mode key (SDK migration guide; SDK tester, "Input
        Files")."""
        a = step.args
        where = f"schema_migration.{step.kind}"
        if step.kind == "set_column_to_null":
            return MigrateCall(a["table"], "update_column_value", {"column": a["column"], "value": None})
        if step.kind == "update_column_value":
            fields = {"column": a["column"], "value": _text(a["value"])}
            return MigrateCall(a["table"], "update_column_value", fields)
        if step.kind in ("add_column_with_default_value", "add_column_in_history_mode"):
            column_type = parse_type(a["data_type"], where).type
            fields = {
                "column": a["column"],
                "column_type": column_type,
                "default_value": _text(a["default_value"]),
            }
            if step.kind == "add_column_in_history_mode":
                fields["operation_timestamp"] = a["operation_timestamp"]
            return MigrateCall(a["table"], step.kind, fields)
        if step.kind in ("copy_table", "rename_table"):
            fields = {"from_table": a["from_table"], "to_table": a["to_table"]}
            return MigrateCall(a["from_table"], step.kind, fields)
        if step.kind == "copy_table_to_history_mode":
            fields = {
                "from_table": a["from_table"],
                "to_table": a["to_table"],
                "soft_deleted_column": a["deleted_column"],
            }
            return MigrateCall(a["from_table"], step.kind, fields)
        if step.kind in ("migrate_soft_delete_to_history", "migrate_history_to_soft_delete"):
            operation = step.kind.removeprefix("migrate_")
            return MigrateCall(a["table"], operation, {"soft_deleted_column": a["deleted_column"]})
        fields = {key: value for key, value in a.items() if key != "table"}
        return MigrateCall(a["table"], step.kind, fields)

    # ---- the destination's side --------------------------------------------------------------------

    def apply(self, call: Call) -> None:
        if isinstance(call, CreateCall):
            self._apply_create(call)
        elif isinstance(call, AlterCall):
            self._apply_alter(call)
        elif isinstance(call, BatchCall):
            if call.history:
                self._apply_history_batch(call)
            else:
                self._apply_write_batch(call)
        elif isinstance(call, TruncateCall):
            self._apply_truncate(call)
        elif isinstance(call, MigrateCall):
            MIGRATION_HANDLERS[call.operation](self, call)

    def describe(self, name: str) -> list[Column] | None:
        """DescribeTable: every column with type, PK flag and params, or None for not_found (SDK guide,
        "DescribeTable")."""
        table = self.tables.get(name)
        return None if table is None else list(table.columns.values())

    def _apply_create(self, call: CreateCall) -> None:
        """CreateTable: a new, empty table; creating an existing one is an error (SDK guide,
        "CreateTable")."""
        if call.table in self.tables:
            raise ScenarioError(f"create_table {call.table!r}: the table exists already")
        history = START in {c.name for c in call.columns}
        self.tables[call.table] = Table(call.table, {c.name: c for c in call.columns}, history)

    def _apply_alter(self, call: AlterCall) -> None:
        """AlterTable (SDK guide, "AlterTable"): add missing columns, cast changed types, take the requested
        PK; columns absent from the request stay (as non-key columns) unless `drop_columns` is set."""
        table = self.table(call.table)
        wanted = {c.name: c for c in call.columns}
        columns: dict[str, Column] = {}
        for name, old in table.columns.items():
            if name in wanted:
                columns[name] = wanted[name]
                if not old.same_type(wanted[name]):
                    for row in table.rows.values():
                        row[name] = convert(row[name], old, wanted[name])
            elif not call.drop_columns:
                columns[name] = replace(old, primary_key=False)
            else:
                for row in table.rows.values():
                    del row[name]
        for name, column in wanted.items():
            if name not in columns:
                columns[name] = column
                for row in table.rows.values():
                    row[name] = None
        table.columns = columns
        table.rekey()

    def _full_row(self, table: Table, cells: Mapping[str, Any]) -> Row:
        return {name: canonical(cells.get(name), column) for name, column in table.columns.items()}

    def _apply_write_batch(self, call: BatchCall) -> None:
        """WriteBatch (SDK guide, "WriteBatchRequest"): replace = upsert whole rows; update = change the given
        cells of an existing row, ignore missing keys; delete = remove by key, missing keys are a no-op."""
        table = self.table(call.table)
        for cells in call.replace:
            table.insert(self._full_row(table, cells))
        for cells in call.update:
            existing = table.rows.get(self._key_of(table, cells))
            if existing is None:
                continue
            for name, value in cells.items():
                if value is not KEEP:
                    existing[name] = canonical(value, table.columns[name])
        for cells in call.delete:
            table.rows.pop(self._key_of(table, cells), None)

    def _key_of(self, table: Table, cells: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(canonical(cells[name], table.columns[name]) for name in table.key_columns)

    def _entity_of(self, table: Table, cells: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(canonical(cells[name], table.columns[name]) for name in table.entity_columns)

    def _apply_history_batch(self, call: BatchCall) -> None:
        """WriteHistoryBatch, the four steps of the SDK history guide in order."""
        table = self.table(call.table)
        start_of = table.columns[START]
        # 1. earliest_start_files: drop versions from that start on, then close the active version.
        for cells in call.earliest_start:
            entity, earliest = self._entity_of(table, cells), canonical(cells[START], start_of)
            for row in table.versions(entity):
                if row[START] >= earliest:
                    del table.rows[table.key(row)]
            for row in table.versions(entity):
                if row[ACTIVE]:
                    row[ACTIVE], row[END] = False, earliest - 1
        # 2. replace_files: insert every version as given.
        for cells in call.replace:
            table.insert(self._full_row(table, cells))
        # 3. update_files: a new version whose unmodified cells come from the previous version.
        for cells in sorted(call.update, key=lambda c: canonical(c[START], start_of)):
            start = canonical(cells[START], start_of)
            earlier = [row for row in table.versions(self._entity_of(table, cells)) if row[START] < start]
            if not earlier:
                continue  # an update of a record that does not exist is ignored (SDK guide, FAQ)
            previous = max(earlier, key=lambda row: row[START])
            table.insert(
                {
                    name: previous[name] if cells[name] is KEEP else canonical(cells[name], column)
                    for name, column in table.columns.items()
                }
            )
        # 4. delete_files: close the active version at the given end; `_fivetran_synced` stays.
        for cells in call.delete:
            for row in table.versions(self._entity_of(table, cells)):
                if row[ACTIVE]:
                    row[ACTIVE], row[END] = False, canonical(cells[END], table.columns[END])

    def _apply_truncate(self, call: TruncateCall) -> None:
        """Truncate (SDK guide, "Truncate"): rows synced before the cut-off are deleted (hard) or flagged
        deleted (soft, `_fivetran_synced` untouched); a missing table is a no-op. Strictly before: a row
        synced in the cut-off's millisecond stays (the SDK guide's FAQ on a truncate followed by upserts:
        rows "where `_fivetran_synced` < timestamp when `truncate` is called")."""
        table = self.tables.get(call.table)
        if table is None:
            return
        before = [
            row for row in table.rows.values() if row[SYNCED] is not None and row[SYNCED] < call.before_ms
        ]
        if not call.soft:
            for row in before:
                del table.rows[table.key(row)]
            return
        if DELETED not in table.columns:
            raise ScenarioError(
                f"soft truncate of {call.table!r}: it has no {DELETED}; "
                "unspecified (the SDK guide does not say)"
            )
        for row in before:
            row[DELETED] = True


def _text(value: Any) -> str | None:
    """Migrate carries values as strings (SDK proto destination_sdk.proto); a scenario may write them as JSON
    numbers/booleans."""
    if value is None or isinstance(value, str):
        return value
    return cell_text(value, Column("", "STRING"))


# --------------------------------------------------------------------------------------------------------
# Migrate operations (SDK migration guide), one function each


def _column(table: Table, name: str) -> Column:
    column = table.columns.get(name)
    if column is None:
        raise ScenarioError(f"table {table.name!r} has no column {name!r}")
    return column


def _add_column(table: Table, column: Column) -> None:
    table.columns[column.name] = column
    for row in table.rows.values():
        row.setdefault(column.name, None)


def _migrate_copy_column(model: Model, call: MigrateCall) -> None:
    """COPY_COLUMN (SDK migration guide): a new column with the source's type and params, filled from it."""
    table = model.table(call.table)
    source = _column(table, call.fields["from_column"])
    target = call.fields["to_column"]
    _add_column(table, replace(source, name=target, primary_key=False))
    for row in table.rows.values():
        row[target] = row[source.name]


def _migrate_update_column_value(model: Model, call: MigrateCall) -> None:
    """UPDATE_COLUMN_VALUE (SDK migration guide): one value (or NULL) into the column of every row, typed by
    the column."""
    table = model.table(call.table)
    column = _column(table, call.fields["column"])
    value = canonical(call.fields["value"], column)
    for row in table.rows.values():
        row[column.name] = value


def _migrate_add_column_with_default_value(model: Model, call: MigrateCall) -> None:
    """ADD_COLUMN_WITH_DEFAULT_VALUE (SDK migration guide): add the column unless present, then set the
    default everywhere."""
    table = model.table(call.table)
    name = call.fields["column"]
    if name not in table.columns:
        _add_column(table, Column(name, call.fields["column_type"]))
    value = canonical(call.fields["default_value"], table.columns[name])
    for row in table.rows.values():
        row[name] = value


def _migrate_copy_table(model: Model, call: MigrateCall) -> None:
    """COPY_TABLE (SDK migration guide): same columns, key and rows under the new name (a re-send replaces the
    copy)."""
    source = model.table(call.fields["from_table"])
    target = call.fields["to_table"]
    model.tables[target] = Table(
        target, dict(source.columns), source.history, {key: dict(row) for key, row in source.rows.items()}
    )


def _migrate_rename_column(model: Model, call: MigrateCall) -> None:
    """RENAME_COLUMN (SDK migration guide): same column, new name."""
    table = model.table(call.table)
    old, new = call.fields["from_column"], call.fields["to_column"]
    column = _column(table, old)
    if new in table.columns:
        raise ScenarioError(f"rename_column: {table.name!r} already has a column {new!r}")
    table.columns = {
        (new if name == old else name): (replace(c, name=new) if name == old else c)
        for name, c in table.columns.items()
    }
    for row in table.rows.values():
        row[new] = row.pop(column.name)
    table.rekey()


def _migrate_rename_table(model: Model, call: MigrateCall) -> None:
    """RENAME_TABLE (SDK migration guide)."""
    old, new = call.fields["from_table"], call.fields["to_table"]
    if new in model.tables:
        raise ScenarioError(f"rename_table: table {new!r} exists already")
    table = model.tables.pop(model.table(old).name)
    table.name = new
    model.tables[new] = table


def _migrate_drop_table(model: Model, call: MigrateCall) -> None:
    """DROP_TABLE (SDK migration guide)."""
    del model.tables[model.table(call.table).name]


def _require_history(table: Table, operation: str) -> None:
    if not table.history:
        raise ScenarioError(f"{operation}: table {table.name!r} is not in history mode")


def _new_versions_at(
    table: Table, op: int, selects: Callable[[Row], bool], change: Callable[[Row], None], operation: str
) -> None:
    """The shared shape of the two history-mode column migrations (SDK migration guide): active versions
    picked by `selects` get a successor starting at `op` with `change` applied; versions already starting at
    `op` get `change` too, so several migrations at one timestamp add up to one version; the predecessors
    close at op - 1 ms."""
    active = [row for row in table.rows.values() if row[ACTIVE]]
    if any(row[START] > op for row in active):
        raise ScenarioError(f"{operation} on {table.name!r}: a version starts after operation_timestamp")
    picked = [row for row in active if row[START] < op and selects(row)]
    for row in picked:
        table.insert(dict(row) | {START: op})  # the copy keeps _fivetran_active and _fivetran_end
    for row in table.rows.values():
        if row[START] == op:
            change(row)
    for row in picked:
        row[END], row[ACTIVE] = op - 1, False


def _migrate_add_column_in_history_mode(model: Model, call: MigrateCall) -> None:
    """ADD_COLUMN_IN_HISTORY_MODE (SDK migration guide): the new column is a new version of every active
    record."""
    table = model.table(call.table)
    _require_history(table, "add_column_in_history_mode")
    column = Column(call.fields["column"], call.fields["column_type"])
    _add_column(table, column)
    default = canonical(call.fields["default_value"], column)
    op = epoch_ms(call.fields["operation_timestamp"])

    def set_default(row: Row) -> None:
        row[column.name] = default

    _new_versions_at(table, op, lambda row: True, set_default, "add_column_in_history_mode")


def _migrate_drop_column_in_history_mode(model: Model, call: MigrateCall) -> None:
    """DROP_COLUMN_IN_HISTORY_MODE (SDK migration guide): the column stays; records holding a value get a
    version with NULL."""
    table = model.table(call.table)
    _require_history(table, "drop_column_in_history_mode")
    name = _column(table, call.fields["column"]).name
    op = epoch_ms(call.fields["operation_timestamp"])

    def set_null(row: Row) -> None:
        row[name] = None

    _new_versions_at(table, op, lambda row: row[name] is not None, set_null, "drop_column_in_history_mode")


def _soft_delete_to_history(table: Table, deleted_column: str, drop: str) -> None:
    """SOFT_DELETE_TO_HISTORY (SDK migration guide): soft-deleted rows become closed versions at the minimum
    timestamp, the others active versions starting at the table's latest `_fivetran_synced`; column `drop`
    goes."""
    synced = [row[SYNCED] for row in table.rows.values() if row[SYNCED] is not None]
    start = max(synced) if synced else 0
    tmin, tmax = epoch_ms(TMIN_TEXT), epoch_ms(TMAX_TEXT)
    for row in table.rows.values():
        deleted = bool(row.get(deleted_column)) if deleted_column else False
        row[START], row[END], row[ACTIVE] = (tmin, tmin, False) if deleted else (start, tmax, True)
    if drop in table.columns:
        del table.columns[drop]
        for row in table.rows.values():
            del row[drop]
    table.columns[START] = Column(START, "UTC_DATETIME", primary_key=True)
    table.columns[END] = Column(END, "UTC_DATETIME")
    table.columns[ACTIVE] = Column(ACTIVE, "BOOLEAN")
    table.history = True
    table.rekey()


def _migrate_copy_table_to_history_mode(model: Model, call: MigrateCall) -> None:
    """COPY_TABLE_TO_HISTORY_MODE (SDK migration guide): a copy of the table, then SOFT_DELETE_TO_HISTORY on
    the copy."""
    source = model.table(call.fields["from_table"])
    if source.history:
        raise ScenarioError(f"copy_table_to_history_mode: {source.name!r} is in history mode already")
    target = call.fields["to_table"]
    copy = Table(target, dict(source.columns), False, {key: dict(row) for key, row in source.rows.items()})
    deleted_column = call.fields["soft_deleted_column"]
    _soft_delete_to_history(copy, deleted_column, drop=deleted_column or DELETED)
    model.tables[target] = copy


def _migrate_soft_delete_to_history(model: Model, call: MigrateCall) -> None:
    """SOFT_DELETE_TO_HISTORY, in place (SDK migration guide)."""
    table = model.table(call.table)
    if table.history:
        raise ScenarioError(f"soft_delete_to_history: {table.name!r} is in history mode already")
    deleted_column = call.fields["soft_deleted_column"]
    if deleted_column:
        _column(table, deleted_column)
    _soft_delete_to_history(table, deleted_column, drop=DELETED)


def _migrate_history_to_soft_delete(model: Model, call: MigrateCall) -> None:
    """HISTORY_TO_SOFT_DELETE (SDK migration guide): per record keep the latest version, flagged deleted when
    inactive; the history columns go and the key is the record key again."""
    table = model.table(call.table)
    _require_history(table, "history_to_soft_delete")
    deleted_column = call.fields["soft_deleted_column"] or DELETED
    latest: dict[tuple[Any, ...], Row] = {}
    for row in table.rows.values():
        if row[START] is None:
            continue
        entity = table.entity(row)
        if entity not in latest or row[START] > latest[entity][START]:
            latest[entity] = row
    for row in latest.values():
        row[deleted_column] = not row[ACTIVE]
        for name in HISTORY_COLUMNS:
            del row[name]
    for name in HISTORY_COLUMNS:
        del table.columns[name]
    table.columns.setdefault(deleted_column, Column(deleted_column, "BOOLEAN"))
    table.history = False
    table.rows = {}
    for row in latest.values():
        table.insert(row)


MIGRATION_HANDLERS: dict[str, Callable[[Model, MigrateCall], None]] = {
    "copy_column": _migrate_copy_column,
    "update_column_value": _migrate_update_column_value,
    "add_column_with_default_value": _migrate_add_column_with_default_value,
    "copy_table": _migrate_copy_table,
    "rename_column": _migrate_rename_column,
    "rename_table": _migrate_rename_table,
    "drop_table": _migrate_drop_table,
    "add_column_in_history_mode": _migrate_add_column_in_history_mode,
    "drop_column_in_history_mode": _migrate_drop_column_in_history_mode,
    "copy_table_to_history_mode": _migrate_copy_table_to_history_mode,
    "soft_delete_to_history": _migrate_soft_delete_to_history,
    "history_to_soft_delete": _migrate_history_to_soft_delete,
}
