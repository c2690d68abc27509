"""Fault injection: make the emulator fail the way a busy or broken CrateDB cluster does.

Rules are off by default. Each rule matches SQL requests (optionally only some statement kinds) and fires
on a share of them (seeded RNG, reproducible) or on the Nth matching request, at most `times` times:

- `http_503`: answer HTTP 503 with a CrateDB 503x error body; nothing is executed.
- `reset`: drop the TCP connection without an answer (RST); nothing is executed.
- `delay`: sleep `delay_ms` before executing normally.
- `bulk_row_failure`: in a bulk request, fail a share of the rows (`row_share`) with rowcount -2 and an
  error payload; those rows are not written, the others are.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from . import errors

KINDS = ("http_503", "reset", "delay", "bulk_row_failure")


@dataclass
class FaultRule:
    kind: str
    probability: float = 1.0
    nth: int | None = None
    times: int | None = None
    statements: list[str] | None = None
    delay_ms: int = 0
    row_share: float = 0.1
    error_code: int | None = None
    error_message: str | None = None
    matched: int = field(default=0)
    fired: int = field(default=0)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if not 0.0 <= self.probability <= 1.0 or not 0.0 <= self.row_share <= 1.0:
            raise ValueError("probability and row_share must be between 0 and 1")
        if self.nth is not None and self.nth < 1:
            raise ValueError("nth counts from 1")
        if self.statements is not None:
            self.statements = [s.upper() for s in self.statements]

    def error(self) -> errors.CrateError:
        if self.kind == "http_503":
            return errors.CrateError(
                self.error_code or errors.UNAVAILABLE,
                "ClusterBlockException",
                self.error_message or "blocked by: [SERVICE_UNAVAILABLE/2/no master]; (emulated fault)",
            )
        return errors.CrateError(
            self.error_code or errors.INTERNAL,
            "EsRejectedExecutionException",
            self.error_message or "rejected execution of shard operation (emulated fault)",
        )


class Faults:
    """The rule set of one emulator; thread-safe."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._random = random.Random(seed)
        self._seed = seed

    # ---- configuration ---------------------------------------------------------------------------------
    def add(self, kind: str, **options: Any) -> FaultRule:
        rule = FaultRule(kind=kind, **options)
        with self._lock:
            self._rules.append(rule)
        return rule

    def http_503(self, **options: Any) -> FaultRule:
        return self.add("http_503", **options)

    def reset(self, **options: Any) -> FaultRule:
        return self.add("reset", **options)

    def delay(self, delay_ms: int, **options: Any) -> FaultRule:
        return self.add("delay", delay_ms=delay_ms, **options)

    def bulk_row_failure(self, row_share: float = 0.1, **options: Any) -> FaultRule:
        return self.add("bulk_row_failure", row_share=row_share, **options)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def seed(self, value: int) -> None:
        with self._lock:
            self._seed = value
            self._random = random.Random(value)

    def configure(self, document: dict[str, Any]) -> None:
        """Replace all rules from a JSON document: {"seed": 1, "rules": [{"kind": ..., ...}]}."""
        rules = [
            FaultRule(**{k: v for k, v in item.items() if k not in ("matched", "fired")})
            for item in document.get("rules", [])
        ]
        with self._lock:
            self._rules = rules
            if "seed" in document:
                self._seed = int(document["seed"])
                self._random = random.Random(self._seed)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"seed": self._seed, "rules": [asdict(rule) for rule in self._rules]}

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    # ---- decisions ---------------------------------------------------------------------------------------
    def pick(self, statement_kind: str, bulk: bool) -> list[FaultRule]:
        """Rules firing for this request (at most one of 503/reset; delays and row failures combine)."""
        fired: list[FaultRule] = []
        with self._lock:
            for rule in self._rules:
                if rule.statements is not None and statement_kind not in rule.statements:
                    continue
                if rule.kind == "bulk_row_failure" and not bulk:
                    continue
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                rule.matched += 1
                if rule.nth is not None:
                    hit = rule.matched == rule.nth
                else:
                    hit = self._random.random() < rule.probability
                if hit:
                    rule.fired += 1
                    fired.append(rule)
        return fired

    def failing_rows(self, rule: FaultRule, count: int) -> dict[int, errors.CrateError]:
        with self._lock:
            rows = [row for row in range(count) if self._random.random() < rule.row_share]
        error = rule.error()
        return {row: error for row in rows}
