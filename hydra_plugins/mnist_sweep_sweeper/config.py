"""``hydra/sweeper=mnist_optuna``: the stock Optuna sweeper's keys plus a few of ours."""
# No `from __future__ import annotations` here: Hydra execs plugin modules outside sys.modules,
# and dataclasses cannot resolve string annotations there.

from dataclasses import dataclass
from typing import Optional

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
    # Each trial's dir under hydra.sweep.dir, named by its Optuna trial number.
    trial_dir: str = "trial_{number:04d}"


ConfigStore.instance().store(
    group="hydra/sweeper", name="mnist_optuna", node=MnistOptunaSweeperConf, provider="mnist_sweep"
)
