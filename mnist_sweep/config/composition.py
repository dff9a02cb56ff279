"""An exception raised while composing a config, as one line naming the key a user set: a failed
``~KEY`` deletion, a ``KEY={...}`` Hydra cannot merge, a ``+KEY`` already there, an unknown key (the
option of its group that has it, or the nearest real keys), a schema type error; else Hydra's
multi-line text joined into one line. The command line's check and the commands that compose
(train, confirm) word them alike."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mnist_sweep.config.dict_overrides import dict_override_error
from mnist_sweep.config.keys import composed_has, holders, unknown_key
from mnist_sweep.config.lines import section_fix
from mnist_sweep.config.settings import hydra_error_line
from mnist_sweep.config.syntax import override_syntax_error
from mnist_sweep.errors import one_line


def _one_line(message: str) -> str:
    """Hydra's multi-line composition errors as one line (option lists joined, search path dropped)."""
    parts: list[str] = []
    for line in message.splitlines():
        if line.startswith(("Config search path", "Set the environment variable HYDRA_FULL_ERROR")):
            break
        if line.startswith("\t") and parts:
            parts[-1] += (", " if not parts[-1].endswith(":") else " ") + line.strip()
        elif line.strip() and not line.startswith("    "):
            parts.append(line.strip().rstrip("."))
    return "; ".join(parts)


_NOT_IN_STRUCT = re.compile(r"Could not override '([^']+)'")
_NO_SUCH_TO_DELETE = re.compile(r"Could not delete from config\. '([^']+)' does not exist")
_PARAMS = "hydra.sweeper.params."
_APPENDED = re.compile(r"Could not append to config\. An item is already at '([^']+)'")
_NOT_IN_DEFAULTS = re.compile(r"Could not override '([^']+)'\. No match in the defaults list\.?\s*To append to your "
                              r"default list use \+(\S+)")
_NO_GROUP_TO_DELETE = re.compile(r"Could not delete '([^']+)'\. No match in the defaults list")
_OTHER_VALUE = re.compile(r"Could not delete from config\. The value of '([^']+)' is (.*) and not (.*?)\.?$")


def _deletion_error(e: BaseException, choices: Mapping[str, Any] | None) -> str | None:
    """The line for a failed ``~key`` (Hydra: "Error merging override ~model.c1"), or None."""
    from omegaconf.errors import ConfigTypeError

    m = _NO_SUCH_TO_DELETE.search(str(e))  # "does not exist": Hydra's word for a null key (trainer.ema_decay) too
    if (isinstance(e.__cause__, ConfigTypeError) and "does not support deletion" in str(e.__cause__)) or (
            m and composed_has(m[1], choices)):  # the schema's key, in the option composed
        key = m[1] if m else getattr(e.__cause__, "full_key", None) or str(e).rsplit("~", 1)[-1]
        if key in ("hydra.sweeper.sampler", "hydra.sweeper.pruner"):  # a node chosen with a group, none set by value
            none = " (hydra/sweeper/pruner=none: no pruning)" if key.endswith("pruner") else ""
            return (f"~{key}: every sweep has a {key.rpartition('.')[2]}, which cannot be deleted; choose another with "
                    f"{key.replace('.', '/')}=NAME{none}")
        fix = section_fix(key)  # a section of keys: its keys to set (data.augment: and the one that switches it off)
        return (f"~{key}: {key} is a {'section' if fix else 'key'} of the schema and cannot be deleted (every run reads "
                f"it); {fix or f'set it with {key}=VALUE instead (docs/schema.md lists its values)'}")
    if m:
        if (leaf := m[1].removeprefix(_PARAMS)) != m[1]:  # a searched key is one key with dots: ~ cannot name it
            return (f"~{m[1]}: a ~ override cannot name a searched key ({leaf} is one key of hydra.sweeper.params, "
                    f"dots and all); take it out of the search with {leaf}=VALUE, or start from an empty space "
                    "with hydra.sweeper.params=null")
        if found := holders(m[1], choices):  # a schema key of another option (scheduler=step): adding it cannot help
            this = f"{s}={c}, the option" if (c := (choices or {}).get(s := m[1].split(".", 1)[0])) else "the option"
            return (f"~{m[1]}: nothing to delete: {m[1]} is a key of {' and '.join(found)} only, not of {this} "
                    f"this config composes (and a schema key is never deleted); drop ~{m[1]}")
        return f"~{m[1]}: nothing to delete; {unknown_key(m[1], choices)}"
    if m := _OTHER_VALUE.search(str(e)):
        return (f"~{m[1]}={m[3]}: deletes {m[1]} only where its value is {m[3]}, and it is {m[2]}; "
                f"to set it use {m[1]}={m[3]}")
    return None


_KIND = re.compile(r"Cannot merge (?:DictConfig|ListConfig) with (?:DictConfig|ListConfig)|Cannot assign \w+ to (Dict|List)\[")


