"""The search space: ``hydra.sweeper.params`` and command-line sweep overrides parsed into Optuna
distributions, checked against conf/, and sampled with conditional keys.

A group parameter (``optimizer``, ``scheduler``) is sampled first; a value parameter that does
not exist in the config its group choices picked (``scheduler.pct_start`` when
``scheduler=step``) is not sampled. Then ``hydra.sweeper.custom_search_space`` (the stock key: a
function ``(cfg, trial) -> None | dict``) may sample more parameters, conditional on the ones
drawn; a dict it returns adds plain overrides, and raising ``optuna.TrialPruned`` rejects the
candidate before launch.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Glob
from hydra.errors import HydraException, OverrideParseException
from hydra_plugins.hydra_optuna_sweeper._impl import create_optuna_distribution_from_override
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from hydra_plugins.mnist_sweep_sweeper import _groups, _optuna
from hydra_plugins.mnist_sweep_sweeper._log import log
from mnist_sweep.commandline import override_syntax_error
from mnist_sweep.config.keys import unknown_key
from mnist_sweep.config.intervals import interval_ends
from mnist_sweep.config.space import NULL
from mnist_sweep.config.sweep_values import (
    as_written, deletion_error, invalid_space, repeated_choice, step_error, tag_error,
)
from mnist_sweep.errors import SweepError

_ABSENT = object()
Compose = Callable[[list[str]], DictConfig]


@dataclass
class SearchSpace:
    groups: dict[str, BaseDistribution] = field(default_factory=dict)  # config-group choices, sampled first
    values: dict[str, BaseDistribution] = field(default_factory=dict)  # keys, sampled where they exist
    fixed: dict[str, str] = field(default_factory=dict)  # plain overrides: out of the search
    custom: Callable[[optuna.Trial], Any] | None = None  # hydra.sweeper.custom_search_space, bound to the sweep's config
    _present: dict = field(default_factory=dict, repr=False)  # group choices -> value keys that exist
    _custom_keys: set = field(default_factory=set, repr=False)  # keys of the custom space checked against conf/

    @property
    def distributions(self) -> dict[str, BaseDistribution]:
        return {**self.groups, **self.values}

    def present(self, params: dict[str, Any], compose: Compose) -> list[str]:
        """The value keys that exist in the config these group choices (and the fixed overrides)
        compose: one composition per combination, not per candidate."""
        choice = tuple(f"{k}={params[k]}" for k in self.groups) + tuple(f"{k}={v}" for k, v in self.fixed.items())
        if choice not in self._present:
            cfg = compose(list(choice)) if self.values else None
            self._present[choice] = [
                n for n in self.values if n.startswith("+") or OmegaConf.select(cfg, n, default=_ABSENT) is not _ABSENT
            ]
        return self._present[choice]


def modern(dist: BaseDistribution) -> BaseDistribution:
    """hydra-optuna-sweeper 1.3 builds Optuna 2's distribution classes (deprecated since Optuna 3);
    the same distribution as a Float/Int/CategoricalDistribution."""
    if isinstance(dist, CategoricalDistribution):
        return CategoricalDistribution(dist.choices)
    if isinstance(dist, IntDistribution):
        return IntDistribution(dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, FloatDistribution):
        return FloatDistribution(dist.low, dist.high, log=dist.log, step=dist.step)
    return dist


def parse(entry: str) -> tuple[str, BaseDistribution | str]:
    """``key=choice(...)`` -> (key, distribution); ``key=value`` -> (key, value)."""
    key = entry.split("=", 1)[0]
    try:
        (override,) = OverridesParser.create().parse_overrides([entry])
        if isinstance(override.value(), Glob):  # a group's options by pattern: expanded by build
            return override.get_key_element(), override.value()
        if bad := step_error(override) or deletion_error(override):  # range(0.0,0.1): 0.0 alone; ~model.c1=choice(...)
            raise SweepError(bad)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # Optuna 2 distribution classes, converted below
            warnings.filterwarnings("ignore", "The distribution is specified by", UserWarning)  # range(4,12,3): [4,10]
            dist = create_optuna_distribution_from_override(override)
            if override.is_interval_sweep():  # int(interval(3.5,8.5)): 4..8, not Hydra's truncated 3..8
                dist = modern(dist)
                dist = type(dist)(*interval_ends(override), log=dist.log)
    except SweepError:  # step_error's line, as it is
        raise
    except OverrideParseException as e:  # its grammar: what is wrong and how to write it
        raise SweepError(f"hydra.sweeper.params.{key}: invalid search space: {override_syntax_error(entry, e.message)}") from None
    except (HydraException, ValueError, AssertionError) as e:  # Optuna's checks of the ends: as a command line's
        raise SweepError(invalid_space(entry, e)) from None
    name = override.get_key_element()
    if bad := tag_error(override):  # tag(Log,...), tag(log,choice(...)): the stock sweeper drops the tag
        raise SweepError(bad)
    if isinstance(dist, CategoricalDistribution):  # choice('null',4): the string, as '...' is elsewhere
        dist = CategoricalDistribution(as_written(override, dist.choices))
    if isinstance(dist, CategoricalDistribution) and (repeated := repeated_choice(name, dist.choices)):
        raise SweepError(repeated)  # drawn twice as often, silently: most likely a typo
    return name, modern(dist) if isinstance(dist, BaseDistribution) else dist


def build(entries: list[str], group_names: set[str], compose: Compose,
          options: Callable[[str], list[str]] = lambda group: []) -> SearchSpace:
    """The space from ``key=...`` entries (config params first, command line after), checked against
    conf/; ``options``: a config group's options (``glob(...)`` picks among them)."""
    space, globs = SearchSpace(), {}
    for entry in entries:
        name, dist = parse(entry)
        for earlier in (globs, space.fixed, space.groups, space.values):  # a later entry for the key replaces the
            earlier.pop(name, None)  # earlier (Hydra's rule): model.c1=4 'model.c1=choice(4,8)' searches c1, as
                                     # a plain value after the search file's range takes the key out of the search
        if isinstance(dist, Glob):
            globs[name] = dist
            dist = _groups.globbed(name, dist, group_names, options)
        if not isinstance(dist, BaseDistribution):
            space.fixed[name] = dist
        elif name in group_names:
            space.groups[name] = dist
        else:
            space.values[name] = dist
    for name, dist in space.groups.items():
        if not isinstance(dist, CategoricalDistribution):  # scheduler=interval(0,1): no options to pick from
            raise SweepError(f"hydra.sweeper.params.{name}: a config group is searched over its options, "
                             f"'{name}=choice(A,B)', not {describe(dist)}")
    _groups.check(space.groups, space.fixed, globs, compose)  # type: ignore[arg-type]
    added = {n: d for n, d in space.values.items()  # +experiment=choice(...): its options checked as a group's
             if n.startswith("+") and isinstance(d, CategoricalDistribution) and options(n[1:])}
    _groups.check(added, space.fixed, globs, compose)  # (drawn as a value: each candidate composes it)
    read = _read_once(compose)  # the key checks below read a few configs, each once per key: composed once each
    for name in space.values:
        _check_key(name, space.groups, read, fixed=_groups.fixed_group_overrides(space.fixed))
    _drop_keys_the_fixed_groups_lack(space, read)
    return space


