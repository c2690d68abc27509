"""A sync that fails part-way resumes from its last checkpoint without duplicates or gaps.

Fivetran keeps what was emitted up to the last checkpoint and drops the rest; the next run starts from the
checkpointed state. So the committed part of the failed run plus the resumed run must equal, operation for
operation, one uninterrupted sync.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fivetran_e2e.capture import SyncFailed, capture_sync
from fivetran_e2e.operations import Operation, OpKind

CONNECTOR_DIR = Path(__file__).resolve().parents[2] / "connector"
DEFAULTS: dict[str, str] = json.loads((CONNECTOR_DIR / "configuration.json").read_text(encoding="utf-8"))
CONFIG = {**DEFAULTS, "readings_per_sync": "400", "checkpoint_interval": "37"}
AFTER_SYNC_2 = {"syncs_completed": 2, "cursor": "2024-01-01T02:00:00Z"}  # sync 3 truncates and reloads


def data(operations: list[Operation]) -> list[Operation]:
    return [operation for operation in operations if operation.kind is not OpKind.CHECKPOINT]


def fail_once(state: Any, fail_after: int) -> tuple[list[Operation], Any]:
    """One run that fails after `fail_after` operations: what it committed, and the state it left."""
    config = {**CONFIG, "fail_after_operations": str(fail_after)}
    with pytest.raises(SyncFailed, match=r"simulated failure .*'fail_after_operations'") as failure:
        capture_sync(CONNECTOR_DIR, config, state)
    return failure.value.result.committed_operations(), failure.value.result.final_state


def run_with_failures(state: Any, fail_after: int) -> tuple[list[Operation], Any, int]:
    """Fail after `fail_after` operations in every run until a run completes.

    Progress needs a checkpoint before each failure, so `fail_after` must reach the checkpoint interval.
    """
    assert fail_after >= int(CONFIG["checkpoint_interval"])
    committed: list[Operation] = []
    failures = 0
    while True:
        config = {**CONFIG, "fail_after_operations": str(fail_after)}
        try:
            result = capture_sync(CONNECTOR_DIR, config, state)
        except SyncFailed as failure:
            committed += failure.result.committed_operations()
            state = failure.result.final_state
            failures += 1
            continue
        return committed + result.operations, result.final_state, failures


@pytest.mark.parametrize("start_state", [{}, AFTER_SYNC_2], ids=["first-sync", "truncating-sync"])
@pytest.mark.parametrize("fail_after", [1, 5, 36, 37, 100, 299])
def test_resume_after_one_failure_equals_an_uninterrupted_sync(start_state: Any, fail_after: int) -> None:
    uninterrupted = capture_sync(CONNECTOR_DIR, CONFIG, start_state)
    committed, state = fail_once(start_state, fail_after)
    resumed = capture_sync(CONNECTOR_DIR, CONFIG, state)
    assert data(committed + resumed.operations) == data(uninterrupted.operations)
    assert resumed.final_state == uninterrupted.final_state


@pytest.mark.parametrize("start_state", [{}, AFTER_SYNC_2], ids=["first-sync", "truncating-sync"])
@pytest.mark.parametrize("fail_after", [37, 100])
def test_resume_after_repeated_failures_equals_an_uninterrupted_sync(
    start_state: Any, fail_after: int
) -> None:
    uninterrupted = capture_sync(CONNECTOR_DIR, CONFIG, start_state)
    combined, final_state, failures = run_with_failures(start_state, fail_after)
    assert failures >= 2
    assert data(combined) == data(uninterrupted.operations)
    assert final_state == uninterrupted.final_state


def test_failure_before_the_first_checkpoint_keeps_the_starting_state() -> None:
    config = {**CONFIG, "fail_after_operations": "3"}  # the first stage has 8 operations
    with pytest.raises(SyncFailed) as failure:
        capture_sync(CONNECTOR_DIR, config, {})
    assert failure.value.result.committed_operations() == []
    assert failure.value.result.final_state == {}


def test_no_row_is_inserted_twice_across_a_resume() -> None:
    combined, _, _ = run_with_failures({}, 150)
    upserted = Counter(
        (operation.table, operation.data["reading_id"].text)
        for operation in combined
        if operation.kind is OpKind.UPSERT and operation.table == "readings"
    )
    assert len(upserted) == 400 and set(upserted.values()) == {1}


def test_mid_sync_checkpoint_records_progress() -> None:
    config = {**CONFIG, "fail_after_operations": "120"}
    with pytest.raises(SyncFailed) as failure:
        capture_sync(CONNECTOR_DIR, config, {})
    state = failure.value.result.final_state
    assert state["syncs_completed"] == 0 and state["cursor"] == "2024-01-01T00:00:00Z"
    assert state["resume"]["offset"] > 0 and isinstance(state["resume"]["stage"], str)
