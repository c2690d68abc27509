"""Records the statements the destination itself sends (loaded via PYTHONPATH by bench/destination_shapes.py).

When `CRATEDB_DESTINATION_INVENTORY` names a JSON file, every Python process started with this directory on
PYTHONPATH wraps `cratedb_destination.client.Session._sql` as soon as that module is imported, and counts
the shape (`cratedb_emulator.shapes.shape`) of each statement it sends, with the destination function that
issued it (the first caller outside the Session plumbing). The file has the emulator inventory's format
plus a `callers` list per shape, so `python -m cratedb_emulator.inventory FILE` reads it too.

A shape seen for the first time by a process is written at once (a SIGKILLed destination keeps its shapes);
counts are merged at exit. Nothing happens when the variable is unset.
"""

from __future__ import annotations

import atexit
import importlib.abc
import importlib.util
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

ENV_VAR = "CRATEDB_DESTINATION_INVENTORY"
_TARGET = "cratedb_destination.client"
_PLUMBING = {"_sql", "_call", "execute", "query", "bulk", "<lambda>"}


class _Recorder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.shapes: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def record(self, stmt: str, caller: str) -> None:
        from cratedb_emulator import shapes

        key = shapes.shape(stmt)
        with self.lock:
            entry = self.shapes.get(key)
            fresh = entry is None or caller not in entry["callers"]
            if entry is None:
                entry = self.shapes[key] = {"count": 0, "example": stmt[:100_000], "callers": []}
            entry["count"] += 1
            if caller not in entry["callers"]:
                entry["callers"].append(caller)
        if fresh:
            self.flush(counts=False)

    def flush(self, counts: bool = True) -> None:
        from cratedb_emulator import shapes

        with self.lock:
            mine = {key: dict(entry, callers=list(entry["callers"])) for key, entry in self.shapes.items()}
            if counts:
                for entry in self.shapes.values():
                    entry["count"] = 0
        with shapes._locked(self.path):
            stored = shapes.load(self.path)
            for key, entry in mine.items():
                have = stored.setdefault(key, {"count": 0, "example": entry["example"], "callers": []})
                have["count"] += entry["count"] if counts else 0
                have["callers"] = sorted(set(have.get("callers", [])) | set(entry["callers"]))
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(dict(sorted(stored.items())), indent=1, ensure_ascii=False))
            tmp.replace(self.path)


def _caller() -> str:
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("cratedb_destination") and not (
            module == _TARGET and frame.f_code.co_name in _PLUMBING
        ):
            return f"{module}::{frame.f_code.co_name}"
        frame = frame.f_back  # type: ignore[assignment]
    return "?"


def _wrap(module: Any, recorder: _Recorder) -> None:
    original = module.Session._sql

    def _sql(self: Any, stmt: str, args: Any = None, bulk_args: Any = None) -> Any:
        recorder.record(stmt, _caller())
        return original(self, stmt, args, bulk_args)

    module.Session._sql = _sql


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, recorder: _Recorder) -> None:
        self.recorder = recorder

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != _TARGET:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader, recorder = spec.loader, self.recorder
        exec_module = loader.exec_module

        def _exec(module: Any) -> None:
            exec_module(module)
            _wrap(module, recorder)

        loader.exec_module = _exec  # type: ignore[method-assign]
        return spec


def _install() -> None:
    target = os.environ.get(ENV_VAR, "").strip()
    if not target:
        return
    recorder = _Recorder(Path(target))
    atexit.register(recorder.flush)
    sys.meta_path.insert(0, _Finder(recorder))


_install()
