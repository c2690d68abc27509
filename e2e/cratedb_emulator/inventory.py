"""Statement-shape inventory: which kinds of statements reached the emulator during a run, and does CrateDB's
grammar accept each of them.

The shapes are recorded by `shapes.record` when `CRATEDB_EMULATOR_INVENTORY` names a JSON file:

    CRATEDB_EMULATOR_INVENTORY=/tmp/shapes.json .venv/bin/pytest tests/integration tests/reliability
    .venv/bin/python -m cratedb_emulator.inventory /tmp/shapes.json     # summary; re-parses every example

The check re-parses each shape's first example with the grammar (`grammar.judge`), independent of what
the gate decided at recording time. Rejected shapes are expected from tests that send bad SQL on purpose.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import gate, grammar
from .shapes import load
from .versions import DEFAULT_VERSION, Version


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
