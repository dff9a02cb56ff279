"""Every key the schema knows (each section's fields, nested ones too, and the sweeper's), which
option of a group holds a key (conf/<group>/*.yaml and the schema each names), and the nearest
real keys to a mistyped one: "did you mean model.dropout?". A key valid only under another
option of its group is named as such ("not a key of scheduler=onecycle; it is a key of
scheduler=step"), never suggested as if it were valid under the option selected."""
from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import Field, fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml

from mnist_sweep import PROJECT_ROOT
from mnist_sweep.config.file_forms import PARAMS, nested
from mnist_sweep.config.meanings import meant
from mnist_sweep.config.own_options import own_class_line
from mnist_sweep.config.sections import SCHEMAS
from mnist_sweep.config.sweeper import MnistOptunaSweeperConf
from mnist_sweep.similar import close_matches

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


def composed_has(key: str, choices: Mapping[str, Any] | None) -> bool:
    """Whether the option of ``key``'s group the config composes has ``key`` (a null one too, which
    Hydra's deletion calls absent); the option not known, whether every option of the group has it."""
    options = option_keys(key.split(".", 1)[0]) if key.split(".", 1)[0] in SCHEMAS else {}
    chosen = (choices or {}).get(key.split(".", 1)[0])
    return key in options[chosen] if chosen in options else bool(options) and all(key in ks for ks in options.values())


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
    near = nearest(key, choices, n)
    return f"; did you mean {', '.join(near)}?" if near else ""


def nearest(key: str, choices: Mapping[str, Any] | None = None, n: int = 3) -> list[str]:
    """The nearest keys (or groups) to ``key``, as ``did_you_mean`` names them."""
    key = key.lstrip("+~")
    hydra = hydra_keys() if key.startswith("hydra.") else []
    candidates = [k for k in dict.fromkeys(_valid_keys(choices) + hydra + list(GROUPS)) if k != key]
    section, _, leaf = key.rpartition(".")
    same_section = {k.rpartition(".")[2]: k for k in candidates if k.rpartition(".")[0] == section}
    near = [same_section[m] for m in close_matches(leaf, list(same_section), n=n, cutoff=_cutoff(leaf))]
    elsewhere = [k for k in candidates if k.rpartition(".")[0] != section and k != section]
    near += close_matches(key, elsewhere, n=n, cutoff=0.8)
    if not near and leaf:  # the right leaf in the wrong section (trainer.dropout -> model.dropout), or a leaf
        by_leaf: dict[str, list[str]] = {}  # alone, the same or near (lr, epochs -> trainer.max_epochs; foo: not data.root)
        for k in candidates:
            by_leaf.setdefault(k.rpartition(".")[2], []).append(k)
        leaves = close_matches(leaf, list(by_leaf), n=n, cutoff=0.75) if not section else [leaf]
        near = [k for m in leaves for k in by_leaf.get(m, [])]
    if not near:  # a key only another option has: scheduler.gama -> scheduler.gamma of scheduler=step
        others = [k for k in all_keys() if k != key and k not in candidates and holders(k, choices)]
        close = [k for k in others if (k.rpartition(".")[0] == section or not section)  # gama -> scheduler.gamma
                 and close_matches(leaf, [k.rpartition(".")[2]], cutoff=_cutoff(leaf))]
        near = [_held_by(k, choices) for k in (close or [k for k in others if k.rpartition(".")[2] == leaf])[:1]]
    means = [k for k in meant(key) if k in candidates]  # budget -> model.max_params: by meaning, first
    return (means + [k for k in near if k not in means])[:n]


