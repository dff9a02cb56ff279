"""Config-group options on a command line: an option picked by its name field
(``optimizer.name=adam``), and the keys of a swept group's options (``scheduler=choice(step,onecycle)``
with ``scheduler.gamma``), each checked against the options that have them."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mnist_sweep.config.keys import GROUPS, option_keys
from mnist_sweep.errors import one_line


def name_override_error(plain: list[str], chosen: Callable[[], Mapping[str, Any] | None]) -> str | None:
    """One line for ``optimizer.name=adam`` where ``optimizer=adam`` was meant: the name field only
    labels the option (and picks its schema), so the other option's keys were checked against it.
    Nothing where no config group picked the section (a trial's saved config): it is checked as set."""
    for arg in plain:
        key, value = arg.split("=", 1)
        group = key.lstrip("+").removesuffix(".name")
        if key.endswith(".name") and group in GROUPS and value in option_keys(group):
            picked = (chosen() or {}).get(group)  # None: no group picks it (a saved config: --config-path)
            if picked is not None and picked != value:
                return one_line(f"{key.lstrip('+')}: pick the option with {group}={value} (a config group: it brings "
                                f"the option's keys and defaults); {key.lstrip('+')} only labels the option chosen")
    return None


def swept_groups(sweeps: list[Any]) -> dict[str, list[str]]:
    """Each config group the sweep searches (``scheduler=choice(step,onecycle)``, ``glob(*)``) -> its
    options; a group swept as an interval has none to check here (the sweeper refuses it)."""
    from hydra.core.override_parser.types import Glob
    from hydra.errors import HydraException

    out: dict[str, list[str]] = {}
    for o in sweeps:
        if o.key_or_group in GROUPS:
            if isinstance(value := o.value(), Glob):  # Hydra expands a glob with its config loader: not set here
                out[o.key_or_group] = value.filter(sorted(option_keys(o.key_or_group)))
                continue
            try:
                out[o.key_or_group] = list(o.sweep_string_iterator())
            except HydraException:
                continue
    return out


def lacking(key: str, options: list[str]) -> list[str]:
    """The swept options of ``key``'s group that do not have it (an option not in conf/: unknown, kept)."""
    known = option_keys(key.split(".", 1)[0])
    return [o for o in options if o in known and key not in known[o]]


def conditional_key_error(plain: list[str], swept: Mapping[str, list[str]],
                          chosen: Mapping[str, Any] | None) -> str | None:
    """One line for a fixed value of a key that some swept option of its group lacks (every
    candidate gets it, so those would fail), or that the group's unswept option lacks (Hydra
    composes the sweep's base config with it); sweeping the key sets it per candidate, only
    where it exists."""
    for arg in plain:
        key, value = arg.split("=", 1)
        key = key.lstrip("+~")
        section = key.split(".", 1)[0]
        if section not in swept or "." not in key or not any(key in ks for ks in option_keys(section).values()):
            continue  # a key no option has (a typo, +a.new key): the unknown-key check names it
        fix = (f"to set it only where it exists, sweep it: {key}='choice({value})'"
               if not value.lstrip().startswith(("[", "{")) else  # Optuna's choices are numbers, strings, bools
               f"Optuna cannot sweep a list: run one sweep per option, {section}=OPTION {key}={value}")
        if missing := lacking(key, swept[section]):
            return one_line(f"{key}: not a key of {section}={missing[0]}, one of the swept options "
                            f"({section}={','.join(swept[section])}); {fix}")
        default = (chosen or {}).get(section)
        if default is not None and lacking(key, [str(default)]):
            return one_line(f"{key}: not a key of {section}={default}, the option Hydra composes the sweep's base "
                            f"config with; {fix}")
    return None


def nearest_option(value: str, options: Sequence[str], cutoff: float = 0.6) -> str | None:
    """The option ``value`` was probably meant as: the same in another case, else the closest (difflib,
    at least ``cutoff`` alike)."""
    import difflib

    return next((o for o in options if o.lower() == value.lower()), None) or next(
        iter(difflib.get_close_matches(value, options, n=1, cutoff=cutoff)), None)


OWN_SWEEPER = "mnist_optuna"  # hydra/sweeper: conf/config.yaml sets its keys, which the other sweepers lack


def offered(group: str, options: Sequence[str]) -> list[str]:
    """The options of ``group`` a line may offer: hydra/sweeper's only OWN_SWEEPER (``_other_sweeper`` refuses the rest)."""
    return [o for o in options if o == OWN_SWEEPER] if group == "hydra/sweeper" else list(options)


def option_line(key: str, value: str, options: list[str], where: str) -> str:
    """The line for ``key=value`` naming no option of its group (``key`` as written: ``+experiment``,
    ``hydra/sweeper/sampler``): null (an option is needed), a file path (the name), else the
    nearest option, the options listed (those ``offered``); ``where`` says where the options live."""
    group, options = key.lstrip("+~"), offered(key.lstrip("+~"), options)
    stem = value.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".yaml").removesuffix(".yml")
    example = "none" if value in ("null", "") and "none" in options else options[0] if options else None
    pick = f"pick one of {', '.join(options)}, e.g. {key}={example}" if options else f"{group} has no options"
    if value in ("null", ""):
        return f"{key}={value}: {group} needs one of its options; {pick}"
    if stem != value and stem in options:
        return f"{key}={value}: a config group takes an option's name, not a file; use {key}={stem}"
    if stem != value:
        return (f"{key}={value}: a config group takes an option's name, not a file; put the file in "
                f"DIR/{group}/{stem}.yaml and add --config-dir DIR {key}={stem}, or {pick}")
    near = nearest_option(value, options)
    return f"{key}={value}: no such option ({where}); " + (
        f"did you mean {key}={near}? (options: {', '.join(options)})" if near else pick)


