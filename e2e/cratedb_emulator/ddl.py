"""Apply DDL to the catalog and to DuckDB, with CrateDB's rules and error messages."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from . import catalog as cat
from . import dml, errors, versions
from . import types as t
from .catalog import Column, Table
from .ddl_parser import (
    AlterTable,
    ColumnDef,
    CreateSchema,
    CreateTable,
    DropSchema,
    DropTable,
    Name,
    SwapTable,
    TableList,
)
from .outcome import Outcome, Session

if TYPE_CHECKING:
    from .context import DdlContext, StatementContext, WriteContext

_PK_FORBIDDEN = (t.OBJECT, t.GEO_POINT, t.GEO_SHAPE, t.ARRAY, t.FLOAT_VECTOR)
_COLUMNSTORE_KINDS = (*t.TEXT_KINDS, t.NUMERIC, *t.TIMESTAMP_KINDS)

# The most shards one table may have (CrateDB source IndexMetadata.java, `es.index.max_number_of_shards`).
MAX_SHARDS = 1024


def apply(ctx: WriteContext, session: Session, statement: object) -> Outcome:
    if isinstance(statement, CreateTable):
        return create_table(ctx, session, statement)
    if isinstance(statement, DropTable):
        return Outcome(rowcount=drop_table(ctx, session, statement))
    if isinstance(statement, CreateSchema):
        return Outcome(rowcount=create_schema(ctx, statement))
    if isinstance(statement, DropSchema):
        return Outcome(rowcount=drop_schema(ctx, statement))
    if isinstance(statement, AlterTable):
        return Outcome(rowcount=alter_table(ctx, session, statement))
    if isinstance(statement, SwapTable):
        return Outcome(rowcount=swap_table(ctx, session, statement))
    if isinstance(statement, TableList):
        return Outcome(rowcount=refresh_or_optimize(ctx, session, statement))
    raise errors.parse_error("unsupported statement")


# ---- columns ------------------------------------------------------------------------------------------
def _column(ctx: DdlContext, definition: ColumnDef) -> Column:
    version = ctx.version
    cat.validate_column_name(definition.name, version)
    if definition.ctype is None:
        if definition.generated_sql is None:
            raise errors.parse_error(f'Column "{definition.name}" requires a data type')
        raise errors.emulator_limit("generated columns without a declared type")
    ctype = definition.ctype
    ctype.check_storable(version)
    if definition.default_sql is not None:
        if ctype.kind == t.OBJECT:
            raise errors.illegal_argument("Default values are not allowed for object columns")
        if definition.generated_sql is not None:
            raise errors.illegal_argument("Generated columns cannot have a default value")
        ctx.evaluate_constant(definition.default_sql, ctype, f'DEFAULT of column "{definition.name}"')
    if not definition.columnstore:
        base = ctype.inner if ctype.kind == t.ARRAY and ctype.inner is not None else ctype
        if base.kind not in _COLUMNSTORE_KINDS:
            raise errors.illegal_argument(
                f'Invalid storage option "columnstore" for data type "{ctype.info_name()}" '
                f"for column: {definition.name}"
            )
    return Column(
        name=definition.name,
        ctype=ctype,
        not_null=definition.not_null or definition.primary_key,
        default_sql=definition.default_sql,
        generated_sql=definition.generated_sql,
        index_off=definition.index_off,
        fulltext=definition.fulltext,
        columnstore=definition.columnstore,
    )


def _check_pk_type(column: Column) -> None:
    if column.ctype.kind in _PK_FORBIDDEN:
        raise errors.illegal_argument(
            f'Cannot use columns of type "{column.ctype.info_name()}" as primary key'
        )


def _settings(raw: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in raw.items():
        if not cat.is_known_setting(key):
            raise errors.illegal_argument(
                f'Invalid property "{key}" passed to [ALTER | CREATE] TABLE statement'
            )
        if key == "column_policy":
            policy = str(value).lower()
            if policy not in ("strict", "dynamic"):
                raise errors.illegal_argument(f"Invalid value for argument 'column_policy': '{value}'")
            value = policy
        if key == "number_of_replicas":
            value = str(value)
        if key == "refresh_interval":
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise errors.illegal_argument(f"Invalid value for refresh_interval: {value}") from None
        result[key] = value
    return result


# ---- CREATE / DROP TABLE -----------------------------------------------------------------------------
def _resolve(name: Name, session: Session) -> tuple[str, str]:
    return name.resolve(session.default_schema)


def create_table(ctx: WriteContext, session: Session, create: CreateTable) -> Outcome:
    schema, name = _resolve(create.name, session)
    cat.validate_table_name(schema, name)
    if ctx.catalog.get(schema, name) is not None:
        if create.if_not_exists:
            return Outcome(rowcount=0)
        raise errors.relation_exists(f"{schema}.{name}")
    if create.as_query is not None:
        return dml.create_table_as(ctx, session, schema, name, create.as_query)
    # The gate passes (LIKE ...), CREATE/DROP SCHEMA and ALTER COLUMN ... DEFAULT only on versions that have
    # them (tests/unit/test_emulator_gate_guards.py), so no version checks for them here.
    if create.like is not None:
        source_schema, source_name = _resolve(create.like, session)
        source = ctx.catalog.require(source_schema, source_name, create.like.shown)
        table = replace(
            source,
            schema=schema,
            name=name,
            settings=dict(cat.DEFAULT_SETTINGS),
            objects={},
        )
        ctx.storage.create_table(table)
        return Outcome(rowcount=1)

    columns: list[Column] = []
    seen: set[str] = set()
    for definition in create.columns:
        if definition.name in seen:
            raise errors.illegal_argument(f'column "{definition.name}" specified more than once')
        seen.add(definition.name)
        columns.append(_column(ctx, definition))
    if not columns:
        raise errors.parse_error("A table must have at least one column")
    primary_key = [d.name for d in create.columns if d.primary_key]
    for key in create.primary_key:
        if key not in seen:
            raise errors.column_unknown(key)
        if key not in primary_key:
            primary_key.append(key)
    by_name = {c.name: c for c in columns}
    for key in primary_key:
        _check_pk_type(by_name[key])
        by_name[key] = replace(by_name[key], not_null=True)
    columns = [by_name[c.name] for c in columns]
    if create.clustered_by is not None:
        if create.clustered_by not in seen:
            raise errors.column_unknown(create.clustered_by)
        if primary_key and create.clustered_by not in primary_key:
            raise errors.illegal_argument(
                f"Clustered by column `{create.clustered_by}` must be part of primary key: {primary_key}"
            )
    for column_name in create.partitioned_by:
        if column_name not in seen:
            raise errors.column_unknown(column_name)
        if by_name[column_name].ctype.kind in (t.OBJECT, t.ARRAY, t.GEO_POINT, t.GEO_SHAPE, t.FLOAT_VECTOR):
            raise errors.illegal_argument(
                f"Cannot use column {column_name} of type {by_name[column_name].ctype.info_name()} "
                "in PARTITIONED BY clause"
            )
        if primary_key and column_name not in primary_key:
            raise errors.illegal_argument(  # CrateDB source TableElementsAnalyzer.java
                f"Cannot use non primary key column '{column_name}' in PARTITIONED BY clause if primary key "
                "is set on table"
            )
    if create.shards is not None and create.shards < 1:
        raise errors.illegal_argument("num_shards in CLUSTERED clause must be greater than 0")
    if create.shards is not None and create.shards > MAX_SHARDS:  # IndexMetadata.buildNumberOfShardsSetting
        raise errors.illegal_argument(
            f"Failed to parse value [{create.shards}] for setting [number_of_shards] must be <= {MAX_SHARDS}"
        )
    settings = dict(cat.DEFAULT_SETTINGS)
    settings.update(_settings(create.settings))
    checks = [
        (name or f"{schema}_{create.name.name}_check_{i}", text)
        for i, (name, text) in enumerate(create.checks)
    ]
    for definition in create.columns:
        for index, (check_name, text) in enumerate(definition.checks):
            checks.append((check_name or f"{schema}_{name}_{definition.name}_check_{index}", text))
    table = Table(
        schema=schema,
        name=name,
        columns=tuple(columns),
        primary_key=tuple(primary_key),
        clustered_by=create.clustered_by,
        shards=create.shards or 4,
        partitioned_by=tuple(create.partitioned_by),
        settings=settings,
        checks=tuple(checks),
    )
    ctx.storage.create_table(table)
    return Outcome(rowcount=1)


def drop_table(ctx: StatementContext, session: Session, drop: DropTable) -> int:
    schema, name = _resolve(drop.name, session)
    table = ctx.catalog.get(schema, name)
    if table is None:
        if drop.if_exists:
            return 0
        ctx.catalog.require(schema, name, drop.name.shown)
        raise errors.relation_unknown(drop.name.shown)
    ctx.storage.drop_table(table)
    return 1


# ---- schemas ------------------------------------------------------------------------------------------
def create_schema(ctx: StatementContext, create: CreateSchema) -> int:
    cat.validate_relation_name(create.name, "Schema")
    if ctx.catalog.schema_exists(create.name):
        if create.if_not_exists:
            return 0
        raise errors.CrateError(
            errors.DUPLICATE_OBJECT, "SchemaAlreadyExistsException", f"Schema '{create.name}' already exists"
        )
    ctx.catalog.explicit_schemas.add(create.name)
    ctx.catalog.changed()
    ctx.storage.persist_catalog()
    return 1


def drop_schema(ctx: StatementContext, drop: DropSchema) -> int:
    count = 0
    for name in drop.names:
        if name in cat.SYSTEM_SCHEMAS or name == cat.DEFAULT_SCHEMA:
            raise errors.illegal_argument(f"Cannot drop schema '{name}'")
        if not ctx.catalog.schema_exists(name):
            if drop.if_exists:
                continue
            raise errors.schema_unknown(name)
    for name in drop.names:
        if not ctx.catalog.schema_exists(name):
            continue
        tables = ctx.catalog.tables_in(name)
        if tables and not drop.cascade:
            raise errors.illegal_argument(f"Schema '{name}' is not empty; use DROP SCHEMA ... CASCADE")
        for table in tables:
            ctx.storage.drop_table(table)
        ctx.catalog.explicit_schemas.discard(name)
        ctx.catalog.changed()
        count += 1
    ctx.storage.persist_catalog()
    return count


# ---- ALTER TABLE --------------------------------------------------------------------------------------
def alter_table(ctx: DdlContext, session: Session, alter: AlterTable) -> int:
    schema, name = _resolve(alter.name, session)
    table = ctx.catalog.require(schema, name, alter.name.shown)
    action = alter.action
    if action == "set":
        settings = dict(table.settings)
        settings.update(_settings(alter.settings))
        ctx.storage.replace_table(replace(table, settings=settings))
    elif action == "reset":
        settings = dict(table.settings)
        for key in alter.reset:
            if not cat.is_known_setting(key):
                raise errors.illegal_argument(
                    f'Invalid property "{key}" passed to [ALTER | CREATE] TABLE statement'
                )
            if key in cat.DEFAULT_SETTINGS:
                settings[key] = cat.DEFAULT_SETTINGS[key]
            else:
                settings.pop(key, None)
        ctx.storage.replace_table(replace(table, settings=settings))
    elif action == "add":
        _add_columns(ctx, table, alter.add)
    elif action == "drop":
        _drop_columns(ctx, table, alter.drop)
    elif action == "rename_columns":
        _rename_columns(ctx, table, alter.renames)
    elif action == "rename_table":
        assert alter.new_name is not None
        if alter.new_name.schema is not None:
            raise errors.illegal_argument("Target table name must not include a schema")
        new_name = alter.new_name.name
        cat.validate_table_name(schema, new_name)
        if ctx.catalog.get(schema, new_name) is not None:
            raise errors.relation_exists(f"{schema}.{new_name}")
        ctx.storage.rename_table(table, schema, new_name)
    elif action in ("set_default", "drop_default"):
        assert alter.column is not None
        column = table.column(alter.column)
        if column is None:
            raise errors.column_unknown(alter.column)
        if column.ctype.kind == t.OBJECT:
            raise errors.illegal_argument("Default values are not allowed for object columns")
        if column.generated_sql is not None:
            raise errors.illegal_argument("Cannot set a default value on a generated column")
        if action == "set_default":
            assert alter.default_sql is not None
            ctx.evaluate_constant(alter.default_sql, column.ctype, f'DEFAULT of column "{column.name}"')
        new_default = alter.default_sql if action == "set_default" else None
        columns = tuple(
            replace(c, default_sql=new_default) if c.name == column.name else c for c in table.columns
        )
        ctx.storage.replace_table(table.with_columns(columns))
    elif action == "drop_constraint":
        assert alter.constraint is not None
        if alter.constraint == f"{table.name}_pk":
            raise errors.unsupported("Dropping the primary key constraint is not supported")
        checks = tuple(check for check in table.checks if check[0] != alter.constraint)
        if len(checks) == len(table.checks):
            raise errors.illegal_argument(f"Cannot find a CHECK CONSTRAINT named [{alter.constraint}]")
        ctx.storage.replace_table(replace(table, checks=checks))
    return -1


def _add_columns(ctx: DdlContext, table: Table, definitions: list[ColumnDef]) -> None:
    new_columns: list[Column] = []
    names = set(table.column_names())
    empty: bool | None = None
    primary_key = list(table.primary_key)
    for definition in definitions:
        if definition.name in names:
            raise errors.illegal_argument(
                f"The table {table.fqn} already has a column named {definition.name}"
            )
        names.add(definition.name)
        column = _column(ctx, definition)
        if definition.primary_key or definition.generated_sql is not None:
            if empty is None:
                empty = ctx.storage.count_rows(table) == 0
            if not empty:
                what = "primary key" if definition.primary_key else "generated"
                raise errors.unsupported(f"Cannot add a {what} column to a table that isn't empty")
        if definition.primary_key:
            _check_pk_type(column)
            primary_key.append(column.name)
        new_columns.append(column)
    ctx.storage.add_columns(table, new_columns, tuple(primary_key))


def _drop_columns(ctx: StatementContext, table: Table, drops: list[tuple[str, bool]]) -> None:
    if not ctx.version.at_least(versions.DROP_COLUMN):
        raise errors.syntax_error(1, 1, "mismatched input 'DROP' expecting {'ADD', 'SET', 'RESET', ...}")
    remove: list[str] = []
    for column_name, if_exists in drops:
        column = table.column(column_name)
        if column is None:
            if if_exists:
                continue
            raise errors.column_unknown(column_name)
        if column_name in cat.SYSTEM_COLUMNS:
            raise errors.unsupported(f'Dropping system column "{column_name}" is not allowed')
        if column_name in table.primary_key:
            raise errors.unsupported(
                f"Dropping column: {column_name} which is part of the PRIMARY KEY is not allowed"
            )
        if column_name == table.clustered_by:
            raise errors.unsupported(
                f"Dropping column: {column_name} which is used in 'CLUSTERED BY' is not allowed"
            )
        if column_name in table.partitioned_by:
            raise errors.unsupported(
                f"Dropping column: {column_name} which is part of the 'PARTITIONED BY' columns is not allowed"
            )
        for other in table.columns:
            if other.generated_sql and column_name in other.generated_sql:
                raise errors.unsupported(
                    f"Dropping column: {column_name} which is used to produce values for generated column "
                    "is not allowed"
                )
        remove.append(column_name)
    if len(remove) >= len(table.columns):
        raise errors.unsupported("Dropping all columns of a table is not allowed")
    if remove:
        ctx.storage.drop_columns(table, remove)


def _rename_columns(ctx: StatementContext, table: Table, renames: list[tuple[str, str]]) -> None:
    if not ctx.version.at_least(versions.RENAME_COLUMN):
        raise errors.syntax_error(1, 1, "mismatched input 'RENAME' expecting {'TO'}")
    names = set(table.column_names())
    for old, new in renames:
        if old not in names:
            raise errors.column_unknown(old)
        if new in names:
            raise errors.illegal_argument(f"Cannot rename column to a name that is in use: {new}")
        cat.validate_column_name(new, ctx.version)
        names.discard(old)
        names.add(new)
    ctx.storage.rename_columns(table, renames)


# ---- SWAP, REFRESH, OPTIMIZE ---------------------------------------------------------------------------
def swap_table(ctx: StatementContext, session: Session, swap: SwapTable) -> int:
    source = ctx.catalog.require(*_resolve(swap.source, session), swap.source.shown)
    target = ctx.catalog.require(*_resolve(swap.target, session), swap.target.shown)
    if (source.schema, source.name) == (target.schema, target.name):
        raise errors.illegal_argument("Source and target of SWAP TABLE must be different")
    ctx.storage.swap_tables(source, target, swap.drop_source)
    return 1


def refresh_or_optimize(ctx: StatementContext, session: Session, statement: TableList) -> int:
    tables = [ctx.catalog.require(*_resolve(name, session), name.shown) for name in statement.names]
    if statement.verb == "refresh":
        for table in tables:
            ctx.tracker.refreshed((table.schema, table.name))
        ctx.stats.count("refreshes", len(tables))
    return len(tables)
