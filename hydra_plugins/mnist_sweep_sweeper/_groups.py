"""A search space's config groups: ``glob(...)`` expanded to the options it matches (as Hydra's
basic sweeper does), and each swept option checked against conf/ and against the groups every
candidate gets (``+experiment=tiny`` sets ``scheduler.pct_start``, which ``scheduler=step`` lacks)."""
from __future__ import annotations

import re
from collections.abc import Callable

from hydra.core.override_parser.types import Glob
from hydra.errors import HydraException, MissingConfigException
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import BaseDistribution, CategoricalDistribution
from yaml import YAMLError

from mnist_sweep.config.file_forms import PARAMS
from mnist_sweep.config.keys import stray_section_error
from mnist_sweep.config.file_errors import file_line
from mnist_sweep.config.options import nearest_option
from mnist_sweep.errors import SweepError, one_line

Compose = Callable[[list[str]], DictConfig]


def pattern(glob: Glob) -> str:
    """``glob`` as the override syntax writes it."""
    exclude = f",exclude=[{','.join(glob.exclude)}]" if len(glob.exclude) > 1 else "".join(f",exclude={x}" for x in glob.exclude)
    include = glob.include[0] if len(glob.include) == 1 else f"[{','.join(glob.include)}]"
    return f"glob({include}{exclude})"


def globbed(name: str, glob: Glob, group_names: set[str], options: Callable[[str], list[str]]) -> BaseDistribution:
    """``scheduler=glob(*,exclude=none)`` as a choice of the group's options it matches; a group a
    candidate adds (``+experiment=glob(t*)``) picks among that group's options."""
    group = name.lstrip("+")
    available = sorted(options(group)) if name.startswith("+") or name in group_names else []
    if not available:
        raise SweepError(f"hydra.sweeper.params.{name}: {pattern(glob)} picks among a config group's options, and "
                         f"{name} is no config group; search a value with choice(...), range(...) or interval(...)")
    if not (matched := glob.filter(available)):
        raise SweepError(f"hydra.sweeper.params.{name}: {pattern(glob)} matches none of the group's options "
                         f"({', '.join(available)}); fix the pattern or list them: {name}=choice(A,B)")
    return CategoricalDistribution(matched)


def _picked(overrides: list[str]) -> dict[str, str]:
    """What ``overrides`` set, key (or group) -> value: the choices a clash's line names (a single
    run's line, ``clash_line``'s, without the run's fix)."""
    return dict(o.lstrip("+").split("=", 1) for o in overrides if "=" in o)


def not_composed(e: HydraException, overrides: list[str]) -> str:
    """One line for a candidate whose overrides do not compose: the clash, an option missing from a
    group or from a config file's defaults list (``experiment/mine.yaml, defaults list: model=nett:
    no such option ...``, as a single run words it; a file's mistyped key, ``experiment/mine.yaml:
    trainer.max_epoch: no such key; did you mean trainer.max_epochs?``, not a clash; a value of the
    wrong kind it sets, ``experiment/mine.yaml: model.c1: ...; write an integer, e.g. model.c1=8``),
    else Hydra's report on one line."""
    return file_line(e, _picked(overrides)) or _not_a_key(e, overrides) or hydra_line(e)


def _not_a_key(e: HydraException, overrides: list[str]) -> str | None:
    """A searched key the candidate's groups lack (an experiment's ``scheduler: step`` with a swept
    ``scheduler.pct_start``): one line without the drawn value, so that candidates failing alike read
    alike. Hydra's own ended 'To append to your config use +KEY=VALUE', a key no run reads."""
    found = re.match(r"Could not override '([^']+)'\.", str(e))
    if found is None:
        return None
    groups = ", ".join(o for o in overrides if "=" in o and "." not in o.split("=", 1)[0].lstrip("+~")) or "its groups"
    return (f"{found[1]}: not a key of the config this candidate composes ({groups}); take {found[1]} out of "
            "the search, or the option that lacks it")


def hydra_line(e: BaseException) -> str:
    """Hydra's message on one line: its lines joined, without the config search path it lists (its
    tabbed lines had come out escaped, ``...model/nett'\\n\\nAvailable options...``)."""
    text = str(e).split("\nConfig search path:", 1)[0]
    return one_line(" ".join(part.strip() for part in text.splitlines() if part.strip()))


def fixed_group_overrides(fixed: dict[str, str]) -> list[str]:
    """The groups every candidate gets (``+experiment=tiny``, ``model=eva8_seed``), as overrides."""
    return [f"{k}={v}" for k, v in fixed.items() if "." not in k.lstrip("+")]


def check(groups: dict[str, CategoricalDistribution], fixed: dict[str, str], globs: dict[str, Glob],
          compose: Compose) -> None:
    """Each swept group's options: options of the group, and composable with the fixed groups
    (``globs``: the groups swept by a pattern, whose fix is an exclude)."""
    fixed_groups = fixed_group_overrides(fixed)
    sweeper = _sweeper(compose([])) if groups else None
    for name, dist in groups.items():
        clashes: dict[str, HydraException] = {}
        for option in dist.choices:
            try:
                cfg = compose([f"{name}={option}"])
            except (HydraException, YAMLError) as e:  # its file missing or not YAML, else one its defaults list names
                if isinstance(e, MissingConfigException) and e.missing_cfg_file == f"{name.lstrip('+')}/{option}":
                    raise SweepError(_not_an_option(name, str(option), dist, e.options or [])) from None
                raise SweepError(f"hydra.sweeper.params.{name}: {name}={option} does not compose: "
                                 f"{not_composed(e, [f'{name}={option}'])}") from None
            if (stray := stray_section_error(cfg)) is not None:  # a key the option's file sets that nothing reads
                raise SweepError(f"hydra.sweeper.params.{name}: {name}={option}: {stray}")
            if _sweeper(cfg) != sweeper:  # hparams_search=pareto: another search, not another candidate
                raise SweepError(f"hydra.sweeper.params.{name}: {name}={option} sets hydra.sweeper (a search's space, "
                                 f"direction and study: one per sweep, not per candidate); run one sweep per option, "
                                 f"{name}={option}, and leave {name} out of the search")
            try:  # with the groups every candidate gets (+experiment=tiny): its keys may not be the option's
                compose([*fixed_groups, f"{name}={option}"])
            except HydraException as e:
                clashes[str(option)] = e
        if clashes:
            raise SweepError(_clash_line(name, dist, clashes, fixed_groups, globs.get(name)))


