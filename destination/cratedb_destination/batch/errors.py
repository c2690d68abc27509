"""The one error type of the batch package."""

from __future__ import annotations


class BatchFileError(Exception):
    """A batch file cannot be read.

    The message names the file and what is wrong with it; it never contains cell values or key material,
    so it is safe to log and to return to Fivetran as a Task message.
    """

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"batch file {path}: {problem}")
        self.path = path
        self.problem = problem
