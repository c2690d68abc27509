"""CrateDB SQL -> DuckDB SQL for queries and DML expressions.

A token pre-pass numbers `?` placeholders and swaps CrateDB type names in casts for markers (so `FLOAT`
keeps meaning REAL); sqlglot (postgres dialect) parses the result; the `Translator` then resolves tables
against the emulator's catalog, binds parameters as typed literals (with CrateDB's implicit casts), and
rewrites what DuckDB spells differently (object subscripts, casts, session functions, UNNEST).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import orjson
import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from . import casts, errors, infoschema
from . import types as t
from .catalog import Catalog, Table, decode_name, encode_name
from .lexer import EOF, IDENT, OP, PARAM, Token, TokenStream, tokenize
from .prepared import CAST_OPERAND, COMPARED, UNTYPED, UNTYPED_PARENTS, Preparation, Uncacheable
from .types import CrateType, parse_type
from .versions import Version

TableKey = tuple[str, str]
_CTYPE_MARKER = re.compile(r"__ctype_(\d+)")


def _warm_up_sqlglot() -> None:
    """sqlglot loads dialects lazily; doing that from several request threads at once races."""
    sqlglot.parse_one("SELECT $1 FROM t WHERE x = ANY($2)", read="postgres").sql(dialect="duckdb")
    sqlglot.parse_one("SELECT 1", read="duckdb").sql(dialect="postgres")


_warm_up_sqlglot()


class EngineContext(Protocol):
    catalog: Catalog
    database: str
    version: Version

    def node_info(self) -> infoschema.NodeInfo: ...


# ---- parsing ------------------------------------------------------------------------------------------
@dataclass
class Parsed:
    tree: exp.Expr
    cast_types: dict[int, CrateType]
    param_count: int
    sql: str


def _cast_type_span(tokens: list[Token], sql: str, index: int) -> tuple[int, CrateType] | None:
    """Parse a CrateDB type starting at tokens[index]; (end index, type) or None if not a CrateDB type."""
    stream = TokenStream(sql, tokens)
    stream.index = index
    try:
        ctype = parse_type(stream)
    except errors.CrateError:
        return None
    return stream.index, ctype


# Words sqlglot's postgres tokenizer reads as keywords (`Postgres.Tokenizer.KEYWORDS`, from its Hive/MySQL/
# Snowflake heritage) that CrateDB's lexer does not know, so that CrateDB takes them as identifiers (CrateDB
# source SqlBaseLexer.g4 has no such tokens; information_schema.tables has a column `partitioned_by`,
# CrateDB source InformationTablesTableInfo.java).
SQLGLOT_ONLY_KEYWORDS = frozenset(
    {"partitioned_by", "auto_increment", "straight_join", "time_ns", "timestamp_ltz", "timestamp_ntz"}
)


def prepass(sql: str, tokens: list[Token] | None = None) -> tuple[str, dict[int, CrateType], int]:
    """Number `?` placeholders and replace cast target types by `__ctype_N` markers."""
    tokens = tokens if tokens is not None else tokenize(sql)
    pieces: list[str] = []
    cast_types: dict[int, CrateType] = {}
    last = 0
    counter = 0
    max_param = 0
    cast_depths: list[int] = []  # paren depth of open CAST( calls
    depth = 0
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.kind == EOF:
            break
        if token.kind == PARAM:
            # Spaces around `$n`: sqlglot would read `$1,$2` as the start of a dollar-quoted string.
            if token.value == "?":
                counter += 1
                number = counter
            else:
                number = int(token.value[1:])
            max_param = max(max_param, number)
            pieces.append(sql[last : token.start])
            pieces.append(f" ${number} ")
            last = token.end
            index += 1
            continue
        if token.kind == IDENT and token.value in SQLGLOT_ONLY_KEYWORDS:
            # A plain identifier in CrateDB (e.g. information_schema.tables.partitioned_by) that sqlglot's
            # tokenizer takes for a keyword: quoted, it means the same column to both.
            pieces.append(sql[last : token.start])
            pieces.append(f'"{token.value}"')
            last = token.end
            index += 1
            continue
        if token.kind == OP and token.value == "(":
            depth += 1
        elif token.kind == OP and token.value == ")":
            if cast_depths and cast_depths[-1] == depth:
                cast_depths.pop()
            depth -= 1
        if token.kind == IDENT and token.value in ("cast", "try_cast") and tokens[index + 1].is_op("("):
            cast_depths.append(depth + 1)
        type_start = None
        if (token.kind == OP and token.value == "::") or (
            token.kind == IDENT and token.value == "as" and cast_depths and cast_depths[-1] == depth
        ):
            type_start = index + 1
        if type_start is not None:
            span = _cast_type_span(tokens, sql, type_start)
            if span is not None:
                end, ctype = span
                marker = len(cast_types)
                cast_types[marker] = ctype
                pieces.append(sql[last : tokens[type_start].start])
                pieces.append(f"__ctype_{marker}")
                last = tokens[end - 1].end
                index = end
                continue
        index += 1
    pieces.append(sql[last:])
    return "".join(pieces), cast_types, max_param


def parse_statement(sql: str, tokens: list[Token] | None = None) -> Parsed:
    text, cast_types, params = prepass(sql, tokens)
    try:
        trees = sqlglot.parse(text, read="postgres")
    except (ParseError, TokenError) as exc:
        raise _parse_error(sql, exc) from None
    trees = [tree for tree in trees if tree is not None]
    if len(trees) != 1:
        raise errors.parse_error("Only a single statement is allowed in one request")
    tree = trees[0]
    assert tree is not None
    if isinstance(tree, exp.Command):
        raise errors.syntax_error(1, 1, f"no viable alternative at input '{sql.strip()[:40]}'")
    return Parsed(tree, cast_types, params, sql)


def _parse_error(sql: str, exc: Exception) -> errors.CrateError:
    details = getattr(exc, "errors", None) or []
    if details:
        first = details[0]
        line = first.get("line") or 1
        column = first.get("col") or 1
        token = first.get("highlight") or ""
        return errors.syntax_error(line, column, f"mismatched input '{token}' ({first.get('description')})")
    return errors.syntax_error(1, 1, str(exc).splitlines()[0])


# ---- literals -----------------------------------------------------------------------------------------
def raw_literal(value: Any) -> exp.Expr:
    """A SQL literal for a JSON value with no column type to guide it."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return exp.cast(exp.Literal.string(repr(value)), "DOUBLE")
        return exp.Literal.number(repr(value))
    if isinstance(value, Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, (list, tuple)):
        return exp.Array(expressions=[raw_literal(v) for v in value])
    if isinstance(value, dict):
        return exp.cast(exp.Literal.string(orjson.dumps(value).decode()), "JSON")
    return exp.Literal.string(str(value))


