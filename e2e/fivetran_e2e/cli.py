"""`fivetran-e2e`: the end-to-end harness (`run`), the destination-tester scenario runner (`scenarios`),
the CrateDB emulator (`emulator`) and the planted-bug checker (`mutants`)."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import re
import sys
from collections.abc import Sequence
from pathlib import Path

DISTRIBUTION = "cratedb-fivetran-destination"
# The harness, the scenario runner and the emulator need the `e2e` extra; the destination alone does not.
INSTALL_E2E = f"pip install '{DISTRIBUTION}[e2e]'"


def _run_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a Connector SDK project through fivetran debug and through the destination into CrateDB, "
        "then compare both row by row",
        description="Runs `fivetran debug` sync after sync on a scratch copy of the connector project, "
        "replays what the connector emitted into the CrateDB destination as Fivetran's core would, and "
        "compares every table of warehouse.db with CrateDB. Exit code 0 only on a full match.",
    )
    parser.add_argument(
        "--connector", type=Path, default=Path("connector"), help="project folder (default: connector)"
    )
    parser.add_argument(
        "--configuration", type=Path, help="configuration JSON (default: <connector>/configuration.json)"
    )
    parser.add_argument("--syncs", type=int, default=3, help="number of syncs (default: 3)")
    parser.add_argument(
        "--cratedb-url",
        help="a real CrateDB, e.g. http://crate@localhost:4200 "
        "(default: $CRATEDB_URL, else the embedded emulator)",
    )
    parser.add_argument(
        "--destination", metavar="HOST:PORT", help="use a running destination server instead of starting one"
    )
    parser.add_argument(
        "--report", type=Path, help="report path without extension (default: reports/e2e-<run id>)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch project, recordings and the CrateDB schemas"
    )
    parser.add_argument("--max-diffs", type=int, default=20, help="differences shown per table (default: 20)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    add_destination_setting_argument(parser)


def add_destination_setting_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--destination-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a destination configuration field, repeatable (e.g. json_storage=object)",
    )


def destination_settings(parser: argparse.ArgumentParser, pairs: Sequence[str]) -> dict[str, str]:
    """`NAME=VALUE` pairs as a configuration map; `url` is the harness's own."""
    settings: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            parser.error(f"--destination-setting expects NAME=VALUE, got {pair!r}")
        if name.strip() == "url":
            parser.error("--destination-setting cannot set url (use --cratedb-url)")
        settings[name.strip()] = value
    return settings


def missing_e2e_requirements() -> list[str]:
    """Distributions of the `e2e` extra that are not installed.

    Read from the installed metadata, so the list is pyproject.toml's; when this runs from a source folder
    without an install (no metadata), nothing is reported and a missing module fails at import instead.
    """
    try:
        requirements = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    missing = []
    for requirement in requirements:
        spec, _, marker = requirement.partition(";")
        name = re.match(r"[A-Za-z0-9._-]+", spec.strip())
        if name is None or re.search(r"""extra\s*==\s*["']e2e["']""", marker) is None:
            continue
        try:
            importlib.metadata.distribution(name.group())
        except importlib.metadata.PackageNotFoundError:
            missing.append(name.group())
    return missing


def _delegate(module: str, argv: Sequence[str], what: str) -> int:
    """Call `<module>.main(argv)`, imported lazily so a missing part does not break the other commands."""
    try:
        target = importlib.import_module(module)
    except ImportError as error:
        print(f"fivetran-e2e: the {what} is not available ({error})", file=sys.stderr)
        return 2
    main = getattr(target, "main", None)
    if main is None:
        print(f"fivetran-e2e: {module} has no main(argv)", file=sys.stderr)
        return 2
    return int(main(list(argv)) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    missing = missing_e2e_requirements()
    if missing:  # before any import of them: a clear message instead of a ModuleNotFoundError traceback
        print(
            f"fivetran-e2e needs the e2e extra of {DISTRIBUTION}, which is not installed here "
            f"(missing: {', '.join(missing)}). Install it with: {INSTALL_E2E}",
            file=sys.stderr,
        )
        return 2
    if arguments[:1] == ["scenarios"]:
        return _delegate("fivetran_e2e.scenarios", arguments[1:], "scenario runner")
    if arguments[:1] == ["mutants"]:
        return _delegate("fivetran_e2e.mutants", arguments[1:], "planted-bug checker")
    if arguments[:1] == ["emulator"]:
        return _delegate("cratedb_emulator.cli", arguments[1:], "CrateDB emulator")

    parser = argparse.ArgumentParser(prog="fivetran-e2e", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    _run_parser(subparsers)
    subparsers.add_parser("scenarios", help="run destination-tester scenario files (PATH...)", add_help=False)
    subparsers.add_parser("emulator", help="start the CrateDB emulator", add_help=False)
    subparsers.add_parser(
        "mutants",
        help="plant one bug at a time in a copy of the destination and check it is caught",
        add_help=False,
    )
    args = parser.parse_args(arguments)

    from rich.console import Console

    from .run import RunError, RunOptions, run

    if args.syncs < 1:
        parser.error("--syncs must be at least 1")
    options = RunOptions(
        connector=args.connector,
        configuration=args.configuration,
        syncs=args.syncs,
        cratedb_url=args.cratedb_url,
        destination=args.destination,
        report=args.report,
        keep=args.keep,
        max_diffs=args.max_diffs,
        progress=not args.no_progress,
        destination_settings=destination_settings(parser, args.destination_setting),
    )
    # Logs and CI have no terminal width; a fixed 120 columns keeps the summary table readable there.
    console = Console() if sys.stdout.isatty() else Console(width=120)
    try:
        return run(options, console)
    except RunError as error:
        console.print(f"[red]fivetran-e2e run failed:[/] {error}", highlight=False)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
