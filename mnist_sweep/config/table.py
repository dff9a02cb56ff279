"""The README's table of every ranged key (config and sweeper): key, type, valid values."""
from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any, get_type_hints

from mnist_sweep.config.sections import SCHEMAS
from mnist_sweep.config.sweeper import MnistOptunaSweeperConf


def _type_name(tp: Any) -> str:
    if tp is Any:
        return "any"
    name = str(tp).replace("typing.", "") if getattr(tp, "__origin__", None) else tp.__name__
    return name.replace("NoneType", "null")


def error_table() -> list[tuple[str, str, str]]:
    """(key, type, valid values) of every key with a range, the sweeper's included: the README's table."""
    rows: list[tuple[str, str, str]] = []
    seen: set[str] = set()

    def walk(schema: type, path: str) -> None:
        hints = get_type_hints(schema)
        for f in fields(schema):
            if isinstance(f.default_factory, type) and is_dataclass(f.default_factory):
                walk(f.default_factory, f"{path}.{f.name}")
                continue
            r = f.metadata.get("range")
            name = f"{path}.{f.name}"
            if r is not None and name not in seen:
                seen.add(name)
                rows.append((name, _type_name(hints[f.name]), r.describe()))

    for section, by_name in SCHEMAS.items():
        for schema in by_name.values():
            walk(schema, section)
    walk(MnistOptunaSweeperConf, "hydra.sweeper")
    return rows
