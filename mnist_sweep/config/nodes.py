"""A config node chosen with a group (``hydra/launcher=NAME``, ``hydra/sweeper=NAME``, and with
hydra/sweeper=mnist_optuna ``hydra/sweeper/sampler=NAME`` and ``.../pruner=NAME``) given a plain value
through its dotted key (``hydra.launcher=joblib``, ``hydra.sweeper=nope``), in one line: the key, the
value given, the group to choose with slashes and how to set the node's own keys. Hydra said 'Input
config does not have a `_target_` field' (a launcher), the command line check raised an AttributeError
(a sweeper), and with one of the node's keys set too (``hydra.sweeper.dry_run=true``) the line named
that key: 'hydra.sweeper.dry_run: no such key'. ``check_nodes`` checks a composed config;
``node_value_error`` a command line whose composition failed under such a node."""
from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from mnist_sweep.config.options import hydra_options, nearest_option, offered
from mnist_sweep.errors import SweepError

NODES = ("hydra.launcher", "hydra.sweeper")  # Hydra's own: a node whatever the sweeper and launcher
GROUPS = ("sampler", "pruner")  # config groups under hydra/sweeper/ (mnist_optuna's), not values


def not_a_node(key: str, value: Any, names: list[str], pick: str) -> str:
    """The line for a node ``key`` given ``value``: its group's options ``names``, ``pick`` the example."""
    group, what = key.replace(".", "/"), key.rpartition(".")[2]
    given = "null" if value is None else repr(value)
    return (f"{key}: got {given}, not a {what} config; choose one with {group}=NAME (slashes, not dots), NAME one "
            f"of {', '.join(names)}, e.g. {group}={pick}; set its keys as {key}.KEY=VALUE")


def check_nodes(cfg: Any) -> None:
    """A composed config's ``hydra.launcher`` and ``hydra.sweeper`` are config nodes (a value set
    through an interpolation is left to Hydra), and with hydra/sweeper=mnist_optuna its sampler and
    pruner (``check_groups``): SweepError naming the first that is not."""
    choices = OmegaConf.select(cfg, "hydra.runtime.choices", default=None) or {}
    for key in NODES:
        parent, _, name = key.rpartition(".")
        holder = OmegaConf.select(cfg, parent, default=None)
        if not isinstance(holder, DictConfig) or name not in holder or OmegaConf.is_missing(holder, name) \
                or OmegaConf.is_interpolation(holder, name) or isinstance(holder[name], DictConfig):
            continue
        group = key.replace(".", "/")
        names = offered(group, hydra_options(group, [str(d) for d in OmegaConf.select(cfg, "hydra.searchpath", default=None) or []]))
        value = holder[name]
        raise SweepError(not_a_node(key, value, names, nearest_option(str(value), names) or choices.get(group) or names[0]))
    if is_own_sweeper(sweeper := OmegaConf.select(cfg, "hydra.sweeper", default=None)):
        check_groups(sweeper)
        check_built(sweeper, choices)


def is_own_sweeper(node: Any) -> bool:
    """Whether ``node`` (a config's hydra.sweeper) is hydra/sweeper=mnist_optuna's config node."""
    return isinstance(node, DictConfig) and "MnistOptunaSweeper" in str(node.get("_target_", ""))


def check_groups(node: DictConfig) -> None:
    """``sampler`` and ``pruner`` are config nodes chosen with ``hydra/sweeper/<group>=NAME``; a plain
    value set through the dotted key (``hydra.sweeper.pruner=none``) would fail every trial."""
    from hydra.core.config_store import ConfigStore

    for name in GROUPS:
        value = node.get(name)
        if (value is None and name == "pruner") or (isinstance(value, DictConfig) and "_target_" in value):
            continue
        names = sorted(n.removesuffix(".yaml") for n in ConfigStore.instance().list(f"hydra/sweeper/{name}"))
        pick = nearest_option(str(value), names) or ("none" if value in ("null", "", "off") and "none" in names else names[0])
        raise SweepError(not_a_node(f"hydra.sweeper.{name}", value, names, pick))


