"""CrateDB data types: names and aliases, what can be stored (per version), and their DuckDB/Arrow storage."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from . import errors, versions
from .lexer import IDENT, TokenStream
from .versions import Version

# Canonical kinds.
TEXT = "text"
VARCHAR = "varchar"
CHAR = "character"
BOOLEAN = "boolean"
BYTE = "byte"
SMALLINT = "smallint"
INTEGER = "integer"
BIGINT = "bigint"
REAL = "real"
DOUBLE = "double precision"
NUMERIC = "numeric"
TIMESTAMPTZ = "timestamp with time zone"
TIMESTAMP = "timestamp without time zone"
DATE = "date"
TIMETZ = "time with time zone"
INTERVAL = "interval"
JSON = "json"
OBJECT = "object"
ARRAY = "array"
IP = "ip"
UUID = "uuid"
GEO_POINT = "geo_point"
GEO_SHAPE = "geo_shape"
BIT = "bit"
FLOAT_VECTOR = "float_vector"
UNDEFINED = "undefined"

INTEGER_KINDS = (BYTE, SMALLINT, INTEGER, BIGINT)
FLOAT_KINDS = (REAL, DOUBLE)
TIMESTAMP_KINDS = (TIMESTAMPTZ, TIMESTAMP)
TEXT_KINDS = (TEXT, VARCHAR, CHAR)

INTEGER_RANGES = {
    BYTE: (-128, 127),
    SMALLINT: (-32768, 32767),
    INTEGER: (-(2**31), 2**31 - 1),
    BIGINT: (-(2**63), 2**63 - 1),
}

# Single-word names and aliases accepted by CrateDB's type registry.
_SIMPLE_NAMES = {
    "text": TEXT,
    "string": TEXT,
    "name": TEXT,
    "boolean": BOOLEAN,
    "bool": BOOLEAN,
    "byte": BYTE,
    "tinyint": BYTE,
    "smallint": SMALLINT,
    "short": SMALLINT,
    "int2": SMALLINT,
    "integer": INTEGER,
    "int": INTEGER,
    "int4": INTEGER,
    "bigint": BIGINT,
    "long": BIGINT,
    "int8": BIGINT,
    "real": REAL,
    "float": REAL,
    "float4": REAL,
    "double": DOUBLE,
    "float8": DOUBLE,
    "timestamptz": TIMESTAMPTZ,
    "date": DATE,
    "timetz": TIMETZ,
    "interval": INTERVAL,
    "json": JSON,
    "ip": IP,
    "uuid": UUID,
    "geo_point": GEO_POINT,
    "geo_shape": GEO_SHAPE,
}

# col_types ids of the HTTP protocol.
_TYPE_IDS = {
    UNDEFINED: 0,
    BYTE: 2,
    BOOLEAN: 3,
    TEXT: 4,
    VARCHAR: 4,
    IP: 5,
    DOUBLE: 6,
    REAL: 7,
    SMALLINT: 8,
    INTEGER: 9,
    BIGINT: 10,
    TIMESTAMPTZ: 11,
    OBJECT: 12,
    GEO_POINT: 13,
    GEO_SHAPE: 14,
    TIMESTAMP: 15,
    INTERVAL: 17,
    TIMETZ: 20,
    NUMERIC: 22,
    DATE: 24,
    BIT: 25,
    JSON: 26,
    CHAR: 27,
    FLOAT_VECTOR: 28,
    UUID: 29,
}

# information_schema.columns.numeric_precision for fixed-width numbers (radix 2).
_BINARY_PRECISION = {BYTE: 8, SMALLINT: 16, INTEGER: 32, BIGINT: 64, REAL: 24, DOUBLE: 53}

OBJECT_POLICIES = ("dynamic", "strict", "ignored")


@dataclass(frozen=True)
class CrateType:
    kind: str
    length: int | None = None  # varchar/char/bit length, float_vector dimensions
    precision: int | None = None
    scale: int | None = None
    inner: CrateType | None = None  # array element type
    policy: str = "dynamic"  # object column policy
    fields: tuple[tuple[str, CrateType], ...] = field(default_factory=tuple)  # OBJECT AS (...)

    # ---- naming ---------------------------------------------------------------------------------
    def info_name(self) -> str:
        """The `data_type` shown in information_schema.columns."""
        if self.kind == ARRAY:
            assert self.inner is not None
            return f"{self.inner.info_name()}_array"
        if self.kind == VARCHAR:
            return "text"
        return self.kind

    def sql(self) -> str:
        """DDL spelling (SHOW CREATE TABLE)."""
        kind = self.kind
        if kind == ARRAY:
            assert self.inner is not None
            return f"ARRAY({self.inner.sql()})"
        if kind == VARCHAR:
            return f"VARCHAR({self.length})"
        if kind == CHAR:
            return f"CHARACTER({self.length})"
        if kind == NUMERIC:
            return f"NUMERIC({self.precision}, {self.scale})"
        if kind in (BIT, FLOAT_VECTOR):
            return f"{kind.upper()}({self.length})"
        if kind == OBJECT:
            text = f"OBJECT({self.policy.upper()})"
            if self.fields:
                inner = ", ".join(f'"{name}" {ctype.sql()}' for name, ctype in self.fields)
                text += f" AS ({inner})"
            return text
        return kind.upper()

    def type_id(self) -> object:
        if self.kind == ARRAY:
            assert self.inner is not None
            return [100, self.inner.type_id()]
        return _TYPE_IDS.get(self.kind, 0)

    def numeric_precision(self) -> int | None:
        if self.kind == NUMERIC:
            return self.precision
        return _BINARY_PRECISION.get(self.kind)

    def numeric_radix(self) -> int | None:
        if self.kind == NUMERIC:
            return 10
        return 2 if self.kind in _BINARY_PRECISION else None

    def is_text(self) -> bool:
        return self.kind in TEXT_KINDS

    # ---- storage ----------------------------------------------------------------------------------
    def duck(self) -> str:
        """DuckDB column type holding this CrateDB type."""
        kind = self.kind
        if kind in TEXT_KINDS or kind in (IP, UUID, BIT):
            return "VARCHAR"
        simple = {
            BOOLEAN: "BOOLEAN",
            BYTE: "TINYINT",
            SMALLINT: "SMALLINT",
            INTEGER: "INTEGER",
            BIGINT: "BIGINT",
            REAL: "FLOAT",
            DOUBLE: "DOUBLE",
            TIMESTAMPTZ: "TIMESTAMPTZ",
            TIMESTAMP: "TIMESTAMP",
            DATE: "DATE",
            OBJECT: "JSON",
            GEO_SHAPE: "JSON",
            GEO_POINT: "DOUBLE[]",
            FLOAT_VECTOR: "FLOAT[]",
        }
        if kind in simple:
            return simple[kind]
        if kind == NUMERIC:
            return f"DECIMAL({self.precision}, {self.scale})"
        if kind == ARRAY:
            assert self.inner is not None
            if self.inner.kind == OBJECT:
                return "JSON"  # a JSON array of objects
            return f"{self.inner.duck()}[]"
        raise errors.illegal_argument(f"Type '{self.info_name()}' does not support storage")

    def arrow(self) -> pa.DataType:
        """Arrow type of the values the cast layer produces (timestamps as epoch-ms integers)."""
        kind = self.kind
        if kind in TEXT_KINDS or kind in (IP, UUID, BIT, OBJECT, GEO_SHAPE):
            return pa.string()
        simple: dict[str, pa.DataType] = {
            BOOLEAN: pa.bool_(),
            BYTE: pa.int8(),
            SMALLINT: pa.int16(),
            INTEGER: pa.int32(),
            BIGINT: pa.int64(),
            REAL: pa.float32(),
            DOUBLE: pa.float64(),
            TIMESTAMPTZ: pa.timestamp("ms", tz="UTC"),
            TIMESTAMP: pa.timestamp("ms"),
            DATE: pa.date32(),
            GEO_POINT: pa.list_(pa.float64()),
            FLOAT_VECTOR: pa.list_(pa.float32()),
        }
        if kind in simple:
            return simple[kind]
        if kind == NUMERIC:
            return pa.decimal128(self.precision or 38, self.scale or 0)
        if kind == ARRAY:
            assert self.inner is not None
            if self.inner.kind == OBJECT:
                return pa.string()
            return pa.list_(self.inner.arrow())
        return pa.string()

    def check_storable(self, version: Version) -> None:
        kind = self.kind
        if kind == ARRAY:
            assert self.inner is not None
            if self.inner.kind == FLOAT_VECTOR:
                raise errors.illegal_argument("FLOAT_VECTOR cannot be used as an array element type")
            self.inner.check_storable(version)
            return
        if kind == TIMETZ:
            raise errors.illegal_argument("Type 'time with time zone' does not support storage")
        if kind in (INTERVAL, JSON):
            raise errors.illegal_argument(f"Type '{kind}' does not support storage")
        if kind == DATE and not version.at_least(versions.DATE_STORAGE):
            raise errors.illegal_argument("Type 'date' does not support storage")
        if kind == UUID and not version.at_least(versions.UUID_TYPE):
            raise errors.illegal_argument("Cannot find data type: uuid")
        if kind == FLOAT_VECTOR and not version.at_least(versions.FLOAT_VECTOR):
            raise errors.illegal_argument("Cannot find data type: float_vector")
        if kind == NUMERIC:
            if not version.at_least(versions.NUMERIC_STORAGE):
                raise errors.illegal_argument("Type 'numeric' does not support storage")
            if self.precision is None:
                raise errors.illegal_argument(
                    "NUMERIC storage is only supported if precision and scale are specified"
                )
            if self.precision > 38:
                raise errors.illegal_argument(
                    f"Precision for NUMERIC({self.precision}) is too large. Only up to 38 can be stored"
                )
        if kind == OBJECT:
            for _name, sub in self.fields:
                sub.check_storable(version)


def array_of(inner: CrateType) -> CrateType:
    return CrateType(ARRAY, inner=inner)


def parse_type(stream: TokenStream) -> CrateType:
    """Parse a CrateDB data type at the stream's position (`t[]` suffixes included)."""
    ctype = _parse_base_type(stream)
    while stream.current.is_op("[") and stream.peek().is_op("]"):
        stream.advance()
        stream.advance()
        ctype = array_of(ctype)
    return ctype


