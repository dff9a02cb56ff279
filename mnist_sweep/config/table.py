"""docs/schema.md's table of every ranged key (config and sweeper): key, type, valid values."""
from __future__ import annotations

from typing import Any, get_type_hints

from mnist_sweep.config.keys import schema_fields
from mnist_sweep.config.sections import SCHEMAS
from mnist_sweep.config.sweeper import MnistOptunaSweeperConf


def _type_name(tp: Any) -> str:
    if tp is Any:
        return "any"
    name = str(tp).replace("typing.", "") if getattr(tp, "__origin__", None) else tp.__name__
    return name.replace("NoneType", "null")


def error_table() -> list[tuple[str, str, str]]:
    """(key, type, valid values) of every key with a range, the sweeper's included: docs/schema.md's table."""
    rows: list[tuple[str, str, str]] = []
    schemas = [(schema, section) for section, by_name in SCHEMAS.items() for schema in by_name.values()]
    for schema, path in [*schemas, (MnistOptunaSweeperConf, "hydra.sweeper")]:
        for name, f, owner in schema_fields(schema, path):
            r = f.metadata.get("range")
            if r is not None and name not in {row[0] for row in rows}:
                rows.append((name, _type_name(get_type_hints(owner)[f.name]), r.describe()))
    return rows
