"""A config file's own mistakes, as one line naming the file (Hydra's named a schema class, or no
file): an option its defaults list names that no group has (``missing_option_error``), a hydra.* or
section key it sets that its schema lacks (``file_key_error``), a key it sets that the option of its
group the config composes lacks (``clash_line``). A run's composition and a sweep's candidates word
them alike."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mnist_sweep.config.config_files import config_file_line, file_shown
from mnist_sweep.config.options import option_line
from mnist_sweep.errors import one_line
from mnist_sweep.yaml_tags import tag_made


def file_line(e: BaseException, choices: Mapping[str, Any] | None = None, given: list[str] | None = None) -> str | None:
    """The one line for a composition error that is a config file's own mistake (its YAML or its
    defaults list: ``config_file_line``; an option or key it names that is not there), else None:
    a run's and a sweep candidate's composition word them alike."""
    return config_file_line(e) or missing_option_error(e) or clash_line(e, choices, given) or unnamed_merge_line(e) \
        or value_line(e, given)


def missing_option_error(e: BaseException) -> str | None:
    """One line for Hydra's "Could not find 'hydra/sweeper/sampler/randomm'" (an option no group of
    the search path has: Hydra's own groups, a plugin's, a --config-path's), as ``option_error``
    words it for conf/'s groups: the nearest option; for a hydra.* key a config file sets that
    its schema lacks, ``file_key_error``'s line (the first check of every composition error's
    line, the command line's and a candidate's); None for another error."""
    from hydra.errors import MissingConfigException

    if (in_file := file_key_error(e)) is not None:
        return in_file
    if not isinstance(e, MissingConfigException) or e.options is None or "/" not in (e.missing_cfg_file or ""):
        return None
    group, _, value = e.missing_cfg_file.rpartition("/")
    line = option_line(group, value, sorted(e.options), f"not in group {group}")
    return one_line(f"{holder}.yaml, defaults list: {line}" if (holder := _defaults_holder(e)) else line)


_IN_FILE = re.compile(r"In '([^']+)': ConfigKeyError raised while composing config")


def file_key_error(e: BaseException) -> str | None:
    """``hparams_search/mine.yaml: hydra.sweeper.n_trial: no such key; did you mean
    hydra.sweeper.n_trials?`` for a hydra.* key (the sweeper's above all) that a config file sets and
    its schema lacks, as the command line words it, naming the file: Hydra's line named the schema
    class ('Key 'n_trial' not in 'MnistOptunaSweeperConf''); a section's key that no option of its
    group has, a typo (``experiment/mine.yaml: trainer.max_epoch: no such key; did you mean
    trainer.max_epochs?``), the same way: it named no file. None for another error (a key another
    option has, scheduler.pct_start with scheduler=step, is ``clash_line``'s)."""
    from omegaconf.errors import ConfigKeyError

    from mnist_sweep.config.keys import holders, unknown_key
    from mnist_sweep.config.sections import SCHEMAS

    cause = e.__cause__ or e.__context__
    key = str(getattr(cause, "full_key", None) or "")
    head = key.split(".", 1)[0]
    if not isinstance(cause, ConfigKeyError) or not (where := _IN_FILE.search(str(e))):
        return None
    if head != "hydra" and (head not in SCHEMAS or holders(key, None)):
        return None
    shown = file_shown(where[1])
    line = unknown_key(key)
    if "did you mean" not in line and "of your own" not in line:
        line += (f" (`python -m mnist_sweep.train --cfg {'hydra' if head == 'hydra' else 'job'} -p "
                 f"{key.rpartition('.')[0]}` lists the keys)")
    return one_line(f"{shown}: {line}")


def clash_line(e: BaseException, choices: Mapping[str, Any] | None, given: list[str] | None = None) -> str | None:
    """``conf/experiment/tiny.yaml sets scheduler.pct_start, which scheduler=step does not have``
    for a key a config file sets that the option of its group the config composes lacks
    (``choices``: group -> option; a --config-dir's file as ``experiment/mine.yaml``): a sweep's
    candidate and a run word it alike. With ``given``, a run's overrides, the fix: drop the option
    they pick, else pick one that has the key; or the file without the key (a copy under another
    name for one of conf/'s; ``~KEY`` cannot help: a file's keys merge before the command line's).
    None for another error."""
    from mnist_sweep.config.keys import holders

    key = str(getattr(e.__cause__ or e.__context__, "full_key", None) or "")
    if not key or not (where := _IN_FILE.search(str(e))):
        return None
    group, shown = key.split(".", 1)[0], file_shown(where[1])
    chosen = (choices or {}).get(group)
    line = f"{shown} sets {key}, which " + (f"{group}={chosen}" if chosen else f"{group}'s option") + " does not have"
    if given is None:
        return line
    picked = next((a.lstrip("+") for a in given if chosen and a.lstrip("+").split("=", 1) == [group, str(chosen)]), None)
    holder, (file_group, _, _) = holders(key, choices), where[1].rpartition("/")
    without = (f"train a copy of the file without {key}: DIR/{file_group}/NAME.yaml (a name conf/{file_group}/ lacks), "
               f"with --config-dir DIR {'+' * (file_group == 'experiment')}{file_group}=NAME"
               if shown.startswith("conf/") and file_group else f"take {key} out of {shown}")
    if picked:
        return one_line(f"{line}; drop {picked}, or {without}")
    return one_line(f"{line}; {without}" + (f", or pick an option that has it: {holder[0]}" if holder else ""))


def _defaults_holder(e: BaseException) -> str | None:
    """The config (``experiment/mine``) whose defaults list names the missing option, None where the
    command line does. Hydra's message names the config whose default the option replaces ("In
    'config': ..."), for an ``override /model: nett`` too: the file with the override is in its
    Overrides (what Hydra's own "Could not override" line names), a local of the failing frames."""
    tree = overrides = None
    tb = e.__traceback__
    while tb is not None:
        found = tb.tb_frame.f_locals
        overrides = found["overrides"] if hasattr(found.get("overrides"), "override_metadata") else overrides
        tree = found.get("tree", tree) if tb.tb_frame.f_code.co_name == "config_not_found_error" else tree
        tb = tb.tb_next
    node = getattr(tree, "node", None)
    if node is None or not hasattr(node, "get_override_key") or getattr(node, "external_append", False):
        return None  # not a group's option, or one the command line adds (+model=nett)
    if getattr(node, "config_name_overridden", False):  # by the command line or another config's override
        meta = getattr(overrides, "override_metadata", {}).get(node.get_override_key())
        return None if meta is None or meta.external_override else meta.containing_config_path
    return tree.parent.node.get_config_path() if tree.parent is not None else None


_MERGING = re.compile(r"In '([^']+)': \w+ raised while composing config")


def unnamed_merge_line(e: BaseException) -> str | None:
    """``experiment/mine.yaml: model.kernels: takes a list, got {'a': 1}; ...`` for a value a config file sets
    that OmegaConf could not merge and named no key for: a mapping where a list is, or an interpolation
    a typed list resolves while merging (trainer.objectives: ${nope}). Hydra's line named neither the key
    nor a fix ('In 'experiment/mine': ConfigTypeError raised while composing config:; Cannot merge DictConfig
    with ListConfig'). The key is found by merging the file's values one at a time; None for another error."""
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    cause = e.__cause__ or e.__context__
    if getattr(cause, "full_key", None) or not (where := _MERGING.search(str(e))):
        return None
    found, tb = {}, e.__traceback__
    while tb is not None:
        found = tb.tb_frame.f_locals if tb.tb_frame.f_code.co_name == "_compose_config_from_defaults_list" else found
        tb = tb.tb_next
    cfg, written = found.get("cfg"), getattr(found.get("loaded"), "config", None)
    if not isinstance(cfg, DictConfig) or not isinstance(written, DictConfig):
        return None
    for key, value in _leaves(cfg, OmegaConf.to_container(written, resolve=False)):
        single = OmegaConf.create(_nested(key, value))
        try:
            OmegaConf.merge(cfg, single)
        except OmegaConfBaseException as err:
            return one_line(f"{file_shown(where[1])}: {_merge_fix(key, value, err, single)}")
    return None


def _leaves(cfg: Any, written: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted key, value) of each value a file writes, down to where the config holds no mapping."""
    from omegaconf import DictConfig, OmegaConf

    out: list[tuple[str, Any]] = []
    for k, v in written.items() if isinstance(written, dict) else ():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and isinstance(OmegaConf.select(cfg, key, default=None), DictConfig):
            out += _leaves(cfg, v, key + ".")
        else:
            out.append((key, v))
    return out


def _nested(key: str, value: Any) -> dict:
    for part in reversed(key.split(".")):
        value = {part: value}
    return value


def _merge_fix(key: str, value: Any, err: Exception, single: Any) -> str:
    """What was wrong with ``key: value`` (``err``: OmegaConf's refusal) and how to write it."""
    from omegaconf.errors import InterpolationResolutionError

    from mnist_sweep.config.lines import unresolved_line

    if isinstance(err, InterpolationResolutionError):  # resolved by the merge into a typed list
        return unresolved_line(single, err, key)
    if "with ListConfig" in str(err):
        return f"{key}: takes a list, got {value!r}; write it in brackets, like the list `python -m mnist_sweep.train --cfg job` shows"
    if "with DictConfig" in str(err) or "is not a subclass" in str(err):
        return f"{key}: takes a mapping of keys, got {value!r}; write its keys nested under it, as `--cfg job` shows them"
    return f"{key}: {(str(err).splitlines() or [type(err).__name__])[0]}; fix its value in the file"


_VALIDATING = re.compile(r"In '([^']+)': ValidationError raised while composing config")


def value_line(e: BaseException, given: list[str] | None = None) -> str | None:
    """``experiment/mine.yaml: trainer.seed: Value 'abc' ... could not be converted to Integer; write an
    integer, e.g. trainer.seed=1`` for a value a config file sets that its key's schema refuses (the
    command line's words, with the file: Hydra's named the file only in its first line, the CLI's none),
    and for a value an explicit YAML tag made (``!!timestamp 2020-01-01``: a date), which no key takes
    (OmegaConf: 'Value 'date' is not a supported primitive type', naming no file: it refused it while
    Hydra loaded the file). None for another error."""
    from omegaconf.errors import ValidationError

    from mnist_sweep.config.lines import omegaconf_line, type_fix

    cause = e.__cause__ or e.__context__
    key = str(getattr(cause, "full_key", None) or "")
    if not isinstance(cause, ValidationError) or not key:
        return None
    where = _loading(e) or ((m := _VALIDATING.search(str(e))) and m[1])
    if not where:
        return None
    msg = str(getattr(cause, "msg", None) or cause).splitlines()[0]
    if made := tag_made(msg):
        fix = type_fix(key, "could not be converted", given).removeprefix("; write ")
        line = (f"{key}: {made}, which no config key takes; drop the "
                f"tag and write {fix or 'a number, a string, true or false, a list or a mapping'}")
    else:
        line = omegaconf_line(cause).rstrip(".") + type_fix(key, msg, given)
    return one_line(f"{file_shown(where)}: {line}")


def _loading(e: BaseException) -> str | None:
    """The config (``experiment/mine``) Hydra was loading when ``e`` was raised, from its traceback: a
    value OmegaConf cannot hold fails there, before any merge names the file."""
    config_path, tb = None, e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "load_config" and isinstance(tb.tb_frame.f_locals.get("config_path"), str):
            config_path = tb.tb_frame.f_locals["config_path"]
        tb = tb.tb_next
    return config_path