def _paren_ints(stream: TokenStream) -> list[int]:
    values: list[int] = []
    if not stream.accept_op("("):
        return values
    values.append(stream.integer())
    while stream.accept_op(","):
        values.append(stream.integer())
    stream.expect_op(")")
    return values


def _parse_base_type(stream: TokenStream) -> CrateType:
    token = stream.current
    if token.kind != IDENT and not (token.kind == "qident" and token.value == "char"):
        raise stream.error("data type")
    name = token.value
    stream.advance()
    if name == "double" and stream.accept_word("precision"):
        return CrateType(DOUBLE)
    if name in ("timestamp", "time"):
        with_tz = None
        if stream.accept_word("with", "time", "zone"):
            with_tz = True
        elif stream.accept_word("without", "time", "zone"):
            with_tz = False
        if name == "time":
            if with_tz is False or with_tz is None:
                raise errors.illegal_argument("Cannot find data type: time")
            return CrateType(TIMETZ)
        return CrateType(TIMESTAMPTZ if with_tz else TIMESTAMP)
    if name == "character" and stream.accept_word("varying"):
        name = "varchar"
    if name in ("varchar", "character", "char") and token.kind == "qident":
        return CrateType(BYTE)  # "char" is the internal byte-like type
    if name in ("varchar", "character", "char"):
        params = _paren_ints(stream)
        if name == "varchar":
            return CrateType(VARCHAR, length=params[0]) if params else CrateType(TEXT)
        return CrateType(CHAR, length=params[0] if params else 1)
    if name in ("numeric", "decimal"):
        params = _paren_ints(stream)
        if not params:
            return CrateType(NUMERIC)
        if len(params) > 2:
            raise stream.error("')'")
        return CrateType(NUMERIC, precision=params[0], scale=params[1] if len(params) == 2 else 0)
    if name in ("bit", "float_vector"):
        params = _paren_ints(stream)
        if name == "bit":
            return CrateType(BIT, length=params[0] if params else 1)
        if len(params) != 1:
            raise errors.illegal_argument("FLOAT_VECTOR requires a dimension")
        if not 1 <= params[0] <= 2048:
            raise errors.illegal_argument("FLOAT_VECTOR dimensions must be between 1 and 2048")
        return CrateType(FLOAT_VECTOR, length=params[0])
    if name == "array":
        stream.expect_op("(")
        inner = parse_type(stream)
        stream.expect_op(")")
        return array_of(inner)
    if name == "object":
        policy = "dynamic"
        if stream.accept_op("("):
            policy_token = stream.current
            if policy_token.kind != IDENT or policy_token.value not in OBJECT_POLICIES:
                raise stream.error("{DYNAMIC, STRICT, IGNORED}")
            policy = policy_token.value
            stream.advance()
            stream.expect_op(")")
        fields: list[tuple[str, CrateType]] = []
        if stream.accept_word("as"):
            stream.expect_op("(")
            while True:
                sub_name = stream.identifier("column name")
                fields.append((sub_name, parse_type(stream)))
                if not stream.accept_op(","):
                    break
            stream.expect_op(")")
        return CrateType(OBJECT, policy=policy, fields=tuple(fields))
    if name in _SIMPLE_NAMES:
        return CrateType(_SIMPLE_NAMES[name])
    raise errors.illegal_argument(f"Cannot find data type: {name}")


