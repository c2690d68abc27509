"""Statement shapes and the inventory of shapes recorded during a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cratedb_emulator import inventory, shapes
from cratedb_emulator.shapes import shape
from cratedb_emulator.versions import Version


@pytest.mark.parametrize(
    ("stmt", "expected"),
    [
        (
            'INSERT INTO "s"."t" ("a", "b") VALUES (?, ?), (?, ?)',
            'INSERT INTO "<ident>"."<ident>" ("<ident>", ...) VALUES (?, ...), ...',
        ),
        (
            'insert into "s"."t" ("id", "v") values (?, ?) on conflict ("id") do update set '
            '"v" = excluded."v", "w" = excluded."w"',
            'INSERT INTO "<ident>"."<ident>" ("<ident>", ...) VALUES (?, ...) ON CONFLICT ("<ident>") '
            'DO UPDATE SET "<ident>" = <ident>."<ident>", ...',
        ),
        (
            'SELECT "id" FROM s.t WHERE ("id" = ? AND "x" < ?) OR ("id" = ? AND "x" < ?) '
            'OR ("id" = ? AND "x" < ?)',
            'SELECT "<ident>" FROM <ident>.<ident> WHERE ("<ident>" = ? AND "<ident>" < ?) OR ...',
        ),
        ('select count(*) from t where a = \'x"\' -- "c"\n', "SELECT count(*) FROM t WHERE a = <lit>"),
        ("SELECT 1.5, $$x$$, E'\\'', 42", "SELECT <lit>, ..."),
    ],
)
def test_shapes_fold_names_literals_and_repetitions(stmt: str, expected: str) -> None:
    assert shape(stmt) == expected


def test_recorders_merge_into_one_file(tmp_path: Path) -> None:
    target = tmp_path / "shapes.json"
    for table in ("a", "b"):  # two processes, one file
        recorder = shapes.Recorder(target)
        recorder.record(f'INSERT INTO "{table}" ("x") VALUES (?)')
        recorder.record("select 1; select 2;")
        recorder.flush()
    stored = json.loads(target.read_text())
    assert stored['INSERT INTO "<ident>" ("<ident>") VALUES (?)']["count"] == 2
    summary = inventory.summarise(stored, Version.parse("6.4.3"))
    assert (summary["statements"], summary["shapes"], summary["parse_ok"]) == (4, 2, 1)
    message = "ParsingException[line 1:11: mismatched input 'select' expecting <EOF>]"
    assert summary["rejected"] == {"SELECT <lit>; SELECT <lit>;": message}


def test_summary_sets_apart_syntax_newer_than_the_grammar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "shapes.json"
    recorder = shapes.Recorder(target)
    recorder.record('CREATE SCHEMA "s"')
    recorder.flush()
    assert inventory.main([str(target), "--strict"]) == 0
    assert "parse OK: 0, newer than the grammar: 1, rejected: 0" in capsys.readouterr().out
    assert inventory.main([str(target), "--strict", "--version", "6.1.1"]) == 1