def _read_once(compose: Compose) -> Compose:
    """``compose`` for checks that only read the config: each overrides list composed once."""
    made: dict[tuple[str, ...], DictConfig] = {}

    def read(overrides: list[str]) -> DictConfig:
        if (key := tuple(overrides)) not in made:
            made[key] = compose(list(overrides))
        return made[key]
    return read


def _drop_keys_the_fixed_groups_lack(space: SearchSpace, compose: Compose) -> None:
    """A searched key that every candidate's fixed groups take away (the default space's model.c1
    with model=eva8_seed) is never sampled: one warning naming them, and the space without them
    (the dry run showed them as searched)."""
    fixed = _groups.fixed_group_overrides(space.fixed)
    if not fixed:
        return
    lacking = []
    for name in [n for n in space.values if not n.startswith("+")]:
        try:
            if all(OmegaConf.select(compose([*fixed, *o]), name, default=_ABSENT) is _ABSENT
                   for o in _options_of(name, space.groups)):
                lacking.append(name)
        except HydraException:  # the fixed groups do not compose with an option: _groups.check's to say
            continue
    if lacking:
        log.warning("hydra.sweeper.params: %s not searched: the config that %s composes has no such key (the "
                    "space is another config's; search this one's keys on the command line)", ", ".join(lacking),
                    " ".join(fixed))
        for name in lacking:
            del space.values[name]


