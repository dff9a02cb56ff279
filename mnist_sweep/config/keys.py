"""Every key the schema knows (each section's fields, nested ones too, and the sweeper's), and the
nearest real keys to a mistyped one: "did you mean model.dropout?"."""
from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import Field, fields, is_dataclass

from mnist_sweep.config.sections import SCHEMAS
from mnist_sweep.config.sweeper import MnistOptunaSweeperConf

GROUPS = ("model", "optimizer", "scheduler", "data", "trainer", "hparams_search", "experiment")


def schema_fields(schema: type, path: str) -> Iterator[tuple[str, Field, type]]:
    """(dotted key, field, the dataclass it belongs to) of every leaf field, nested dataclasses walked."""
    for f in fields(schema):
        if isinstance(f.default_factory, type) and is_dataclass(f.default_factory):
            yield from schema_fields(f.default_factory, f"{path}.{f.name}")
        elif not f.name.startswith("_") and f.name != "defaults":
            yield f"{path}.{f.name}", f, schema


def all_keys() -> list[str]:
    """Every config key of every section's schemas and of ``hydra.sweeper``, sorted."""
    keys = {k for section, by_name in SCHEMAS.items() for schema in by_name.values()
            for k, _, _ in schema_fields(schema, section)}
    keys |= {k for k, _, _ in schema_fields(MnistOptunaSweeperConf, "hydra.sweeper")}
    return sorted(keys)


def did_you_mean(key: str, n: int = 3) -> str:
    """``; did you mean a, b?`` naming the nearest real keys (or groups) to ``key``, or ''."""
    key = key.lstrip("+~")
    candidates = all_keys() + list(GROUPS)
    section, _, leaf = key.rpartition(".")
    same_section = [k for k in candidates if k.rpartition(".")[0] == section]
    near = difflib.get_close_matches(key, same_section, n=n, cutoff=0.75)
    near += [k for k in difflib.get_close_matches(key, candidates, n=n, cutoff=0.8) if k not in near]
    if not near and leaf:  # the right leaf in the wrong section: trainer.dropout -> model.dropout
        near = [k for k in candidates if k.rpartition(".")[2] == leaf]
    return f"; did you mean {', '.join(near[:n])}?" if near else ""