def _not_an_option(name: str, option: str, dist: CategoricalDistribution, options: list[str]) -> str:
    """The line for a swept option its group lacks: the nearest option, and the choice with it."""
    options = sorted(options)
    near = nearest_option(option, options)
    fixed = list(dict.fromkeys(near if str(c) == option else str(c) for c in dist.choices))
    fix = (f"did you mean {near}? e.g. {name}=" + (f"choice({','.join(fixed)})" if len(fixed) > 1 else fixed[0])
           + f" (options: {', '.join(options)})"
           if near else f"pick among {', '.join(options)}, e.g. {name}=choice({','.join(options[:2])})")
    return f"hydra.sweeper.params.{name}: '{option}' is not an option of config group '{name.lstrip('+')}'; {fix}"


def not_an_experiment(item: str, e: BaseException) -> str:
    """The line for ``hydra.sweeper.enqueue`` naming an experiment that does not compose: a name the
    group lacks (the nearest one named), else why it does not compose."""
    if isinstance(e, MissingConfigException) and e.options is not None:
        options = sorted(e.options)
        near = nearest_option(item, options)
        return (f"hydra.sweeper.enqueue: no experiment '{item}' (conf/experiment/{item}.yaml); "
                + (f"did you mean {near}? " if near else "") + f"(experiments: {', '.join(options)})")
    return f"hydra.sweeper.enqueue: experiment '{item}' does not compose: {not_composed(e, [f'+experiment={item}'])}"


def _sweeper(cfg: DictConfig) -> object:
    """The sweeper's keys a composed config has, uninterpolated (None without a hydra node)."""
    node = OmegaConf.select(cfg, "hydra.sweeper", default=None)
    return None if node is None else OmegaConf.to_container(node, resolve=False)


def _clash_line(name: str, dist: CategoricalDistribution, clashes: dict[str, HydraException], groups: list[str],
                glob: Glob | None) -> str:
    """One line for the swept options the fixed groups cannot be composed with: all of them, why
    the first cannot, and the fix (a choice without them, an exclude for a glob)."""
    first, e = next(iter(clashes.items()))
    them = " and ".join(", ".join(f"'{o}'" for o in clashes).rsplit(", ", 1))
    fixed = " ".join(groups)
    why = not_composed(e, [*groups, f"{name}={first}"])
    without = f"sweep {name} without {fixed}"
    if len(clashes) == len(dist.choices):
        fix = f"take {name} out of the search ({fixed} picks its option), or {without}"
    elif glob is not None:
        fix = f"exclude {them}, {name}={pattern(Glob(glob.include, [*glob.exclude, *clashes]))}, or {without}"
    else:
        fix = f"drop {them} from the choice, or {without}"
    return f"hydra.sweeper.params.{name}: {them} cannot run with {fixed}: {why}; {fix}"


def typed_params(overrides: list[str]) -> set[str]:
    """The keys of hydra.sweeper.params the command line gives (``hydra.sweeper.params={model.c2:...}``,
    ``.KEY=``), as its hydra overrides list them; a later ``hydra.sweeper.params=null`` drops those before it."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    keys: set[str] = set()
    for o in overrides:
        key = o.lstrip("+~").split("=", 1)[0]
        if key.startswith(f"{PARAMS}."):
            keys.add(key.removeprefix(f"{PARAMS}."))
        elif key == PARAMS:
            try:
                value = OverridesParser.create().parse_override(o).value()
            except HydraException:  # the command line's check words it
                continue
            keys = keys | set(value) if isinstance(value, dict) else set()
    return keys


def searched_over_added(searched: list[str], fixed: dict[str, str], compose: Compose,
                        typed: set[str] = frozenset()) -> str | None:  # type: ignore[assignment]
    """The warning for a group added to every candidate (``+experiment=tiny``) that sets keys the search
    file's space searches (``searched``): each candidate's drawn values replace the experiment's, silently
    (tiny's widths, under its 4,000-parameter budget, became the default space's: every draw over it).
    ``typed``: the keys a command line's hydra.sweeper.params={...} gave, named as its."""
    added = [o for o in fixed_group_overrides(fixed) if o.startswith("+")]
    if not added or not searched:
        return None
    try:
        plain, with_added = compose([]), compose(added)
    except HydraException:  # check's to say
        return None
    moved = [n for n in searched if OmegaConf.select(with_added, n, default=None) != OmegaConf.select(plain, n, default=None)]
    if not moved:
        return None
    by_file, by_line = [n for n in moved if n not in typed], [n for n in moved if n in typed]
    sources = ([f"{', '.join(by_file)}, which the search space searches"] if by_file else []) + \
        ([f"{', '.join(by_line)}, which {PARAMS}={{...}} on the command line searches"] if by_line else [])
    return (f"{PARAMS}: {' '.join(added)} sets {' and '.join(sources)}, so each candidate's drawn values replace its; "
            f"to search around it, give {PARAMS}=null and the keys to search (e.g. {moved[0]}=choice(...))")
