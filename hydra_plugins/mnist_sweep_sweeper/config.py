"""``hydra/sweeper=mnist_optuna``: the stock Optuna sweeper's keys plus a few of ours."""
# No `from __future__ import annotations` here: Hydra execs plugin modules outside sys.modules,
# and dataclasses cannot resolve string annotations there.

from dataclasses import dataclass, field
from typing import Any, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING
from hydra_plugins.hydra_optuna_sweeper.config import OptunaSweeperConf

from mnist_sweep.schema import key  # a field with its valid range; checks.check_sweeper enforces them


@dataclass
class MedianPrunerConf:
    """Prune a trial whose metric is below the median of earlier trials at the same epoch."""

    _target_: str = "optuna.pruners.MedianPruner"
    n_startup_trials: int = 4  # trials that always run to the end first
    n_warmup_steps: int = 5  # epochs before any pruning (OneCycle is still warming up)
    interval_steps: int = 1


@dataclass
class SuccessiveHalvingPrunerConf:
    """Asynchronous successive halving: at epochs 1, 3, 9 only the top third of trials go on.

    The default: in bench/pruning.py it trained 2.7x fewer epochs than no pruning for a best
    validation accuracy 0.1 point lower (2 of 2,000 images; BENCHMARKS.md)."""

    _target_: str = "optuna.pruners.SuccessiveHalvingPruner"
    min_resource: Any = 1
    reduction_factor: int = 3
    min_early_stopping_rate: int = 0


@dataclass
class HyperbandPrunerConf:
    _target_: str = "optuna.pruners.HyperbandPruner"
    min_resource: int = 1
    max_resource: Any = "auto"
    reduction_factor: int = 3


@dataclass
class ThresholdPrunerConf:
    _target_: str = "optuna.pruners.ThresholdPruner"
    lower: Optional[float] = None
    upper: Optional[float] = None
    n_warmup_steps: int = 0
    interval_steps: int = 1


@dataclass
class NopPrunerConf:
    _target_: str = "optuna.pruners.NopPruner"


@dataclass
class MnistOptunaSweeperConf(OptunaSweeperConf):
    _target_: str = "hydra_plugins.mnist_sweep_sweeper.sweeper.MnistOptunaSweeper"
    defaults: List[Any] = field(default_factory=lambda: [{"sampler": "tpe"}, {"pruner": "halving"}])
    # The stock keys, with their valid ranges.
    study_name: Optional[str] = key(None, pattern=r"[^\x00/\\]{1,200}", text="a name of 1-200 characters without '/'")
    n_trials: int = key(20, ge=1, le=1_000_000)
    n_jobs: int = key(2, ge=1, le=1024)
    max_failure_rate: float = key(0.0, ge=0, le=1)
    # Dotted path of callable(cfg) -> dict of user attrs, run on each candidate's composed config
    # before launch; if it raises, the candidate is recorded as rejected and never launched.
    precheck: Optional[str] = None
    # Stop with an error after this many rejected candidates in one invocation.
    max_rejected: int = key(1000, ge=0)
    # Dotted path of callable(study, sweep_dir) called after every finished trial (the leaderboard).
    on_trial_end: Optional[str] = None
    # An Optuna pruner, chosen with hydra/sweeper/pruner=halving (default)|median|hyperband|threshold|none
    # (or null). Jobs open their live trial from the storage and report every epoch; pruning
    # needs a persistent storage.
    pruner: Any = MISSING  # filled by the defaults list (halving)
    # Dotted path of callable(study, sweep_dir) called once when the sweep ends (the report).
    on_sweep_end: Optional[str] = None
    # Sweep processes on this machine sharing the study (needs a persistent storage): this one
    # starts workers - 1 copies of its own command line. With n_jobs: 1 each, a trial that ends
    # early (pruned, failed) frees its core at once instead of waiting for a whole batch.
    workers: int = key(1, ge=1, le=256)
    # Each trial's dir under hydra.sweep.dir, named by its Optuna trial number.
    trial_dir: str = key("trial_{number:04d}", text="a file name with {number} (e.g. trial_{number:04d})")
    # Workers on several machines: each records a heartbeat for its open trials every
    # heartbeat_interval seconds, and a trial whose heartbeat is older than grace_period
    # (default 2 x interval) is failed as lost by whichever worker sees it. null: off (a dead
    # worker's trials are then failed only by a worker on its own host, or on resume).
    heartbeat_interval: Optional[int] = key(None, ge=1, text=">= 1 (seconds) or null")
    grace_period: Optional[int] = key(None, ge=1, text="> hydra.sweeper.heartbeat_interval (seconds) or null")


ConfigStore.instance().store(
    group="hydra/sweeper", name="mnist_optuna", node=MnistOptunaSweeperConf, provider="mnist_sweep"
)

for _name, _node in [
    ("median", MedianPrunerConf),
    ("halving", SuccessiveHalvingPrunerConf),
    ("hyperband", HyperbandPrunerConf),
    ("threshold", ThresholdPrunerConf),
    ("none", NopPrunerConf),
]:
    ConfigStore.instance().store(group="hydra/sweeper/pruner", name=_name, node=_node, provider="mnist_sweep")
