"""INSERT / UPDATE / DELETE with CrateDB semantics, applied to DuckDB set-wise.

Rows are validated and cast in Python (collecting per-row failures the way CrateDB reports them), then the
valid rows go to DuckDB in one statement through a registered Arrow table: `INSERT ... SELECT`, `UPDATE ...
FROM` (upserts, bulk updates) and `DELETE ... USING`. Rows that repeat a primary key inside one request
are applied in rounds, so the outcome equals CrateDB's row-by-row processing. When a set-based statement
fails inside DuckDB, the rows are retried one by one to attribute the error to the right row.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from . import casts, column_casts, duck, errors, results, versions
from . import types as t
from .catalog import SYSTEM_COLUMNS, Column, Table, decode_name, encode_name, phys, validate_column_name
from .lexer import quote_ident
from .outcome import Outcome
from .translate import Parsed, Ref, Translator, parse_statement
from .types import CrateType
from .visibility import is_constant, is_pk_lookup, single_key

if TYPE_CHECKING:
    from .context import WriteContext
    from .outcome import Session


# Stands for the registered table of a request's rows in statement templates; replaced literally, because
# quoted column names in the template may contain braces.
SOURCE_PLACEHOLDER = "\x00source\x00"


class _Default:
    """The DEFAULT keyword inside VALUES."""


DEFAULT = _Default()
ROW = "__row"
# Storage values of a column: a list from the per-value casts, or an Arrow array of the same values
# (ints, floats, strings, booleans, decimals, epoch milliseconds) from column_casts.
Storage: TypeAlias = "list[Any] | pa.Array"


@dataclass
class RowOutcome:
    """Per-row result: rowcount per input row (None where the row failed) plus the failures."""

    counts: list[int | None]
    failures: dict[int, errors.CrateError] = field(default_factory=dict)
    # Failures while binding values (casts, NULL keys): a bulk request fails as a whole on the first one.
    analysis: dict[int, errors.CrateError] = field(default_factory=dict)
    route: Callable[[], list[int]] | None = None  # shard per row (bulk error payloads are per shard)
    written: list[int] = field(default_factory=list)  # rows inserted or updated, in input order
    injected: set[int] = field(default_factory=set)  # rows failed by fault injection (always detailed)

    @property
    def total(self) -> int:
        return sum(c for c in self.counts if c is not None and c > 0)


def _record_cast_failure(outcome: RowOutcome, row: int, error: errors.CrateError) -> None:
    """A value that does not cast to its column (or compared) type fails while CrateDB binds the parameters,
    before any shard sees the row: the whole bulk request fails (`analysis`). Sub-column conflicts inside
    objects only show when the shard indexes the document, so they stay with their row (`failures`).
    RestSQLActionIntegrationTest: test_insert_with_failing_bulk_args_analysis_error versus
    test_insert_with_failing_bulk_args_response_error_messages."""
    target = outcome.failures if isinstance(error, errors.DocumentError) else outcome.analysis
    target.setdefault(row, error)


def _runtime_error(detail: str) -> errors.CrateError:
    return errors.CrateError(errors.PARSE, "IllegalArgumentException", detail)


def not_null_error(column: str) -> errors.CrateError:
    return errors.CrateError(errors.PARSE, "IllegalArgumentException", f'"{column}" must not be null')


def pk_null_error() -> errors.CrateError:
    """server/src/main/java/io/crate/analyze/Id.java (ensureNonNull), raised while routing the row."""
    return errors.CrateError(errors.PARSE, "IllegalArgumentException", "A primary key value must not be NULL")


def text_limit_error(column: Column) -> errors.CrateError:
    if not column.index_off:
        return _runtime_error(
            f'Document contains at least one immense term in field="{column.name}" '
            "(whose UTF8 encoding is longer than the max length 32766), all of which were skipped. "
            "Please correct the analyzer to not produce such terms."
        )
    return _runtime_error(f'DocValuesField "{column.name}" is too large, must be <= 32766')


def _exceeds_text_limit(value: Any) -> bool:
    if isinstance(value, str):
        return casts.text_too_long(value)
    if isinstance(value, list):
        return any(isinstance(v, str) and casts.text_too_long(v) for v in value)
    return False


def check_assignable(table: Table, column_name: str) -> None:
    """CrateDB source DocTableRelation.java `ensureColumnCanBeUpdated`: key, then clustered-by, then
    partition columns."""
    if column_name in table.primary_key:
        raise errors.column_validation(column_name, "Updating a primary key is not supported")
    if column_name == table.clustered_by:
        raise errors.column_validation(column_name, "Updating a clustered-by column is not supported")
    if column_name in table.partitioned_by:
        raise errors.column_validation(column_name, "Updating a partitioned-by column is not supported")


def _arrow_column(values: list[Any], ctype: CrateType | None) -> pa.Array:
    if ctype is not None:
        return pa.array(values, type=ctype.arrow())
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(
            [None if v is None else orjson.dumps(v).decode() if not isinstance(v, str) else v for v in values]
        )


# ==== INSERT ==============================================================================================
@dataclass
class _Cell:
    kind: str  # param | const | default | expr
    value: Any = None


class InsertStatement:
    """An analysed INSERT: target table, columns, source and conflict handling."""

    def __init__(self, ctx: WriteContext, session: Session, parsed: Parsed) -> None:
        self.ctx = ctx
        self.session = session
        self.parsed = parsed
        tree = parsed.tree
        assert isinstance(tree, exp.Insert)
        self.tree = tree
        target = tree.this
        table_node = target.this if isinstance(target, exp.Schema) else target
        assert isinstance(table_node, exp.Table)
        self.translator = Translator(ctx, session.default_schema, session.user, None, parsed.cast_types)
        ref = self.translator.resolve_table(table_node)
        if ref.key is None:
            raise errors.unsupported(
                f'The relation "{ref.shown}" doesn\'t support or allow INSERT operations'
            )
        self.table: Table = ref.table
        self.ref = ref
        if isinstance(target, exp.Schema) and target.expressions:
            self.columns = [decode_name(ident.name) for ident in target.expressions]
        else:
            self.columns = self.table.column_names()
        seen: set[str] = set()
        self.new_columns: list[str] = []
        for name in self.columns:
            if name in seen:
                raise errors.illegal_argument(f'column "{name}" specified more than once')
            seen.add(name)
            if name in SYSTEM_COLUMNS:
                if ctx.version.at_least(versions.UNDERSCORE_COLUMNS):
                    raise errors.invalid_column_name(name, "Cannot write to system column")
                raise errors.invalid_column_name(name, "conflicts with system column")
            if self.table.column(name) is None:
                if self.table.column_policy != "dynamic":
                    raise errors.column_unknown(name)
                validate_column_name(name, ctx.version)
                self.new_columns.append(name)
        self._analyse_conflict()

    # -- ON CONFLICT ----------------------------------------------------------------------------------
    def _analyse_conflict(self) -> None:
        self.conflict: str | None = None
        self.assignments: list[tuple[str, exp.Expression]] = []
        conflict = self.tree.args.get("conflict")
        if conflict is None:
            return
        # The gate has rejected ON DUPLICATE KEY, a trailing WHERE, actions other than DO NOTHING and
        # DO UPDATE, and DO UPDATE without a conflict target (tests/unit/test_emulator_gate_guards.py).
        action = str(conflict.args.get("action").this if conflict.args.get("action") else "").upper()
        keys = []
        for key in conflict.args.get("conflict_keys") or []:
            node = key.this if isinstance(key, exp.Ordered) else key
            keys.append(decode_name(node.name))
        pk = list(self.table.primary_key)
        if action == "DO NOTHING":
            self.conflict = "nothing"
            if keys:
                self._check_target(keys, pk)
            return
        assert action == "DO UPDATE" and keys, "the gate passes no other ON CONFLICT form"
        self._check_target(keys, pk)
        self.conflict = "update"
        for assignment in conflict.expressions:
            if not isinstance(assignment, exp.EQ) or not isinstance(assignment.this, exp.Column):
                raise errors.emulator_limit("ON CONFLICT assignments other than `column = expression`")
            name = decode_name(assignment.this.name)
            if self.table.column(name) is None:
                raise errors.column_unknown(name)
            check_assignable(self.table, name)
            self.assignments.append((name, assignment.expression))

    def _check_target(self, keys: list[str], pk: list[str]) -> None:
        if len(keys) != len(pk):
            raise errors.illegal_argument(
                f"Number of conflict targets ({keys}) did not match the number of primary key columns ({pk})"
            )
        if set(keys) != set(pk):
            raise errors.illegal_argument(
                f"Conflict target ({keys}) did not match the primary key columns ({pk})"
            )

    # -- VALUES source ------------------------------------------------------------------------------------
    def value_cells(self) -> list[list[_Cell]]:
        source = self.tree.expression
        assert isinstance(source, exp.Values)
        rows: list[list[_Cell]] = []
        for row in source.expressions:
            items = row.expressions if isinstance(row, exp.Tuple) else [row]
            if len(items) != len(self.columns):
                raise errors.illegal_argument(
                    "INSERT statement contains a VALUES clause with too "
                    f"{'many' if len(items) > len(self.columns) else 'few'} "
                    f"elements ({len(items)}), expected ({len(self.columns)})"
                )
            rows.append([self._cell(item) for item in items])
        return rows

    def _cell(self, node: exp.Expr) -> _Cell:
        if isinstance(node, exp.Parameter):
            return _Cell("param", int(node.name) - 1)
        if isinstance(node, exp.Var) and node.name.upper() == "DEFAULT":
            return _Cell("default")  # the gate passes DEFAULT in VALUES only where the version has it
        if isinstance(node, exp.Column) and not node.table:
            raise errors.column_unknown(decode_name(node.name))
        if any(True for _ in node.find_all(exp.Parameter)):
            return _Cell("expr", node)
        constant = _python_constant(node)
        if constant is not _NOT_CONSTANT:
            return _Cell("const", constant)
        return _Cell("const", self.ctx.evaluate(self.session, node, self.parsed.cast_types, []))

    def is_unnest_of_params(self) -> list[exp.Expr] | None:
        """`SELECT * FROM UNNEST(?, ?, ...)`: the fast path of batch inserts."""
        source = self.tree.expression
        while isinstance(source, exp.Subquery):
            source = source.this
        if not isinstance(source, exp.Select) or len(source.expressions) != 1:
            return None
        if not isinstance(source.expressions[0], exp.Star):
            return None
        from_ = source.args.get("from_") or source.args.get("from")
        if from_ is None or not isinstance(from_.this, exp.Unnest):
            return None
        if any(
            source.args.get(key) for key in ("joins", "where", "group", "having", "order", "limit", "offset")
        ):
            return None
        arguments = from_.this.expressions
        if not all(isinstance(a, (exp.Parameter, exp.Array)) for a in arguments):
            return None
        return list(arguments)


_NOT_CONSTANT = object()


def _python_constant(node: exp.Expr) -> Any:
    """Value of a literal-only expression, or _NOT_CONSTANT when DuckDB has to evaluate it."""
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        text = node.this
        try:
            return int(text)
        except ValueError:
            return float(text)
    if isinstance(node, exp.Neg):
        inner = _python_constant(node.this)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner
        return _NOT_CONSTANT
    if isinstance(node, exp.Paren):
        return _python_constant(node.this)
    if isinstance(node, exp.Array):
        items = [_python_constant(item) for item in node.expressions]
        return _NOT_CONSTANT if any(i is _NOT_CONSTANT for i in items) else items
    if isinstance(node, exp.Struct):
        result: dict[str, Any] = {}
        for item in node.expressions:
            if not isinstance(item, (exp.PropertyEQ, exp.EQ)):
                return _NOT_CONSTANT
            value = _python_constant(item.expression)
            if value is _NOT_CONSTANT:
                return _NOT_CONSTANT
            result[decode_name(item.this.name)] = value
        return result
    return _NOT_CONSTANT


class Inserter:
    """Validates rows for one table and writes the valid ones set-wise."""

    def __init__(self, ctx: WriteContext, statement: InsertStatement) -> None:
        self.ctx = ctx
        self.statement = statement
        self.table = statement.table

    # -- entry points -----------------------------------------------------------------------------------
    def from_columns(
        self,
        values: dict[str, list[Any]],
        count: int,
        preset_failures: dict[int, errors.CrateError] | None = None,
        param_columns: dict[int, list[Any]] | None = None,
        raise_analysis: bool = False,
        fail_fast: bool = False,
    ) -> RowOutcome:
        """Insert `count` rows given column-major input values for the statement's columns.

        `raise_analysis`: a value that cannot be cast (or a NULL key) fails the whole statement before
        anything is written (VALUES, bulk or not; INSERT ... SELECT skips such rows). `fail_fast`: nothing
        after the first failing row is written.
        """
        outcome = RowOutcome(counts=[None] * count)
        outcome.failures.update(preset_failures or {})
        outcome.injected.update(preset_failures or {})
        self._add_dynamic_columns(values, count)
        table = self.table = self.ctx.catalog.require(self.table.schema, self.table.name)
        storage: dict[str, Storage] = {}
        listed = set(self.statement.columns)
        for column in table.columns:
            if column.name in listed:
                storage[column.name] = self._cast_column(column, values[column.name], outcome)
            else:
                storage[column.name] = self._default_column(column, count)
        extra: dict[str, tuple[list[Any], CrateType | None]] = {}
        for index, raw in (param_columns or {}).items():
            extra[f"__p{index + 1}"] = self._param_column(index, raw, outcome)
        self._check_rows(table, storage, count, outcome)
        if raise_analysis and outcome.analysis:
            raise outcome.analysis[min(outcome.analysis)]
        outcome.route = lambda: _routing_shards(table, storage, count)
        self.storage = storage
        if fail_fast:
            failed = set(outcome.failures) | set(outcome.analysis)
            if failed:
                first = min(failed)
                error = outcome.failures.get(first) or outcome.analysis[first]
                for row in range(first + 1, count):
                    outcome.failures.setdefault(row, error)
        self._write(table, storage, extra, count, outcome)
        return outcome

    def _param_column(
        self, index: int, raw: list[Any], outcome: RowOutcome
    ) -> tuple[list[Any], CrateType | None]:
        """Values of a parameter used in ON CONFLICT assignments (typed when assigned directly)."""
        target = None
        for name, expression in self.statement.assignments:
            if isinstance(expression, exp.Parameter) and int(expression.name) - 1 == index:
                column = self.table.column(name)
                target = column.ctype if column is not None else None
                if column is not None and column.not_null:
                    for row, value in enumerate(raw):
                        if value is None:
                            outcome.failures.setdefault(row, not_null_error(name))
        if target is None:
            return raw, None
        cast = casts.caster(target, self.ctx.version)
        result: list[Any] = []
        for row, value in enumerate(raw):
            try:
                result.append(cast(value))
            except errors.CrateError as exc:
                _record_cast_failure(outcome, row, exc)
                result.append(None)
        return result, target

    # -- preparation ------------------------------------------------------------------------------------
    def _add_dynamic_columns(self, values: dict[str, list[Any]], count: int) -> None:
        new: list[Column] = []
        for name in self.statement.new_columns:
            inferred = next((casts.infer_type(v) for v in values[name] if v is not None), None)
            if inferred is None:
                continue
            new.append(Column(name=name, ctype=inferred))
        if new:
            self.ctx.storage.add_columns(self.table, new, self.table.primary_key)
        table = self.ctx.catalog.require(self.table.schema, self.table.name)
        self.statement.columns = [c for c in self.statement.columns if table.column(c) is not None]

    def _cast_column(self, column: Column, raw: list[Any], outcome: RowOutcome) -> Storage:
        fast = column_casts.cast_column(column.ctype, raw, self.ctx.version)
        if fast is not None:
            array, failures = fast
            for row, error in failures.items():
                _record_cast_failure(outcome, row, error)
            return array
        state = self.table.object_state(column.name) if _has_objects(column.ctype) else None
        cast = casts.caster(column.ctype, self.ctx.version, state, column.name)
        result: list[Any] = []
        append = result.append
        default_value: Any = _NOT_CONSTANT
        for row, value in enumerate(raw):
            if value is DEFAULT:
                if default_value is _NOT_CONSTANT:
                    default_value = self._default_value(column)
                append(default_value)
                continue
            try:
                append(cast(value))
            except errors.CrateError as exc:
                _record_cast_failure(outcome, row, exc)
                append(None)
        return result

    def _default_value(self, column: Column) -> Any:
        if column.default_sql is None:
            return None
        return self.ctx.evaluate_constant(
            column.default_sql, column.ctype, f'DEFAULT of column "{column.name}"'
        )

    def _default_column(self, column: Column, count: int) -> list[Any]:
        if column.generated_sql is not None:
            return [None] * count  # computed after the other columns are known
        return [self._default_value(column)] * count

    def _check_rows(self, table: Table, storage: dict[str, Storage], count: int, outcome: RowOutcome) -> None:
        failures = outcome.failures
        for column in table.columns:
            values = storage[column.name]
            required = column.name in table.primary_key or (column.not_null and column.generated_sql is None)
            if isinstance(values, pa.Array):
                self._check_array(column, values, required, outcome)
                continue
            if required and None in values:
                primary = column.name in table.primary_key
                error = pk_null_error() if primary else not_null_error(column.name)
                found = outcome.analysis if primary else failures
                for row, value in enumerate(values):
                    if value is None and row not in failures and row not in outcome.analysis:
                        found[row] = error
            if column.limited_text:
                limit = casts.TEXT_CHARS_ALWAYS_FIT
                for row, value in enumerate(values):
                    if value is None:
                        continue
                    if type(value) is str:
                        if len(value) > limit and casts.text_too_long(value) and row not in failures:
                            failures[row] = text_limit_error(column)
                    elif _exceeds_text_limit(value) and row not in failures:
                        failures[row] = text_limit_error(column)

    def _check_array(self, column: Column, values: pa.Array, required: bool, outcome: RowOutcome) -> None:
        """_check_rows for a column cast at once: NULLs where a value is required, over-long texts."""
        failures = outcome.failures
        if required and values.null_count:
            primary = column.name in self.table.primary_key
            error = pk_null_error() if primary else not_null_error(column.name)
            found = outcome.analysis if primary else failures
            for row in pc.indices_nonzero(values.is_null()).to_pylist():
                if row not in failures and row not in outcome.analysis:
                    found[row] = error
        if column.limited_text and pa.types.is_string(values.type):
            too_long = pc.greater(pc.binary_length(values), casts.TEXT_INDEX_LIMIT).fill_null(False)
            for row in pc.indices_nonzero(too_long).to_pylist():
                if row not in failures:
                    failures[row] = text_limit_error(column)

    # -- writing ------------------------------------------------------------------------------------------
    def _write(
        self,
        table: Table,
        storage: dict[str, Storage],
        extra: dict[str, tuple[list[Any], CrateType | None]],
        count: int,
        outcome: RowOutcome,
    ) -> None:
        failed = set(outcome.failures) | set(outcome.analysis)
        valid = [row for row in range(count) if row not in failed]
        if not valid:
            return
        rounds: list[list[int]] = [valid]
        pk = table.primary_key
        if pk:
            key_lists = [values_list(storage[name]) for name in pk]
            simple = len(pk) == 1 and _column_type(table, pk[0]).kind != t.ARRAY
            keys = key_lists[0] if len(valid) == count else [key_lists[0][row] for row in valid]
            if not (simple and len(set(keys)) == len(keys)):
                rounds = _rounds(valid, key_lists, simple)
        cursor = self.ctx.storage.writer
        written = 0
        for rows in rounds:
            arrow = self._arrow(table, storage, extra, rows, count)
            with duck.registered(cursor, arrow) as source:
                if any(c.generated_sql for c in table.columns):
                    arrow = self._with_generated(cursor, table, source, arrow)
            with duck.registered(cursor, arrow) as source:
                failing_checks = self._failing_checks(cursor, table, source)
                for row, error in failing_checks.items():
                    outcome.failures[row] = error
                existing = self._existing(cursor, table, source) if pk else set()
                existing -= set(failing_checks)
                insert_rows = [r for r in rows if r not in existing and r not in failing_checks]
                update_rows = [r for r in rows if r in existing]
            for row in update_rows:
                if self.statement.conflict is None:
                    outcome.failures[row] = errors.duplicate_key()
                elif self.statement.conflict == "nothing":
                    outcome.counts[row] = 0
            if self.statement.conflict == "update" and update_rows:
                written += self._update_existing(cursor, table, arrow, update_rows, outcome)
            if insert_rows:
                written += self._insert(cursor, table, arrow, insert_rows, outcome)
        if written:
            self.ctx.tracker.written((table.schema, table.name))

    def _arrow(
        self,
        table: Table,
        storage: dict[str, Storage],
        extra: dict[str, tuple[list[Any], CrateType | None]],
        rows: list[int],
        count: int,
    ) -> pa.Table:
        full = len(rows) == count
        positions = pa.array(rows, type=pa.int64())
        arrays = [positions]
        names = [ROW]
        for column in table.columns:
            values = storage[column.name]
            if isinstance(values, pa.Array):
                arrays.append(_storage_array(values if full else values.take(positions), column.ctype))
            else:
                arrays.append(
                    pa.array(values if full else [values[r] for r in rows], type=column.ctype.arrow())
                )
            names.append(encode_name(column.name))
        for name, (values, ctype) in extra.items():
            arrays.append(_arrow_column(values if full else [values[r] for r in rows], ctype))
            names.append(name)
        return pa.Table.from_arrays(arrays, names=names)

    def _with_generated(
        self, cursor: duckdb.DuckDBPyConnection, table: Table, source: str, arrow: pa.Table
    ) -> pa.Table:
        for index, column in enumerate(table.columns):
            if column.generated_sql is None:
                continue
            values = self.ctx.evaluate_over(source, column.generated_sql, table, column.ctype)
            arrow = arrow.set_column(
                index + 1, encode_name(column.name), pa.array(values, type=column.ctype.arrow())
            )
        return arrow

    def _failing_checks(
        self, cursor: duckdb.DuckDBPyConnection, table: Table, source: str
    ) -> dict[int, errors.CrateError]:
        failures: dict[int, errors.CrateError] = {}
        for name, text in table.checks:
            condition = self.ctx.translate_expression(text, table, "__check")
            sql = (
                f'SELECT {quote_ident(ROW)} FROM {quote_ident(source)} AS "__check" '
                f"WHERE NOT coalesce(({condition}), TRUE)"
            )
            for (row,) in cursor.execute(sql).fetchall():
                failures.setdefault(row, _runtime_error(f"Failed CHECK constraint(s): {name} ({text})"))
        return failures

    def _existing(self, cursor: duckdb.DuckDBPyConnection, table: Table, source: str) -> set[int]:
        join = " AND ".join(f"t.{phys(c)} = s.{phys(c)}" for c in table.primary_key)
        sql = (
            f"SELECT s.{quote_ident(ROW)} FROM {quote_ident(source)} AS s "
            f"JOIN {self.ctx.storage.physical(table)} AS t ON {join}"
        )
        return {row for (row,) in cursor.execute(sql).fetchall()}

    def _insert(
        self,
        cursor: duckdb.DuckDBPyConnection,
        table: Table,
        arrow: pa.Table,
        rows: list[int],
        outcome: RowOutcome,
    ) -> int:
        columns = ", ".join(phys(c.name) for c in table.columns)
        target = self.ctx.storage.physical(table)
        template = f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {SOURCE_PLACEHOLDER}"
        return self._apply_rows(cursor, template, arrow, rows, outcome)

    def _update_existing(
        self,
        cursor: duckdb.DuckDBPyConnection,
        table: Table,
        arrow: pa.Table,
        rows: list[int],
        outcome: RowOutcome,
    ) -> int:
        return self._apply_rows(cursor, self._upsert_sql(table), arrow, rows, outcome)

    def _apply_rows(
        self,
        cursor: duckdb.DuckDBPyConnection,
        template: str,
        arrow: pa.Table,
        rows: list[int],
        outcome: RowOutcome,
    ) -> int:
        """Run `template` for all rows in one statement (SOURCE_PLACEHOLDER names them, registered).

        If DuckDB rejects the set, each row is retried alone, so one bad row fails only itself, as CrateDB
        reports failures per row."""
        with duck.registered(cursor, _subset(arrow, rows)) as source:
            try:
                cursor.execute(template.replace(SOURCE_PLACEHOLDER, quote_ident(source)))
            except duckdb.Error as exc:
                if len(rows) == 1:
                    outcome.failures[rows[0]] = duck.crate_error(exc)
                    return 0
                return sum(self._apply_rows(cursor, template, arrow, [row], outcome) for row in rows)
        for row in rows:
            outcome.counts[row] = 1
        outcome.written.extend(rows)
        return len(rows)

    def _upsert_sql(self, table: Table) -> str:
        translator = Translator(
            self.ctx,
            self.statement.session.default_schema,
            self.statement.session.user,
            None,
            self.statement.parsed.cast_types,
        )
        translator.refs = [Ref("__target", table, None, table.fqn), Ref("excluded", table, None, "excluded")]
        sets = []
        for name, expression in self.statement.assignments:
            node = expression.copy()
            if isinstance(node, exp.Parameter):
                node = exp.column(f"__p{node.name}", table="excluded", quoted=True)
            for param in list(node.find_all(exp.Parameter)):
                param.replace(exp.column(f"__p{param.name}", table="excluded", quoted=True))
            wrapper = exp.Paren(this=node)
            for column in list(wrapper.find_all(exp.Column)):
                if column.table == "excluded":
                    continue
                column.set("db", None)
                column.set("catalog", None)
                column.set("table", exp.to_identifier("__target", quoted=True))
            translator.rewrite(wrapper)
            sets.append(f"{phys(name)} = {wrapper.this.sql(dialect='duckdb')}")
        join = " AND ".join(f'"__target".{phys(c)} = "excluded".{phys(c)}' for c in table.primary_key)
        return (
            f'UPDATE {self.ctx.storage.physical(table)} AS "__target" SET {", ".join(sets)} '
            f'FROM {SOURCE_PLACEHOLDER} AS "excluded" WHERE {join}'
        )


def values_list(values: Storage) -> list[Any]:
    return values.to_pylist() if isinstance(values, pa.Array) else values


def _storage_array(values: pa.Array, ctype: CrateType) -> pa.Array:
    """Arrow column of storage values cast at once (int64 epoch ms -> timestamp, float64 -> REAL, ...)."""
    target = ctype.arrow()
    if values.type == target:
        return values
    return pc.cast(values, target, safe=not pa.types.is_floating(target))


def _rounds(valid: list[int], key_lists: list[list[Any]], simple: bool) -> list[list[int]]:
    """Rows that repeat a primary key go to later rounds, so they apply after the earlier occurrence."""
    seen: dict[Any, int] = {}
    rounds: list[list[int]] = []
    for row in valid:
        key = key_lists[0][row] if simple else tuple(_hashable(values[row]) for values in key_lists)
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        if occurrence == len(rounds):
            rounds.append([])
        rounds[occurrence].append(row)
    return rounds


def _routing_shards(table: Table, storage: dict[str, Storage], count: int) -> list[int]:
    """Shard per row: hash of the routing value (CLUSTERED BY column, else the primary key)."""
    if table.shards <= 1:
        return [0] * count
    if table.clustered_by:
        keys: list[Any] = values_list(storage[table.clustered_by])
    elif table.primary_key:
        keys = list(zip(*(values_list(storage[c]) for c in table.primary_key), strict=True))
    else:
        keys = list(range(count))
    return [zlib.crc32(repr(key).encode()) % table.shards for key in keys]


def _check_key_nulls(table: Table, keys: dict[str, list[Any]]) -> None:
    """A by-id write needs every column of a multi-column key: NULL fails the request while the id is built
    (io/crate/analyze/Id.java: only the one-column id skips the NULL check, DocKeys.getId)."""
    if len(keys) > 1 and any(None in values for values in keys.values()):
        raise pk_null_error()


def document_id(table: Table, key: dict[str, Any]) -> str | None:
    """CrateDB's `_id` of the document with these primary-key values (io/crate/analyze/Id.java): the value's
    text for a one-column key; for several columns, Base64 of their texts (the CLUSTERED BY column first),
    each length-prefixed. None for a NULL one-column key."""
    texts = [_id_text(key[name]) for name in table.primary_key]
    if len(texts) == 1:
        return texts[0]
    if any(text is None for text in texts):
        return None
    order = list(table.primary_key)
    if table.clustered_by in order:
        order.remove(table.clustered_by)
        order.insert(0, table.clustered_by)
    out = bytearray(_vint(len(order)))
    for name in order:
        text = _id_text(key[name])
        assert text is not None
        data = text.encode()
        out += _vint(len(data)) + data
    return base64.b64encode(bytes(out)).decode()


def _id_text(value: Any) -> str | None:
    """A key value as text the way CrateDB's StringType casts it (booleans are `t`/`f`)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return value
    return str(value)


