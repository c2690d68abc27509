"""What a statement runs in (the per-connection session) and what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .catalog import DEFAULT_SCHEMA


@dataclass
class Session:
    """Per-connection state: CrateDB binds Default-Schema (and SET) to the HTTP connection."""

    default_schema: str = DEFAULT_SCHEMA
    user: str = "crate"
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    cols: list[str] = field(default_factory=list)
    col_types: list[object] = field(default_factory=list)
    rows: list[Any] = field(default_factory=list)
    rowcount: int = 0
    results: list[dict[str, Any]] | None = None
