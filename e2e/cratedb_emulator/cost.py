"""An optional server-time cost model: each answer waits as long as a CrateDB cluster might have worked.

The emulator and the client usually share one machine, so wall time mixes the client's work with the
emulator's (DuckDB) work, and neither says what a cluster would take. With a cost model, every HTTP
request that reaches the emulator's CrateDB routes SLEEPS before its answer is written, for

    http_requests * request_ms + rows_received * row_us + pk_lookups * pk_lookup_us
                               + query_jobs * query_job_ms

where the counts are what this one request added to the emulator's statistics (`stats.py` defines them:
`rows_received` are the rows a write carries, one per bulk row or VALUES row or selected row of INSERT ...
SELECT; `pk_lookups` and `query_jobs` as CrateDB's planner splits executions). The sleep happens after
the statement has run, outside the engine's write lock, so other connections keep being served: the
model is of a cluster with room for every concurrent request, not of a saturated one.

Off by default (all parameters 0). `BENCHMARK` is the parameter set the benchmarks use; it is an
assumption of the order of magnitude of a small (3-node) CrateDB cluster, not a measurement (see
docs/emulator.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

# The statistics a request's delay is computed from, with the parameter each one is multiplied by and
# the parameter's unit in seconds.
TERMS: tuple[tuple[str, str, float], ...] = (
    ("http_requests", "request_ms", 1e-3),
    ("rows_received", "row_us", 1e-6),
    ("pk_lookups", "pk_lookup_us", 1e-6),
    ("query_jobs", "query_job_ms", 1e-3),
)
PARAMETERS = tuple(parameter for _, parameter, _ in TERMS)


@dataclass(frozen=True)
class CostModel:
    """Modelled server time per unit of work. `sleep` is injectable (tests pass a fake)."""

    request_ms: float = 0.0
    row_us: float = 0.0
    pk_lookup_us: float = 0.0
    query_job_ms: float = 0.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in PARAMETERS:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"cost parameter {name} must be a number >= 0, not {value!r}")
            object.__setattr__(self, name, float(value))

    @property
    def enabled(self) -> bool:
        return any(getattr(self, name) for name in PARAMETERS)

    def seconds(self, work: Mapping[str, int]) -> float:
        """The modelled server time of a request that did `work` (statistics deltas)."""
        return sum(work.get(stat, 0) * getattr(self, name) * unit for stat, name, unit in TERMS)

    def apply(self, work: Mapping[str, int]) -> float:
        """Sleep for the modelled time of `work`; returns the seconds slept (0 if the model is off)."""
        delay = self.seconds(work)
        if delay > 0:
            self.sleep(delay)
        return delay

    def describe(self) -> dict[str, float]:
        data = asdict(self)
        return {name: data[name] for name in PARAMETERS}

    def spec(self) -> str:
        """The `--cost` text of this model ("off" when disabled)."""
        if not self.enabled:
            return "off"
        return ",".join(f"{name}={_number(getattr(self, name))}" for name in PARAMETERS)

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> CostModel:
        unknown = sorted(set(document) - set(PARAMETERS))
        if unknown:
            expected = ", ".join(PARAMETERS)
            raise ValueError(f"unknown cost parameter(s) {', '.join(unknown)}; expected {expected}")
        return cls(**{name: document[name] for name in PARAMETERS if name in document})

    @classmethod
    def parse(cls, text: str) -> CostModel:
        """`request_ms=2,row_us=20,...` (missing parameters are 0), `benchmark` or `off`."""
        text = text.strip()
        if text.lower() in ("benchmark", "default"):
            return BENCHMARK
        if text.lower() in ("off", "none", ""):
            return OFF
        values: dict[str, float] = {}
        for item in text.split(","):
            name, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"expected name=value in the cost model, got {item!r}")
            try:
                values[name.strip()] = float(value)
            except ValueError:
                raise ValueError(f"cost parameter {name.strip()} must be a number, not {value!r}") from None
        return cls.from_dict(values)

    def with_sleep(self, sleep: Callable[[float], None]) -> CostModel:
        return replace(self, sleep=sleep)


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


OFF = CostModel()
# Assumed order of magnitude of a small CrateDB cluster (3 nodes, 1 replica, LAN): about 2 ms to receive,
# parse, plan and answer a request; about 20 µs of indexing per written row (50,000 rows/s per request);
# about 30 µs per document fetched by primary key; about 5 ms per query job fanned out over the shards.
# Assumptions, not measurements: docs/emulator.md#cost-model.
BENCHMARK = CostModel(request_ms=2, row_us=20, pk_lookup_us=30, query_job_ms=5)
