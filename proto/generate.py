#!/usr/bin/env python3
"""Regenerate the Python modules of `fivetran_proto` from the .proto files next to this script.

    python proto/generate.py              write into proto/fivetran_proto/
    python proto/generate.py --out DIR    write somewhere else (the freshness test compares both)

protoc emits sibling imports (`import common_pb2`) that only work when the output directory is on
sys.path; they are rewritten into package-relative imports so the generated modules live inside
`fivetran_proto` and nothing leaks into the top-level import namespace.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from importlib import resources
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent
PACKAGE_DIR = PROTO_DIR / "fivetran_proto"
PROTO_FILES = ("common.proto", "destination_sdk.proto", "connector_sdk.proto")
MODULES = tuple(f"{Path(name).stem}_pb2" for name in PROTO_FILES)
SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")

# `import common_pb2 as common__pb2` (in .py) and `import common_pb2 as _common_pb2` (in .pyi).
_SIBLING_IMPORT = re.compile(rf"^import ({'|'.join(MODULES)})( as \w+)?$", re.MULTILINE)


def generated_names() -> list[str]:
    return [f"{Path(name).stem}{suffix}" for name in PROTO_FILES for suffix in SUFFIXES]


def _make_relative(source: str) -> str:
    return _SIBLING_IMPORT.sub(r"from . import \1\2", source)


def _run_protoc(work_dir: Path) -> None:
    from grpc_tools import protoc

    well_known = resources.files("grpc_tools") / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"-I{well_known}",
        f"--python_out={work_dir}",
        f"--pyi_out={work_dir}",
        f"--grpc_python_out={work_dir}",
        *PROTO_FILES,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed for {', '.join(PROTO_FILES)} in {PROTO_DIR.name}/")


def generate(out_dir: Path) -> list[Path]:
    """Compile every .proto and write the rewritten modules to `out_dir`; returns the written paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = Path(tmp)
        _run_protoc(work_dir)
        for name in generated_names():
            produced = work_dir / name
            if not produced.exists():
                raise RuntimeError(f"protoc did not produce {name}")
            target = out_dir / name
            target.write_text(_make_relative(produced.read_text(encoding="utf-8")), encoding="utf-8")
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=PACKAGE_DIR, help="output directory (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
