"""Every use of a private Optuna or Hydra API, each in one place with the reason.

hydra-optuna-sweeper builds distributions from override strings, and Optuna's public
``Trial.suggest_*`` methods take bounds, not a distribution object; Optuna's own
``Trial._suggest(name, distribution)`` is what those methods call. Pin-bumps of Optuna or
Hydra need a look at this file only.
"""
from __future__ import annotations

import warnings
from typing import Any

import optuna
from hydra.core.utils import JobReturn
from omegaconf import DictConfig
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial


def quiet() -> None:
    """Optuna's INFO lines off (the sweep's start line says what they would), and its warning, by its words, that
    heartbeats belong to Study.optimize (printed with its file and line in every sweep with heartbeat_interval,
    an error under -Werror): this sweep asks and tells itself and records them on purpose (_liveness.Heartbeat)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", "Heartbeat of storage is supposed to be used with Study.optimize", UserWarning)


def suggest(trial: optuna.Trial, name: str, dist: BaseDistribution) -> Any:
    """Sample ``name`` from a prebuilt distribution (what every public ``suggest_*`` does inside)."""
    return trial._suggest(name, dist)


def storage_of(study: optuna.Study) -> optuna.storages.BaseStorage:
    """The study's storage: user attrs and states of *other* workers' trials are set through it
    (a ``Trial`` object exists only in the process that asked for it)."""
    return study._storage


def told_already(storage: optuna.storages.BaseStorage, tid: int, e: Exception) -> bool:
    """False for a trial that another worker (or the sweep, just before it stopped) told first;
    ``e`` re-raised otherwise. Which error says so is Optuna's detail: the storage's write raises
    UpdateFinishedTrialError, ``Study.tell`` a ValueError when it reads the trial finished."""
    if isinstance(e, optuna.exceptions.UpdateFinishedTrialError) or storage.get_trial(tid).state.is_finished():
        return False
    raise e


def heartbeat_interval(study: optuna.Study) -> int | None:
    """The storage's heartbeat interval, None when it records no heartbeats (journal files, or an
    RDB storage without heartbeat_interval). Optuna exposes the check only in a private module."""
    from optuna.storages._heartbeat import is_heartbeat_enabled

    return study._storage.get_heartbeat_interval() if is_heartbeat_enabled(study._storage) else None


def trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    """The storage's trial id: what a job needs to reopen its live trial in another process."""
    return trial._trial_id


def return_value(ret: JobReturn) -> Any:
    """A job's return value or the exception it raised. ``JobReturn.return_value`` re-raises the
    job's exception; the sweeper needs it as a value (TrialPruned vs. a failure)."""
    return ret._return_value


def apply_overrides(cfg: DictConfig, overrides: list[str]) -> None:
    """Plain ``key=value`` overrides applied to a composed config in place: the second step of
    Hydra's own composition (``ConfigLoaderImpl._load_configuration_impl``), the same function with
    its errors. Hydra has no public API for it; _compose.py keeps the first step per group choice."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.override_parser.overrides_parser import OverridesParser

    ConfigLoaderImpl._apply_overrides_to_config(OverridesParser.create().parse_overrides(overrides), cfg)


def incompatible(old: BaseDistribution, new: BaseDistribution) -> str | None:
    """Why a study that sampled ``old`` for a parameter cannot sample ``new`` for it (other
    choices, another kind, log on or off), or None: Optuna's own rule, which its storages apply
    when a trial sets the parameter. It documents the function as not meant for its users."""
    from optuna.distributions import check_distribution_compatibility

    try:
        check_distribution_compatibility(old, new)
    except ValueError as e:
        return str(e)
    return None
