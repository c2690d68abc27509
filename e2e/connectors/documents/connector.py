"""A small document source shaped like Fivetran's MongoDB connector, for the JSON storage proof.

Two collections, `customers` and `orders`, each keyed by `_id` (a CrateDB system column name: the
destination stores it as `__id`) with one JSON column holding the document. Most documents are nested
objects; some are arrays, strings, numbers, booleans, JSON null or SQL NULL, and some objects carry keys
CrateDB refuses inside objects (`a.b`, `c[0]`), so that `json_storage = object` meets every kind of value.
Deterministic: sync N (from the state) emits the same operations on every run; later syncs update and
delete documents and turn objects into arrays and back. See docs/e2e-harness.md.
"""

# For reading configuration.json when this file is run directly
import json

# For locating configuration.json next to this file
import os
from typing import Any

# The Connector SDK: the connector object, the operations and the SDK logger
from fivetran_connector_sdk import Connector
from fivetran_connector_sdk import Logging as log
from fivetran_connector_sdk import Operations as op

# Values that are not JSON objects, cycled through by document number.
_NON_OBJECTS: list[Any] = [
    [1, "two", True, None, {"three": 3.5}],
    "a plain string",
    42,
    -0.125,
    True,
    [],
    {},
    {"a.b": 1, "c[0]": {"d": [1, 2]}},
    {"_fivetran_json": "looks like the envelope"},
]


def schema(configuration: dict) -> list[dict[str, Any]]:
    """Both collections keyed by `_id`, with a JSON document column."""
    _settings(configuration)
    return [
        {"table": "customers", "primary_key": ["_id"], "columns": {"_id": "STRING", "doc": "JSON"}},
        {
            "table": "orders",
            "primary_key": ["_id"],
            "columns": {"_id": "STRING", "doc": "JSON", "total": "DOUBLE"},
        },
    ]


def _settings(configuration: dict) -> tuple[int, int]:
    try:
        customers = int(configuration.get("customers", "6"))
        changing = int(configuration.get("syncs_with_changes", "3"))
    except ValueError:
        raise ValueError("configuration keys 'customers' and 'syncs_with_changes' must be integers") from None
    if customers < 1 or changing < 1:
        raise ValueError("configuration keys 'customers' and 'syncs_with_changes' must be at least 1")
    return customers, changing


def _customer(number: int, sync: int) -> Any:
    if number % 3 == 2:  # every third document is not an object
        return _NON_OBJECTS[(number + sync) % len(_NON_OBJECTS)]
    return {
        "name": f"customer {number}",
        "address": {"city": ["Berlin", "Vienna", "Zurich"][number % 3], "zip": f"{10000 + number}"},
        "tags": [f"t{number % 4}", number, number % 2 == 0, None],
        "visits": sync,
        "score": number * 1.5 if number % 4 else None,
    }


def _order(number: int, sync: int) -> Any:
    kinds = [
        {"items": [{"sku": f"S{number}", "qty": number}], "status": "new", "sync": sync},
        {"items": [], "status": {"code": sync, "history": ["new", sync, None]}},
        ["loose", number, {"nested": [[1, 2], ["a", None]]}],
        f"order note {number}",
    ]
    return kinds[(number + sync) % len(kinds)]


def update(configuration: dict, state: dict):
    """Sync N upserts every document of that sync, updates some, deletes one and sends NULL once."""
    customers, changing = _settings(configuration)
    sync = int(state.get("sync", 0)) + 1
    log.info(f"documents: sync {sync}")
    if sync <= changing:
        for number in range(customers):
            if sync > 1 and number == sync:  # one delete per later sync
                yield op.delete("customers", {"_id": f"c{number:03d}"})
                continue
            yield op.upsert("customers", {"_id": f"c{number:03d}", "doc": _customer(number, sync)})
        for number in range(customers * 2):
            document = None if number == sync else _order(number, sync)
            yield op.upsert("orders", {"_id": f"o{number:03d}", "doc": document, "total": number * 2.5})
        if sync > 1:
            yield op.update("orders", {"_id": "o000", "doc": {"status": "updated", "sync": sync}})
            yield op.delete("orders", {"_id": f"o{customers + sync:03d}"})
    yield op.checkpoint({"sync": sync})


# The SDK finds the connector through this module-level name.
connector = Connector(update=update, schema=schema)

# Run with `python connector.py` to debug in an IDE; `fivetran debug` is the usual way to test.
if __name__ == "__main__":
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "configuration.json")) as config_file:
        configuration = json.load(config_file)
    connector.debug(configuration=configuration)
