"""IoT fleet reference connector for the Fivetran Connector SDK.

It syncs a generated, fully deterministic fleet of devices, sensors, sensor readings, maintenance events,
firmware releases and an audit log. Every sync advances a time cursor, adds rows, changes and deletes earlier
rows and periodically truncates and reloads one table, so a destination sees every operation the SDK has.
See README.md in this folder for the tables, the configuration and the state.
"""

# For reading configuration.json when this file is run directly
import json

# For locating configuration.json next to this file
import os

# For the typed signatures of the helpers below
from collections.abc import Iterator
from typing import Any

# The Connector SDK: the connector object, the operations and the SDK logger
from fivetran_connector_sdk import Connector
from fivetran_connector_sdk import Logging as log
from fivetran_connector_sdk import Operations as op

# The generated source, kept in a local package so this file stays about the SDK contract
from iot_fleet import progress, tables
from iot_fleet.fleet import DELETE, TRUNCATE, UPDATE, UPSERT, Action, FleetSync, Stage
from iot_fleet.settings import FleetSettings, parse_settings

__FAILURE_KEY = "fail_after_operations"


def validate_configuration(configuration: dict) -> FleetSettings:
    """Check the configuration before anything is emitted.

    Args:
        configuration: the string-valued configuration from configuration.json.

    Returns:
        The parsed settings.

    Raises:
        ValueError: naming the configuration key that is unknown or invalid.
    """
    return parse_settings(configuration)


def schema(configuration: dict) -> list[dict[str, Any]]:
    """Declare the tables, their primary keys and the column types that matter.

    Args:
        configuration: the string-valued configuration.

    Returns:
        One dict per table, in the format the Connector SDK expects.
    """
    validate_configuration(configuration)
    return tables.declared_tables()


def update(configuration: dict, state: dict):
    """Emit one sync of the fleet, resuming inside a sync if the previous run stopped part-way.

    Operations are yielded (`yield op.upsert(...)`): the SDK runs each operation when it is called, so the
    yield is optional since SDK 2.0; it is kept to show that a generator-style update() works unchanged.

    Args:
        configuration: the string-valued configuration.
        state: `{}` on the first sync, else the state of the last checkpoint.

    Raises:
        ValueError: when the configuration or the state is invalid.
        RuntimeError: when the configuration asks for a simulated failure (tests only).
    """
    settings = validate_configuration(configuration)
    position = progress.read_position(state, settings.start)
    sync = FleetSync(settings, position.sync_number, position.cursor)
    stages = sync.stages()
    first_stage = _first_stage(stages, position)
    log.info(
        f"sync {position.sync_number}: window {progress.format_cursor(sync.window_start)} to "
        f"{progress.format_cursor(sync.window_end)}"
    )

    emitted = 0
    since_checkpoint = 0
    for stage in stages[first_stage:]:
        offset = position.resume_offset if stage.name == position.resume_stage else 0
        for action in stage.actions(offset):
            _fail_if_asked(settings, emitted)
            yield from _emit(action)
            emitted += 1
            offset += 1
            since_checkpoint += 1
            if since_checkpoint >= settings.checkpoint_interval:
                yield op.checkpoint(progress.in_progress_state(position, stage.name, offset))
                since_checkpoint = 0
        if since_checkpoint:
            # a checkpoint after each table, so a failure later in the sync does not redo it
            yield op.checkpoint(progress.in_progress_state(position, stage.name, offset))
            since_checkpoint = 0
        log.info(f"sync {position.sync_number}: {stage.name} done")

    yield op.checkpoint(progress.completed_state(position, sync.window_end))
    log.info(f"sync {position.sync_number}: finished after {emitted} operations")


def _first_stage(stages: list[Stage], position: progress.SyncPosition) -> int:
    """The index of the stage to start with: 0, or the stage an interrupted run checkpointed in."""
    if position.resume_stage is None:
        return 0
    names = [stage.name for stage in stages]
    if position.resume_stage not in names:
        raise ValueError(f"state key 'resume' names an unknown stage {position.resume_stage!r}")
    log.info(
        f"sync {position.sync_number}: resuming at {position.resume_stage} after "
        f"{position.resume_offset} operations"
    )
    return names.index(position.resume_stage)


def _emit(action: Action) -> Iterator[None]:
    """Hand one action to the SDK."""
    if action.kind == UPSERT:
        yield op.upsert(action.table, action.data, schema=action.schema)
    elif action.kind == UPDATE:
        yield op.update(action.table, action.data, schema=action.schema)
    elif action.kind == DELETE:
        yield op.delete(action.table, action.data, schema=action.schema)
    elif action.kind == TRUNCATE:
        yield op.truncate(action.table, schema=action.schema)
    else:
        raise ValueError(f"unknown action kind {action.kind!r} for table {action.table!r}")


def _fail_if_asked(settings: FleetSettings, emitted: int) -> None:
    """Simulate a source failure once `fail_after_operations` operations were emitted in this run."""
    if settings.fail_after_operations and emitted >= settings.fail_after_operations:
        raise RuntimeError(
            f"simulated failure after {emitted} operations (configuration key '{__FAILURE_KEY}')"
        )


# The SDK finds the connector through this module-level name.
connector = Connector(update=update, schema=schema)

# Run with `python connector.py` to debug in an IDE; `fivetran debug` is the usual way to test.
if __name__ == "__main__":
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "configuration.json")) as config_file:
        configuration = json.load(config_file)
    connector.debug(configuration=configuration)
