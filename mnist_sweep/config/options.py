"""Config-group options on a command line: an option picked by its name field
(``optimizer.name=adam``), and the keys of a swept group's options (``scheduler=choice(step,onecycle)``
with ``scheduler.gamma``), each checked against the options that have them; and a ``--config-dir DIR`` option
that Hydra never reads (``shadowed_error``): it searches the primary conf/ before DIR, so DIR/experiment/tiny.yaml
or DIR/hparams_search/default.yaml, an edited copy of a shipped option, lost to the shipped file without a word."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from mnist_sweep import PROJECT_ROOT
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
    given, key = key, "+experiment" if key == "experiment" else key  # in no defaults list: the examples add it with +
    stem = value.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".yaml").removesuffix(".yml")
    example = "none" if value in ("null", "") and "none" in options else options[0] if options else None
    pick = f"pick one of {', '.join(options)}, e.g. {key}={example}" if options else f"{group} has no options"
    if value in ("null", "") and group == "experiment":  # no experiment is what leaving it out gives
        return f"{given}={value}: no experiment is what a run without one trains; leave the override out (or {pick})"
    if value in ("null", ""):
        return f"{given}={value}: {group} needs one of its options; {pick}"
    if stem != value and stem in options:
        return f"{given}={value}: a config group takes an option's name, not a file; use {key}={stem}"
    if stem != value:
        return (f"{given}={value}: a config group takes an option's name, not a file; put the file in "
                f"DIR/{group}/{stem}.yaml and add --config-dir DIR {key}={stem}, or {pick}")
    near = nearest_option(value, options)
    return f"{given}={value}: no such option ({where}); " + (
        f"did you mean {key}={near}? (options: {', '.join(options)})" if near else pick)


def option_error(plain: list[str], extra_dirs: list[str]) -> str | None:
    """One line for a group given an option that neither conf/ nor a --config-dir (``extra_dirs``)
    has: a typo or another case (``model=cnnn``, ``optimizer=Adam``: the nearest option), a file
    path (``+experiment=conf/experiment/tiny.yaml``: the name), null (an option is needed), or one in
    ./conf/GROUP/ (export's, outside the repo: add ``--config-dir conf``). Hydra's own line named no key and no fix. (Any other group: ``file_errors.missing_option_error``.)"""
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
        up = one_dir_up(group, value, extra_dirs)  # --config-dir DIR/hparams_search: DIR/hparams_search/hparams_search/ searched
        if up and group not in GROUPS and value not in hydra_options(group, extra_dirs):  # Hydra's: hydra/launcher=mine
            return one_line(f"{key}={value}: no such option (not in group {group}, nor in --config-dir {up[1]}); {up[0]}")
        one = [n.strip(" '\"") for n in value[1:-1].split(",")] if value[:1] + value[-1:] == "[]" else []
        if len(one) == 1 and one[0]:  # model=[cnn]: Hydra takes it as model=cnn; model=[1] was 'argument of type
            value = one[0]            # 'int' is not iterable', naming no key: its one option is checked as one
        if group not in GROUPS or value.startswith(("[", "{")):  # a list of options: Hydra's; a dict: the keys check
            continue
        options = sorted({*option_keys(group), *(p.stem for d in extra_dirs for p in Path(d, group).glob("*.yaml"))})
        here = Path("conf", group, f"{value}.yaml")  # export's file outside the repo, --config-dir left out
        if value not in options and up:
            return one_line(f"{key}={value}: no such option (no {group}/{value}.yaml in conf/ or in --config-dir {up[1]}); {up[0]}")
        if value not in options and re.fullmatch(r"[\w-]+", value) and here.is_file():
            return one_line(f"{key}={value}: no such option (no conf/{group}/{value}.yaml in the project); ./{here} is "
                            f"here: add --config-dir conf{' (as export printed)' * (group == 'experiment')}")
        if value not in options:
            return one_line(option_line(key, value, options, f"no conf/{group}/{value}.yaml"))
    return None


def one_dir_up(group: str, value: str, extra_dirs: list[str]) -> tuple[str, str] | None:
    """(``DIR/GROUP/VALUE.yaml is one dir up: give --config-dir DIR``, the --config-dir given) where a
    --config-dir is the group's own dir (DIR/experiment, DIR/hydra/launcher, or DIR/hydra for
    hydra/launcher), in which Hydra looks for GROUP/VALUE.yaml; None where no such file is there."""
    from pathlib import Path

    parts = tuple(group.lstrip("+~").split("/"))
    for d in map(Path, extra_dirs):
        for i in range(len(parts), 0, -1):
            if d.parts[-i:] == parts[:i] and (found := d.joinpath(*parts[i:], f"{value}.yaml")).is_file():
                return f"{found} is {('one dir', 'two dirs', 'three dirs')[min(i, 3) - 1]} up: give --config-dir {d.parents[i - 1]}", str(d)
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


def own_option(raw: Any, section: str) -> str:
    """How an option of the user's own (``--config-dir DIR model=mine``) gets the keys it lacks: a group
    option replaces the shipped one whole, so it has none of its keys, the schema's required ones included."""
    root = raw._get_root() if isinstance(raw, DictConfig) else None
    option = OmegaConf.select(root, f"hydra.runtime.choices.{section}", default=None) if root is not None else None
    shipped = sorted(p.stem for p in (PROJECT_ROOT / "conf" / section).glob("*.yaml"))
    if not isinstance(option, str) or option in shipped or not shipped:
        return ""
    base = "cnn" if "cnn" in shipped else shipped[0]
    return (f" ({section}={option} is an option of your own, which replaces a shipped one whole: start its file with "
            f"'defaults: [{base}, _self_]' to take {base}'s keys and change only yours)")


def shadowed_error(choices: Any, primary: str, extra_dirs: list[str], sweep: bool = True) -> str | None:
    """One line for the first picked option (``hydra.runtime.choices``: ``group -> option``) that both
    the primary config dir (the project's conf/, or a --config-path) and a ``--config-dir`` hold with
    other contents; None where none does (an identical copy, as a whole conf/ copied, runs the same).
    A run (not ``sweep``) reads no search: its hparams_search is left alone."""
    for group, option in dict(choices).items():
        own = Path(primary) / group / f"{option}.yaml"
        if not isinstance(option, str) or (group == "hparams_search" and not sweep) or not own.is_file():
            continue
        mine = f"conf/{group}/{option}.yaml" if Path(primary) == PROJECT_ROOT / "conf" else str(own)
        for d in extra_dirs:
            there = Path(d) / group / f"{option}.yaml"
            if there.is_file() and there.read_bytes() != own.read_bytes():
                pick = f"+{group}=NAME" if group == "experiment" else f"{group}=NAME"
                return (f"--config-dir {d}: {there} is not read: {mine} has its name, and Hydra searches "
                        f"the primary config dir before --config-dir; give yours another name "
                        f"({group}/NAME.yaml, picked with {pick}), or leave out --config-dir to run {mine}")
    return None