def _duck_type(ctype: CrateType) -> exp.DataType:
    return exp.DataType.build(ctype.duck(), dialect="duckdb")


def typed_literal(storage: Any, ctype: CrateType) -> exp.Expr:
    """A SQL literal for a storage value produced by the cast layer."""
    if storage is None:
        return exp.cast(exp.Null(), _duck_type(ctype)) if ctype.kind != t.UNDEFINED else exp.Null()
    kind = ctype.kind
    if kind in t.TIMESTAMP_KINDS:
        call = exp.Anonymous(this="make_timestamp_ms", expressions=[exp.Literal.number(storage)])
        return exp.cast(call, "TIMESTAMPTZ") if kind == t.TIMESTAMPTZ else call
    if kind == t.DATE:
        epoch = exp.cast(exp.Literal.string("1970-01-01"), "DATE")
        return exp.cast(exp.Add(this=epoch, expression=exp.Literal.number(storage)), "DATE")
    if kind == t.NUMERIC:
        return exp.cast(exp.Literal.string(str(storage)), _duck_type(ctype))
    if kind in (t.OBJECT, t.GEO_SHAPE) or (kind == t.ARRAY and ctype.inner and ctype.inner.kind == t.OBJECT):
        return exp.cast(exp.Literal.string(storage), "JSON")
    if kind == t.REAL:
        return exp.cast(raw_literal(storage), "FLOAT")
    if kind == t.DOUBLE:
        return exp.cast(raw_literal(storage), "DOUBLE")
    if kind == t.ARRAY:
        assert ctype.inner is not None
        inner = ctype.inner
        items = [typed_literal(v, inner) if v is not None else exp.Null() for v in storage]
        return exp.cast(exp.Array(expressions=items), _duck_type(ctype))
    if kind in (t.GEO_POINT, t.FLOAT_VECTOR):
        return exp.cast(exp.Array(expressions=[raw_literal(v) for v in storage]), _duck_type(ctype))
    if kind in (t.SMALLINT, t.BYTE, t.INTEGER, t.BIGINT):
        return exp.cast(exp.Literal.number(storage), _duck_type(ctype))
    return raw_literal(storage)


