"""INSERT, UPDATE and DELETE requests: sources, bulk arguments, RETURNING and the response shapes.

`dml` analyses and applies one statement; this module feeds it the rows of a request (VALUES, bulk
arguments, `INSERT ... SELECT`, `UNNEST` of parameter arrays) and turns its `RowOutcome` into the
response CrateDB gives (a rowcount, bulk results with per-shard error details, or RETURNING rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from . import duck, errors, results, versions
from . import types as t
from .catalog import decode_name, encode_name, phys
from .dml import (
    _NOT_CONSTANT,
    DEFAULT,
    FilteredWrite,
    Inserter,
    InsertStatement,
    RowOutcome,
    _python_constant,
    values_list,
)
from .lexer import quote_ident
from .outcome import Outcome
from .translate import Parsed, Ref, Translator

if TYPE_CHECKING:
    from .context import WriteContext
    from .outcome import Session

BULK_ERRORS_PER_SHARD = 10


def write(
    ctx: WriteContext,
    session: Session,
    kind: str,
    parsed: Parsed,
    args: Sequence[Any] | None,
    bulk_args: Sequence[Sequence[Any]] | None,
    preset: dict[int, errors.CrateError],
) -> Outcome:
    """Run an INSERT, UPDATE or DELETE (identifiers normalised; the caller holds the write lock)."""
    if kind == "INSERT":
        return _insert(ctx, session, parsed, args, bulk_args, preset)
    statement = FilteredWrite(ctx, session, parsed, args)
    if bulk_args is None:
        count, returning = statement.execute()
        if returning is not None:
            json_columns = [False] * returning.num_columns
            rows = results.rows_from_arrow(returning, json_columns)
            return Outcome(
                cols=[decode_name(n) for n in returning.column_names],
                rows=rows,
                rowcount=len(rows),
                col_types=[0] * returning.num_columns,
            )
        return Outcome(rowcount=count)
    ctx.stats.count("rows_received", len(bulk_args))
    outcome = statement.execute_bulk(bulk_args, preset)
    return _bulk_outcome(ctx, outcome)


def _bulk_outcome(ctx: WriteContext, outcome: RowOutcome) -> Outcome:
    if outcome.analysis:
        # A value failing while the parameters are bound fails the whole request (HTTP 400), not its row:
        # RestSQLActionIntegrationTest::test_insert_with_failing_bulk_args_analysis_error.
        raise outcome.analysis[min(outcome.analysis)]
    if not outcome.failures and None not in outcome.counts:
        # One result object per distinct count, shared (Emulator.execute hands out copies).
        shared: dict[int | None, dict[str, Any]] = {}
        for count in set(outcome.counts):
            shared[count] = {"rowcount": count}
        return Outcome(results=[shared[count] for count in outcome.counts])
    payload_errors = ctx.version.at_least(versions.BULK_ERROR_PAYLOAD)
    items: list[dict[str, Any]] = []
    failed = 0
    detailed: dict[int, int] = {}
    shards = outcome.route() if outcome.route is not None and outcome.failures else None
    for row, count in enumerate(outcome.counts):
        error = outcome.failures.get(row)
        if error is not None or count is None:
            failed += 1
            item: dict[str, Any] = {"rowcount": -2}
            shard = shards[row] if shards else 0
            # CrateDB reports the details of only the first 10 failures per shard.
            if payload_errors and error is not None:
                if row in outcome.injected:
                    item["error"] = error.payload()
                elif detailed.get(shard, 0) < BULK_ERRORS_PER_SHARD:
                    detailed[shard] = detailed.get(shard, 0) + 1
                    item["error"] = error.payload()
            items.append(item)
        else:
            items.append({"rowcount": count})
    ctx.stats.count("row_errors", failed)
    return Outcome(results=items)


def _insert(
    ctx: WriteContext,
    session: Session,
    parsed: Parsed,
    args: Sequence[Any] | None,
    bulk_args: Sequence[Sequence[Any]] | None,
    preset: dict[int, errors.CrateError],
) -> Outcome:
    statement = InsertStatement(ctx, session, parsed)
    returning = parsed.tree.args.get("returning")
    if returning is not None and bulk_args is not None:
        raise errors.unsupported("Bulk operations for statements that return result sets is not supported")
    inserter = Inserter(ctx, statement)
    source = parsed.tree.expression
    assignment_params = sorted(
        {
            int(p.name) - 1
            for _, e in statement.assignments
            for p in [e, *e.find_all(exp.Parameter)]
            if isinstance(p, exp.Parameter)
        }
    )
    if isinstance(source, exp.Values):
        cells = statement.value_cells()
        if bulk_args is not None:
            if len(cells) != 1:
                raise errors.emulator_limit("bulk_args with a multi-row VALUES clause")
            rows = bulk_args
            count = len(rows)
            ctx.stats.count("rows_received", count)
            values = _columns_from_cells(ctx, session, statement, cells[0], rows, parsed)
            param_columns = {i: _param_column(rows, i) for i in assignment_params}
            outcome = inserter.from_columns(values, count, preset, param_columns, raise_analysis=True)
            return _bulk_outcome(ctx, outcome)
        params = list(args or [])
        count = len(cells)
        ctx.stats.count("rows_received", count)
        values = {name: [] for name in statement.columns}
        for row_cells in cells:
            row_values = _columns_from_cells(ctx, session, statement, row_cells, [params], parsed)
            for name in statement.columns:
                values[name].extend(row_values[name])
        param_columns = {i: _param_column([params] * count, i) for i in assignment_params}
        outcome = inserter.from_columns(values, count, {}, param_columns, raise_analysis=True)
        result = _values_outcome(statement, outcome, count)
        if returning is not None:
            return _returning(ctx, session, parsed, params, inserter, outcome)
        return result
    if bulk_args is not None:
        raise errors.emulator_limit("bulk_args with INSERT ... SELECT")
    values, count = _query_source(ctx, session, statement, parsed, args)
    ctx.stats.count("rows_received", count)
    fail_fast = bool(session.settings.get("insert_select_fail_fast"))
    outcome = inserter.from_columns(values, count, {}, {}, fail_fast=fail_fast)
    if fail_fast:
        failures = {**outcome.analysis, **outcome.failures}
        if failures:
            raise failures[min(failures)]
    if returning is not None:
        return _returning(ctx, session, parsed, list(args or []), inserter, outcome)
    return Outcome(rowcount=outcome.total)


def _returning(
    ctx: WriteContext,
    session: Session,
    parsed: Parsed,
    params: Sequence[Any],
    inserter: Inserter,
    outcome: RowOutcome,
) -> Outcome:
    """Rows of INSERT ... RETURNING: the stored state of every row this statement wrote."""
    returning = parsed.tree.args["returning"]
    table = ctx.catalog.require(inserter.table.schema, inserter.table.name)
    alias = encode_name(table.name)
    select = exp.Select(
        expressions=[
            exp.Column(this=exp.Star(), table=exp.to_identifier(alias, quoted=True))
            if isinstance(e, exp.Star)
            else e.copy()
            for e in returning.expressions
        ]
    )
    translator = Translator(ctx, session.default_schema, session.user, params, parsed.cast_types)
    translator.name_outputs(select)
    for column in select.find_all(exp.Column):
        if not column.table and not isinstance(column.this, exp.Star):
            column.set("table", exp.to_identifier(alias, quoted=True))
    translator.refs = [Ref(alias, table, (table.schema, table.name), table.fqn)]
    translator.bind(select)
    translator.rewrite(select)
    rows = sorted(set(outcome.written))
    items = ", ".join(e.sql(dialect="duckdb") for e in select.expressions)
    storage = {name: values_list(values) for name, values in inserter.storage.items()}
    if table.primary_key:
        keys = pa.Table.from_arrays(
            [pa.array(rows, type=pa.int64())]
            + [
                pa.array([storage[c][r] for r in rows], type=table.column(c).ctype.arrow())  # type: ignore[union-attr]
                for c in table.primary_key
            ],
            names=["__row", *(encode_name(c) for c in table.primary_key)],
        )
        join = " AND ".join(f'{phys(alias)}.{phys(c)} = "__keys".{phys(c)}' for c in table.primary_key)
        source = f'{ctx.storage.physical(table)} AS {quote_ident(alias)} JOIN {{keys}} AS "__keys" ON {join}'
        order = '"__keys"."__row"'
    else:
        keys = pa.Table.from_arrays(
            [pa.array(rows, type=pa.int64())]
            + [pa.array([storage[c.name][r] for r in rows], type=c.ctype.arrow()) for c in table.columns],
            names=["__row", *(encode_name(c.name) for c in table.columns)],
        )
        source = f"{{keys}} AS {quote_ident(alias)}"
        order = f'{quote_ident(alias)}."__row"'
    with duck.registered(ctx.storage.writer, keys, "keys") as name:
        sql = f"SELECT {items} FROM {source.format(keys=quote_ident(name))} ORDER BY {order}"
        try:
            ctx.storage.writer.execute(sql)
            description = ctx.storage.writer.description or []
            arrow = ctx.storage.writer.to_arrow_table()
        except duckdb.Error as exc:
            raise duck.crate_error(exc) from None
    duck_types = [str(item[1]) for item in description]
    refined = translator.output_types(select, len(duck_types))
    ctypes = [
        c if c is not None else t.duck_type_to_crate(d) for d, c in zip(duck_types, refined, strict=True)
    ]
    json_columns = [results.is_json_type(d, c) for d, c in zip(duck_types, ctypes, strict=True)]
    data = results.rows_from_arrow(arrow, json_columns)
    return Outcome(
        cols=[decode_name(n) for n in arrow.column_names],
        col_types=results.type_ids(ctypes),
        rows=data,
        rowcount=len(data),
    )


def _values_outcome(statement: InsertStatement, outcome: RowOutcome, count: int) -> Outcome:
    if outcome.failures:
        first = outcome.failures[min(outcome.failures)]
        if count == 1 or statement.table.partitioned_by:
            raise first
    return Outcome(rowcount=outcome.total)


def _columns_from_cells(
    ctx: WriteContext,
    session: Session,
    statement: InsertStatement,
    cells: list[Any],
    rows: Sequence[Sequence[Any]],
    parsed: Parsed,
) -> dict[str, list[Any]]:
    values: dict[str, list[Any]] = {}
    count = len(rows)
    width = min(map(len, rows)) if rows else 0
    columns = list(zip(*rows, strict=False))  # column-major once; as wide as the shortest row
    for name, cell in zip(statement.columns, cells, strict=True):
        if cell.kind == "param":
            index = cell.value
            if not rows:
                values[name] = []
                continue
            if index >= width:
                raise errors.parse_error(
                    f"The query contains a parameter placeholder ${index + 1}, but there are only "
                    f"{width} parameter values"
                )
            values[name] = list(columns[index])
        elif cell.kind == "const":
            values[name] = [cell.value] * count
        elif cell.kind == "default":
            values[name] = [DEFAULT] * count
        else:
            values[name] = [ctx.evaluate(session, cell.value, parsed.cast_types, row) for row in rows]
    return values


def _query_source(
    ctx: WriteContext,
    session: Session,
    statement: InsertStatement,
    parsed: Parsed,
    args: Sequence[Any] | None,
) -> tuple[dict[str, list[Any]], int]:
    width = len(statement.columns)
    unnest = statement.is_unnest_of_params()
    params = list(args or [])
    if unnest is not None:
        arrays: list[list[Any]] = []
        for node in unnest:
            if isinstance(node, exp.Parameter):
                index = int(node.name) - 1
                if index >= len(params):
                    raise errors.parse_error(
                        f"The query contains a parameter placeholder ${index + 1}, but there are only "
                        f"{len(params)} parameter values"
                    )
                value = params[index]
            else:
                value = _python_constant(node)
                if value is _NOT_CONSTANT:
                    value = ctx.evaluate(session, node, parsed.cast_types, params)
            if value is None:
                value = []
            if not isinstance(value, list):
                raise errors.cast_error(value, "array")
            arrays.append(value)
        if len(arrays) != width:
            raise errors.illegal_argument(
                f"Number of target columns ({width}) of insert statement doesn't match number of source "
                f"columns ({len(arrays)})"
            )
        count = max((len(a) for a in arrays), default=0)
        values = {
            name: array + [None] * (count - len(array))
            for name, array in zip(statement.columns, arrays, strict=True)
        }
        return values, count
    query = parsed.tree.expression
    while isinstance(query, exp.Subquery):
        query = query.this
    table, _types = ctx.run_query(session, parsed, params, tree=query)
    if table.num_columns != width:
        raise errors.illegal_argument(
            f"Number of target columns ({width}) of insert statement doesn't match number of source "
            "columns "
            f"({table.num_columns})"
        )
    columns = {
        name: results._convert_array(column.combine_chunks(), False)
        for name, column in zip(statement.columns, table.columns, strict=True)
    }
    return columns, table.num_rows


def _param_column(rows: Sequence[Sequence[Any]], index: int) -> list[Any]:
    try:
        return [row[index] for row in rows]
    except IndexError:
        raise errors.parse_error(
            f"The query contains a parameter placeholder ${index + 1}, but there are only "
            f"{min(len(r) for r in rows)} parameter values"
        ) from None
