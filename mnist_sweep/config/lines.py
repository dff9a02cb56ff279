"""OmegaConf's refusals as one line naming the key a user set, with how to write it: a value of
the wrong kind or a null (``; write an integer, e.g. model.c1=8``), and an interpolation that
does not resolve (``model.c1: ${oc.env:NOPE}: environment variable NOPE is not set; ...``)."""
from __future__ import annotations

import re
from dataclasses import MISSING
from typing import Any, Union, get_args, get_origin, get_type_hints

from omegaconf import DictConfig, OmegaConf

from mnist_sweep.config.file_values import shipped_value
from mnist_sweep.config.keys import schema_fields
from mnist_sweep.config.ranges import KINDS
from mnist_sweep.config.sections import SCHEMAS
from mnist_sweep.config.sweeper import MnistOptunaSweeperConf
from mnist_sweep.config.syntax import shell_override

_INTERPOLATION = re.compile(r"\$\{([\w.]+)\}")
# OmegaConf's words for a value of the wrong kind (or a null where none is allowed)
_REFUSALS = ("could not be converted", "is not a valid bool", "is not Optional", "is not a ListConfig",
             "Cannot convert", "Invalid type assigned", "Incompatible value 'None'")  # the last: a config file's null


def omegaconf_line(e: Exception, prefix: str = "") -> str:
    """``full.key: what was wrong`` for an OmegaConf error (its message's first line)."""
    msg = str(getattr(e, "msg", None) or e).splitlines()[0] if str(e) else type(e).__name__
    full_key = getattr(e, "full_key", None)
    if full_key is None:
        return msg
    name = f"{prefix}.{full_key}" if prefix and not str(full_key).startswith(prefix + ".") else str(full_key)
    return f"{name}: {msg}"


def _kind(tp: Any) -> str | None:
    """How to write a value of type ``tp`` ('an integer', 'a list of numbers'), or None for Any."""
    args = [a for a in get_args(tp) if a is not type(None)]
    if get_origin(tp) is Union and len(args) == 1:
        kind = _kind(args[0])
        return kind and f"{kind} or null"
    if get_origin(tp) is list:
        inner = KINDS.get(args[0]) if args else None
        return "a list" + (f" of {inner.split(' ', 1)[1]}s" if inner and inner != "true or false" else "")
    return KINDS.get(tp)


def _example(value: Any) -> str | None:
    """``value`` as a command line writes it (null, true, [0.9,0.999]); None where it makes no example."""
    if value is None or value is MISSING or value == [] or value == "???":  # "???": OmegaConf's MISSING
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_example(v) or "null" for v in value) + "]"
    if isinstance(value, str) and not _reads_as(value):  # trial_{number:04d}: Hydra's quotes, in the shell's
        return shell_override("", value)
    return str(value)


