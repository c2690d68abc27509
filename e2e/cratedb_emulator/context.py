"""What DDL and DML statements need from the engine, as structural interfaces.

`ddl` and `dml` (and `writes`) are typed against these protocols, not against `Engine`: they see the
catalog, the emulated version, the refresh tracker, the statistics and the physical store, plus the
expression evaluation that needs DuckDB. `Engine` satisfies all of them structurally.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .translate import EngineContext

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlglot import exp

    from .catalog import Catalog, Table
    from .outcome import Session
    from .stats import Stats
    from .storage import PhysicalStore
    from .translate import Parsed
    from .types import CrateType
    from .versions import Version
    from .visibility import RefreshTracker


class StatementContext(Protocol):
    """Catalog and storage: what a statement reads and changes."""

    catalog: Catalog
    version: Version
    tracker: RefreshTracker
    stats: Stats
    storage: PhysicalStore


class ExpressionEvaluator(Protocol):
    """CrateDB expressions evaluated or translated by DuckDB."""

    def evaluate(
        self, session: Session, node: exp.Expr, cast_types: dict[int, CrateType], params: Sequence[Any]
    ) -> Any: ...

    def evaluate_constant(self, text: str, ctype: CrateType, what: str) -> Any: ...

    def translate_expression(self, text: str, table: Table, alias: str) -> str: ...

    def evaluate_over(self, source: str, text: str, table: Table, ctype: CrateType) -> list[Any]: ...


class DdlContext(StatementContext, ExpressionEvaluator, Protocol):
    """DDL: catalog and storage, and constant expressions (column defaults)."""


class WriteContext(DdlContext, EngineContext, Protocol):
    """INSERT / UPDATE / DELETE: translators over the catalog (`EngineContext`), and queries as a source."""

    def run_query(
        self, session: Session, parsed: Parsed, params: Sequence[Any] | None, tree: exp.Expr | None = None
    ) -> tuple[pa.Table, list[tuple[str, CrateType]]]: ...
