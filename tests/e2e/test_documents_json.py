"""The document connector (`e2e/connectors/documents`, keyed by `_id`, one JSON column holding objects,
arrays, scalars, JSON null and SQL NULL) through `fivetran debug` and the destination in both
`json_storage` modes: FULL MATCH, and the JSON columns are stored as the mode says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from crate_http import CrateHttp, ident
from fivetran_e2e.cli import main

pytestmark = [pytest.mark.e2e, pytest.mark.cratedb]

REPO = Path(__file__).resolve().parents[2]
CONNECTOR = REPO / "e2e" / "connectors" / "documents"


@pytest.mark.parametrize(("mode", "stored_as"), [("text", "text"), ("object", "object")])
def test_documents_match_in_both_json_storage_modes(
    tmp_path: Path, cratedb_url: str, mode: str, stored_as: str
) -> None:
    report = tmp_path / "report"
    argv = ["run", "--connector", str(CONNECTOR), "--syncs", "3", "--report", str(report), "--no-progress",
            "--cratedb-url", cratedb_url, "--keep", "--destination-setting", f"json_storage={mode}"]  # fmt: skip  # noqa: E501
    code = main(argv)
    data = json.loads(report.with_suffix(".json").read_text(encoding="utf-8"))
    schema = f"e2e_{data['run_id']}_tester"
    with CrateHttp(cratedb_url) as http:
        try:
            assert code == 0, json.dumps(data, indent=1)[-4000:]
            assert sorted(t["warehouse_rows"] for t in data["tables"]) == [6, 12]
            types = http.run(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND column_name IN ('doc', '__id') ORDER BY 1, 2",
                [schema],
            ).rows
            assert types == [
                ["customers", "__id", "text"], ["customers", "doc", stored_as],
                ["orders", "__id", "text"], ["orders", "doc", stored_as],
            ]  # fmt: skip
        finally:
            for table in http.tables(schema):
                http.run(f"DROP TABLE IF EXISTS {ident(schema, table)}")
