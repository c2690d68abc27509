"""The SQL engine behind the HTTP endpoint: dispatches statements, owns DuckDB, the catalog and visibility."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from . import casts, ddl, ddl_parser, duck, errors, gate, infoschema, results, shapes, versions, writes
from . import types as t
from .catalog import DEFAULT_SCHEMA, Catalog, Table, decode_name, encode_name
from .lexer import EOF, IDENT, OP, Token, TokenStream, quote_ident, tokenize
from .outcome import Outcome, Session
from .prepared import (
    PARAMS_TABLE,
    UNCACHEABLE,
    Fallback,
    PlanCache,
    Preparation,
    PrimaryKeyCheck,
    QueryPlan,
    Uncacheable,
    probe_array_lengths,
)
from .stats import Stats
from .storage import PhysicalStore
from .translate import Parsed, Ref, Translator, normalise_identifiers, parse_statement
from .types import CrateType
from .versions import Version
from .visibility import RefreshTracker, is_pk_lookup

STATEMENT_MAX_LENGTH = 262_144
_KNOWN_SESSION_SETTINGS = frozenset(
    {
        "search_path",
        "insert_select_fail_fast",
        "enable_hashjoin",
        "error_on_unknown_object_key",
        "datestyle",
        "application_name",
        "statement_timeout",
        "memory.operation_limit",
        "timezone",
        "client_encoding",
        "extra_float_digits",
        "standard_conforming_strings",
        "max_index_keys",
        "max_identifier_length",
        "server_version",
        "server_version_num",
    }
)


def statement_kind(tokens: list[Token]) -> str:
    first = tokens[0]
    if first.kind == OP and first.value == "(":
        return "SELECT"
    if first.kind != IDENT:
        return "UNKNOWN"
    word = first.value.upper()
    return {"WITH": "SELECT", "VALUES": "SELECT", "START": "BEGIN", "END": "COMMIT"}.get(word, word)


class Engine:
    def __init__(
        self,
        version: str = versions.DEFAULT_VERSION,
        strict: bool = True,
        data: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.version = Version.parse(version)
        self.catalog = Catalog(self.version)
        self.tracker = RefreshTracker(strict, clock)
        self.stats = Stats()
        self.data = data
        self.conn = duckdb.connect(data or ":memory:")
        for setting in (
            "SET GLOBAL TimeZone = 'UTC'",
            "SET GLOBAL integer_division = true",
            "SET GLOBAL default_null_order = 'nulls_last_on_asc_first_on_desc'",
        ):
            self.conn.execute(setting)
        self.database = str(duck.fetch_row(self.conn, "SELECT current_database()")[0])
        self.write_lock = threading.RLock()
        self.storage = PhysicalStore(
            self.conn, self.database, self.catalog, self.tracker, self.write_lock, data
        )
        self.plans = PlanCache()
        self.url = ""
        self.port = 0
        self.closed = False
        self.storage.load_catalog()

    def close(self) -> None:
        with self.write_lock:
            if self.closed:
                return
            self.storage.close()
            self.conn.close()
            self.closed = True

    def node_info(self) -> infoschema.NodeInfo:
        return infoschema.NodeInfo(str(self.version), self.url, self.port)

    # ---- entry point ----------------------------------------------------------------------------------
    def execute(
        self,
        session: Session,
        stmt: str,
        args: Sequence[Any] | None = None,
        bulk_args: Sequence[Sequence[Any]] | None = None,
        preset_failures: dict[int, errors.CrateError] | None = None,
    ) -> Outcome:
        # CrateDB compares Java's String.length(), UTF-16 code units (CrateDB source Session.java
        # `validateStatementLength`): a character outside the Basic Multilingual Plane counts twice.
        units = len(stmt) if stmt.isascii() else len(stmt.encode("utf-16-le")) // 2
        if units > STATEMENT_MAX_LENGTH and self.version.at_least(versions.STATEMENT_MAX_LENGTH):
            raise errors.illegal_argument(
                f"Statement exceeds `statement_max_length` ({STATEMENT_MAX_LENGTH} allowed, {units} "
                "provided). Try replacing inline values with parameter placeholders (`?`)"
            )
        shapes.record(stmt)
        gate.check(stmt, self.version)  # what CrateDB's grammar rejects never reaches our parsers
        if bulk_args is None:
            plan = self.plans.get(self._plan_key(session, stmt))
            if isinstance(plan, QueryPlan):
                self.stats.statement("SELECT")
                outcome = self._run_plan(plan, args or [])
                return outcome if outcome is not None else self.select(session, parse_statement(stmt), args)
        tokens = tokenize(stmt)
        if tokens[0].kind == EOF:
            raise errors.syntax_error(1, 1, "mismatched input '<EOF>' expecting statement")
        kind = statement_kind(tokens)
        self.stats.statement(kind)
        first = tokens[0]
        if bulk_args is not None and kind not in ("INSERT", "UPDATE", "DELETE"):
            if kind in ("SELECT", "SHOW"):
                raise errors.unsupported(
                    "Bulk operations for statements that return result sets is not supported"
                )
            raise errors.emulator_limit(f"bulk_args with {kind} statements")
        if kind == "SELECT":
            return self._select_text(session, stmt, tokens, args)
        if kind in ("INSERT", "UPDATE", "DELETE"):
            parsed = parse_statement(stmt, tokens)
            normalise_identifiers(parsed.tree)
            with self.write_lock:
                return writes.write(self, session, kind, parsed, args, bulk_args, preset_failures or {})
        if kind in ("CREATE", "DROP", "ALTER", "REFRESH", "OPTIMIZE"):
            statement = ddl_parser.parse(stmt, tokens)
            if kind == "REFRESH" or kind == "OPTIMIZE":
                return ddl.apply(self, session, statement)
            with self.write_lock:
                return ddl.apply(self, session, statement)
        if kind in ("SET", "RESET"):
            return self._set(session, stmt, tokens)
        if kind in ("BEGIN", "COMMIT"):
            return Outcome(rowcount=0)
        if kind == "SHOW":
            return self._show(session, stmt, tokens)
        if kind == "ANALYZE":
            TokenStream(stmt, tokens[1:]).expect_end()
            return Outcome(rowcount=1)
        if first.is_word(
            "explain",
            "copy",
            "kill",
            "grant",
            "deny",
            "revoke",
            "declare",
            "fetch",
            "close",
            "discard",
            "deallocate",
            "prepare",
            "execute",
            "restore",
            "create",
            "checkpoint",
        ):
            raise errors.emulator_limit(f"{first.value.upper()} statements")
        line, column = 1, 1
        shown = first.text if first.kind != EOF else "<EOF>"
        raise errors.syntax_error(
            line, column, f"mismatched input '{shown}' expecting {{'SELECT', 'INSERT', ...}}"
        )

    # ---- queries --------------------------------------------------------------------------------------
    def select(self, session: Session, parsed: Parsed, params: Sequence[Any] | None) -> Outcome:
        tree = parsed.tree
        if not isinstance(tree, (exp.Query, exp.Values)):
            raise errors.parse_error("Expected a query")
        table, types = self.run_query(session, parsed, params)
        return _query_outcome(table, types)

    def _plan_key(self, session: Session, stmt: str) -> tuple[str, str, str, int]:
        return (stmt, session.default_schema, session.user, self.catalog.generation)

    def _select_text(
        self, session: Session, stmt: str, tokens: list[Token], params: Sequence[Any] | None
    ) -> Outcome:
        """A query through its cached translation (made now if there is none yet); else the uncached path."""
        key = self._plan_key(session, stmt)
        if self.plans.get(key) is not UNCACHEABLE:
            parsed = parse_statement(stmt, tokens)
            try:
                plan = self._prepare_query(session, parsed)
            except (Uncacheable, errors.CrateError):
                # Errors come from the uncached path below, in the order it raises them.
                self.plans.put(key, UNCACHEABLE, len(stmt))
            else:
                self.plans.put(key, plan, 2 * len(stmt))
                outcome = self._run_plan(plan, params or [])
                if outcome is not None:
                    return outcome
        return self.select(session, parse_statement(stmt, tokens), params)

    def _prepare_query(self, session: Session, parsed: Parsed) -> QueryPlan:
        """The steps of run_query, with parameters left as slots; visibility is checked per execution."""
        tree = parsed.tree
        if not isinstance(tree, exp.Select):
            raise Uncacheable("only SELECT statements")
        normalise_identifiers(tree)
        preparation = Preparation(self.version)
        translator = Translator(
            self, session.default_schema, session.user, None, parsed.cast_types, preparation=preparation
        )
        translator.name_outputs(tree)
        translator.resolve_tables(tree)
        translator.validate_columns(tree)
        translator.bind(tree)
        user_refs = translator.user_tables()
        pk_check: PrimaryKeyCheck | bool = False
        if user_refs and len(translator.refs) == 1 and not tree.args.get("joins"):
            ref = user_refs[0]
            where = tree.args.get("where")
            pk = tuple(encode_name(c) for c in ref.table.primary_key)
            qualifiers = {ref.alias, encode_name(ref.table.name)}
            static = probe_array_lengths(where, pk, qualifiers)
            if static is None:  # `= ANY(?)`: a Get only for arrays of at most MAX_PK_LOOKUP_KEYS keys
                assert where is not None
                pk_check = PrimaryKeyCheck(where.copy(), pk, qualifiers, preparation)
            else:
                pk_check = static
        reads = [((r.table.schema, r.table.name), r.shown, r.table.refresh_interval_ms) for r in user_refs]
        translator.rewrite(tree)
        if translator.registrations or any(True for _ in tree.find_all(exp.Parameter)):
            raise Uncacheable("registered relations or unbound parameters")
        types = translator.select_types(tree)
        return QueryPlan(preparation, tree.sql(dialect="duckdb"), types, reads, pk_check)

    def _run_plan(self, plan: QueryPlan, params: Sequence[Any]) -> Outcome | None:
        """Execute a cached translation; None when these values need the uncached path."""
        try:
            bound = plan.bind(params)
        except Fallback:
            return None
        cursor = self.conn.cursor()
        try:
            if bound.arrays is not None:
                cursor.register(PARAMS_TABLE, bound.arrays)
            for view, virtual in plan.virtuals.items():
                cursor.register(view, infoschema.arrow_table(virtual, self.catalog, self.node_info()))
            try:
                cursor.execute(bound.sql)
                description = cursor.description or []
                table = cursor.to_arrow_table()
            except duckdb.Error as exc:
                if plan.has_arrays:
                    return None  # the uncached path checks visibility, then reports its own SQL's error
                plan.check_visibility(self.tracker, params)  # a stale read is reported first
                raise duck.crate_error(exc) from None
        finally:
            cursor.close()
        # After the query (results are discarded when it fails), so a fallback never counts a read twice.
        plan.check_visibility(self.tracker, params)
        self.stats.count("pk_lookups" if plan.is_lookup(params) else "query_jobs")
        duck_types = [str(item[1]) for item in description]
        refined = plan.output_types(len(duck_types))
        types = [
            (d, c if c is not None else t.duck_type_to_crate(d))
            for d, c in zip(duck_types, refined, strict=True)
        ]
        return _query_outcome(table, types)

    def run_query(
        self,
        session: Session,
        parsed: Parsed,
        params: Sequence[Any] | None,
        tree: exp.Expr | None = None,
    ) -> tuple[pa.Table, list[tuple[str, CrateType]]]:
        """Execute a query; returns the Arrow result and (DuckDB type, CrateDB type) per column."""
        tree = tree if tree is not None else parsed.tree
        translator, sql = self.translate_query(session, parsed, params, tree)
        cursor = self.conn.cursor()
        try:
            for name, arrow in translator.registrations.items():
                cursor.register(name, arrow)
            try:
                cursor.execute(sql)
                description = cursor.description or []
                table = cursor.to_arrow_table()
            except duckdb.Error as exc:
                raise duck.crate_error(exc) from None
        finally:
            cursor.close()
        duck_types = [str(item[1]) for item in description]
        refined = translator.output_types(tree, len(duck_types))
        types = [
            (d, c if c is not None else t.duck_type_to_crate(d))
            for d, c in zip(duck_types, refined, strict=True)
        ]
        return table, types

    def translate_query(
        self, session: Session, parsed: Parsed, params: Sequence[Any] | None, tree: exp.Expr
    ) -> tuple[Translator, str]:
        """DuckDB SQL of a query with its parameter values inlined (the uncached path)."""
        normalise_identifiers(tree)
        translator = Translator(self, session.default_schema, session.user, params, parsed.cast_types)
        translator.name_outputs(tree)
        translator.resolve_tables(tree)
        translator.validate_columns(tree)
        translator.bind(tree)
        self._check_query_visibility(translator, tree)
        translator.rewrite(tree)
        return translator, tree.sql(dialect="duckdb")

    def _check_query_visibility(self, translator: Translator, tree: exp.Expr) -> None:
        """Fail or count a stale read unless the query is a Get; counts the query as a lookup or a job."""
        user_refs = translator.user_tables()
        lookup = False
        if (
            user_refs
            and len(translator.refs) == 1
            and isinstance(tree, exp.Select)
            and not tree.args.get("joins")
        ):
            ref = user_refs[0]
            where = tree.args.get("where")
            pk = tuple(encode_name(c) for c in ref.table.primary_key)
            lookup = is_pk_lookup(where, pk, {ref.alias, encode_name(ref.table.name)})
        self.stats.count("pk_lookups" if lookup else "query_jobs")
        if lookup or not user_refs:
            return
        self.tracker.check_read(
            [((r.table.schema, r.table.name), r.shown, r.table.refresh_interval_ms) for r in user_refs]
        )

    # ---- expression helpers ---------------------------------------------------------------------------
    def evaluate(
        self, session: Session, node: exp.Expr, cast_types: dict[int, CrateType], params: Sequence[Any]
    ) -> Any:
        """Value of a constant expression (functions, casts, parameters) evaluated by DuckDB."""
        tree = exp.Select(expressions=[node.copy()])
        translator = Translator(self, session.default_schema, session.user, params, cast_types)
        translator.bind(tree)
        translator.rewrite(tree)
        cursor = self.conn.cursor()
        try:
            arrow = cursor.execute(tree.sql(dialect="duckdb")).to_arrow_table()
        except duckdb.Error as exc:
            raise duck.crate_error(exc) from None
        finally:
            cursor.close()
        return results._convert_array(arrow.column(0).combine_chunks(), False)[0]

    def evaluate_constant(self, text: str, ctype: CrateType, what: str) -> Any:
        parsed = parse_statement(f"SELECT {text}")
        tree = parsed.tree
        assert isinstance(tree, exp.Select)
        normalise_identifiers(tree)
        if any(True for _ in tree.find_all(exp.Column)):
            raise errors.illegal_argument(f"Columns cannot be used in this context ({what})")
        value = self.evaluate(Session(), tree.expressions[0], parsed.cast_types, [])
        return casts.caster(ctype, self.version)(value)

    def translate_expression(self, text: str, table: Table, alias: str) -> str:
        parsed = parse_statement(f"SELECT {text}")
        tree = parsed.tree
        assert isinstance(tree, exp.Select)
        normalise_identifiers(tree)
        translator = Translator(self, DEFAULT_SCHEMA, "crate", [], parsed.cast_types)
        translator.refs = [Ref(alias, table, None, table.fqn)]
        translator.rewrite(tree)
        return tree.expressions[0].sql(dialect="duckdb")

    def evaluate_over(self, source: str, text: str, table: Table, ctype: CrateType) -> list[Any]:
        expression = self.translate_expression(text, table, "__generated")
        sql = f'SELECT ({expression}) FROM {quote_ident(source)} AS "__generated" ORDER BY "__row"'
        try:
            arrow = self.storage.writer.execute(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise duck.crate_error(exc) from None
        cast = casts.caster(ctype, self.version)
        return [cast(v) for v in results._convert_array(arrow.column(0).combine_chunks(), False)]

    # ---- SET / SHOW -----------------------------------------------------------------------------------
    def _set(self, session: Session, stmt: str, tokens: list[Token]) -> Outcome:
        stream = TokenStream(stmt, tokens)
        verb = stream.advance().value
        if verb == "reset":
            name = _setting_name(stream)
            stream.expect_end()
            if name == "search_path":
                session.default_schema = DEFAULT_SCHEMA
            session.settings.pop(name, None)
            return Outcome(rowcount=0)
        if stream.accept_word("global"):
            if not stream.accept_word("persistent"):
                stream.accept_word("transient")
            while True:
                _setting_name(stream)
                if not (stream.accept_op("=") or stream.accept_word("to")):
                    raise stream.error("'='")
                _setting_values(stream)
                if not stream.accept_op(","):
                    break
            stream.expect_end()
            return Outcome(rowcount=1)
        if stream.accept_word("session", "characteristics") or stream.accept_word("transaction"):
            return Outcome(rowcount=0)
        if not stream.accept_word("session"):
            stream.accept_word("local")
        if stream.accept_word("time", "zone"):
            _setting_values(stream)
            stream.expect_end()
            return Outcome(rowcount=0)
        name = _setting_name(stream)
        if not (stream.accept_op("=") or stream.accept_word("to")):
            raise stream.error("{'=', 'TO'}")
        values = _setting_values(stream)
        stream.expect_end()
        if name not in _KNOWN_SESSION_SETTINGS and not name.startswith("optimizer_"):
            raise errors.illegal_argument(f"Unknown session setting name '{name}'.")
        if name == "insert_select_fail_fast" and not self.version.at_least(versions.INSERT_SELECT_FAIL_FAST):
            raise errors.illegal_argument(f"Unknown session setting name '{name}'.")
        if name == "search_path":
            session.default_schema = str(values[0]) if values and values[0] != "default" else DEFAULT_SCHEMA
        value: Any = values[0] if len(values) == 1 else values
        if name in ("insert_select_fail_fast", "enable_hashjoin", "error_on_unknown_object_key"):
            value = casts.caster(CrateType(t.BOOLEAN), self.version)(value)
        session.settings[name] = value
        return Outcome(rowcount=0)

    def _show(self, session: Session, stmt: str, tokens: list[Token]) -> Outcome:
        stream = TokenStream(stmt, tokens)
        stream.advance()
        if stream.accept_word("create", "table"):
            parts = stream.qualified_name()
            stream.expect_end()
            schema, name = (parts[0], parts[1]) if len(parts) == 2 else (session.default_schema, parts[0])
            table = self.catalog.require(schema, name, ".".join(parts))
            title = f"SHOW CREATE TABLE {schema}.{name}"
            return Outcome(cols=[title], col_types=[4], rows=[[show_create_table(table)]], rowcount=1)
        if stream.accept_word("transaction", "isolation", "level") or stream.accept_word(
            "transaction_isolation"
        ):
            stream.expect_end()
            return Outcome(
                cols=["transaction_isolation"], col_types=[4], rows=[["read uncommitted"]], rowcount=1
            )
        if stream.accept_word("schemas"):
            stream.expect_end()
            names = self.catalog.schemas()
            return Outcome(
                cols=["schema_name"], col_types=[4], rows=[[n] for n in names], rowcount=len(names)
            )
        if stream.accept_word("tables"):
            only: str | None = None
            if stream.accept_word("from") or stream.accept_word("in"):
                only = stream.identifier("schema name")
            stream.expect_end()
            names = sorted(
                tbl.name for tbl in self.catalog.tables.values() if only is None or tbl.schema == only
            )
            return Outcome(cols=["table_name"], col_types=[4], rows=[[n] for n in names], rowcount=len(names))
        if stream.accept_word("columns"):
            if not (stream.accept_word("from") or stream.accept_word("in")):
                raise stream.error("{'FROM', 'IN'}")
            parts = stream.qualified_name()
            schema = parts[0] if len(parts) == 2 else session.default_schema
            if stream.accept_word("from") or stream.accept_word("in"):
                schema = stream.identifier("schema name")
            stream.expect_end()
            table = self.catalog.require(schema, parts[-1], ".".join(parts))
            rows = [[c.name, c.ctype.info_name()] for c in table.columns]
            return Outcome(cols=["column_name", "data_type"], col_types=[4, 4], rows=rows, rowcount=len(rows))
        if stream.current.kind in (IDENT, "qident") and not stream.current.is_word("all"):
            name = _setting_name(stream)
            stream.expect_end()
            if name == "search_path":
                value: Any = f"pg_catalog, {session.default_schema}"
            elif name in session.settings:
                value = session.settings[name]
            elif name == "insert_select_fail_fast":
                value = False
            elif name == "server_version":
                value = "14.0"
            else:
                raise errors.illegal_argument(f"Unknown session setting name '{name}'.")
            text = str(value).lower() if isinstance(value, bool) else str(value)
            return Outcome(cols=[name], col_types=[4], rows=[[text]], rowcount=1)
        raise errors.emulator_limit("this SHOW statement")


def _query_outcome(table: pa.Table, types: list[tuple[str, CrateType]]) -> Outcome:
    json_columns = [results.is_json_type(d, c) for d, c in types]
    rows = results.rows_from_arrow(table, json_columns)
    ctypes = [c for _, c in types]
    cols = [decode_name(name) for name in table.column_names]
    return Outcome(cols=cols, col_types=results.type_ids(ctypes), rows=rows, rowcount=len(rows))


def _setting_name(stream: TokenStream) -> str:
    parts = [stream.identifier("setting name")]
    while stream.accept_op("."):
        parts.append(stream.identifier("setting name"))
    return ".".join(parts)


def _setting_values(stream: TokenStream) -> list[Any]:
    values: list[Any] = []
    while True:
        token = stream.current
        if token.kind in ("string", IDENT, "qident"):
            stream.advance()
            values.append(token.value)
        elif token.kind == "number":
            stream.advance()
            values.append(float(token.value) if "." in token.value else int(token.value))
        else:
            raise stream.error("setting value")
        if not stream.accept_op(","):
            return values


def show_create_table(table: Table) -> str:
    lines = []
    for column in table.columns:
        text = f"   {quote_ident(column.name)} {column.ctype.sql()}"
        if column.not_null and column.name not in table.primary_key:
            text += " NOT NULL"
        if column.index_off:
            text += " INDEX OFF"
        if column.fulltext:
            text += " INDEX USING FULLTEXT WITH (\n      analyzer = 'standard'\n   )"
        if not column.columnstore:
            text += " STORAGE WITH (\n      columnstore = false\n   )"
        if column.default_sql is not None:
            text += f" DEFAULT {column.default_sql}"
        if column.generated_sql is not None:
            text += f" GENERATED ALWAYS AS {column.generated_sql}"
        lines.append(text)
    if table.primary_key:
        lines.append(f"   PRIMARY KEY ({', '.join(quote_ident(c) for c in table.primary_key)})")
    for name, text in table.checks:
        lines.append(f"   CONSTRAINT {name} CHECK({text})")
    body = ",\n".join(lines)
    sql = f"CREATE TABLE IF NOT EXISTS {quote_ident(table.schema)}.{quote_ident(table.name)} (\n{body}\n)\n"
    routing = table.clustered_by or (table.primary_key[0] if len(table.primary_key) == 1 else None)
    if routing:
        sql += f"CLUSTERED BY ({quote_ident(routing)}) INTO {table.shards} SHARDS\n"
    else:
        sql += f"CLUSTERED INTO {table.shards} SHARDS\n"
    if table.partitioned_by:
        sql += f"PARTITIONED BY ({', '.join(quote_ident(c) for c in table.partitioned_by)})\n"
    settings = []
    for key, value in sorted(table.settings.items()):
        shown = (
            f"'{value}'"
            if isinstance(value, str)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
        )
        name = f'"{key}"' if "." in key else key
        settings.append(f"   {name} = {shown}")
    sql += "WITH (\n" + ",\n".join(settings) + "\n)"
    return sql