# ---- translation --------------------------------------------------------------------------------------
@dataclass
class Ref:
    alias: str
    table: Table
    key: TableKey | None  # None for information_schema / sys
    shown: str


_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ)


def normalise_identifiers(tree: exp.Expr) -> None:
    """Unquoted identifiers fold to lower case (CrateDB); then every identifier is quoted and encoded for
    DuckDB (see `catalog.encode_name`). Code reading names from the tree decodes them."""
    for identifier in tree.find_all(exp.Identifier):
        text = identifier.this if identifier.quoted else identifier.this.lower()
        identifier.set("this", encode_name(text))
        identifier.set("quoted", True)


@dataclass
class Translator:
    ctx: EngineContext
    schema: str
    user: str
    params: Sequence[Any] | None
    cast_types: dict[int, CrateType]
    param_count: int = 0
    refs: list[Ref] = field(default_factory=list)
    registrations: dict[str, pa.Table] = field(default_factory=dict)
    select_aliases: set[str] = field(default_factory=set)
    # Set while translating once for many executions: parameters become slots (see prepared.py).
    preparation: Preparation | None = None

    # -- tables ---------------------------------------------------------------------------------------
    def resolve_tables(self, tree: exp.Expr) -> None:
        cte_names = {cte.alias for cte in tree.find_all(exp.CTE)}
        for node in list(tree.find_all(exp.Table)):
            if not isinstance(node.this, exp.Identifier):
                continue
            if not node.db and node.name in cte_names:
                continue
            self.resolve_table(node)
        by_key = {ref.key: ref for ref in self.refs if ref.key is not None}
        for column in tree.find_all(exp.Column):
            if column.args.get("db") is not None:
                ref = by_key.get((decode_name(column.db), decode_name(column.table)))
                if ref is not None:
                    column.set("db", None)
                    column.set("catalog", None)
                    column.set("table", exp.to_identifier(ref.alias, quoted=True))
        for unnest in list(tree.find_all(exp.Unnest)):
            if isinstance(unnest.parent, (exp.From, exp.Join)):
                self._rewrite_unnest(unnest)

    def resolve_table(self, node: exp.Table) -> Ref:
        name = decode_name(node.name)
        schema = decode_name(node.db) if node.db else None
        shown = f"{schema}.{name}" if schema else name
        resolved_schema = schema or self.schema
        alias = node.alias or encode_name(name)
        virtual = infoschema.lookup(resolved_schema, name)
        if virtual is not None:
            view = f"__emulator_{resolved_schema}_{name}"
            if self.preparation is not None:
                self.preparation.virtuals[view] = virtual  # a fresh snapshot for every execution
            elif view not in self.registrations:
                self.registrations[view] = infoschema.arrow_table(
                    virtual, self.ctx.catalog, self.ctx.node_info()
                )
            node.set("this", exp.to_identifier(view, quoted=True))
            node.set("db", None)
            node.set("catalog", None)
            ref = Ref(alias, virtual.table, None, shown)
        else:
            if resolved_schema in ("information_schema", "sys", "pg_catalog"):
                raise errors.relation_unknown(shown)
            table = self.ctx.catalog.require(resolved_schema, name, shown)
            node.set("this", exp.to_identifier(encode_name(table.name), quoted=True))
            node.set("db", exp.to_identifier(encode_name(table.schema), quoted=True))
            node.set("catalog", exp.to_identifier(self.ctx.database, quoted=True))
            ref = Ref(alias, table, (table.schema, table.name), shown)
        if not node.alias:
            node.set("alias", exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))
        self.refs.append(ref)
        return ref

    def _rewrite_unnest(self, unnest: exp.Unnest) -> None:
        items = [
            exp.alias_(exp.Anonymous(this="unnest", expressions=[arg.copy()]), f"col{i}", quoted=True)
            for i, arg in enumerate(unnest.expressions, start=1)
        ]
        alias = unnest.args.get("alias")
        subquery = exp.Subquery(this=exp.Select(expressions=items))
        alias_name = alias.name if alias is not None and alias.name else "unnest"
        subquery.set("alias", exp.TableAlias(this=exp.to_identifier(alias_name, quoted=True)))
        unnest.replace(subquery)

    def user_tables(self) -> list[Ref]:
        return [ref for ref in self.refs if ref.key is not None]

    # -- columns --------------------------------------------------------------------------------------
    def ref_for(self, qualifier: str) -> Ref | None:
        for ref in self.refs:
            if ref.alias == qualifier:
                return ref
        return None

    def column_type(self, node: exp.Expr) -> CrateType | None:
        while isinstance(node, exp.Paren):
            node = node.this
        if not isinstance(node, exp.Column):
            return None
        qualifier = node.table
        name = decode_name(node.name)
        candidates = [self.ref_for(qualifier)] if qualifier else self.refs
        found = None
        for ref in candidates:
            if ref is None:
                continue
            column = ref.table.column(name)
            if column is not None:
                if found is not None and not qualifier:
                    return None
                found = column.ctype
        return found

    def validate_columns(self, tree: exp.Expr, extra_qualifiers: tuple[str, ...] = ()) -> None:
        """Unknown columns fail like CrateDB (case-sensitive) for simple statements."""
        if any(True for _ in tree.find_all(exp.Subquery, exp.CTE, exp.Lateral)):
            return
        if any(node is not tree for node in tree.find_all(exp.Select)):
            return
        aliases = {a.alias for a in tree.find_all(exp.Alias)}
        for column in tree.find_all(exp.Column):
            if isinstance(column.this, exp.Star):
                continue
            qualifier = column.table
            if qualifier in extra_qualifiers:
                continue
            if column.name in aliases:
                continue
            name = decode_name(column.name)
            if qualifier:
                ref = self.ref_for(qualifier)
                if ref is None:
                    continue
                if ref.table.column(name) is None:
                    raise errors.column_unknown(name)
                continue
            known = any(ref.table.column(name) is not None for ref in self.refs)
            if not known and (self.refs or not aliases):
                raise errors.column_unknown(name)

    # -- parameters and literals -----------------------------------------------------------------------
    def param_value(self, node: exp.Parameter) -> Any:
        index = int(node.name) - 1
        params = self.params or []
        if index < 0 or index >= len(params):
            raise errors.parse_error(
                f"The query contains a parameter placeholder ${index + 1}, but there are only {len(params)} "
                "parameter values"
            )
        return params[index]

    def context_type(self, node: exp.Expr) -> CrateType | None:
        """Column type a constant is compared with or assigned to."""
        parent = node.parent
        while isinstance(parent, exp.Paren):
            node, parent = parent, parent.parent
        if isinstance(parent, _COMPARISONS):
            other = parent.right if parent.left is node else parent.left
            return self.column_type(other)
        if isinstance(parent, exp.In) and node is not parent.this:
            return self.column_type(parent.this)
        if isinstance(parent, exp.Between) and node is not parent.this:
            return self.column_type(parent.this)
        if isinstance(parent, exp.Any) and isinstance(parent.parent, _COMPARISONS):
            comparison = parent.parent
            other = comparison.right if comparison.left is parent else comparison.left
            inner = self.column_type(other)
            return t.array_of(inner) if inner is not None else None
        return None

    def bind(self, tree: exp.Expr) -> None:
        """Replace parameters by literals; coerce constants compared with typed columns."""
        for parameter in list(tree.find_all(exp.Parameter)):
            if self.preparation is not None:
                self._prepare_parameter(parameter)
                continue
            parameter.replace(self.coerced(self.param_value(parameter), self.context_type(parameter)))
        for literal in list(tree.find_all(exp.Literal)):
            if isinstance(literal.parent, (exp.Cast, exp.Bracket)) or literal.parent is None:
                continue
            target = self.context_type(literal)
            if target is None or target.kind not in (*t.TIMESTAMP_KINDS, t.DATE, t.BOOLEAN):
                continue
            value: Any = literal.this if literal.is_string else _number(literal.this)
            literal.replace(self.coerced(value, target))

    def _prepare_parameter(self, parameter: exp.Parameter) -> None:
        """Typed and plain parameters become slots; a cast operand is left to _rewrite_cast."""
        assert self.preparation is not None
        index = int(parameter.name) - 1
        target = self.context_type(parameter)
        if target is not None:
            parameter.replace(self.preparation.slot(index, target, COMPARED))
            return
        parent = parameter.parent
        if (
            isinstance(parent, exp.Cast)
            and parent.this is parameter
            and self._cast_marker(parent) is not None
        ):
            return
        if not isinstance(parent, UNTYPED_PARENTS):
            raise Uncacheable(f"a parameter inside {type(parent).__name__}")
        parameter.replace(self.preparation.slot(index, None, UNTYPED))

    def coerced(self, value: Any, target: CrateType | None) -> exp.Expr:
        if target is None or value is None:
            return raw_literal(value)
        try:
            storage = casts.caster(target, self.ctx.version)(value)
        except errors.CrateError:
            return raw_literal(value)
        return typed_literal(storage, target)

    # -- expressions -----------------------------------------------------------------------------------
    def rewrite(self, tree: exp.Expr) -> None:
        session_values = {
            exp.CurrentSchema: self.schema,
            exp.CurrentUser: self.user,
            exp.SessionUser: self.user,
            exp.CurrentDatabase: "crate",
            exp.CurrentVersion: f"CrateDB {self.ctx.version}",
        }
        for kind, text in session_values.items():
            for function in list(tree.find_all(kind)):
                function.replace(exp.Literal.string(text))
        for struct in list(tree.find_all(exp.Struct)):
            struct.replace(self._object_literal(struct))
        for call in list(tree.find_all(exp.Format)):
            call.replace(_printf(call))
        for bracket in list(tree.find_all(exp.Bracket)):
            parent = bracket.parent
            if isinstance(parent, exp.Bracket) and parent.this is bracket:
                continue  # handled from the outermost subscript
            self._rewrite_subscript(bracket)
        for cast in list(tree.find_all(exp.Cast, exp.TryCast)):
            self._rewrite_cast(cast)
        for comparison in list(tree.find_all(exp.EQ, exp.NEQ)):
            _compare_untyped_with_text(comparison)
        for literal in list(tree.find_all(exp.Literal)):
            # CrateDB types 1.5 as DOUBLE PRECISION; DuckDB would make it a DECIMAL.
            if (
                not literal.is_string
                and any(c in literal.this for c in ".eE")
                and not isinstance(literal.parent, exp.Cast)
            ):
                literal.replace(exp.cast(literal.copy(), "DOUBLE"))
        self._guard_nan(tree)

    def _guard_nan(self, tree: exp.Expr) -> None:
        """NaN sorts above +Infinity in DuckDB but CrateDB's range queries never match it."""
        for node in list(tree.find_all(exp.GT, exp.GTE, exp.LT, exp.LTE)):
            greater = node.left if isinstance(node, (exp.GT, exp.GTE)) else node.right
            ctype = self.column_type(greater)
            if ctype is None or ctype.kind not in t.FLOAT_KINDS:
                continue
            guard = exp.Not(this=exp.Anonymous(this="isnan", expressions=[greater.copy()]))
            node.replace(exp.Paren(this=exp.And(this=node.copy(), expression=guard)))

    def _object_literal(self, node: exp.Struct) -> exp.Expr:
        args: list[exp.Expr] = []
        for item in node.expressions:
            if isinstance(item, (exp.PropertyEQ, exp.EQ)):
                args.append(exp.Literal.string(decode_name(item.this.name)))
                args.append(item.expression)
            else:
                return node
        return exp.Anonymous(this="json_object", expressions=args)

    def _rewrite_subscript(self, node: exp.Bracket) -> None:
        keys: list[str] = []
        base: exp.Expr = node
        while isinstance(base, exp.Bracket):
            index = base.expressions[0] if base.expressions else None
            if not isinstance(index, exp.Literal) or not index.is_string:
                return
            keys.insert(0, index.this)
            base = base.this
        ctype = self.column_type(base)
        if ctype is None or ctype.kind != t.OBJECT:
            return
        assert isinstance(base, exp.Column)
        sub_type = self._subcolumn_type(base, ctype, keys)
        path = "$" + "".join('."' + key.replace('"', '\\"') + '"' for key in keys)
        if sub_type is None or sub_type.kind in (t.OBJECT, t.ARRAY, t.GEO_SHAPE, t.GEO_POINT):
            replacement: exp.Expr = exp.Anonymous(
                this="json_extract", expressions=[base.copy(), exp.Literal.string(path)]
            )
        else:
            text = exp.Anonymous(
                this="json_extract_string", expressions=[base.copy(), exp.Literal.string(path)]
            )
            if sub_type.kind in t.TIMESTAMP_KINDS:
                call = exp.Anonymous(this="make_timestamp_ms", expressions=[exp.cast(text, "BIGINT")])
                replacement = exp.cast(call, "TIMESTAMPTZ") if sub_type.kind == t.TIMESTAMPTZ else call
            else:
                replacement = exp.cast(text, _duck_type(sub_type))
        if sub_type is None:
            replacement.meta["crate_type"] = CrateType(t.UNDEFINED)
        node.replace(replacement)

    def _subcolumn_type(self, column: exp.Column, ctype: CrateType, keys: list[str]) -> CrateType | None:
        current: CrateType | None = ctype
        for key in keys:
            if current is None or current.kind != t.OBJECT:
                current = None
                break
            current = dict(current.fields).get(key)
        if current is not None:
            return current
        ref = self.ref_for(column.table) if column.table else None
        refs = [ref] if ref else self.refs
        column_name = decode_name(column.name)
        path = column_name + "".join(f"['{key}']" for key in keys)
        if self.preparation is not None:
            raise Uncacheable("object sub-column types are learnt while rows arrive")
        for candidate in refs:
            state = candidate.table.objects.get(column_name)
            if state is not None and path in state.known:
                return state.known[path]
        return None

    @staticmethod
    def _cast_marker(node: exp.Expr) -> int | None:
        """Index into cast_types when `node` casts to a CrateDB type (see prepass)."""
        to = node.args.get("to")
        if not isinstance(to, exp.DataType) or to.this != exp.DataType.Type.USERDEFINED:
            return None
        marker = _CTYPE_MARKER.fullmatch(to.name or str(to.args.get("kind", "")))
        kind_arg = to.args.get("kind")
        if marker is None and isinstance(kind_arg, exp.Identifier):
            marker = _CTYPE_MARKER.fullmatch(kind_arg.name)
        return int(marker.group(1)) if marker is not None else None

    def _rewrite_cast(self, node: exp.Expr) -> None:
        marker = self._cast_marker(node)
        if marker is None:
            return
        target = self.cast_types[marker]
        operand = node.this
        if self.preparation is not None and isinstance(operand, exp.Parameter):
            if isinstance(node, exp.TryCast):
                raise Uncacheable("TRY_CAST of a parameter")
            slot = self.preparation.slot(int(operand.name) - 1, target, CAST_OPERAND)
            self._replace_typed(node, slot, target)
            return
        source = self.column_type(operand)
        node.meta["crate_type"] = target
        if isinstance(operand, exp.Literal) or _is_typed_literal(operand) or _is_constant_array(operand):
            value = _literal_value(operand)
            try:
                storage = casts.caster(target, self.ctx.version)(value)
            except errors.CrateError:
                if isinstance(node, exp.TryCast):
                    node.replace(exp.Null())
                    return
                raise
            self._replace_typed(node, typed_literal(storage, target), target)
            return
        if (
            target.kind in t.TIMESTAMP_KINDS
            and source is not None
            and source.kind
            in (
                *t.INTEGER_KINDS,
                t.NUMERIC,
            )
        ):
            call = exp.Anonymous(this="make_timestamp_ms", expressions=[exp.cast(operand.copy(), "BIGINT")])
            self._replace_typed(
                node, exp.cast(call, "TIMESTAMPTZ") if target.kind == t.TIMESTAMPTZ else call, target
            )
            return
        if target.kind in t.INTEGER_KINDS and source is not None and source.kind in t.TIMESTAMP_KINDS:
            call = exp.Anonymous(this="epoch_ms", expressions=[operand.copy()])
            self._replace_typed(node, exp.cast(call, _duck_type(target)), target)
            return
        if target.is_text() and source is not None and source.kind in t.TIMESTAMP_KINDS:
            fmt = "%Y-%m-%dT%H:%M:%S.%g" + ("Z" if source.kind == t.TIMESTAMPTZ else "")
            call = exp.Anonymous(this="strftime", expressions=[operand.copy(), exp.Literal.string(fmt)])
            self._replace_typed(node, call, target)
            return
        if target.is_text() and source is not None and source.kind in (t.OBJECT, t.GEO_SHAPE):
            self._replace_typed(node, exp.cast(operand.copy(), "VARCHAR"), target)
            return
        if target.is_text() and isinstance(operand, exp.Anonymous) and operand.name == "json_extract":
            self._replace_typed(node, _json_value_as_text(operand), target)
            return
        try:
            duck = _duck_type(target)
        except errors.CrateError:
            duck = exp.DataType.build("VARCHAR")
            if target.kind == t.INTERVAL:
                duck = exp.DataType.build("INTERVAL")
        node.set("to", duck)

    @staticmethod
    def _replace_typed(node: exp.Expr, replacement: exp.Expr, target: CrateType) -> None:
        replacement.meta["crate_type"] = target
        node.replace(replacement)

    # -- output ---------------------------------------------------------------------------------------
    def name_outputs(self, tree: exp.Expr) -> None:
        """Give computed select items CrateDB-like names (before parameters are bound)."""
        select = tree if isinstance(tree, exp.Select) else None
        if select is None:
            return
        for item in list(select.expressions):
            if isinstance(item, (exp.Alias, exp.Column, exp.Star)):
                if isinstance(item, exp.Alias):
                    self.select_aliases.add(item.alias)
                continue
            if isinstance(item, exp.Bracket) and all(
                isinstance(b.expressions[0], exp.Literal) and b.expressions[0].is_string
                for b in item.find_all(exp.Bracket)
                if b.expressions
            ):
                name = self._subscript_name(item)
            else:
                name = self._display(item)
            item.replace(exp.alias_(item.copy(), encode_name(name), quoted=True))

    def _subscript_name(self, node: exp.Bracket) -> str:
        keys: list[str] = []
        base: exp.Expr = node
        while isinstance(base, exp.Bracket):
            index = base.expressions[0] if base.expressions else None
            keys.insert(0, index.sql(dialect="postgres") if index is not None else "")
            base = base.this
        return self._display(base) + "".join(f"[{k}]" for k in keys)

    def _display(self, node: exp.Expr) -> str:
        node = node.copy()
        for identifier in node.find_all(exp.Identifier):
            identifier.set("this", decode_name(identifier.this))
        text = node.sql(dialect="postgres", normalize_functions="lower", identify=False)

        def marker(match: re.Match[str]) -> str:
            return self.cast_types[int(match.group(1))].sql().lower()

        text = _CTYPE_MARKER.sub(marker, text)
        return text.replace('"', "")

    def output_types(self, tree: exp.Expr, count: int) -> list[CrateType | None]:
        """CrateDB type per result column where the statement says more than DuckDB's type."""
        known = self.select_types(tree)
        if known is None or len(known) != count:
            return [None] * count
        return known

    def select_types(self, tree: exp.Expr) -> list[CrateType | None] | None:
        """output_types before the column count is known (None: no types to add)."""
        select = tree if isinstance(tree, exp.Select) else None
        if select is None:
            return None
        result: list[CrateType | None] = []
        for item in select.expressions:
            if isinstance(item, exp.Star) or (
                isinstance(item, exp.Column) and isinstance(item.this, exp.Star)
            ):
                qualifier = item.table if isinstance(item, exp.Column) else ""
                refs = [self.ref_for(qualifier)] if qualifier else self.refs
                for ref in refs:
                    if ref is None:
                        return None
                    result.extend(c.ctype for c in ref.table.columns)
                if not refs:
                    return None
                continue
            inner = item.this if isinstance(item, exp.Alias) else item
            if "crate_type" in inner.meta:
                result.append(inner.meta["crate_type"])
            elif isinstance(inner, exp.Null):
                result.append(CrateType(t.UNDEFINED))
            else:
                result.append(self.column_type(inner))
        return result


