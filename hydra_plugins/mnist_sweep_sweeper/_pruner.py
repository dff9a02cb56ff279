"""The sweep's pruner, built from ``hydra.sweeper.pruner`` (``build``), and why a sweep prunes nothing
where it does not (``unpruned``): ``hydra/sweeper/pruner=none``, a study of several objectives, which
Optuna cannot prune, or an in-memory study (``hydra.sweeper.storage=null``), which a trial's job cannot
reach (in both, each trial's job reports no epoch to it: mnist_sweep.trial.live_trial). A pruner
picked for such a study (``hydra/sweeper/pruner=median`` beside ``hparams_search=pareto``, or the
inherited ``projection`` in a multi-objective search file of one's own) was ignored without a word: it
is named in one warning, and the dry run's estimate no longer says pruning shortens it."""
from __future__ import annotations

from typing import Any

import optuna
from hydra.utils import instantiate
from omegaconf import DictConfig

from hydra_plugins.mnist_sweep_sweeper._log import log
from mnist_sweep.trial import worker_index


def build(node: Any, directions: list[str], storage: Any) -> Any:
    """The pruner (Hydra instantiates nested _target_ configs before the sweeper's __init__: either form);
    one warning (the first worker's) where it is one that a study of ``directions`` in ``storage`` never asks."""
    pruner = instantiate(node) if isinstance(node, (dict, DictConfig)) else node
    if worker_index() == 0 and not _none(pruner) and (why := unpruned(pruner, directions, storage)):
        target = node.get("_target_") if isinstance(node, (dict, DictConfig)) else type(pruner).__name__
        log.warning("hydra.sweeper.pruner: %s prunes nothing here: %s, so every trial runs all its epochs; give "
                    "hydra/sweeper/pruner=none%s", target, why,
                    " (as hparams_search=pareto does)" if len(directions) > 1 else ", or a storage its trials reach")
    return pruner


def unpruned(pruner: Any, directions: list[str], storage: Any) -> str | None:
    """Why a sweep with this pruner and these directions prunes no trial; None where it may prune."""
    if _none(pruner):
        return "hydra/sweeper/pruner=none"
    if len(directions) > 1:
        return f"Optuna cannot prune a study of {len(directions)} objectives (hydra.sweeper.direction=[{','.join(directions)}])"
    if not storage:
        return "an in-memory study (hydra.sweeper.storage=null) is out of its trials' reach"
    return None


def _none(pruner: Any) -> bool:
    return pruner is None or isinstance(pruner, optuna.pruners.NopPruner)
