"""The operation stream a connector emits, as the harness records and replays it.

Both capture paths produce these records: the recorder that runs inside `fivetran debug` (it wraps the sink
the SDK's MIT runtime hands operations to) and the in-process fallback that installs its own sink. Cells are
kept exactly as the SDK encoded them (a kind plus text or bytes), so a replay sees what Fivetran's core saw.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class CellKind(str, Enum):
    """What the SDK's encoder made of a Python value (the prefix byte of an encoded cell)."""

    NULL = "null"
    TEXT = "text"
    JSON = "json"
    BINARY = "binary"
    FLOAT = "float"
    DOUBLE = "double"


# Prefix bytes of the SDK's encoded cells: our observation of captured cells (the encoder is Connector SDK
# fivetran_connector_sdk_cli/type_coercion.py).
PREFIX_TO_KIND: dict[int, CellKind] = {
    0x00: CellKind.NULL,
    0x01: CellKind.TEXT,
    0x02: CellKind.JSON,
    0x03: CellKind.BINARY,
    0x04: CellKind.FLOAT,
    0x05: CellKind.DOUBLE,
}


@dataclass(frozen=True)
class Cell:
    """One encoded value: `text` for every kind but BINARY (which uses `data`) and NULL (neither)."""

    kind: CellKind
    text: str | None = None
    data: bytes | None = None

    @classmethod
    def decode(cls, encoded: bytes) -> Cell:
        if not encoded:
            raise ValueError("empty encoded cell")
        kind = PREFIX_TO_KIND.get(encoded[0])
        if kind is None:
            raise ValueError(f"unknown cell prefix 0x{encoded[0]:02x}")
        payload = encoded[1:]
        if kind is CellKind.NULL:
            return cls(kind)
        if kind is CellKind.BINARY:
            return cls(kind, data=bytes(payload))
        return cls(kind, text=payload.decode("utf-8"))

    def to_json(self) -> Any:
        if self.kind is CellKind.NULL:
            return None
        if self.kind is CellKind.BINARY:
            return {"kind": self.kind.value, "b64": base64.b64encode(self.data or b"").decode("ascii")}
        return {"kind": self.kind.value, "text": self.text}

    @classmethod
    def from_json(cls, value: Any) -> Cell:
        if value is None:
            return cls(CellKind.NULL)
        if isinstance(value, str):  # the compact form of a text cell (what the recorder writes)
            return cls(CellKind.TEXT, text=value)
        kind = CellKind(value["kind"])
        if kind is CellKind.BINARY:
            return cls(kind, data=base64.b64decode(value["b64"]))
        return cls(kind, text=value["text"])


class OpKind(str, Enum):
    UPSERT = "upsert"
    UPDATE = "update"
    DELETE = "delete"
    TRUNCATE = "truncate"
    CHECKPOINT = "checkpoint"
    WARNING = "warning"
    TASK = "task"


# Fivetran's RecordType numbering, which the SDK's runtime passes to `record`.
RECORD_TYPE_TO_KIND: dict[int, OpKind] = {0: OpKind.UPSERT, 1: OpKind.UPDATE, 2: OpKind.DELETE}


@dataclass
class Operation:
    """One call the connector made. `table`/`schema` are source names, before Fivetran naming."""

    kind: OpKind
    table: str | None = None
    schema: str | None = None
    data: dict[str, Cell] = field(default_factory=dict)
    state: Any = None  # checkpoint: the parsed state
    message: str | None = None  # warning / task

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value}
        if self.table is not None:
            out["table"] = self.table
        if self.schema is not None:
            out["schema"] = self.schema
        if self.data:
            out["data"] = {name: cell.to_json() for name, cell in self.data.items()}
        if self.kind is OpKind.CHECKPOINT:
            out["state"] = self.state
        if self.message is not None:
            out["message"] = self.message
        return out

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Operation:
        return cls(
            kind=OpKind(value["kind"]),
            table=value.get("table"),
            schema=value.get("schema"),
            data={name: Cell.from_json(cell) for name, cell in value.get("data", {}).items()},
            state=value.get("state"),
            message=value.get("message"),
        )

    def to_line(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class DeclaredColumn:
    name: str
    type: int  # Fivetran DataType number (0 = UNSPECIFIED: untyped key column)
    primary_key: bool
    precision: int | None = None
    scale: int | None = None


@dataclass(frozen=True)
class DeclaredTable:
    """A table as `schema()` declared it (after the SDK's own processing), source names."""

    name: str
    schema: str | None
    columns: tuple[DeclaredColumn, ...]
