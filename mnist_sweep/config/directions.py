"""``hydra.sweeper.direction`` against what a trial returns (``trainer.objectives``, else the
selection metric): one direction per objective, each the way that objective gets better. Optuna
takes any direction, so a sweep told to minimize val_acc ran, and its best trial, closing lines
and ``export --rank 1`` were the worst config."""
from __future__ import annotations

from enum import Enum
from typing import Any

from omegaconf import DictConfig, OmegaConf

from mnist_sweep.errors import SweepError
from mnist_sweep.text import plural

KEY = "hydra.sweeper.direction"
# Each objective of trainer.objectives (config.ranges.OBJECTIVES): what it is, in a refusal's
# words, and the direction a sweep optimizes it in.
IMPROVES = {
    "val_acc": ("an accuracy", "maximize"),
    "test_acc_final": ("an accuracy", "maximize"),
    "params": ("a parameter count", "minimize"),
    "train_s": ("training seconds", "minimize"),
}


def objectives(cfg: Any) -> list[str] | None:
    """What a trial returns: ``trainer.objectives``, else the selection metric (``val_acc``, or
    ``test_acc_final`` with ``trainer.select_on=test``); None without a trainer (another app)."""
    trainer = cfg.get("trainer") if isinstance(cfg, DictConfig) else None
    if not isinstance(trainer, DictConfig):
        return None
    names = trainer.get("objectives")
    if names:
        return [str(n) for n in names]
    return ["test_acc_final" if trainer.get("select_on") == "test" else "val_acc"]


def _overridden(cfg: DictConfig, key: str) -> bool:
    """``key`` set on the command line (Hydra keeps the hydra.* overrides apart from the task's)."""
    given = [*(cfg.hydra.overrides.get("hydra") or ()), *(cfg.hydra.overrides.get("task") or ())]
    return any(str(o).split("=", 1)[0].lstrip("+~") == key for o in given)


def _listed(values: list[str]) -> str:
    return values[0] if len(values) == 1 else f"[{','.join(values)}]"


def check_directions(cfg: DictConfig) -> None:
    """One direction per objective, and each objective's own: an accuracy maximized, parameters and
    seconds minimized; else one SweepError line naming ``hydra.sweeper.direction`` and the value to give."""
    names = objectives(cfg)
    if names is None or any(n not in IMPROVES for n in names):  # trainer.objectives' own check names those
        return
    raw = cfg.hydra.sweeper.get("direction")
    given = [str(v.name if isinstance(v, Enum) else v).lower()
             for v in (raw if isinstance(raw, (list, tuple)) or OmegaConf.is_list(raw) else [raw])]
    wanted = [IMPROVES[n][1] for n in names]
    if given == wanted:
        return
    example = f"{KEY}={_listed(wanted)}"
    if len(given) != len(names):
        raise SweepError(f"{KEY}: {plural(len(given), 'direction')} ({','.join(given)}) for "
                         f"{plural(len(names), 'objective')} (trainer.objectives: {','.join(names)}); "
                         f"give one per objective, e.g. {example}")
    i = next(i for i, (g, w) in enumerate(zip(given, wanted)) if g != w)
    what, way = IMPROVES[names[i]]
    which = f"the objective {names[i]}" + ("" if len(names) == 1 else f" (trainer.objectives[{i}])")
    if _overridden(cfg, KEY):
        fix = (f"give {example}" if _overridden(cfg, "trainer.objectives")
               else f"drop the override (or {example})")
    elif _overridden(cfg, "trainer.objectives"):
        fix = f"give {example} with trainer.objectives=[{','.join(names)}]"
    else:
        search = cfg.hydra.runtime.choices.get("hparams_search")
        where = f"hparams_search/{search}.yaml" if search else "hydra.sweeper of conf/config.yaml"
        fix = f"set direction: {_listed(wanted)} in {where} (or give {example})"
    raise SweepError(f"{KEY}={_listed(given)}: {which} is {what}, which a sweep {way[:-1]}es; {fix}")


# A cost alone (trainer.objectives of costs only: smallest's params, fastest's train_s) is met best by
# the net that learns nothing: the target as a constraint is what makes such a sweep a search.
COSTS = {"params": "the smallest net", "train_s": "the net that trains fastest"}
CONSTRAIN = "hydra.sweeper.constrain_to_target"


def check_constrained(cfg: DictConfig) -> None:
    """Objectives that are all costs need ``hydra.sweeper.constrain_to_target``: without it the sweep
    minimizes the cost alone, and its best trial is that net whatever its accuracy; else one SweepError line."""
    names = objectives(cfg)
    if not names or any(n not in COSTS for n in names) or cfg.hydra.sweeper.get("constrain_to_target") is not False:
        return
    search = cfg.hydra.runtime.choices.get("hparams_search")
    if _overridden(cfg, CONSTRAIN):
        fix = f"drop the override (hparams_search={search} sets it true)" if search in ("smallest", "fastest") \
            else f"give {CONSTRAIN}=true"
    else:
        fix = f"give {CONSTRAIN}=true"
    raise SweepError(f"{CONSTRAIN}=false: the sweep's only {'objective' if len(names) == 1 else 'objectives'} "
                     f"({','.join(names)}, trainer.objectives) {'is a cost' if len(names) == 1 else 'are costs'}, and "
                     f"without trainer.target_acc as a constraint its best trial would be {COSTS[names[0]]} whatever its "
                     f"accuracy; {fix}, or search accuracy beside it: hparams_search=pareto")
