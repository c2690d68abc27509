"""Request and statement counters, so tests and benchmarks can see what a client really sent.

How CrateDB executes statements, counted the way its planner splits them:
- `pk_lookups`: executions answered by primary key (a Get for SELECT, UpdateById/DeleteById for UPDATE and
  DELETE; see io/crate/planner/operators/Get.java and planner/statement/DeletePlanner.java): one per
  statement, or one per bulk row of a bulk UPDATE/DELETE, however many keys it names. ON CONFLICT upserts
  are not counted: they are writes that find the conflict while indexing, not lookups.
- `query_jobs`: executions that run a query over the table's shards: a SELECT that is no Get (also the
  query of INSERT ... SELECT), an UPDATE/DELETE by query, and each bulk row of a bulk UPDATE/DELETE by
  query (their executeBulk plans one job per bulk row).
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: Counter[str] = Counter()
        self._statements: Counter[str] = Counter()
        self._error_codes: Counter[int] = Counter()
        self._sql_seconds = 0.0
        self._cost_seconds = 0.0
        self._local = threading.local()

    def count(self, name: str, amount: int = 1) -> None:
        if amount:
            with self._lock:
                self._counters[name] += amount
            work: Counter[str] | None = getattr(self._local, "work", None)
            if work is not None:
                work[name] += amount

    @contextlib.contextmanager
    def track(self) -> Iterator[Counter[str]]:
        """Also collect what this thread counts from now on, e.g. the work of one HTTP request.

        The server answers each connection on its own thread and runs the statement on it, so the counter
        holds exactly that request's deltas, whatever other connections do meanwhile.
        """
        work: Counter[str] = Counter()
        previous = getattr(self._local, "work", None)
        self._local.work = work
        try:
            yield work
        finally:
            self._local.work = previous

    def cost_time(self, seconds: float) -> None:
        """Time one request slept under the cost model (modelled server time)."""
        with self._lock:
            self._cost_seconds += seconds

    def statement(self, kind: str) -> None:
        with self._lock:
            self._statements[kind] += 1

    def sql_time(self, seconds: float) -> None:
        """Wall time one /_sql request spent in the emulator (body, statement, answer)."""
        with self._lock:
            self._sql_seconds += seconds

    def error(self, code: int) -> None:
        with self._lock:
            self._error_codes[code] += 1

    def snapshot(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._lock:
            data: dict[str, Any] = {
                "http_requests": self._counters["http_requests"],
                "sql_requests": self._counters["sql_requests"],
                "bulk_requests": self._counters["bulk_requests"],
                "bulk_rows": self._counters["bulk_rows"],
                "rows_received": self._counters["rows_received"],
                "bytes_received": self._counters["bytes_received"],
                "bytes_decompressed": self._counters["bytes_decompressed"],
                "row_errors": self._counters["row_errors"],
                "refreshes": self._counters["refreshes"],
                "pk_lookups": self._counters["pk_lookups"],
                "query_jobs": self._counters["query_jobs"],
                "faults_injected": self._counters["faults_injected"],
                "sql_seconds": self._sql_seconds,
                "cost_seconds": self._cost_seconds,
                "statements": dict(self._statements),
                "errors": {str(code): n for code, n in self._error_codes.items()},
            }
        if extra:
            data.update(extra)
        return data

    def reset(self) -> None:
        with self._lock:
            self._counters.clear()
            self._statements.clear()
            self._error_codes.clear()
            self._sql_seconds = 0.0
            self._cost_seconds = 0.0
