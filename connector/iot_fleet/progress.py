"""The connector's state: which syncs are done, the time cursor, and how far an interrupted sync got.

A checkpoint taken inside a sync records the stage and the number of that stage's operations already
emitted. Because every sync's operations are a pure function of the configuration and the sync number, the
next run regenerates the same stream and skips exactly what was committed: nothing is emitted twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

SYNCS_COMPLETED_KEY = "syncs_completed"
CURSOR_KEY = "cursor"
RESUME_KEY = "resume"
CURSOR_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class SyncPosition:
    """Where the next sync starts."""

    syncs_completed: int
    cursor: datetime  # UTC end of the last completed sync window
    resume_stage: str | None = None  # set only when the previous run stopped inside a sync
    resume_offset: int = 0

    @property
    def sync_number(self) -> int:
        """The sync this run performs (1 for the first)."""
        return self.syncs_completed + 1


def read_position(state: Any, start: datetime) -> SyncPosition:
    """Parse the state Fivetran hands to update(); `{}` means a first sync starting at `start`.

    Raises:
        ValueError: naming the state key whose value cannot be used.
    """
    if not isinstance(state, dict):
        raise ValueError("state must be a JSON object")
    if not state:
        return SyncPosition(syncs_completed=0, cursor=start)
    completed = state.get(SYNCS_COMPLETED_KEY)
    if not isinstance(completed, int) or isinstance(completed, bool) or completed < 0:
        raise ValueError(
            f"state key '{SYNCS_COMPLETED_KEY}' must be a non-negative integer, got {completed!r}"
        )
    cursor = _parse_cursor(state.get(CURSOR_KEY))
    resume = state.get(RESUME_KEY)
    if resume is None:
        return SyncPosition(completed, cursor)
    if not isinstance(resume, dict):
        raise ValueError(f"state key '{RESUME_KEY}' must be an object, got {resume!r}")
    stage, offset = resume.get("stage"), resume.get("offset")
    if not isinstance(stage, str) or not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ValueError(
            f"state key '{RESUME_KEY}' must hold a stage name and a non-negative offset, got {resume!r}"
        )
    return SyncPosition(completed, cursor, stage, offset)


def completed_state(position: SyncPosition, window_end: datetime) -> dict[str, Any]:
    """The state after the whole sync has been emitted."""
    return {SYNCS_COMPLETED_KEY: position.sync_number, CURSOR_KEY: format_cursor(window_end)}


def in_progress_state(position: SyncPosition, stage: str, offset: int) -> dict[str, Any]:
    """The state after `offset` operations of `stage` of the current sync have been emitted."""
    return {
        SYNCS_COMPLETED_KEY: position.syncs_completed,
        CURSOR_KEY: format_cursor(position.cursor),
        RESUME_KEY: {"stage": stage, "offset": offset},
    }


def format_cursor(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(CURSOR_FORMAT)


def _parse_cursor(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"state key '{CURSOR_KEY}' must be a timestamp string like 2024-01-01T00:00:00Z")
    try:
        return datetime.strptime(value, CURSOR_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise ValueError(
            f"state key '{CURSOR_KEY}' must look like 2024-01-01T00:00:00Z, got {value!r}"
        ) from None