def _vint(value: int) -> bytes:
    """Variable-length int as CrateDB streams it: 7 bits per byte, high bit set while more follow."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _column_type(table: Table, name: str) -> CrateType:
    column = table.column(name)
    assert column is not None
    return column.ctype


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def _subset(arrow: pa.Table, rows: list[int]) -> pa.Table:
    if len(rows) == arrow.num_rows:
        return arrow
    positions = {row: i for i, row in enumerate(arrow.column(0).to_pylist())}
    return arrow.take(pa.array([positions[row] for row in rows], type=pa.int64()))


def _has_objects(ctype: CrateType) -> bool:
    if ctype.kind == t.OBJECT:
        return True
    return ctype.kind == t.ARRAY and ctype.inner is not None and _has_objects(ctype.inner)


class _SyntheticInsert:
    """Minimal statement for inserting rows created by CREATE TABLE AS."""

    def __init__(self, session: Session, table: Table) -> None:
        self.session = session
        self.table = table
        self.columns = table.column_names()
        self.new_columns: list[str] = []
        self.conflict: str | None = None
        self.assignments: list[tuple[str, exp.Expression]] = []
        self.parsed = Parsed(exp.Select(), {}, 0, "")


def create_table_as(ctx: WriteContext, session: Session, schema: str, name: str, query: str) -> Outcome:
    """CREATE TABLE ... AS: a table with the query's columns, holding the query's rows."""
    parsed = parse_statement(query)
    table_arrow, types = ctx.run_query(session, parsed, [])
    columns = []
    for encoded, (_duck, ctype) in zip(table_arrow.column_names, types, strict=True):
        column_name = decode_name(encoded)
        validate_column_name(column_name, ctx.version)
        ctype.check_storable(ctx.version)
        columns.append(Column(column_name, ctype))
    table = Table(schema=schema, name=name, columns=tuple(columns))
    ctx.storage.create_table(table)
    if table_arrow.num_rows:
        values = {
            column.name: results._convert_array(array.combine_chunks(), False)
            for column, array in zip(columns, table_arrow.columns, strict=True)
        }
        statement = _SyntheticInsert(session, table)
        outcome = Inserter(ctx, statement).from_columns(values, table_arrow.num_rows, {}, {})  # type: ignore[arg-type]
        return Outcome(rowcount=outcome.total)
    return Outcome(rowcount=0)


# ==== UPDATE / DELETE ======================================================================================
class FilteredWrite:
    """An analysed UPDATE or DELETE (one table, optional WHERE)."""

    def __init__(
        self, ctx: WriteContext, session: Session, parsed: Parsed, params: Sequence[Any] | None
    ) -> None:
        self.ctx = ctx
        self.session = session
        self.parsed = parsed
        tree = parsed.tree
        assert isinstance(tree, (exp.Update, exp.Delete))
        self.tree = tree
        self.is_update = isinstance(tree, exp.Update)  # the gate rejects UPDATE ... FROM, DELETE ... USING
        table_node = tree.this
        assert isinstance(table_node, exp.Table)
        self.translator = Translator(ctx, session.default_schema, session.user, params, parsed.cast_types)
        self.ref = self.translator.resolve_table(table_node)
        if self.ref.key is None:
            raise errors.unsupported(
                f'The relation "{self.ref.shown}" doesn\'t support or allow '
                f"{'UPDATE' if self.is_update else 'DELETE'} operations"
            )
        self.table: Table = self.ref.table
        self.assigned: list[str] = []
        if self.is_update:
            self._analyse_assignments()
        self._strip_column_qualifiers()
        self.translator.validate_columns(tree)

    def _analyse_assignments(self) -> None:
        for assignment in self.tree.expressions:
            target = assignment.this
            if isinstance(target, exp.Bracket):
                self._object_key_assignment(assignment)
                target = assignment.this
            if not isinstance(target, exp.Column):
                raise errors.parse_error("Invalid assignment target")
            name = decode_name(target.name)
            if self.table.column(name) is None:
                raise errors.column_unknown(name)
            check_assignable(self.table, name)
            target.set("table", None)
            target.set("db", None)
            target.set("catalog", None)
            self.assigned.append(name)

    def _object_key_assignment(self, assignment: exp.EQ) -> None:
        """`obj['k'] = v` becomes `obj = json_merge_patch(obj, json_object('k', v))`."""
        target = assignment.this
        keys: list[str] = []
        base: exp.Expr = target
        while isinstance(base, exp.Bracket):
            index = base.expressions[0] if base.expressions else None
            if not isinstance(index, exp.Literal) or not index.is_string:
                raise errors.emulator_limit("subscript assignments other than object keys")
            keys.insert(0, index.this)
            base = base.this
        if not isinstance(base, exp.Column):
            raise errors.parse_error("Invalid assignment target")
        column = self.table.column(decode_name(base.name))
        if column is None or column.ctype.kind != t.OBJECT:
            raise errors.emulator_limit("subscript assignments on non-object columns")
        value: exp.Expr = assignment.expression.copy()
        for key in reversed(keys):
            value = exp.Anonymous(this="json_object", expressions=[exp.Literal.string(key), value])
        merged = exp.Anonymous(
            this="json_merge_patch",
            expressions=[
                exp.Anonymous(
                    this="coalesce", expressions=[base.copy(), exp.cast(exp.Literal.string("{}"), "JSON")]
                ),
                value,
            ],
        )
        assignment.set("this", base.copy())
        assignment.set("expression", merged)

    def _strip_column_qualifiers(self) -> None:
        """`s.t.col` / `t.col` refer to the target table, which is aliased by its name."""
        alias = self.ref.alias
        for column in self.tree.find_all(exp.Column):
            if column.args.get("db") is not None:
                column.set("db", None)
                column.set("catalog", None)
                column.set("table", exp.to_identifier(alias, quoted=True))

    @property
    def where(self) -> exp.Expr | None:
        where = self.tree.args.get("where")
        return where.this if where is not None else None

    @property
    def _qualifiers(self) -> set[str]:
        return {self.ref.alias, encode_name(self.table.name)}

    @property
    def _pk(self) -> tuple[str, ...]:
        return tuple(encode_name(c) for c in self.table.primary_key)

    @property
    def by_id(self) -> bool:
        """CrateDB runs it as UpdateById/DeleteById (a Get per key), else as a query over the shards."""
        return is_pk_lookup(self.where, self._pk, self._qualifiers, pk_only=True)

    def count_executions(self, executions: int) -> None:
        self.ctx.stats.count("pk_lookups" if self.by_id else "query_jobs", executions)

    def check_visibility(self) -> None:
        """A by-query write reads the searcher, which misses writes since the last REFRESH."""
        if not self.by_id:
            self.ctx.tracker.check_read(
                [((self.table.schema, self.table.name), self.ref.shown, self.table.refresh_interval_ms)]
            )

    # -- single execution -----------------------------------------------------------------------------
    def execute(self) -> tuple[int, Any]:
        """Run with bound parameters; returns (rowcount, returning arrow table or None)."""
        translator = self.translator
        if self.is_update:
            self._validate_constant_assignments()
        translator.bind(self.tree)
        self.check_visibility()
        key = single_key(self.where, self._pk, self._qualifiers)
        if key is not None:
            key_values = self._key_values(key, {}, 1)
            if key_values is not None:
                _check_key_nulls(self.table, key_values)
        self.count_executions(1)
        translator.rewrite(self.tree)
        returning = self.tree.args.get("returning")
        if returning is not None:
            self._name_returning(returning)
        if self.is_update:
            self._check_not_null_expressions()
        sql = self.tree.sql(dialect="duckdb")
        cursor = self.ctx.storage.writer
        try:
            if returning is not None:
                result = cursor.execute(sql).to_arrow_table()
                count = result.num_rows
            else:
                result = None
                count = int(duck.fetch_row(cursor, sql)[0])
        except duckdb.Error as exc:
            raise duck.crate_error(exc) from None
        if count:
            self.ctx.tracker.written((self.table.schema, self.table.name))
        return count, result

    def _name_returning(self, returning: exp.Expr) -> None:
        for item in list(returning.expressions):
            if isinstance(item, (exp.Alias, exp.Column, exp.Star)):
                continue
            item.replace(exp.alias_(item.copy(), self.translator._display(item), quoted=True))

    def _validate_constant_assignments(self) -> None:
        for assignment in self.tree.expressions:
            column = self.table.column(decode_name(assignment.this.name))
            assert column is not None
            value_node = assignment.expression
            if isinstance(value_node, exp.Parameter):
                value = self.translator.param_value(value_node)
            else:
                value = _python_constant(value_node)
                if value is _NOT_CONSTANT:
                    continue
            if value is None:
                if column.not_null:
                    raise not_null_error(column.name)
                continue
            state = self.table.object_state(column.name) if _has_objects(column.ctype) else None
            storage = casts.caster(column.ctype, self.ctx.version, state, column.name)(value)
            if column.limited_text and _exceeds_text_limit(storage):
                raise text_limit_error(column)

    def _check_not_null_expressions(self) -> None:
        for assignment in self.tree.expressions:
            column = self.table.column(decode_name(assignment.this.name))
            if column is None or not column.not_null or is_constant(assignment.expression):
                continue
            where = self.where
            condition = f"({assignment.expression.sql(dialect='duckdb')}) IS NULL"
            if where is not None:
                condition = f"({where.sql(dialect='duckdb')}) AND {condition}"
            sql = f"SELECT count(*) FROM {self.tree.this.sql(dialect='duckdb')} WHERE {condition}"
            if duck.fetch_row(self.ctx.storage.writer, sql)[0]:
                raise not_null_error(column.name)

    # -- bulk execution ----------------------------------------------------------------------------------
    def execute_bulk(
        self, bulk_args: Sequence[Sequence[Any]], preset: dict[int, errors.CrateError]
    ) -> RowOutcome:
        count = len(bulk_args)
        outcome = RowOutcome(counts=[None] * count)
        outcome.failures.update(preset)
        outcome.injected.update(preset)
        if self.tree.args.get("returning") is not None:
            raise errors.unsupported(
                "Bulk operations for statements that return result sets is not supported"
            )
        self.check_visibility()
        key = single_key(self.where, self._pk, self._qualifiers)
        parameters = list(self.tree.find_all(exp.Parameter))
        indexes = sorted({int(p.name) - 1 for p in parameters})
        types: dict[int, CrateType | None] = {}
        not_null: dict[int, str] = {}
        limited: dict[int, Column] = {}
        for node in parameters:
            index = int(node.name) - 1
            ctype = self.translator.context_type(node)
            if ctype is not None or index not in types:
                types[index] = ctype
            parent = node.parent
            if (
                self.is_update
                and isinstance(parent, exp.EQ)
                and parent.expression is node
                and parent.parent is self.tree
            ):
                column = self.table.column(decode_name(parent.this.name))
                if column is not None and column.not_null:
                    not_null[index] = column.name
                if column is not None and column.limited_text:
                    limited[index] = column
        arrays: list[pa.Array] = []
        names: list[str] = []
        bound: dict[int, Storage] = {}
        for index in indexes:
            try:
                raw = [row[index] for row in bulk_args]
            except IndexError:
                raise errors.parse_error(
                    f"The query contains a parameter placeholder ${index + 1}, but there are only "
                    f"{min(len(r) for r in bulk_args)} parameter values"
                ) from None
            ctype = types.get(index)
            values: Storage = raw
            if ctype is not None:
                values = self._cast_parameter(ctype, raw, outcome)
            if index in not_null:
                # Assignments are bound (and checked for NOT NULL) per bulk row before any shard request
                # (Assignments.bindSources, analyze/ConstraintsValidator.java): the request fails whole.
                for row, value in enumerate(values_list(values)):
                    if value is None:
                        outcome.analysis.setdefault(row, not_null_error(not_null[index]))
            if index in limited:
                for row, value in enumerate(values_list(values)):
                    if value is not None and _exceeds_text_limit(value):
                        outcome.failures.setdefault(row, text_limit_error(limited[index]))
            bound[index] = values
            if isinstance(values, pa.Array):
                assert ctype is not None
                arrays.append(_storage_array(values, ctype))
            else:
                arrays.append(_arrow_column(values, ctype))
            names.append(f"__p{index + 1}")
        if outcome.analysis:
            raise outcome.analysis[min(outcome.analysis)]
        self.count_executions(count)  # executeBulk runs the plan once per bulk row
        for node in parameters:
            node.replace(exp.column(f"__p{node.name}", table="__args", quoted=True))
        self.translator.refs.append(Ref("__args", Table("", "__args", ()), None, "__args"))
        self.translator.rewrite(self.tree)
        valid = [row for row in range(count) if row not in outcome.failures]
        key_values = self._key_values(key, bound, count) if key is not None else None
        if key_values is not None:
            _check_key_nulls(self.table, key_values)
        if not valid:
            return outcome
        args = pa.Table.from_arrays(
            [pa.array(list(range(count)), type=pa.int64()), *arrays], names=[ROW, *names]
        )
        args = args.take(pa.array(valid, type=pa.int64()))
        cursor = self.ctx.storage.writer
        with duck.registered(cursor, args, "args") as source:
            args_table = f'{quote_ident(source)} AS "__args"'
            try:
                if self.is_update:
                    total = self._bulk_update(cursor, args_table, source, args, valid, outcome)
                else:
                    total = self._bulk_delete(cursor, args_table, valid, outcome)
            except duckdb.Error:
                total = self._sequential(cursor, source, args, valid, outcome)
        if total:
            self.ctx.tracker.written((self.table.schema, self.table.name))
        if key_values is not None:
            self._report_missing(outcome, valid, key_values)
        return outcome

    def _key_values(
        self, key: dict[str, exp.Expr], bound: dict[int, Storage], count: int
    ) -> dict[str, list[Any]] | None:
        """Per key column, the value each bulk row looks up (None when one is no plain parameter/literal)."""
        result: dict[str, list[Any]] = {}
        for name, node in key.items():
            column = self.table.column(decode_name(name))
            assert column is not None
            if isinstance(node, exp.Parameter):
                result[column.name] = values_list(bound[int(node.name) - 1])
                continue
            while isinstance(node, exp.Cast):  # bound parameters arrive as typed literals
                node = node.this
            value = _python_constant(node)
            if value is _NOT_CONSTANT:
                return None
            if value is not None:
                value = casts.caster(column.ctype, self.ctx.version)(value)
            result[column.name] = [value] * count
        return result

    def _report_missing(self, outcome: RowOutcome, valid: list[int], keys: dict[str, list[Any]]) -> None:
        """A bulk row updating/deleting one missing document by its key fails with DocumentMissingException.

        Rows go by id to their shard (io/crate/execution/dml/ShardRequestExecutor.java); the shard reports a
        missing document as a failure of that item (dml/delete/TransportShardDeleteAction.java,
        dml/upsert/TransportShardUpsertAction.java), which the bulk response shows as rowcount -2 with the
        error. A NULL single-column key builds no id, so nothing is sent for that row: rowcount 0."""
        table = self.table
        for row in valid:
            if outcome.counts[row] != 0:
                continue
            doc_id = document_id(table, {name: values[row] for name, values in keys.items()})
            if doc_id is not None:
                outcome.counts[row] = None
                outcome.failures[row] = errors.document_missing(doc_id)
        if table.clustered_by and table.clustered_by not in keys:
            return
        count = len(outcome.counts)
        outcome.route = lambda: _routing_shards(table, dict(keys), count)

    def _cast_parameter(self, ctype: CrateType, raw: list[Any], outcome: RowOutcome) -> Storage:
        """A parameter's values cast to the type it is compared with or assigned to (failures per row)."""
        fast = column_casts.cast_column(ctype, raw, self.ctx.version)
        if fast is not None:
            array, failures = fast
            for row, error in failures.items():
                _record_cast_failure(outcome, row, error)
            return array
        cast = casts.caster(ctype, self.ctx.version)
        values = []
        for row, value in enumerate(raw):
            try:
                values.append(cast(value))
            except errors.CrateError as exc:
                _record_cast_failure(outcome, row, exc)
                values.append(None)
        return values

    def _target_sql(self) -> str:
        return self.tree.this.sql(dialect="duckdb")

    def _where_sql(self) -> str:
        where = self.where
        return f"WHERE {where.sql(dialect='duckdb')}" if where is not None else ""

    def _bulk_update(
        self,
        cursor: duckdb.DuckDBPyConnection,
        args_table: str,
        source: str,
        args: pa.Table,
        valid: list[int],
        outcome: RowOutcome,
    ) -> int:
        alias = quote_ident(self.ref.alias)
        stats_sql = (
            f'SELECT "__args".{quote_ident(ROW)}, count(*), count(DISTINCT {alias}.rowid) '
            f"FROM {self._target_sql()}, {args_table} {self._where_sql()} GROUP BY 1"
        )
        per_row = cursor.execute(stats_sql).fetchall()
        distinct_sql = (
            f"SELECT count(*), count(DISTINCT {alias}.rowid) "
            f"FROM {self._target_sql()}, {args_table} {self._where_sql()}"
        )
        matches, distinct = duck.fetch_row(cursor, distinct_sql)
        if matches != distinct:
            return self._sequential(cursor, source, args, valid, outcome)
        cursor.execute(self._update_sql(args_table))
        counts = {row: n for row, n, _ in per_row}
        for row in valid:
            outcome.counts[row] = counts.get(row, 0)
        return int(matches)

    def _update_sql(self, args_table: str) -> str:
        sets = ", ".join(e.sql(dialect="duckdb") for e in self.tree.expressions)
        return f"UPDATE {self._target_sql()} SET {sets} FROM {args_table} {self._where_sql()}"

    def _bulk_delete(
        self, cursor: duckdb.DuckDBPyConnection, args_table: str, valid: list[int], outcome: RowOutcome
    ) -> int:
        alias = quote_ident(self.ref.alias)
        attribution = (
            f'SELECT first_row, count(*) FROM (SELECT min("__args".{quote_ident(ROW)}) AS first_row '
            f"FROM {self._target_sql()}, {args_table} {self._where_sql()} GROUP BY {alias}.rowid) GROUP BY 1"
        )
        counts = dict(cursor.execute(attribution).fetchall())
        deleted = duck.fetch_row(
            cursor, f"DELETE FROM {self._target_sql()} USING {args_table} {self._where_sql()}"
        )[0]
        for row in valid:
            outcome.counts[row] = int(counts.get(row, 0))
        return int(deleted)

    def _sequential(
        self,
        cursor: duckdb.DuckDBPyConnection,
        source: str,
        args: pa.Table,
        valid: list[int],
        outcome: RowOutcome,
    ) -> int:
        """Row-by-row fallback: exact CrateDB semantics when arg rows interact or DuckDB fails set-wise."""
        total = 0
        for position, row in enumerate(valid):
            single = args.slice(position, 1)
            with duck.registered(cursor, single, "arg") as name:
                args_table = f'{quote_ident(name)} AS "__args"'
                sql = (
                    self._update_sql(args_table)
                    if self.is_update
                    else (f"DELETE FROM {self._target_sql()} USING {args_table} {self._where_sql()}")
                )
                try:
                    changed = int(duck.fetch_row(cursor, sql)[0])
                except duckdb.Error as exc:
                    outcome.failures[row] = duck.crate_error(exc)
                    continue
            outcome.counts[row] = changed
            total += changed
        return total