def _kind_error(e: BaseException) -> str | None:
    """The line for ``KEY=[...]`` on a mapping (``hydra.sweeper.repeats=[1]``, ``hydra.sweeper.params=5``)
    or ``KEY={...}`` on a list (``hydra.sweeper.enqueue={a:1}``): Hydra said 'Error merging override
    KEY=...' and no more, or OmegaConf's 'Cannot assign int to Dict[str, str]'; None for any other error."""
    cause, first = e.__cause__, (str(e).splitlines() or [""])[0]
    m = _KIND.search(str(cause)) if cause is not None else None
    key, value = first.removeprefix("Error merging override ").partition("=")[::2]
    if m is None or not first.startswith("Error merging override ") or not value:
        return None
    key = key.lstrip("+~")
    if m[1] != "List" and not (m[1] is None and getattr(cause, "object_type", None) is list):  # the node, not what was given
        return (f"{key}: takes a mapping of keys, got {value}; set its keys one by one ({key}.NAME=VALUE), "
                f"or give {key}={{NAME:VALUE}}")
    if value.startswith("{") and not key.startswith("hydra."):  # a section's list holds numbers or names: [{}] is refused
        return (f"{key}: takes a list, got {value}; write its items in brackets, {key}=[ITEM,...] "
                f"(`python -m mnist_sweep.train --cfg job` shows its list)")
    return f"{key}: takes a list, got {value}; give it in brackets, e.g. {key}=[{value}]"


def _mode_error(e: BaseException) -> str | None:
    """The line for ``hydra.mode=multirun`` (Hydra's values are RUN and MULTIRUN, in capitals; -m is the sweep's
    flag), or None: Hydra's own line named the values and no fix."""
    cause = e.__cause__ or e.__context__
    if str(getattr(cause, "full_key", "")) != "hydra.mode" or "Invalid value" not in str(cause):
        return None
    value = str(getattr(cause, "value", ""))
    if value.upper() == "MULTIRUN":
        return f"hydra.mode={value}: Hydra's value is MULTIRUN, in capitals; or give -m, which sets it (a sweep)"
    if value.upper() == "RUN":
        return f"hydra.mode={value}: Hydra's value is RUN, in capitals; a run is the default: leave it out"
    return f"hydra.mode={value}: must be RUN or MULTIRUN; leave it out for a run, or give -m for a sweep"


def composition_error(e: BaseException, choices: Mapping[str, Any] | None = None, given: list[str] | None = None) -> str:
    """One line for an exception raised while composing: a schema type error names its key, an
    unknown key the option of its group that has it (``choices``: group -> selected option, where
    known) or the nearest real keys (Hydra's "use +key" advice would add a key nothing reads); a
    key a file sets that the option composed lacks, the file (with ``given``, the overrides, a fix)."""
    from hydra.errors import OverrideParseException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    if isinstance(e, OverrideParseException):  # an override composed without the command-line check (confirm --set)
        return override_syntax_error(e.override, e.message)
    if (deletion := _deletion_error(e, choices)) is not None:
        return one_line(deletion)
    if (merging := dict_override_error(e, given)) is not None:  # KEY={...}: into null, a new key, a sweep in it
        return one_line(merging)
    if (kind := _kind_error(e)) is not None:  # a list where a mapping goes, or a mapping where a list goes
        return one_line(kind)
    if (mode := _mode_error(e)) is not None:  # hydra.mode=multirun
        return one_line(mode)
    if m := _NO_GROUP_TO_DELETE.search(str(e)):  # ~experiment: Hydra's 'Could not delete ...', no fix
        group = m[1].split("=", 1)[0]
        return one_line(f"~{m[1]}: nothing to delete: no {group} option is in the config (none is, unless added with "
                        f"+{group}=NAME); leave ~{m[1]} out")
    if m := _NOT_IN_DEFAULTS.search(str(e)):  # experiment=tiny: Hydra's 'Could not override ...; To append to your ...'
        return one_line(f"{m[2]}: {m[1]} is in no defaults list of the config (conf/config.yaml's has model, optimizer, "
                        f"..., not {m[1]}), so it has no option to replace; add it with +: +{m[2]}")
    if m := _APPENDED.search(str(e)):  # +optimizer.lr=1: + adds a key, and this one is there
        return one_line(f"+{m[1]}: {m[1]} is already in the config (+ adds a new key); set it with {m[1]}=VALUE")
    unknown = isinstance(e.__cause__, (ConfigAttributeError, ConfigKeyError))
    if unknown and (m := _NOT_IN_STRUCT.search(str(e))) and hydra_error_line(e, choices) is None:
        return one_line(unknown_key(m[1], choices))
    return one_line(hydra_error_line(e, choices, given) or _one_line(str(e)) or type(e).__name__)
