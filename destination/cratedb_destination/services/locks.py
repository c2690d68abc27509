"""Per-table locks, so concurrent RPCs on one table (e.g. an AlterTable rebuild and a WriteBatch) run one
after the other inside this process. CrateDB has no transactions to do this for us (CrateDB docs
appendices/compatibility)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Hashable, Iterator


class TableLocks:
    """A re-entrant lock per key (cluster URL + schema + table), created on first use."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, threading.RLock] = {}
        self._guard = threading.Lock()

    @contextlib.contextmanager
    def hold(self, *key: Hashable) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.RLock())
        with lock:
            yield