def type_from_text(text: str) -> CrateType:
    stream = TokenStream(text)
    ctype = parse_type(stream)
    stream.expect_end()
    return ctype


def to_json(ctype: CrateType) -> dict[str, object]:
    """Serialisable form, for persisting the catalog next to a DuckDB file."""
    data: dict[str, object] = {"kind": ctype.kind}
    for name in ("length", "precision", "scale"):
        value = getattr(ctype, name)
        if value is not None:
            data[name] = value
    if ctype.inner is not None:
        data["inner"] = to_json(ctype.inner)
    if ctype.kind == OBJECT:
        data["policy"] = ctype.policy
        data["fields"] = [[name, to_json(sub)] for name, sub in ctype.fields]
    return data


def from_json(data: dict[str, object]) -> CrateType:
    inner = data.get("inner")
    fields = data.get("fields") or []
    assert isinstance(fields, list)
    return CrateType(
        kind=str(data["kind"]),
        length=data.get("length"),  # type: ignore[arg-type]
        precision=data.get("precision"),  # type: ignore[arg-type]
        scale=data.get("scale"),  # type: ignore[arg-type]
        inner=from_json(inner) if isinstance(inner, dict) else None,
        policy=str(data.get("policy", "dynamic")),
        fields=tuple((str(name), from_json(sub)) for name, sub in fields),
    )


