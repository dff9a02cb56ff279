"""``hydra/sweeper=mnist_optuna``: the stock Optuna sweeper's keys plus a few of ours."""
# No `from __future__ import annotations` here: Hydra execs plugin modules outside sys.modules,
# and dataclasses cannot resolve string annotations there.

from dataclasses import dataclass
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from hydra_plugins.hydra_optuna_sweeper.config import OptunaSweeperConf


@dataclass
class MnistOptunaSweeperConf(OptunaSweeperConf):
    _target_: str = "hydra_plugins.mnist_sweep_sweeper.sweeper.MnistOptunaSweeper"
    # Dotted path of callable(cfg) -> dict of user attrs, run on each candidate's composed config
    # before launch; if it raises, the candidate is recorded as rejected and never launched.
    precheck: Optional[str] = None
    # Stop with an error after this many rejected candidates in one invocation.
    max_rejected: int = 1000
    # Dotted path of callable(study, sweep_dir) called after every finished trial (the leaderboard).
    on_trial_end: Optional[str] = None
    # An Optuna pruner (``_target_: optuna.pruners.MedianPruner`` ...) or null for none. Jobs open
    # their live trial from the storage and report every epoch; needs a persistent storage.
    pruner: Optional[Any] = None
    # Sweep processes on this machine sharing the study (needs a persistent storage): this one
    # starts workers - 1 copies of its own command line. With n_jobs: 1 each, a trial that ends
    # early (pruned, failed) frees its core at once instead of waiting for a whole batch.
    workers: int = 1
    # Each trial's dir under hydra.sweep.dir, named by its Optuna trial number.
    trial_dir: str = "trial_{number:04d}"


ConfigStore.instance().store(
    group="hydra/sweeper", name="mnist_optuna", node=MnistOptunaSweeperConf, provider="mnist_sweep"
)