def _options_of(name: str, groups: dict[str, BaseDistribution], fixed: list[str] | None = None) -> list[list[str]]:
    """The compositions a key may exist in: the base config, and each swept option of its group (each also
    with the ``fixed`` groups every candidate gets: -m scheduler=step 'scheduler.step_size=choice(2,4)')."""
    head = name.split(".", 1)[0]
    opts = [[]] + ([[f"{head}={o}"] for o in groups[head].choices] if head in groups else [])  # type: ignore[attr-defined]
    return opts + [[*fixed, *o] for o in opts] if fixed else opts


def _check_key(name: str, groups: dict[str, BaseDistribution], compose: Compose, where: str = "",
               fixed: list[str] | None = None) -> None:
    """A value parameter must exist in the config for at least one choice of its group; one added with a
    single + must not (each candidate's +model.c1=8 failed to compose: 'An item is already at model.c1')."""
    if name.startswith("+"):  # a key no option has is the schema's to refuse in each run: named here, once
        bare = name.lstrip("+")
        values = [OmegaConf.select(compose(o), bare, default=_ABSENT) for o in _options_of(bare, groups, fixed)]
        if not name.startswith("++") and any(v is not None and v is not _ABSENT for v in values):  # + on null adds
            raise SweepError(f"{where or f'hydra.sweeper.params.{name}'}: {bare} is already in the config (+ adds a "
                             f"new key); search it without the +, as {bare}=...")
        if "." not in bare or any(v is not _ABSENT for v in values):  # +experiment: a group's options
            return
        name = bare
    if any(OmegaConf.select(compose(o), name, default=_ABSENT) is not _ABSENT for o in _options_of(name, groups, fixed)):
        return
    base = compose(list(fixed or []))  # which option of its group the key is missing from (scheduler.gamma: onecycle's)
    chosen = {s: OmegaConf.select(base, f"{s}.name", default=None) for s in ("model", "optimizer", "scheduler")}
    line = unknown_key(name, chosen, value="...")  # "model.c7: no such key; did you mean model.c6?"
    raise SweepError(f"{where}: {line}" if where else f"hydra.sweeper.params.{name}: {line.split(': ', 1)[1]}"
                     " (`python -m mnist_sweep.train --cfg job` lists the keys)")


def suggest(trial: optuna.Trial, space: SearchSpace, compose: Compose) -> list[str]:
    """Group choices first, then the value parameters that exist in the config they chose, then the
    custom space's; the trial's overrides (fixed ones last). ``optuna.TrialPruned`` from the custom
    space goes to the caller (the candidate is rejected)."""
    for name, dist in space.groups.items():
        _optuna.suggest(trial, name, dist)
    for name in space.present(trial.params, compose):
        _optuna.suggest(trial, name, space.values[name])
    extra = _custom(trial, space, compose) if space.custom is not None else {}
    return [f"{k}={v}" for k, v in {**trial.params, **extra, **space.fixed}.items()]


CUSTOM = "hydra.sweeper.custom_search_space"


