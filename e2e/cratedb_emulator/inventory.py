"""Statement-shape inventory: which kinds of statements reach the emulator during a run, and does CrateDB's
grammar accept each of them.

Recording is off unless the environment variable `CRATEDB_EMULATOR_INVENTORY` names a JSON file; then each
process that runs an emulator folds every statement it receives into a *shape* (identifiers, literals and
repeated lists folded, see `shape`) and, at exit, merges its counts into that file (under a file lock, so
pytest and the subprocesses it starts can share one file):

    CRATEDB_EMULATOR_INVENTORY=/tmp/shapes.json .venv/bin/pytest tests/integration tests/reliability
    .venv/bin/python -m cratedb_emulator.inventory /tmp/shapes.json     # summary; re-parses every example

The check re-parses each shape's first example with the grammar (`grammar.judge`), independent of what
the gate decided at recording time. Rejected shapes are expected from tests that send bad SQL on purpose.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from . import gate, grammar
from .shapes import shape
from .versions import DEFAULT_VERSION, Version

ENV_VAR = "CRATEDB_EMULATOR_INVENTORY"
EXAMPLE_MAX_CHARS = 1_000_000

class Recorder:
    """Counts shapes in memory; `flush` merges them into the JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.shapes: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def record(self, stmt: str) -> None:
        key = shape(stmt)
        with self.lock:
            entry = self.shapes.get(key)
            if entry is None:
                entry = self.shapes[key] = {"count": 0, "example": stmt[:EXAMPLE_MAX_CHARS]}
            entry["count"] += 1

    def flush(self) -> None:
        with self.lock:
            mine, self.shapes = self.shapes, {}
        if not mine:
            return
        with _locked(self.path):
            stored = load(self.path)
            for key, entry in mine.items():
                if key in stored:
                    stored[key]["count"] += entry["count"]
                else:
                    stored[key] = entry
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(dict(sorted(stored.items())), indent=1, ensure_ascii=False))
            tmp.replace(self.path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def load(path: Path) -> dict[str, dict[str, Any]]:
    if not path.exists() or not path.read_text().strip():
        return {}
    data: dict[str, dict[str, Any]] = json.loads(path.read_text())
    return data


def _from_environment() -> Recorder | None:
    target = os.environ.get(ENV_VAR, "").strip()
    if not target:
        return None
    recorder = Recorder(Path(target))
    atexit.register(recorder.flush)
    return recorder


_RECORDER = _from_environment()


def record(stmt: str) -> None:
    """Count `stmt`'s shape when recording is on (a no-op otherwise)."""
    if _RECORDER is not None:
        _RECORDER.record(stmt)


def summarise(shapes: dict[str, dict[str, Any]], version: Version) -> dict[str, Any]:
    """Totals, and the shapes the grammar rejects, from a fresh parse of every shape's example.

    A rejected shape that uses syntax newer than the grammar (see `gate`) is counted apart: CrateDB
    `version` accepts it, the packaged grammar cannot tell.
    """
    rejected, newer = {}, {}
    for key, entry in shapes.items():
        rejection = grammar.judge(entry["example"])
        if rejection is None:
            continue
        construct = gate.newer_than_grammar(entry["example"], version)
        if construct is not None:
            newer[key] = construct
        else:
            rejected[key] = rejection.error().message
    return {
        "statements": sum(entry["count"] for entry in shapes.values()),
        "shapes": len(shapes),
        "parse_ok": len(shapes) - len(rejected) - len(newer),
        "newer_than_grammar": newer,
        "rejected": rejected,
        "grammar": f"CrateDB {grammar.GRAMMAR_VERSION} (cratedb-sqlparse)",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cratedb_emulator.inventory", description=__doc__)
    parser.add_argument("path", type=Path, help="the JSON file written with CRATEDB_EMULATOR_INVENTORY")
    parser.add_argument("--list", action="store_true", help="also print every shape with its count")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any shape is rejected")
    parser.add_argument("--version", default=DEFAULT_VERSION, help="the CrateDB version the run emulated")
    options = parser.parse_args(argv)
    shapes = load(options.path)
    summary = summarise(shapes, Version.parse(options.version))
    print(f"{summary['statements']:,} statements, {summary['shapes']} distinct shapes")
    print(f"grammar: {summary['grammar']}")
    newer = summary["newer_than_grammar"]
    rejected = summary["rejected"]
    print(f"parse OK: {summary['parse_ok']}, newer than the grammar: {len(newer)}, rejected: {len(rejected)}")
    for key, construct in sorted(newer.items()):
        print(f"  NEWER    {key}\n           uses {construct}")
    for key, message in sorted(summary["rejected"].items()):
        print(f"  REJECTED {key}\n           {message}")
    if options.list:
        for key, entry in sorted(shapes.items(), key=lambda item: -item[1]["count"]):
            print(f"{entry['count']:>8}  {key}")
    return 1 if options.strict and summary["rejected"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
