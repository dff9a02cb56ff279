"""``hydra/sweeper=mnist_optuna``'s keys: the stock hydra-optuna-sweeper keys (mirrored field by
field, so that nothing in mnist_sweep imports a plugin; tests/test_config_sweeper.py holds them
against the stock OptunaSweeperConf) plus ours, each with its valid range, and the pruner and
sampler configs. The plugin (hydra_plugins/mnist_sweep_sweeper) registers them in Hydra's ConfigStore."""
# No `from __future__ import annotations`: OmegaConf reads these annotations as types.

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import MISSING

from mnist_sweep.config.ranges import key  # a field with its valid range; the plugin's checks enforce them


@dataclass
class MedianPrunerConf:
    """Prune a trial whose metric is below the median of earlier trials at the same epoch.

    The default: it waits 10 epochs, past OneCycle's warm-up (pct_start <= 0.4 of 20 epochs),
    so slow starters are not cut while their learning rate still rises; successive halving's
    first rung at epoch 1 stopped both 20-epoch trials that would have reached the target
    (BENCHMARKS.md, time to target)."""

    _target_: str = "optuna.pruners.MedianPruner"
    n_startup_trials: int = 2  # trials that always run to the end first
    n_warmup_steps: int = 10  # epochs before any pruning
    interval_steps: int = 1


@dataclass
class SuccessiveHalvingPrunerConf:
    """Asynchronous successive halving: at epochs 1, 3, 9 only the top third of trials go on.

    In bench/pruning.py it trained 2.7x fewer epochs than no pruning for a best validation
    accuracy 0.1 point lower (2 of 2,000 images; BENCHMARKS.md), but on 20-epoch full-data
    trials its epoch-1 rung stops slow starters that would have been the best."""

    _target_: str = "optuna.pruners.SuccessiveHalvingPruner"
    min_resource: Any = key(1, ge=1, also=("auto",), text="auto or a whole number >= 1")  # Optuna takes nan
    reduction_factor: int = 3
    min_early_stopping_rate: int = 0


@dataclass
class HyperbandPrunerConf:
    _target_: str = "optuna.pruners.HyperbandPruner"
    min_resource: int = key(1, ge=1)  # Optuna checks these only when it first prunes, mid-sweep
    max_resource: Any = key("auto", ge=1, also=("auto",), text="auto or a whole number >= 1")
    reduction_factor: int = key(3, ge=2)


@dataclass
class ThresholdPrunerConf:
    _target_: str = "optuna.pruners.ThresholdPruner"
    lower: Optional[float] = key(None, text="a finite number or null", example=0.9)  # Optuna takes nan: never prunes
    upper: Optional[float] = key(None, text="a finite number or null", example=1.0)
    n_warmup_steps: int = 0
    interval_steps: int = 1


@dataclass
class WilcoxonPrunerConf:
    """Prune when a Wilcoxon signed-rank test says the trial's epochs are worse than the best trial's."""

    _target_: str = "optuna.pruners.WilcoxonPruner"
    p_threshold: float = 0.1
    n_startup_steps: int = 5


@dataclass
class ProjectionPrunerConf:
    """Prune a trial whose optimistic projection (accuracy now + the study's largest late gain at
    this epoch + seed noise) cannot catch the best finished trial (mnist_sweep.pruning)."""

    _target_: str = "mnist_sweep.pruning.ProjectionPruner"
    to_target: bool = False
    sigmas: float = 2.0  # binomial standard deviations of one seed's validation accuracy
    n_startup_trials: int = 2  # finished trials (their curves) before any pruning
    n_warmup_steps: int = 3  # epochs before any pruning


@dataclass
class TargetPrunerConf(ProjectionPrunerConf):
    """The constrained modes' pruner: stop a trial that cannot reach trainer.target_acc."""

    to_target: bool = True


@dataclass
class NopPrunerConf:
    _target_: str = "optuna.pruners.NopPruner"


@dataclass
class MnistTPESamplerConf:
    """The default sampler: multivariate TPE. constant_liar (Optuna's parallel TPE) counts the
    other workers' running trials as bad results, so workers don't crowd one region. Optuna 5's
    TPE is also multi-objective (MOTPE is gone)."""

    _target_: str = "optuna.samplers.TPESampler"
    seed: Optional[int] = 1234  # the first run of a fresh study; every other process derives its own
    n_startup_trials: int = key(8, ge=0)
    multivariate: bool = True
    constant_liar: bool = True


# The stock sampler options under their stock names (hydra/sweeper/sampler=tpe|random|cmaes|nsgaii|
# grid|motpe), for Optuna 5: the stock configs pass arguments Optuna deprecated (TPE's consider_prior,
# prior_weight, consider_magic_clip, consider_endpoints, warn_independent_sampling; CMA-ES's x0,
# sigma0, restart_strategy, inc_popsize) or a sampler it removed (MOTPESampler), so they warn or
# fail. The plugin registers these over the stock ones (whatever the import order).
@dataclass
class TPESamplerConf:
    _target_: str = "optuna.samplers.TPESampler"
    seed: Optional[int] = None
    n_startup_trials: int = key(10, ge=0)
    n_ei_candidates: int = 24
    multivariate: bool = False
    constant_liar: bool = True  # Optuna 5's default: parallel workers don't crowd one region


@dataclass
class MOTPESamplerConf:
    """``motpe``: Optuna 5 removed MOTPESampler; its TPESampler is multi-objective (since Optuna 4)."""

    _target_: str = "optuna.samplers.TPESampler"
    seed: Optional[int] = None
    n_startup_trials: int = key(10, ge=0)
    n_ei_candidates: int = 24