def check_built(node: DictConfig, choices: Any) -> None:
    """The sampler and the pruner built as the sweep builds them (Hydra's instantiate), before
    anything is written: an argument their class lacks (``+hydra.sweeper.sampler.foo=1``) or values
    it refuses (``hydra/sweeper/pruner=threshold`` without ``lower`` or ``upper``, a negative seed) are
    SweepError naming the key, the option and the class's arguments; Hydra's line was 'Error in call
    to target ...; full_key: hydra.sweeper.sampler'; then the sampler asked for trials
    (``sampling_error``): what Optuna checks only when it samples is the same line."""
    import warnings

    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    for name in GROUPS:
        sub = node.get(name)
        if not isinstance(sub, DictConfig):
            continue
        check_ranges(name, sub)
        try:
            with warnings.catch_warnings():  # the sweep builds it again, and says what Optuna warns then
                warnings.simplefilter("ignore")
                instantiate(sub)
        except InstantiationException as e:
            raise SweepError(built_line(name, sub, choices.get(f"hydra/sweeper/{name}"), e.__cause__ or e)) from None
    sampler, option = node.get("sampler"), choices.get("hydra/sweeper/sampler")
    directions = [str(getattr(d, "name", d)).lower() for d in _listed(node.get("direction"))]
    if not isinstance(sampler, DictConfig) or not directions or set(directions) - {"minimize", "maximize"}:
        return  # a direction check_direction refuses
    if (cause := sampling_error(sampler, directions)) is None:
        if node.get("constrain_to_target") is True and ignores_constraints(sampler):
            picked = f"hydra/sweeper/sampler={option} ({sampler.get('_target_')})" if option else sampler.get("_target_")
            raise SweepError(f"hydra.sweeper.sampler: {picked} does not learn from constraints (Optuna says so), and this "
                             "sweep's search rests on one (hydra.sweeper.constrain_to_target=true: trainer.target_acc): it "
                             "would optimize its objective alone, whatever the accuracy; choose a sampler that learns from "
                             "it, e.g. hydra/sweeper/sampler=mnist_tpe (or tpe, nsgaii, gp)")
        return
    if len(directions) > 1 and sampling_error(sampler, ["minimize"]) is None:
        picked = f"hydra/sweeper/sampler={option} ({sampler.get('_target_')})" if option else sampler.get("_target_")
        raise SweepError(f"hydra.sweeper.sampler: {picked} cannot optimize {len(directions)} objectives "
                         f"(hydra.sweeper.direction=[{','.join(directions)}]); choose a sampler that can, e.g. "
                         "hydra/sweeper/sampler=mnist_tpe (or nsgaii, random)")
    raise SweepError(built_line("sampler", sampler, option, cause))


def check_ranges(name: str, sub: DictConfig) -> None:
    """The ranges of ``mnist_sweep.config.sweeper``'s sampler and pruner configs, for what their class
    takes without a word (a TPE's n_startup_trials=-5, a threshold's lower=nan: it never prunes) or
    checks only mid-sweep (hyperband's reduction_factor=1): SweepError naming the key, with the
    option's default (or the range's example) to paste. A class of one's own (``_target_``) is not checked."""
    import dataclasses

    from mnist_sweep.config import sweeper

    target, given = sub.get("_target_"), [str(k) for k in sub if not str(k).startswith("_")]
    confs = [c for n, c in vars(sweeper).items() if n.endswith(("SamplerConf", "PrunerConf"))
             and dataclasses.is_dataclass(c) and getattr(c, "_target_", None) == target]
    confs.sort(key=lambda c: {f.name for f in dataclasses.fields(c) if not f.name.startswith("_")} != set(given))
    for k in given:
        f = next((f for c in confs for f in dataclasses.fields(c) if f.name == k and "range" in f.metadata), None)
        if f is not None and (value := sub.get(k)) is not None and not f.metadata["range"].ok(value):
            raise SweepError(f.metadata["range"].refusal(f"hydra.sweeper.{name}.{k}", value, f.default))


def _listed(value: Any) -> list[Any]:
    if OmegaConf.is_list(value) or isinstance(value, (list, tuple)):
        return list(value)
    return [] if value is None else [value]


_SAMPLED: dict[tuple[str, tuple[str, ...]], BaseException | None] = {}  # the CLI's check, then the sweep's


def sampling_error(sampler: DictConfig, directions: list[str]) -> BaseException | None:
    """What the sampler raises when asked for trials, as the sweep will ask it, on a throwaway in-memory
    study with ``directions`` (its start-up trials cut to none, so its model samples at once); None where
    it samples. Optuna's samplers check some arguments only then, mid-sweep, with a traceback and the
    study's files left: CMA-ES's popsize=0, TPE's n_ei_candidates=0, CMA-ES on several objectives."""
    import warnings

    import optuna
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    key = (OmegaConf.to_yaml(sampler), tuple(directions))
    if key in _SAMPLED:
        return _SAMPLED[key]
    verbosity, error = optuna.logging.get_verbosity(), None
    try:
        with warnings.catch_warnings():  # the sweep says what Optuna warns, once
            warnings.simplefilter("ignore")
            optuna.logging.set_verbosity(optuna.logging.ERROR)
            built = instantiate(sampler, **({"n_startup_trials": 0} if "n_startup_trials" in sampler else {}))
            if isinstance(built, optuna.samplers.BaseSampler):  # not the grid sampler: a partial the sweep completes
                study = optuna.create_study(directions=directions, sampler=built)
                for i in range(2):  # the second asks the model, over the first trial's space
                    trial = study.ask()
                    x, y = trial.suggest_float("x", 0.0, 1.0), trial.suggest_float("y", 1e-3, 1.0, log=True)
                    n = trial.suggest_int("n", 1, 8) + len(trial.suggest_categorical("c", ("a", "bb")))
                    study.tell(trial, [x + y * n + i] * len(directions))
    except Exception as e:  # noqa: BLE001 - whatever the sampler raises: one line naming its keys
        error = e.__cause__ if isinstance(e, InstantiationException) and e.__cause__ is not None else e
    finally:
        optuna.logging.set_verbosity(verbosity)
    _SAMPLED[key] = error
    return error