def unknown_key(key: str, choices: Mapping[str, Any] | None = None, value: str = "VALUE") -> str:
    """The line for a key the composed config does not have: under which option it is a key
    (``scheduler.gamma: not a key of scheduler=onecycle; it is a key of scheduler=step (add
    scheduler=step)``), else ``no such key`` and the nearest real keys; never advice to add it
    with ``+KEY=value`` (a key outside the config's sections is refused: ``stray_section_error``),
    so ``value``, the value given, is not shown."""
    key = key.lstrip("+~")
    if own := own_class_line(key, choices, did_you_mean(key, choices)):
        return own
    section = key.split(".", 1)[0]
    chosen = (choices or {}).get(section)
    found = holders(key, choices)
    if chosen is not None and found:
        return (f"{key}: not a key of {section}={chosen}; it is a key of {' and '.join(found)} "
                f"(add {' or '.join(found)})")
    hint = did_you_mean(key, choices)
    if not hint and section in SCHEMAS:  # nothing near (data.subset): the keys there are, data.train_limit among them
        valid = [k for k in _valid_keys(choices) if k != f"{section}.name"]  # the label: set by picking the option
        node = next(n for n in (key.rpartition(".")[0], section) if n == section or any(k.startswith(f"{n}.") for k in valid))
        own = [k.removeprefix(f"{node}.") for k in valid if k.startswith(f"{node}.")]
        hint = (f"; {node}'s keys: {', '.join(own)} (docs/configuration.md says what each does)" if own
                else f"; {section}={chosen} has no keys" if chosen else "")
    if section not in GROUPS and section != "hydra":  # foo.bar: foo itself is unknown
        near = close_matches(section, list(SCHEMAS), n=1, cutoff=0.6)
        hint = hint or (f"; did you mean {near[0]}?" if near else "")
        hint = f"; {section} is no section of the config ({SECTIONS}){hint}"
    return f"{key}: no such key{hint}"


SECTIONS = f"its sections: {', '.join(SCHEMAS)}"
HEADER = "# @package _global_"


def stray_section_error(cfg: Any, swept: Mapping[str, list[str]] | None = None) -> str | None:
    """The line for a top-level key of a composed config that is none of its sections (nothing
    reads it: the setting would be dropped without a word): an experiment or hparams_search file with keys but
    without ``# @package _global_`` (they land under the group's name; an empty file is harmless) names the file, a swept
    option's too (``swept``: group -> options, each file read, none composed); any other key
    (``+lr=0.1``) is named with the nearest real key and its value (``optimizer.lr=0.1``), one a
    file sets (``lr: 0.1``) with the file and the key as a file writes it (``optimizer: {lr: 0.1}``)."""
    from omegaconf import OmegaConf

    for group, options in (swept or {}).items():
        for option in options if group in ("experiment", "hparams_search") else ():
            if (path := _option_file(cfg, group, option)) and _own_keys(path) and not _global(path):
                return _headerless(group, option, path)
    choices = OmegaConf.select(cfg, "hydra.runtime.choices", default=None)
    choices = None if choices is None else OmegaConf.to_container(choices)
    keyless = {g for g, o in (choices or {}).items() if g in GROUPS and g in cfg and not cfg[g]
               and (p := _option_file(cfg, g, o)) is not None and not _own_keys(p)}  # an empty file: `experiment: {}`
    if (key := next((k for k in cfg if k not in SCHEMAS and k != "hydra" and k not in keyless), None)) is None:
        return None
    if key in GROUPS and (option := (choices or {}).get(key)) is not None:
        path = _option_file(cfg, key, option)
        if path is None or not _global(path):  # a file with the header: the key came from the command line
            return _headerless(key, option, path)
    leaf, value = key, OmegaConf.to_container(OmegaConf.masked_copy(cfg, [key]), resolve=False)[key]
    while isinstance(value, dict) and value:  # +experiment.model.c1=6: the key as written
        k, value = next(iter(value.items()))
        leaf += f".{k}"
    if "." in key:  # `trainer.max_epoch: 3` in a file: one key of that name
        return _dotted(cfg, key, value, choices)
    what = "not a section of the config" if leaf == key else f"{key} is not a section of the config"
    near, shown, where = nearest(leaf, choices), _shown(value), _file_setting(cfg, key, choices)
    if where and near and " " not in near[0]:  # `lr: 0.1` in a file: the key meant, as a file writes it
        fix = f"did you mean {near[0]}? write it nested: {nested(near[0], shown)}"
    else:
        if near and " " not in near[0] and shown is not None:  # the fix to paste: the nearest key, the value given
            near = [f"{'+' * (near[0] == 'experiment')}{near[0]}={shown}"]
        fix = (f"did you mean {', '.join(near)}?" if near
               else "set a key of one of them instead (`python -m mnist_sweep.train --cfg job` lists the keys)")
    return f"{where}{leaf}: {what} ({SECTIONS}), so nothing would read it; {fix}"


