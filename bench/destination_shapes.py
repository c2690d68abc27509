"""Which statement shapes the destination itself sends, next to everything the test suites send.

    .venv/bin/python bench/destination_shapes.py                  # runs the suites (several minutes)
    .venv/bin/python bench/destination_shapes.py --no-run --list  # summarise the last run's files again

Runs `pytest tests/integration tests/reliability tests/e2e` once with two recorders on:

- `CRATEDB_EMULATOR_INVENTORY=<out>/suite.json`: every statement any emulator received (tests' own SQL
  included), recorded by `cratedb_emulator.shapes`;
- `CRATEDB_DESTINATION_INVENTORY=<out>/destination.json` with `bench/destination_hook` on PYTHONPATH: its
  `sitecustomize` wraps `cratedb_destination.client.Session._sql` in every process (pytest and the
  destination subprocesses) and records only the destination's statements, each with the destination
  function that issued it.

Then prints both summaries (re-parsed with CrateDB's grammar, `cratedb_emulator.inventory`) and, with
`--list`, every destination shape with its count and callers. Extra arguments after `--` go to pytest.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from cratedb_emulator.inventory import summarise
from cratedb_emulator.shapes import ENV_VAR, load
from cratedb_emulator.versions import DEFAULT_VERSION, Version

ROOT = Path(__file__).resolve().parent.parent
HOOK = Path(__file__).resolve().parent / "destination_hook"
SUITES = ("tests/integration", "tests/reliability", "tests/e2e")


def run_suites(out: Path, extra: list[str]) -> int:
    suite, destination = out / "suite.json", out / "destination.json"
    for path in (suite, destination):
        path.unlink(missing_ok=True)
    env = dict(os.environ)
    env[ENV_VAR] = str(suite)
    env["CRATEDB_DESTINATION_INVENTORY"] = str(destination)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HOOK), env.get("PYTHONPATH", "")]))
    argv = [sys.executable, "-m", "pytest", *SUITES, "-q", "-p", "no:cacheprovider", *extra]
    return subprocess.run(argv, cwd=ROOT, env=env).returncode


def report(out: Path, listing: bool) -> None:
    suite, destination = load(out / "suite.json"), load(out / "destination.json")
    version = Version.parse(DEFAULT_VERSION)
    for title, shapes in (
        ("suite (all statements the emulator received)", suite),
        ("destination", destination),
    ):
        summary = summarise(shapes, version)
        print(
            f"{title}: {summary['statements']:,} statements, {summary['shapes']} shapes, "
            f"parse OK {summary['parse_ok']}, newer than the grammar {len(summary['newer_than_grammar'])}, "
            f"rejected {len(summary['rejected'])} ({summary['grammar']})"
        )
        for key, construct in sorted(summary["newer_than_grammar"].items()):
            print(f"  NEWER    {key}\n           uses {construct}")
        for key, message in sorted(summary["rejected"].items()):
            print(f"  REJECTED {key}\n           {message}")
    unseen = sorted(set(destination) - set(suite))
    print(f"destination shapes the emulator never recorded: {len(unseen)}")
    for key in unseen:
        print(f"  {key}")
    if listing:
        for key, entry in sorted(destination.items(), key=lambda item: (item[1]["callers"], item[0])):
            print(f"{entry['count']:>8}  {key}\n          {', '.join(entry['callers'])}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=Path("statement-shapes") / "destination", help="where the JSON goes"
    )
    parser.add_argument("--no-run", action="store_true", help="only summarise the files of an earlier run")
    parser.add_argument("--list", action="store_true", help="print every destination shape with its callers")
    parser.add_argument("pytest_args", nargs="*", help="after --: extra pytest arguments")
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)
    code = 0 if options.no_run else run_suites(options.out, options.pytest_args)
    report(options.out, options.list)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
