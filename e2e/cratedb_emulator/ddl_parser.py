"""Parsers for CrateDB statements sqlglot does not understand: CREATE/DROP/ALTER TABLE, schemas, SWAP TABLE,
REFRESH and OPTIMIZE. They produce plain dataclasses; `ddl.py` applies them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import errors
from .lexer import EOF, IDENT, NUMBER, OP, QIDENT, STRING, Token, TokenStream, join_text
from .types import CrateType, parse_type

# Words that end a DEFAULT / CHECK / GENERATED expression inside a column definition.
_CONSTRAINT_WORDS = ("primary", "index", "storage", "constraint", "check", "generated", "default")


@dataclass(frozen=True)
class Name:
    schema: str | None
    name: str
    shown: str  # as written, for error messages

    def resolve(self, default_schema: str) -> tuple[str, str]:
        return (self.schema or default_schema, self.name)


@dataclass
class ColumnDef:
    name: str
    ctype: CrateType | None
    not_null: bool = False
    primary_key: bool = False
    default_sql: str | None = None
    generated_sql: str | None = None
    index_off: bool = False
    fulltext: bool = False
    columnstore: bool = True
    checks: list[tuple[str | None, str]] = field(default_factory=list)


@dataclass
class CreateTable:
    name: Name
    if_not_exists: bool
    columns: list[ColumnDef] = field(default_factory=list)
    primary_key: list[str] = field(default_factory=list)
    clustered_by: str | None = None
    shards: int | None = None
    partitioned_by: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    checks: list[tuple[str | None, str]] = field(default_factory=list)
    as_query: str | None = None
    like: Name | None = None


@dataclass
class CreateSchema:
    name: str
    if_not_exists: bool


@dataclass
class DropSchema:
    names: list[str]
    if_exists: bool
    cascade: bool


@dataclass
class DropTable:
    name: Name
    if_exists: bool


@dataclass
class AlterTable:
    name: Name
    action: str  # set | reset | add | drop | rename_columns | rename_table | set_default | drop_default
    settings: dict[str, Any] = field(default_factory=dict)
    reset: list[str] = field(default_factory=list)
    add: list[ColumnDef] = field(default_factory=list)
    drop: list[tuple[str, bool]] = field(default_factory=list)  # (column, if_exists)
    renames: list[tuple[str, str]] = field(default_factory=list)
    new_name: Name | None = None
    column: str | None = None
    default_sql: str | None = None
    constraint: str | None = None


@dataclass
class SwapTable:
    source: Name
    target: Name
    drop_source: bool


@dataclass
class TableList:
    """REFRESH TABLE / OPTIMIZE TABLE."""

    verb: str
    names: list[Name]


def _name(stream: TokenStream) -> Name:
    start = stream.current
    parts = stream.qualified_name()
    shown = join_text(stream.sql, stream.tokens[stream.tokens.index(start) : stream.index])
    if len(parts) == 1:
        return Name(None, parts[0], parts[0])
    if len(parts) == 2:
        return Name(parts[0], parts[1], f"{parts[0]}.{parts[1]}")
    raise errors.parse_error(f"Invalid table name: {shown}")


def _literal(stream: TokenStream) -> Any:
    token = stream.current
    negative = False
    if token.is_op("-") or token.is_op("+"):
        negative = token.value == "-"
        stream.advance()
        token = stream.current
    if token.kind == NUMBER:
        stream.advance()
        number: Any = float(token.value) if any(c in token.value for c in ".eE") else int(token.value)
        return -number if negative else number
    if token.kind == STRING:
        stream.advance()
        return token.value
    if token.kind == IDENT and token.value in ("true", "false"):
        stream.advance()
        return token.value == "true"
    if token.kind == IDENT and token.value == "null":
        stream.advance()
        return None
    if token.kind in (IDENT, QIDENT):
        stream.advance()
        return token.value
    raise stream.error("literal")


def _setting_name(stream: TokenStream) -> str:
    parts = [stream.identifier("setting name")]
    while stream.accept_op("."):
        parts.append(stream.identifier("setting name"))
    return ".".join(parts)


def parse_properties(stream: TokenStream) -> dict[str, Any]:
    """`(name = value, ...)` after WITH / SET."""
    stream.expect_op("(")
    result: dict[str, Any] = {}
    while True:
        key = _setting_name(stream)
        stream.expect_op("=")
        result[key] = _literal(stream)
        if not stream.accept_op(","):
            break
    stream.expect_op(")")
    return result


def _identifier_list(stream: TokenStream) -> list[str]:
    stream.expect_op("(")
    names = [stream.identifier("column name")]
    while stream.accept_op(","):
        names.append(stream.identifier("column name"))
    stream.expect_op(")")
    return names


def _expression_text(stream: TokenStream) -> str:
    """Source text of an expression ending before a constraint keyword, ',' or ')' at depth 0."""
    taken: list[Token] = []
    depth = 0
    while True:
        token = stream.current
        if token.kind == EOF:
            break
        if token.kind == OP:
            if token.value in ("(", "[", "{"):
                depth += 1
            elif token.value in (")", "]", "}"):
                if depth == 0:
                    break
                depth -= 1
            elif token.value == "," and depth == 0:
                break
        if depth == 0 and token.kind == IDENT and taken:
            if token.value in _CONSTRAINT_WORDS:
                break
            if token.value == "not" and stream.peek().is_word("null"):
                break
            if token.value == "null" and not taken[-1].is_word("is", "not"):
                break
        taken.append(stream.advance())
    if not taken:
        raise stream.error("expression")
    return join_text(stream.sql, taken)


def _check(stream: TokenStream, name: str | None) -> tuple[str | None, str]:
    stream.expect_word("check")
    stream.expect_op("(")
    text = join_text(stream.sql, stream.skip_balanced())
    stream.expect_op(")")
    return (name, text)


def parse_column_def(stream: TokenStream) -> ColumnDef:
    name = stream.identifier("column name")
    ctype: CrateType | None = None
    current = stream.current
    if not (current.is_word("generated", "as") or current.is_op(",", ")")):
        ctype = parse_type(stream)
    column = ColumnDef(name=name, ctype=ctype)
    while True:
        token = stream.current
        if token.is_word("primary"):
            stream.expect_word("primary", "key")
            column.primary_key = True
        elif token.is_word("not"):
            stream.expect_word("not", "null")
            column.not_null = True
        elif token.is_word("null"):
            stream.advance()
        elif token.is_word("default"):
            stream.advance()
            column.default_sql = _expression_text(stream)
        elif token.is_word("generated") or token.is_word("as"):
            if stream.accept_word("generated"):
                stream.expect_word("always")
            stream.expect_word("as")
            column.generated_sql = _expression_text(stream)
        elif token.is_word("index"):
            stream.advance()
            if stream.accept_word("off"):
                column.index_off = True
            else:
                stream.expect_word("using")
                method = stream.identifier("index method")
                if method == "fulltext":
                    column.fulltext = True
                elif method != "plain":
                    raise errors.parse_error(f"Invalid index method: {method}")
                if stream.accept_word("with"):
                    parse_properties(stream)
        elif token.is_word("storage"):
            stream.expect_word("storage", "with")
            for key, value in parse_properties(stream).items():
                if key != "columnstore":
                    raise errors.illegal_argument(f"Invalid STORAGE WITH option `{key}`")
                column.columnstore = bool(value) and str(value).lower() != "false"
        elif token.is_word("constraint"):
            stream.advance()
            constraint_name = stream.identifier("constraint name")
            column.checks.append(_check(stream, constraint_name))
        elif token.is_word("check"):
            column.checks.append(_check(stream, None))
        else:
            return column


def _create_table(stream: TokenStream) -> CreateTable:
    if_not_exists = stream.accept_word("if", "not", "exists")
    name = _name(stream)
    create = CreateTable(name=name, if_not_exists=if_not_exists)
    if stream.accept_word("as"):
        create.as_query = _rest(stream)
        return create
    stream.expect_op("(")
    if stream.current.is_word("like"):
        stream.advance()
        create.like = _name(stream)
        while stream.accept_word("including") or stream.accept_word("excluding"):
            if stream.current.kind not in (IDENT, QIDENT):
                raise stream.error("LIKE option")
            stream.advance()
        stream.expect_op(")")
        stream.expect_end()
        return create
    while True:
        token = stream.current
        if token.is_word("primary") and stream.peek().is_word("key"):
            stream.advance()
            stream.advance()
            create.primary_key.extend(_identifier_list(stream))
        elif token.is_word("constraint"):
            stream.advance()
            constraint_name = stream.identifier("constraint name")
            if stream.accept_word("primary", "key"):
                create.primary_key.extend(_identifier_list(stream))
            else:
                create.checks.append(_check(stream, constraint_name))
        elif token.is_word("check"):
            create.checks.append(_check(stream, None))
        elif (
            token.is_word("index")
            and stream.peek().kind in (IDENT, QIDENT)
            and stream.peek(2).is_word("using")
        ):
            stream.advance()
            stream.identifier()
            stream.expect_word("using")
            stream.identifier("index method")
            _identifier_list(stream)
            if stream.accept_word("with"):
                parse_properties(stream)
        else:
            create.columns.append(parse_column_def(stream))
        if not stream.accept_op(","):
            break
    stream.expect_op(")")
    while not stream.at_end():
        if stream.accept_word("partitioned", "by"):
            create.partitioned_by = _identifier_list(stream)
        elif stream.accept_word("clustered"):
            if stream.accept_word("by"):
                stream.expect_op("(")
                create.clustered_by = stream.identifier("column name")
                stream.expect_op(")")
            if stream.accept_word("into"):
                create.shards = stream.integer()
                stream.expect_word("shards")
        elif stream.accept_word("with"):
            create.settings.update(parse_properties(stream))
        else:
            raise stream.error("{<EOF>, ';', 'CLUSTERED', 'PARTITIONED', 'WITH'}")
    stream.expect_end()
    return create


def _rest(stream: TokenStream) -> str:
    tokens = stream.tokens[stream.index :]
    while tokens and (tokens[-1].kind == EOF or tokens[-1].is_op(";")):
        tokens = tokens[:-1]
    if not tokens:
        raise stream.error("query")
    stream.index = len(stream.tokens) - 1
    text = join_text(stream.sql, tokens)
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    return text


def _alter_table(stream: TokenStream) -> AlterTable:
    stream.accept_word("only")
    name = _name(stream)
    if stream.current.is_word("partition"):
        raise errors.emulator_limit("ALTER TABLE ... PARTITION")
    token = stream.current
    alter = AlterTable(name=name, action="")
    if token.is_word("set"):
        stream.advance()
        alter.action = "set"
        alter.settings = parse_properties(stream)
    elif token.is_word("reset"):
        stream.advance()
        alter.action = "reset"
        stream.expect_op("(")
        alter.reset.append(_setting_name(stream))
        while stream.accept_op(","):
            alter.reset.append(_setting_name(stream))
        stream.expect_op(")")
    elif token.is_word("add"):
        alter.action = "add"
        while True:
            stream.expect_word("add")
            if stream.current.is_word("constraint") or stream.current.is_word("primary"):
                raise stream.error("column definition")
            stream.accept_word("column")
            alter.add.append(parse_column_def(stream))
            if not stream.accept_op(","):
                break
    elif token.is_word("drop") and stream.peek().is_word("constraint"):
        stream.advance()
        stream.advance()
        alter.action = "drop_constraint"
        alter.constraint = stream.identifier("constraint name")
    elif token.is_word("drop"):
        alter.action = "drop"
        while True:
            stream.expect_word("drop")
            stream.accept_word("column")
            if_exists = stream.accept_word("if", "exists")
            alter.drop.append((stream.identifier("column name"), if_exists))
            if not stream.accept_op(","):
                break
    elif token.is_word("rename"):
        stream.advance()
        if stream.accept_word("to"):
            alter.action = "rename_table"
            alter.new_name = _name(stream)
        else:
            alter.action = "rename_columns"
            while True:
                stream.accept_word("column")
                old = stream.identifier("column name")
                stream.expect_word("to")
                alter.renames.append((old, stream.identifier("column name")))
                if not stream.accept_op(","):
                    break
                stream.expect_word("rename")
    elif token.is_word("alter"):
        stream.advance()
        stream.accept_word("column")
        alter.column = stream.identifier("column name")
        if stream.accept_word("set", "default"):
            alter.action = "set_default"
            alter.default_sql = _expression_text(stream)
        elif stream.accept_word("drop", "default"):
            alter.action = "drop_default"
        else:
            raise stream.error("{'SET', 'DROP'}")
    elif token.is_word("open", "close", "reroute"):
        raise errors.emulator_limit(f"ALTER TABLE ... {token.value.upper()}")
    else:
        raise stream.error("{'SET', 'RESET', 'ADD', 'DROP', 'RENAME', 'ALTER', 'OPEN', 'CLOSE', 'REROUTE'}")
    stream.expect_end()
    return alter


def _swap(stream: TokenStream) -> SwapTable:
    stream.expect_word("swap", "table")
    source = _name(stream)
    stream.expect_word("to")
    target = _name(stream)
    drop_source = False
    if stream.accept_word("with"):
        for key, value in parse_properties(stream).items():
            if key != "drop_source":
                raise errors.illegal_argument(f"Invalid option `{key}` for SWAP TABLE")
            drop_source = value is True or str(value).lower() == "true"
    stream.expect_end()
    return SwapTable(source, target, drop_source)


def _table_list(stream: TokenStream, verb: str) -> TableList:
    stream.expect_word("table")
    names = []
    while True:
        names.append(_name(stream))
        if stream.current.is_word("partition"):
            stream.advance()
            stream.expect_op("(")
            stream.skip_balanced()
            stream.expect_op(")")
        if not stream.accept_op(","):
            break
    if verb == "optimize" and stream.accept_word("with"):
        parse_properties(stream)
    stream.expect_end()
    return TableList(verb, names)


# CrateDB objects other than tables and schemas: valid CREATE/DROP targets the emulator does not model.
_OTHER_OBJECT_KINDS = (
    "blob",
    "view",
    "user",
    "role",
    "function",
    "repository",
    "snapshot",
    "analyzer",
    "publication",
    "subscription",
    "server",
    "foreign",
)


def parse(sql: str, tokens: list[Token]) -> object:
    """Parse a DDL-like statement; the first token decides the statement kind."""
    stream = TokenStream(sql, tokens)
    first = stream.advance()
    if first.is_word("create"):
        if stream.accept_word("table"):
            return _create_table(stream)
        if stream.accept_word("schema"):
            if_not_exists = stream.accept_word("if", "not", "exists")
            schema = stream.identifier("schema name")
            stream.expect_end()
            return CreateSchema(schema, if_not_exists)
        if stream.current.is_word("or", *_OTHER_OBJECT_KINDS):  # "or": CREATE OR REPLACE VIEW
            raise errors.emulator_limit(f"CREATE {stream.current.value.upper()}")
        raise stream.error("{'TABLE', 'SCHEMA', ...}")
    if first.is_word("drop"):
        if stream.accept_word("table"):
            if_exists = stream.accept_word("if", "exists")
            name = _name(stream)
            stream.expect_end()
            return DropTable(name, if_exists)
        if stream.accept_word("schema"):
            if_exists = stream.accept_word("if", "exists")
            names = [stream.identifier("schema name")]
            while stream.accept_op(","):
                names.append(stream.identifier("schema name"))
            cascade = stream.accept_word("cascade")
            if not cascade:
                stream.accept_word("restrict")
            stream.expect_end()
            return DropSchema(names, if_exists, cascade)
        if stream.current.is_word(*_OTHER_OBJECT_KINDS):
            raise errors.emulator_limit(f"DROP {stream.current.value.upper()}")
        raise stream.error("{'TABLE', 'SCHEMA', ...}")
    if first.is_word("alter"):
        if stream.accept_word("table"):
            return _alter_table(stream)
        if stream.accept_word("cluster"):
            if stream.current.is_word("swap"):
                return _swap(stream)
            raise errors.emulator_limit("ALTER CLUSTER other than SWAP TABLE")
        if stream.current.is_word("blob", "user", "role", "publication", "subscription", "server"):
            raise errors.emulator_limit(f"ALTER {stream.current.value.upper()}")
        raise stream.error("{'TABLE', 'CLUSTER', ...}")
    if first.is_word("refresh", "optimize"):
        return _table_list(stream, first.value)
    raise stream.error("statement")
