"""The trial side of a sweep: what a training job needs to know about the sweep that launched it.

The sweeper (``hydra_plugins.mnist_sweep_sweeper``) imports these names and sets the
environment; the training job reads it here. Nothing here imports the plugin, so the arrows run
one way: ``hydra_plugins`` -> ``mnist_sweep``. torch is imported only by ``pick_device``: the
sweeper imports this module in every sweep, also of an app that is not this one.
"""
from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import optuna

from mnist_sweep import library_warnings
from mnist_sweep.errors import MnistSweepError, redact
from mnist_sweep.open_hints import driver_words, storage_fault
from mnist_sweep.text import percent, plural

if TYPE_CHECKING:
    import torch

TRIAL_ID_ENV, TRIAL_NUMBER_ENV = "MNIST_SWEEP_TRIAL_ID", "MNIST_SWEEP_TRIAL_NUMBER"
WORKER_ENV = "MNIST_SWEEP_WORKER"  # a sweep process's index among the workers its sweep started (0 = itself)

EpochHook = Callable[[int, float], None]  # (epoch, selection metric) -> None; may raise TrialPruned to stop


@functools.lru_cache(maxsize=None)
def storage(url: str) -> optuna.storages.BaseStorage:
    """One storage (one connection pool) per URL and process, whatever the number of trials."""
    from mnist_sweep.storage import open_storage

    return open_storage(url)


def worker_index() -> int:
    """This process's worker index (0 when not started as a helper worker)."""
    try:
        return int(os.environ.get(WORKER_ENV, "0"))
    except ValueError:
        return 0


def live_trial(sweeper_cfg: Any) -> optuna.Trial | None:
    """Inside a job: the live Optuna trial this job runs, or None outside a prunable sweep."""
    trial_id = os.environ.get(TRIAL_ID_ENV)
    url = sweeper_cfg.get("storage") if sweeper_cfg is not None else None
    if trial_id is None or not url or not sweeper_cfg.get("pruner"):
        return None
    from hydra.utils import instantiate

    library_warnings.quiet(sweep=True)  # WilcoxonPruner's ExperimentalWarning, in a job's process too
    study = optuna.load_study(study_name=sweeper_cfg.study_name, storage=storage(url), pruner=instantiate(sweeper_cfg.pruner))
    if len(study.directions) > 1:  # optuna cannot prune multi-objective studies
        return None
    return optuna.Trial(study, int(trial_id))


def pruning_hook(sweeper_cfg: Any, max_epochs: int, facts: dict[str, Any] | None = None) -> EpochHook | None:
    """Report each epoch's metric to this job's live trial and raise TrialPruned when told, except
    at the last epoch: a trial that has paid for every epoch completes. ``facts`` (its epochs,
    validation size, target) go in the trial's user attrs, where a pruner can read them."""
    trial = live_trial(sweeper_cfg)
    if trial is None:
        return None
    for key, value in {"max_epochs": max_epochs, **(facts or {})}.items():
        trial.set_user_attr(key, value)

    def report(epoch: int, value: float) -> None:
        try:
            trial.report(value, epoch)
        except Exception as e:  # a storage gone at the last epoch: the run that paid for every epoch is kept
            if epoch < max_epochs or not storage_fault(e):
                raise
            logging.getLogger(__name__).warning(  # the driver's words, not Optuna's wrapper's
                "trial %d: its last epoch was not reported to the storage (%s); the run is kept (result.json): its "
                "sweep tells it, or the sweep's resume", trial.number, redact(driver_words(e)))
            return
        if epoch < max_epochs and trial.should_prune():
            raise optuna.TrialPruned(pruned_reason(epoch, value))

    return report


def pruned_reason(epoch: int, value: float) -> str:
    """What a pruned trial's error says (its TrialPruned), also for one told from its result.json."""
    return f"pruned after epoch {epoch} (selection accuracy {percent(value)})"


def metric_names(cfg: Any) -> list[str] | None:
    """The names of what a trial returns, for the study (optuna-dashboard's axes and columns):
    ``trainer.objectives``, else the selection metric (``val_acc``, or ``test_acc_final`` with
    ``trainer.select_on=test``); None for a config without a trainer section (another app)."""
    trainer = cfg.get("trainer") if cfg is not None else None
    if not trainer or not hasattr(trainer, "get"):
        return None
    objectives = trainer.get("objectives")
    if objectives:
        return [str(o) for o in objectives]
    return ["test_acc_final" if trainer.get("select_on") == "test" else "val_acc"]


def gpu_slot(job_num: int, n_jobs: int, worker: int) -> int:
    """A sweep job's GPU slot: distinct for the n_jobs jobs a worker runs at once and across workers."""
    return worker * max(n_jobs, 1) + job_num % max(n_jobs, 1)


def pick_device(name: str, slot: int = 0) -> torch.device:
    """auto | cpu | cuda | cuda:N; with several GPUs, ``auto``/``cuda`` take GPU ``slot`` mod their count."""
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise MnistSweepError(f"trainer.device: {name} requested but no CUDA device is available; use auto or cpu")
    if name.startswith("cuda:") and int(name[5:]) >= torch.cuda.device_count():
        raise MnistSweepError(
            f"trainer.device: {name} but this machine has {plural(torch.cuda.device_count(), 'CUDA device')}; "
            f"use cuda:0..cuda:{torch.cuda.device_count() - 1}, cuda or auto"
        )
    if name == "cuda" and torch.cuda.device_count() > 1:
        name = f"cuda:{slot % torch.cuda.device_count()}"
    return torch.device(name)
