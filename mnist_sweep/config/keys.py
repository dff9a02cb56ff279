"""Every key the schema knows (each section's fields, nested ones too, and the sweeper's), which
option of a group holds a key (conf/<group>/*.yaml and the schema each names), and the nearest
real keys to a mistyped one: "did you mean model.dropout?". A key valid only under another
option of its group is named as such ("not a key of scheduler=onecycle; it is a key of
scheduler=step"), never suggested as if it were valid under the option selected."""
from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import Field, fields, is_dataclass
from typing import Any

import yaml

from mnist_sweep import PROJECT_ROOT
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


@functools.cache
def hydra_keys() -> list[str]:
    """Hydra's own keys (HydraConf: hydra.run.dir, ...) and every sampler's and pruner's
    (hydra.sweeper.sampler.seed): the nearest to a mistyped ``hydra.*`` key."""
    from hydra.conf import HydraConf

    from mnist_sweep.config import sweeper

    keys = {k for k, _, _ in schema_fields(HydraConf, "hydra")}
    for name, conf in vars(sweeper).items():
        if is_dataclass(conf) and name.endswith(("SamplerConf", "PrunerConf")):
            keys |= {k for k, _, _ in schema_fields(conf, f"hydra.sweeper.{'sampler' if 'Sampler' in name else 'pruner'}")}
    return sorted(keys)


def _flat(node: Any, path: str) -> Iterator[str]:
    if isinstance(node, Mapping):
        for k, v in node.items():
            yield from _flat(v, f"{path}.{k}")
    else:
        yield path


@functools.cache
def option_keys(section: str) -> dict[str, frozenset[str]]:
    """Each option of group ``section`` (``conf/<section>/*.yaml``) -> its dotted keys: the fields of
    the schema its defaults list names, and its own keys."""
    out: dict[str, frozenset[str]] = {}
    for path in sorted((PROJECT_ROOT / "conf" / section).glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        keys: set[str] = set()
        for entry in raw.get("defaults") or []:
            m = re.fullmatch(rf"/?schema/{section}/(\w+)@_here_", str(entry))
            if m and m[1] in SCHEMAS.get(section, {}):
                keys |= {k for k, _, _ in schema_fields(SCHEMAS[section][m[1]], section)}
        keys |= {k for k in _flat({k: v for k, v in raw.items() if k != "defaults"}, section)}
        out[path.stem] = frozenset(keys)
    return out


def _valid_keys(choices: Mapping[str, Any] | None) -> list[str]:
    """The keys valid under ``choices`` (group -> selected option); a group whose option is not
    known (or not one of conf/'s) contributes every option's keys."""
    keys = {k for k in all_keys() if k.split(".", 1)[0] not in SCHEMAS}
    for section in SCHEMAS:
        options = option_keys(section)
        chosen = (choices or {}).get(section)
        keys |= options[chosen] if chosen in options else {k for ks in options.values() for k in ks}
    return sorted(keys)


def holders(key: str, choices: Mapping[str, Any] | None) -> list[str]:
    """``group=option`` for each option other than the one selected that has ``key``."""
    section = key.split(".", 1)[0]
    chosen = (choices or {}).get(section)
    return [f"{section}={o}" for o, ks in option_keys(section).items() if key in ks and o != chosen]


def _held_by(key: str, choices: Mapping[str, Any] | None) -> str:
    found = holders(key, choices)
    return f"{key} (a key of {' or '.join(found)}: add {found[0]})"


def _cutoff(leaf: str) -> float:
    """How alike a leaf must be to suggest another: c7 -> c6 (one of two letters), gama -> gamma."""
    return 0.5 if len(leaf) <= 3 else 0.75


def did_you_mean(key: str, choices: Mapping[str, Any] | None = None, n: int = 3) -> str:
    """``; did you mean a, b?`` naming the nearest keys (or groups) to ``key`` valid under
    ``choices`` (group -> selected option; None: not known), else the nearest held only by another
    option, saying which; never ``key`` itself. '' when nothing is near."""
    key = key.lstrip("+~")
    hydra = hydra_keys() if key.startswith("hydra.") else []
    candidates = [k for k in dict.fromkeys(_valid_keys(choices) + hydra + list(GROUPS)) if k != key]
    section, _, leaf = key.rpartition(".")
    same_section = {k.rpartition(".")[2]: k for k in candidates if k.rpartition(".")[0] == section}
    near = [same_section[m] for m in difflib.get_close_matches(leaf, list(same_section), n=n, cutoff=_cutoff(leaf))]
    elsewhere = [k for k in candidates if k.rpartition(".")[0] != section and k != section]
    near += difflib.get_close_matches(key, elsewhere, n=n, cutoff=0.8)
    if not near and leaf:  # the right leaf in the wrong section: trainer.dropout -> model.dropout
        near = [k for k in candidates if k.rpartition(".")[2] == leaf]
    if not near:  # a key only another option has: scheduler.gama -> scheduler.gamma of scheduler=step
        others = [k for k in all_keys() if k != key and k not in candidates and holders(k, choices)]
        close = [k for k in others if k.rpartition(".")[0] == section
                 and difflib.get_close_matches(leaf, [k.rpartition(".")[2]], cutoff=_cutoff(leaf))]
        near = [_held_by(k, choices) for k in (close or [k for k in others if k.rpartition(".")[2] == leaf])[:1]]
    return f"; did you mean {', '.join(near[:n])}?" if near else ""


def unknown_key(key: str, choices: Mapping[str, Any] | None = None, add_hint: bool = True,
                value: str = "VALUE") -> str:
    """The line for a key the composed config does not have: under which option it is a key
    (``scheduler.gamma: not a key of scheduler=onecycle; it is a key of scheduler=step (add
    scheduler=step)``), else ``no such key`` and the nearest real keys; outside the schema's
    sections, how to add a key of one's own unless ``add_hint`` is false (a deletion)."""
    key = key.lstrip("+~")
    section = key.split(".", 1)[0]
    chosen = (choices or {}).get(section)
    found = holders(key, choices)
    if chosen is not None and found:
        return (f"{key}: not a key of {section}={chosen}; it is a key of {' and '.join(found)} "
                f"(add {' or '.join(found)})")
    hint = did_you_mean(key, choices)
    if "." in key and section not in GROUPS and section != "hydra":  # foo.bar: foo itself is unknown
        near = difflib.get_close_matches(section, list(SCHEMAS), n=1, cutoff=0.6)
        hint = hint or (f"; did you mean {near[0]}?" if near else "")
        hint = f"; {section} is no section of the config (its sections: {', '.join(SCHEMAS)}){hint}"
    if section in SCHEMAS or section == "hydra" or not add_hint:  # a schema (Hydra's too) refuses +key: no advice to add one
        return f"{key}: no such key{hint}"
    return f"{key}: no such key{hint} (a key of your own needs +{key}={value})"