def duck_type_to_crate(duck: str) -> CrateType:
    """Best CrateDB type for a DuckDB result column (expressions without a catalog column behind them)."""
    text = duck.upper()
    if text.endswith("[]"):
        return array_of(duck_type_to_crate(text[:-2]))
    if text.startswith("DECIMAL"):
        return CrateType(NUMERIC)
    mapping = {
        "VARCHAR": TEXT,
        "BOOLEAN": BOOLEAN,
        "TINYINT": BYTE,
        "SMALLINT": SMALLINT,
        "INTEGER": INTEGER,
        "BIGINT": BIGINT,
        "HUGEINT": NUMERIC,
        "UBIGINT": NUMERIC,
        "UINTEGER": BIGINT,
        "USMALLINT": INTEGER,
        "UTINYINT": SMALLINT,
        "FLOAT": REAL,
        "DOUBLE": DOUBLE,
        "TIMESTAMP WITH TIME ZONE": TIMESTAMPTZ,
        "TIMESTAMP": TIMESTAMP,
        "TIMESTAMP_MS": TIMESTAMP,
        "TIMESTAMP_NS": TIMESTAMP,
        "TIMESTAMP_S": TIMESTAMP,
        "DATE": DATE,
        "JSON": OBJECT,
        "INTERVAL": INTERVAL,
        "TIME WITH TIME ZONE": TIMETZ,
        "UUID": UUID,
        '"NULL"': UNDEFINED,
        "NULL": UNDEFINED,
    }
    if text.startswith("STRUCT") or text.startswith("MAP"):
        return CrateType(OBJECT)
    return CrateType(mapping.get(text, TEXT))