def option_error(plain: list[str], extra_dirs: list[str]) -> str | None:
    """One line for a group given an option that neither conf/ nor a --config-dir (``extra_dirs``)
    has: a typo or another case (``model=cnnn``, ``optimizer=Adam``: the nearest option), a file
    path (``+experiment=conf/experiment/tiny.yaml``: the name), null (an option is needed), or one in
    ./conf/GROUP/ (export's, outside the repo: add ``--config-dir conf``). Hydra's own line named no key and no fix. (Any other group: ``missing_option_error``.)"""
    from pathlib import Path

    if any(a.lstrip("+").split("=", 1)[0] == "hydra.searchpath" for a in plain):
        return None  # a search path's own options: Hydra finds them (and names an unknown one)
    for arg in plain:
        key, value = arg.split("=", 1)
        group = key.lstrip("+~")
        if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if "/" in group and value == "null":  # hydra/sweeper/pruner=null: Hydra's ValueError names no group
            return one_line(option_line(key, value, hydra_options(group, extra_dirs), f"not in group {group}"))
        if bad := _options_list_error(key, group, value) or _other_sweeper(key, group, value, extra_dirs):
            return bad
        if group not in GROUPS or value.startswith(("[", "{")):  # a list of options: Hydra's; a dict: the keys check
            continue
        options = sorted({*option_keys(group), *(p.stem for d in extra_dirs for p in Path(d, group).glob("*.yaml"))})
        here = Path("conf", group, f"{value}.yaml")  # export's file outside the repo, --config-dir left out
        if value not in options and re.fullmatch(r"[\w-]+", value) and here.is_file():
            return one_line(f"{key}={value}: no such option (no conf/{group}/{value}.yaml in the project); ./{here} is "
                            f"here: add --config-dir conf{' (as export printed)' * (group == 'experiment')}")
        if value not in options:
            return one_line(option_line(key, value, options, f"no conf/{group}/{value}.yaml"))
    return None


def _options_list_error(key: str, group: str, value: str) -> str | None:
    """``model=[cnn,eva8_seed]``: Hydra merges the options into one section, which their schemas refuse
    ('Merge error: ModelSchema is not a subclass of CnnModelSchema. value: {...}'); one line instead."""
    names = list(dict.fromkeys(n.strip(" '\"") for n in value[1:-1].split(","))) if value[:1] + value[-1:] == "[]" else []
    if group not in GROUPS[:5] or len(names) < 2:  # the sections' groups; an experiment list merges files, as Hydra does
        return None
    return one_line(f"{key}={value}: a config group takes one option, not a list (Hydra would merge them into one "
                    f"{group} section); pick one, e.g. {key}={names[0]}, or search them with -m: {key}={','.join(names)}")


def _other_sweeper(key: str, group: str, value: str, extra_dirs: list[str]) -> str | None:
    """``hydra/sweeper=basic`` (or ``optuna``, Hydra's own): conf/config.yaml sets the project
    sweeper's keys, which it lacks; Hydra said 'conf/config.yaml: hydra.sweeper.workers: no such key'."""
    if group != "hydra/sweeper" or value == OWN_SWEEPER or value not in hydra_options(group, extra_dirs):
        return None  # a name no sweeper has: Hydra's 'no such option' line
    return one_line(f"{key}={value}: this project's sweeps run through hydra/sweeper=mnist_optuna (the default), whose "
                    "keys conf/config.yaml sets (workers, repeats, study_name, ...); drop the override, and for a "
                    "grid over choice() values add hydra/sweeper/sampler=grid")


def hydra_options(group: str, extra_dirs: list[str]) -> list[str]:
    """The options of any config group: on conf/'s search path (Hydra's, a plugin's) and in a --config-dir."""
    from pathlib import Path

    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from mnist_sweep import PROJECT_ROOT

    with initialize_config_dir(version_base="1.3", config_dir=str(PROJECT_ROOT / "conf")):
        found = GlobalHydra.instance().config_loader().get_group_options(group)
    return sorted({*found, *(p.stem for d in extra_dirs for p in Path(d, group).glob("*.yaml"))})


def chosen_options(config_dir: str, name: str, overrides: list[str]) -> dict[str, Any] | None:
    """Each group's option (what hydra.runtime.choices says) under ``overrides`` (groups, a search
    path), from the defaults list alone: no option's keys are merged, so ``+experiment=tiny
    scheduler=step`` (tiny sets scheduler.pct_start, which step lacks) still names scheduler=step.
    None if the defaults list cannot be made (an option missing)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode

    try:
        with initialize_config_dir(version_base="1.3", config_dir=config_dir):
            found = GlobalHydra.instance().config_loader().compute_defaults_list(name, overrides, RunMode.RUN)
        return dict(found.overrides.known_choices)
    except Exception:  # noqa: BLE001 - the caller reports the composition's own error without them
        return None


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
    shown = _shown_file(where[1])
    line = unknown_key(key)
    if "did you mean" not in line:
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
    group, shown = key.split(".", 1)[0], _shown_file(where[1])
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


def _shown_file(config_path: str) -> str:
    """``experiment/tiny`` (Hydra's name for a config) as its file: ``conf/experiment/tiny.yaml`` for
    conf/'s (Hydra reads conf/ first), ``experiment/mine.yaml`` for a --config-dir's."""
    from mnist_sweep import PROJECT_ROOT

    name = f"{config_path}.yaml"
    return f"conf/{name}" if (PROJECT_ROOT / "conf" / name).is_file() else name


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