def _reads_as(text: str) -> bool:
    """Whether Hydra's override grammar reads ``KEY=text`` as the string ``text`` (``{`` begins a dict)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    try:
        return OverridesParser.create().parse_overrides([f"k={text}"])[0].value() == text
    except OverrideParseException:
        return False


def type_fix(full_key: str, msg: str, given: list[str] | None = None) -> str:
    """How to write a value the schema's type refused (OmegaConf says only what it could not convert):
    its kind, and a default of the key as an example where a schema has one (a sweeper key's the value
    conf/ gives it with the command line's other overrides ``given``, where known: n_trials 14, not 20)."""
    if not any(r in msg for r in _REFUSALS):
        return ""
    if (whole := re.sub(r"\[\d+\]$", "", full_key)) != full_key:  # an item of a list: how to write the list
        return type_fix(whole, msg, given)
    section = "hydra.sweeper" if full_key.startswith("hydra.sweeper.") else full_key.split(".", 1)[0]
    schemas = [MnistOptunaSweeperConf] if section == "hydra.sweeper" else SCHEMAS.get(section, {}).values()
    if (group := re.match(r"hydra\.sweeper\.(sampler|pruner)\.", full_key)) is not None:  # sampler.seed=nan: said no kind
        schemas, section = _group_confs(group[1]), group[0].rstrip(".")
    kind, examples = None, []
    for schema in schemas:
        for key, f, owner in schema_fields(schema, section):
            if key == full_key:
                kind = kind or _kind(get_type_hints(owner)[f.name])
                default = f.default_factory() if f.default_factory is not MISSING else f.default
                rng = f.metadata.get("range")  # its own example where the default makes none (pool_after: [])
                examples += [e for e in [_example(default), _example(getattr(rng, "example", None))] if e]
            elif key.startswith(full_key + ".") and kind is None:  # a nested section set to null: data.augment
                return f"; {section_fix(full_key)}"
    if kind is None:
        return ""
    if section == "hydra.sweeper" and given is not None and (shipped := _example(shipped_value(full_key, given))):
        examples.insert(0, shipped)
    return f"; write {kind}" + (f", e.g. {full_key}={examples[0]}" if examples else "")


def section_fix(full_key: str) -> str | None:
    """How to set a section of keys (data.augment, hydra.sweeper.repeats), which takes no value of its own
    and cannot be deleted: 'set its keys instead, e.g. data.augment.strength=1.0', and the key that switches
    it off where one does (its range's ``off``: data.augment=false, ~data.augment meant that); None for a key."""
    section = "hydra.sweeper" if full_key.startswith("hydra.sweeper.") else full_key.split(".", 1)[0]
    schemas = [MnistOptunaSweeperConf] if section == "hydra.sweeper" else SCHEMAS.get(section, {}).values()
    inside = [(k, f) for schema in schemas for k, f, _ in schema_fields(schema, section) if k.startswith(full_key + ".")]
    if not inside:
        return None
    first, f = inside[0]
    default = f.default_factory() if f.default_factory is not MISSING else f.default
    off = next((f"; {k}={r.off} switches {full_key} off" for k, f in inside
                if (r := f.metadata.get("range")) is not None and r.off is not None), "")
    return f"set its keys instead, e.g. {first}={_example(default)}{off}"


def _group_confs(group: str) -> list[type]:
    """The configs of hydra/sweeper/sampler (or pruner)'s options: MnistTPESamplerConf, MedianPrunerConf, ..."""
    import dataclasses

    from mnist_sweep.config import sweeper

    suffix = f"{group.capitalize()}Conf"
    return [c for name, c in vars(sweeper).items() if name.endswith(suffix) and dataclasses.is_dataclass(c)]


def _written(root: Any, key: str) -> Any:
    """The value at dotted ``key`` (``model.widths[0]``) as written, interpolations unresolved; None if absent."""
    node: Any = OmegaConf.to_container(root, resolve=False) if isinstance(root, DictConfig) else root
    for part in re.findall(r"[^.\[\]]+", key):
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return None
    return node


def interpolated_from(root: Any, full_key: Any) -> str | None:
    """The key a node takes its value from when it is a plain interpolation (``model.widths[0]:
    ${model.c1}``): the key a user set, to name in an error; else None."""
    if not isinstance(root, DictConfig) or not full_key:
        return None
    m = _INTERPOLATION.fullmatch(node) if isinstance(node := _written(root, str(full_key)), str) else None
    return m[1] if m else None


def unresolved_line(root: Any, e: Exception, section: str) -> str:
    """One line for an interpolation that does not resolve, naming the key that holds it (model.c1,
    not the model.widths[0] built from it), what it holds, why, and how to fix it."""
    full_key, seen = str(getattr(e, "full_key", None) or section), set()
    while ((source := interpolated_from(root, full_key)) and source not in seen
           and not isinstance(_written(root, source), (dict, list, type(None)))):  # a leaf a user sets
        seen.add(full_key := source)  # model.widths[0] -> model.c1 (-> model.c2 where c1 is ${model.c2})
    why = str(getattr(e, "msg", None) or e).splitlines()[0] if str(e) else type(e).__name__
    why = re.sub(r"^\w+ raised while resolving interpolation: ", "", why).strip('"')
    if m := re.search(r"Environment variable '([^']+)' not found", why):
        why, fix = f"environment variable {m[1]} is not set", f"set it, or give a default: ${{oc.env:{m[1]},VALUE}}"
    elif m := re.search(r"Interpolation key '([^']+)' not found", why):
        why, fix = f"no key {m[1]} in the config", "name a key `python -m mnist_sweep.train --cfg job` lists, or write the value itself"
    else:
        fix = "fix the interpolation or write the value itself"
    why = why if len(why) <= 160 else why[:157] + "..."  # ${trainer} quotes a whole section
    written = _written(root, full_key)
    shown = f"{written}: " if isinstance(written, str) and "${" in written else ""
    return f"{full_key}: {shown}cannot resolve ({why}); {fix}"


def unmergeable_fix(cause: Exception) -> str | None:
    """How to write a value Hydra could not merge into its key, or None where it is no such error:
    an interpolation its grammar refuses (``${.}``), a mapping given to a key that holds no mapping."""
    from omegaconf.errors import ConfigTypeError, GrammarParseError

    if isinstance(cause, GrammarParseError):
        return "; write the value itself, or an interpolation such as ${oc.env:NAME,DEFAULT}"
    if isinstance(cause, ConfigTypeError) and "Cannot merge" in str(cause):
        return "; it holds no mapping: write a value like the one `python -m mnist_sweep.train --cfg job` shows"
    return None