def check_custom(space: SearchSpace, compose: Compose) -> None:
    """The custom space run once on a throwaway in-memory trial, before the study is touched: an error of
    the function, a return that is no dict or a key it cannot add stops the sweep at its first candidate,
    which left the study, storage.json and leaderboard.csv written; now it is the same line with nothing
    written. A candidate it rejects (optuna.TrialPruned) is no error."""
    if space.custom is None:
        return
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    try:
        suggest(trial, space, compose)
    except optuna.TrialPruned:
        pass


def _custom(trial: optuna.Trial, space: SearchSpace, compose: Compose) -> dict[str, Any]:
    """Run the custom space on the trial; its extra overrides. Each key it adds is checked against
    conf/ once; a key the command line fixes, or an error of the function, stops the sweep."""
    before = set(trial.params)
    try:
        extra = space.custom(trial)  # type: ignore[misc]
    except optuna.TrialPruned:
        raise
    except SweepError:
        raise
    except Exception as e:  # noqa: BLE001 - the user's function: one line, not a traceback
        first = (str(e).strip().splitlines() or [""])[0]  # OmegaConf's full_key and object_type lines: not here
        raise SweepError(f"{CUSTOM}: the function raised {type(e).__name__}: {first}; fix it (it is called as fn(cfg, trial) "
                         "for each candidate; raising optuna.TrialPruned rejects one), or give null") from None
    extra = {} if extra is None else extra
    if not isinstance(extra, Mapping):
        raise SweepError(f"{CUSTOM}: the function must return None or a dict of overrides, got {type(extra).__name__}")
    added = [n for n in trial.params if n not in before] + [str(k) for k in extra]
    for name in added:
        if name in space.fixed:
            raise SweepError(f"{CUSTOM}: sets {name}, which the sweep fixes ({name}={space.fixed[name]}); drop one of them")
        if name not in space._custom_keys:
            _check_key(name, space.groups, compose, where=CUSTOM, fixed=_groups.fixed_group_overrides(space.fixed))
            space._custom_keys.add(name)
    return {str(k): v for k, v in extra.items()}


def grid(space: SearchSpace) -> dict[str, list[Any]]:
    """GridSampler's search space: every parameter's values (choices, or an int/float range with a step)."""
    out: dict[str, list[Any]] = {}
    for name, dist in space.distributions.items():
        if isinstance(dist, CategoricalDistribution):
            out[name] = list(dist.choices)
        elif isinstance(dist, (IntDistribution, FloatDistribution)) and dist.step is not None and not dist.log:
            n = int(round((dist.high - dist.low) / dist.step)) + 1
            out[name] = [dist.low + i * dist.step for i in range(n)]
        else:
            raise SweepError(
                f"hydra.sweeper.params.{name}: the grid sampler needs choice(...) or range(...), not {dist}; "
                "use another sampler for continuous parameters"
            )
    if space.custom is not None:
        raise SweepError(f"{CUSTOM}: the grid sampler samples only hydra.sweeper.params; use another sampler")
    return out


def describe(dist: BaseDistribution) -> str:
    """A distribution in the override syntax that gives it."""
    if isinstance(dist, CategoricalDistribution):
        listed = ",".join("null" if c is None else str(c).lower() if isinstance(c, bool) else str(c) for c in dist.choices)
        return listed if NULL in listed.split(",") and len(dist.choices) > 1 else f"choice({listed})"  # choice() takes no null
    if isinstance(dist, IntDistribution):
        text = (f"int(interval({dist.low},{dist.high}))" if dist.step == 1
                else f"range({dist.low},{dist.high},{dist.step})")
    elif isinstance(dist, FloatDistribution):  # a range with a float step: its step too
        text = f"interval({dist.low:g},{dist.high:g})" if dist.step is None else f"range({dist.low:g},{dist.high:g},{dist.step:g})"
    else:
        return str(dist)
    return f"tag(log,{text})" if dist.log else text