@dataclass
class RandomSamplerConf:
    _target_: str = "optuna.samplers.RandomSampler"
    seed: Optional[int] = None


@dataclass
class CmaEsSamplerConf:
    _target_: str = "optuna.samplers.CmaEsSampler"
    seed: Optional[int] = None
    n_startup_trials: int = key(1, ge=0)
    popsize: Optional[int] = None
    consider_pruned_trials: bool = False  # True: Optuna's experimental feature (it warns)
    use_separable_cma: bool = False  # idem
    with_margin: bool = False  # idem
    lr_adapt: bool = False  # idem
    warn_independent_sampling: bool = True


@dataclass
class NSGAIISamplerConf:
    _target_: str = "optuna.samplers.NSGAIISampler"
    seed: Optional[int] = None
    population_size: int = 50
    mutation_prob: Optional[float] = None
    crossover_prob: float = 0.9
    swapping_prob: float = 0.5


@dataclass
class GridSamplerConf:
    """Every grid point once; the sweeper builds the grid from the search space (a partial until then)."""

    _target_: str = "optuna.samplers.GridSampler"
    _partial_: bool = True
    seed: Optional[int] = None


@dataclass
class GPSamplerConf:
    """Gaussian-process Bayesian optimization (Optuna's GPSampler)."""

    _target_: str = "optuna.samplers.GPSampler"
    seed: Optional[int] = None
    n_startup_trials: int = key(8, ge=0)
    deterministic_objective: bool = False


@dataclass
class RepeatsConf:
    """hydra.sweeper.repeats: a config that enters the top_k (in a constrained sweep: among the
    feasible trials) on its first seed is trained with seeds - 1 further trainer.seed values; the
    study, the constraint and the leaderboard judge it on its mean (n_seeds, val_mean, val_sem)."""

    seeds: int = key(1, ge=1, le=20)  # 1: off (every config on one seed)
    top_k: int = key(5, ge=1, le=10_000)
    race: bool = True  # false: no racing, every queued seed runs to its end (the racing benchmark's control)


@dataclass
class MnistOptunaSweeperConf:
    _target_: str = "hydra_plugins.mnist_sweep_sweeper.sweeper.MnistOptunaSweeper"
    defaults: List[Any] = field(default_factory=lambda: [{"sampler": "mnist_tpe"}, {"pruner": "projection"}])
    # The stock keys (hydra_plugins.hydra_optuna_sweeper.config.OptunaSweeperConf), with valid ranges.
    sampler: Any = MISSING
    direction: Any = "minimize"  # minimize | maximize, or a list of them (multi-objective)
    storage: Optional[Any] = None
    search_space: Optional[Dict[str, Any]] = None  # deprecated by the stock sweeper: use params
    params: Optional[Dict[str, str]] = None
    # Dotted path of callable(cfg, trial) -> None | dict, called for each candidate once params are
    # sampled, with the sweep's config (the stock contract): it may sample more parameters
    # (trial.suggest_*, conditional on trial.params); a dict it returns adds plain overrides
    # (key: value); raising optuna.TrialPruned rejects the candidate before launch.
    custom_search_space: Optional[str] = None
    study_name: Optional[str] = key(None, pattern=r"[^\x00/\\]{1,200}", text="a name of 1-200 characters without '/', not ending in '.repeats'")
    n_trials: int = key(20, ge=1, le=1_000_000)
    n_jobs: int = key(2, ge=1, le=1024)
    max_failure_rate: float = key(0.0, ge=0, le=1)
    # Dotted path of callable(cfg) -> dict of user attrs, run on each candidate's composed config
    # before launch; if it raises, the candidate is recorded as rejected and never launched.
    precheck: Optional[str] = None
    # Stop with an error after this many rejected candidates in one invocation.
    max_rejected: int = key(1000, ge=0)
    # End the sweep ("search space exhausted") after this many candidates in a row that equal a
    # trial already in the study (a small choice space that is fully tried).
    max_duplicates: int = key(50, ge=1, le=100_000)
    # Dotted path of callable(study, sweep_dir) called after every finished trial (the leaderboard).
    on_trial_end: Optional[str] = None
    # An Optuna pruner, chosen with hydra/sweeper/pruner=projection (default: stop a trial that cannot
    # catch the best one, seed noise and the schedule's late gain allowed for)|target (cannot reach
    # trainer.target_acc)|median|halving|hyperband|threshold|wilcoxon|none
    # (or null). Jobs open their live trial from the storage and report every epoch; pruning
    # needs a persistent storage.
    pruner: Any = MISSING  # filled by the defaults list (projection)
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
    # Warm start: configs queued as the first trials of a new study (Optuna's enqueue_trial):
    # parameter dicts ({model.c1: 8, optimizer.lr: 0.1}) or experiment names (best_20k: the
    # values conf/experiment/best_20k.yaml gives to the searched keys).
    enqueue: List[Any] = field(default_factory=list)
    # Print the search space, the candidates' parameter range and an estimated duration, then
    # exit: no study is opened, nothing is trained or written.
    dry_run: bool = False
    # The target as a constraint (Optuna's trial.set_constraint, which its TPE, NSGA-II and GP
    # samplers learn from): a trial is feasible when its selection metric reaches
    # trainer.target_acc. hparams_search=smallest|fastest set it; the leaderboard then ranks
    # feasible trials first and "best" means the best feasible one.
    constrain_to_target: bool = False
    # Judge the best configs on a mean over seeds (RepeatsConf): e.g. repeats.seeds=3 repeats.top_k=5.
    repeats: RepeatsConf = field(default_factory=RepeatsConf)