def _compare_untyped_with_text(node: exp.Expr) -> None:
    """`o['k'] = 'text'` where `o['k']` is an untyped key of an IGNORED object: CrateDB compares the
    runtime value with the text (CrateDB docs general/ddl/data-types "IGNORED": filters on such keys are
    value lookups); DuckDB would parse the text as JSON."""
    for side, other in (("this", "expression"), ("expression", "this")):
        operand, against = node.args.get(side), node.args.get(other)
        untyped = operand is not None and operand.meta.get("crate_type") == CrateType(t.UNDEFINED)
        if untyped and operand is not None and isinstance(against, exp.Literal) and against.is_string:
            node.set(side, _json_value_as_text(operand))
            return


def _json_value_as_text(extracted: exp.Expr) -> exp.Expr:
    """CAST(<object subscript> AS TEXT) when the sub-value is JSON in DuckDB (an IGNORED object's
    untyped key, an object or an array): CrateDB casts the runtime value, so a string stays itself
    (CrateDB source StringType.java: a String is returned as is), JSON null is NULL, objects and arrays
    become JSON text and numbers and booleans their text."""
    kind = exp.Anonymous(this="json_type", expressions=[extracted.copy()])
    as_string = exp.Anonymous(
        this="json_extract_string", expressions=[extracted.copy(), exp.Literal.string("$")]
    )
    return exp.Case(
        ifs=[
            exp.If(this=exp.EQ(this=kind, expression=exp.Literal.string("VARCHAR")), true=as_string),
            exp.If(this=exp.EQ(this=kind.copy(), expression=exp.Literal.string("NULL")), true=exp.Null()),
        ],
        default=exp.cast(extracted.copy(), "VARCHAR"),
    )


def _printf(node: exp.Format) -> exp.Expr:
    """CrateDB's format() is Java's String.format; DuckDB's printf needs strings for %s."""
    pattern = node.this
    arguments = list(node.expressions)
    text = pattern.this if isinstance(pattern, exp.Literal) and pattern.is_string else ""
    if text and not re.search(r"%(?!s|%|n)", text):
        arguments = [exp.cast(arg.copy(), "VARCHAR") for arg in arguments]
    return exp.Anonymous(this="printf", expressions=[pattern.copy(), *[a.copy() for a in arguments]])


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _is_typed_literal(node: exp.Expr) -> bool:
    return isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string


def _is_constant_array(node: exp.Expr) -> bool:
    return isinstance(node, exp.Array) and all(
        isinstance(item, (exp.Literal, exp.Null)) or _is_typed_literal(item) for item in node.expressions
    )


def _literal_value(node: exp.Expr) -> Any:
    if isinstance(node, exp.Array):
        return [None if isinstance(item, exp.Null) else _literal_value(item) for item in node.expressions]
    if isinstance(node, exp.Neg):
        value = _literal_value(node.this)
        return -value
    assert isinstance(node, exp.Literal)
    return node.this if node.is_string else _number(node.this)