def ignores_constraints(sampler: DictConfig) -> bool:
    """Whether the sampler, told two trials with a constraint on a throwaway in-memory study, warns
    that it will not use constraints (Optuna's CmaEsSampler does); one that does not learn at all
    (random, grid) says nothing, and its draws do not drift from the target."""
    import warnings

    import optuna
    from hydra.utils import instantiate

    verbosity = optuna.logging.get_verbosity()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            optuna.logging.set_verbosity(optuna.logging.ERROR)
            built = instantiate(sampler, **({"n_startup_trials": 0} if "n_startup_trials" in sampler else {}))
            if not isinstance(built, optuna.samplers.BaseSampler):
                return False
            study = optuna.create_study(sampler=built)
            for i in range(2):
                trial = study.ask()
                trial.set_constraint("target", 0.1)
                study.tell(trial, trial.suggest_float("x", 0.0, 1.0) + i)
    except Exception:  # noqa: BLE001 - sampling_error reports what it raises
        return False
    finally:
        optuna.logging.set_verbosity(verbosity)
    return any("will not use them" in str(w.message) for w in caught)


def built_line(name: str, sub: DictConfig, option: Any, cause: BaseException) -> str:
    """The line for ``hydra.sweeper.<name>`` (option ``option``) whose class refused ``cause``."""
    import re

    key, target = f"hydra.sweeper.{name}", str(sub.get("_target_"))
    picked = f"hydra/sweeper/{name}={option}, {target}" if option else target
    keys = [str(k) for k in sub if not str(k).startswith("_")]
    if isinstance(cause, TypeError) and (m := re.search(r"unexpected keyword argument '(\w+)'", str(cause))):
        near = nearest_option(m[1], [k for k in keys if k != m[1]])
        return (f"{key}.{m[1]}: not an argument of {picked}; " + (f"did you mean {key}.{near}? " if near else "")
                + f"drop it (its keys: {', '.join(k for k in keys if k != m[1])})")
    why = " ".join(re.sub(r"\s*full_key: \S+\s*$", "", str(cause)).split()).rstrip(".") or type(cause).__name__
    if type(cause).__name__ == "InstantiationException" or isinstance(cause, ImportError) and why.startswith("Error loading"):
        from hydra.core.config_store import ConfigStore

        names = sorted(n.removesuffix(".yaml") for n in ConfigStore.instance().list(f"hydra/sweeper/{name}"))
        return (f"{key}._target_={target}: {why}; choose a {name} with hydra/sweeper/{name}=NAME ({', '.join(names)}), "
                f"or give {key}._target_ the dotted path of a {name} class")
    given = ", ".join(f"{k}={sub[k]}" for k in keys)
    return (f"{key} ({picked}) refuses {given or 'no arguments'}: {why}; set its keys with {key}.KEY=VALUE"
            + (f" ({', '.join(keys)})" if keys else ""))


def node_value_error(config_dir: str, name: str, overrides: list[str]) -> str | None:
    """``check_nodes``' line for a command line whose composition failed on a key under a node it
    gives a value (``hydra.sweeper=nope hydra.sweeper.dry_run=true``): composed again without the keys
    under that node. None where it sets no such key, or that composes to config nodes, or fails too."""
    from hydra import compose, initialize_config_dir

    keys = [a.lstrip("+~").split("=", 1)[0] for a in overrides]
    given = [k for k in (*NODES, *(f"hydra.sweeper.{g}" for g in GROUPS)) if k in keys]
    kept = [a for a, k in zip(overrides, keys) if not any(k.startswith(f"{n}.") for n in given)]
    if len(kept) == len(overrides):
        return None
    try:
        with initialize_config_dir(version_base="1.3", config_dir=config_dir):
            cfg = compose(name, overrides=kept, return_hydra_config=True)
    except Exception:  # noqa: BLE001 - another problem: the caller reports the first composition's error
        return None
    try:
        check_nodes(cfg)
    except SweepError as e:
        return str(e)
    return None
