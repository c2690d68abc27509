"""The `fivetran-e2e` command line: subcommand wiring and early, clear errors."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from fivetran_e2e import cli


def test_scenarios_and_emulator_are_delegated_with_their_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, list[str]]] = []

    def fake_import(name: str) -> types.ModuleType:
        module = types.ModuleType(name)
        module.main = lambda argv: seen.append((name, argv)) or 7  # type: ignore[attr-defined]
        return module

    monkeypatch.setattr(cli.importlib, "import_module", fake_import)
    assert cli.main(["scenarios", "a.json", "--plain-text"]) == 7
    assert cli.main(["emulator", "--port", "0"]) == 7
    assert seen == [
        ("fivetran_e2e.scenarios", ["a.json", "--plain-text"]),
        ("cratedb_emulator.cli", ["--port", "0"]),
    ]


def test_a_missing_part_gives_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli._delegate("fivetran_e2e.no_such_part", [], "scenario runner") == 2
    assert "scenario runner is not available" in capsys.readouterr().err


def test_run_rejects_bad_arguments_and_projects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "--syncs", "0"])
    assert exit_info.value.code == 2
    assert cli.main(["run", "--connector", str(tmp_path), "--no-progress"]) == 2
    assert "no connector.py" in capsys.readouterr().out


def test_run_rejects_a_configuration_that_fivetran_would_reject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "connector.py").write_text("connector = None\n")
    (tmp_path / "configuration.json").write_text('{"rows": 5}')
    assert cli.main(["run", "--connector", str(tmp_path), "--no-progress"]) == 2
    assert "string values" in capsys.readouterr().out


def test_without_the_e2e_extra_every_command_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    installed = {"rich"}
    requirements = [
        'rich<15,>=13; extra == "e2e"',
        'duckdb<2,>=1.5; extra == "e2e"',
        'pytest; extra == "test"',
    ]

    def distribution(name: str) -> object:
        if name not in installed:
            raise cli.importlib.metadata.PackageNotFoundError(name)
        return object()

    monkeypatch.setattr(cli.importlib.metadata, "requires", lambda name: requirements)
    monkeypatch.setattr(cli.importlib.metadata, "distribution", distribution)
    for command in (["run"], ["scenarios", "a.json"], ["emulator"], ["--help"]):
        assert cli.main(command) == 2
        err = capsys.readouterr().err
        assert "missing: duckdb" in err and "pytest" not in err
        assert "pip install 'cratedb-fivetran-destination[e2e]'" in err


def test_the_installed_distribution_declares_the_e2e_extra() -> None:
    assert cli.missing_e2e_requirements() == []  # the test environment has it
    assert any('extra == "e2e"' in r for r in cli.importlib.metadata.requires(cli.DISTRIBUTION) or [])
