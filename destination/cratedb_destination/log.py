"""Logging in the form Fivetran collects from a destination: one JSON object per line on stdout.

Fivetran knows only the levels INFO, WARNING and SEVERE, so Python's levels are folded onto them.
Callers must never pass credentials or row values into log messages; this module cannot tell.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import TextIO

MESSAGE_ORIGIN = "sdk_destination"

# The --log-level choices and the Python threshold each one stands for.
LEVEL_THRESHOLDS = {"INFO": logging.INFO, "WARNING": logging.WARNING, "SEVERE": logging.ERROR}


def fivetran_level(levelno: int) -> str:
    """DEBUG and INFO become INFO, WARNING stays, ERROR and CRITICAL become SEVERE."""
    if levelno >= logging.ERROR:
        return "SEVERE"
    if levelno >= logging.WARNING:
        return "WARNING"
    return "INFO"


class FivetranJsonFormatter(logging.Formatter):
    """Renders a record as `{"level": ..., "message": ..., "message-origin": "sdk_destination"}`."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            # The traceback names code locations only; the exception text is the caller's responsibility.
            message = f"{message}\n{self.formatException(record.exc_info)}"
        elif record.stack_info:
            message = f"{message}\n{self.formatStack(record.stack_info)}"
        return json.dumps(
            {"level": fivetran_level(record.levelno), "message": message, "message-origin": MESSAGE_ORIGIN},
            ensure_ascii=False,
        )


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Route every logger of the process through one JSON-lines handler on `stream` (stdout by default).

    `level` is one of INFO, WARNING, SEVERE (case-insensitive). Earlier handlers on the root logger are
    replaced so no record is written twice or in another format. Returns the installed handler.
    """
    threshold = LEVEL_THRESHOLDS.get(level.upper())
    if threshold is None:
        raise ValueError(f"log level must be one of {', '.join(LEVEL_THRESHOLDS)}, got {level!r}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(FivetranJsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(threshold)
    logging.captureWarnings(True)
    return handler