def _dotted(cfg: Any, key: str, value: Any, choices: Mapping[str, Any] | None) -> str:
    """The line for a top-level key with dots that a file sets (``trainer.max_epoch: 3`` in
    experiment/mine.yaml: YAML reads one key of that name, which no section holds): the file, the
    key meant (``did you mean trainer.max_epochs?``) and the nested form to write. It named no file,
    and told a file to set ``trainer.max_epochs=3``, the command line's form."""
    known = {*all_keys(), *hydra_keys(), *(k for s in SCHEMAS for ks in option_keys(s).values() for k in ks)}
    meant = key if key in known or key.startswith(f"{PARAMS}.") else next(iter(nearest(key, choices, 1)), None)
    fix = f"did you mean {meant}? " if meant and meant != key else ""
    return (f"{_file_setting(cfg, key, choices)}{key}: a dotted key in a config file is one key of that name, not "
            f"a section's key ({SECTIONS}), so nothing would read it; {fix}write it nested: "
            f"{nested(meant or key, _shown(value))}")


def _file_setting(cfg: Any, key: str, choices: Mapping[str, Any] | None) -> str:
    """``experiment/mine.yaml: `` for the option's file that sets ``key`` at the config's top (its
    header ``# @package _global_``; ``conf/`` for one of conf/'s, a --config-dir's as
    group/option.yaml); '' where none does (the command line's: conf/optimizer/sgd.yaml's lr is not)."""
    return next((f"{'conf/' * (p == PROJECT_ROOT / 'conf' / g / f'{o}.yaml')}{g}/{o}.yaml: "
                 for g, o in (choices or {}).items() if isinstance(o, str)
                 and (p := _option_file(cfg, g, o)) is not None and _sets(p, key) and _global(p)), "")


def _sets(path: Path, key: str) -> bool:
    """Whether the file sets ``key`` at its top."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(raw, dict) and key in raw


def _headerless(group: str, option: str, path: Path | None) -> str:
    where = f"{path or f'the {group} file {option}.yaml'} ({'+' * (group == 'experiment')}{group}={option})"
    return (f"{group}: {where} lacks '{HEADER}' as its first line, so its keys land under {group}:, "
            f"not a section of the config, and no run reads them; make '{HEADER}' the file's first line")


def _own_keys(path: Path) -> bool:
    """Whether an option's file sets keys of its own (not only a defaults list)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):  # Hydra reads it for the candidate and says so
        return False
    return isinstance(raw, dict) and any(k != "defaults" for k in raw)


def _shown(value: Any) -> str | None:
    """``value`` as a command line writes it (null, true, [1,2]); None for a mapping."""
    if isinstance(value, list):
        items = [_shown(v) for v in value]
        return None if None in items else f"[{','.join(items)}]"  # type: ignore[arg-type]
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return None if isinstance(value, dict) else str(value)


def _option_file(cfg: Any, group: str, option: str) -> Path | None:
    """The file Hydra composed for ``group=option``: the first on the config's search path."""
    for source in cfg.hydra.runtime.get("config_sources") or []:
        path = Path(str(source.path), group, f"{option}.yaml")
        if source.schema == "file" and path.is_file():
            return path
    return None


def _global(path: Path) -> bool:
    """Whether the file's header puts its keys at the top of the config (``# @package _global_``)."""
    from hydra.plugins.config_source import ConfigSource

    try:
        return ConfigSource._get_header_dict(path.read_text(encoding="utf-8")).get("package") == "_global_"
    except (OSError, UnicodeDecodeError, ValueError):  # unreadable: Hydra composed it, so say what to check
        return False
