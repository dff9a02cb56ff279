"""``hydra/sweeper=mnist_optuna``: the stock hydra-optuna-sweeper, extended (a subclass).

What it adds to the stock loop (each concern in its own module of this package):

- ``space``: group choices sampled first, keys that don't exist in the chosen config not
  sampled (a conditional space), every key and option checked against conf/ before any trial.
- ``loop``: each candidate is composed and passed to ``precheck`` before launch (an over-budget
  model is recorded as ``rejected``, never trained); a candidate equal to a trial already in the
  study is recorded as ``duplicate`` and not trained again; ``n_trials`` is the study's total,
  so re-running the command resumes.
- ``study``: storage opened with retries while workers race to create it (SQLite, PostgreSQL,
  journal files), old schemas upgraded, a sampler seed of its own for every process, warm-start
  trials (``enqueue``), results told to Optuna and kept in the storage.
- ``liveness``: trials of dead workers failed as ``lost`` (pid on this host, heartbeats anywhere).
- ``workers``: ``workers - 1`` helper processes on the same study, their progress forwarded.
- ``progress``: one line per finished trial with an ETA.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable

import optuna
from hydra.utils import get_method, instantiate
from hydra_plugins.hydra_optuna_sweeper._impl import OptunaSweeperImpl
from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

from hydra_plugins.mnist_sweep_sweeper import space as sspace, study as sstudy
from hydra_plugins.mnist_sweep_sweeper.compose import Composer
from hydra_plugins.mnist_sweep_sweeper.loop import Loop
from hydra_plugins.mnist_sweep_sweeper.preview import preview
from hydra_plugins.mnist_sweep_sweeper.progress import Progress
from hydra_plugins.mnist_sweep_sweeper.workers import Helpers
from mnist_sweep.config.sweeper_checks import check_sweeper
from mnist_sweep.errors import MnistSweepError, ParamBudgetExceeded, SweepError
from mnist_sweep.config.space import check_distribution
from mnist_sweep.storage import check_no_clear_password, install_log_redaction, mask_url
from mnist_sweep.trial import WORKER_ENV, worker_index

log = logging.getLogger("hydra_plugins.mnist_sweep_sweeper")
optuna.logging.set_verbosity(optuna.logging.WARNING)  # the start line says what Optuna's INFO lines would


class MnistOptunaSweeperImpl(OptunaSweeperImpl):
    def __init__(
        self, *args: Any, precheck: str | None, max_rejected: int, max_duplicates: int, on_trial_end: str | None,
        trial_dir: str, pruner: Any,
        workers: int, on_sweep_end: str | None, heartbeat_interval: int | None = None, grace_period: int | None = None,
        enqueue: list | None = None, dry_run: bool = False,
    ) -> None:
        super().__init__(*args)
        self.dry_run = dry_run
        self._composer: Composer | None = None
        self.heartbeat_interval, self.grace_period = heartbeat_interval, grace_period
        self.workers, self.max_rejected, self.trial_dir_format = workers, max_rejected, trial_dir
        self.max_duplicates = max_duplicates
        # Hydra instantiates nested _target_ configs before __init__; accept either form.
        self.pruner = instantiate(pruner) if isinstance(pruner, (dict, DictConfig)) else pruner
        self.precheck: Callable[[DictConfig], dict] | None = get_method(precheck) if precheck else None
        self.on_trial_end: Callable | None = get_method(on_trial_end) if on_trial_end else None
        self.on_sweep_end: Callable | None = get_method(on_sweep_end) if on_sweep_end else None
        self.enqueue = list(enqueue or [])

    def _compose(self, overrides: list[str]) -> DictConfig:
        """A candidate's config for the checks before launch (the launcher composes each job itself)."""
        if self._composer is None:
            self._composer = Composer(lambda o: self.hydra_context.config_loader.load_sweep_config(self.config, o))
        return self._composer(overrides)

    def sweep(self, arguments: list[str]) -> None:
        check_sweeper(self.config)  # the sweeper's own keys (the CLI checks them too, before Hydra starts)
        install_log_redaction()
        self._process_searchspace_config()
        space = sspace.build(
            self._parse_sweeper_params_config() + list(arguments), set(self.config.hydra.runtime.choices), self._compose
        )
        if self.search_space_distributions:  # the deprecated hydra.sweeper.search_space form
            space.values.update({k: sspace.modern(v) for k, v in self.search_space_distributions.items()})
        for name, dist in space.values.items():  # each distribution against its key's type and range
            check_distribution(name, dist, self.config)
        self._precheck_base(space)
        if self.dry_run:
            preview(space, self._compose, self.n_trials, self.workers)
            return
        grid = self._grid(space)
        check_no_clear_password(OmegaConf.to_container(self.config.hydra.sweeper, resolve=False).get("storage"))
        study = sstudy.open_study(
            self.storage, self.study_name, self._sampler(grid, None), self.pruner, self._get_directions(),
            self.heartbeat_interval, self.grace_period,
        )
        sweep_dir = Path(self.config.hydra.sweep.dir).resolve()
        sweep_dir.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault(WORKER_ENV, "0")
        if self.enqueue and worker_index() == 0:
            sstudy.enqueue(study, [self._warm_start(item, space) for item in self.enqueue])
        helpers = Helpers(self.workers if self.storage else 1, sweep_dir)
        if self.workers > 1 and not self.storage:
            log.warning("hydra.sweeper.workers=%d needs a persistent storage; in-memory study: one worker", self.workers)
        progress = Progress(self.n_trials)
        progress.start_line(study, mask_url(self.storage))
        helpers.start()

        def reseed(first_number: int) -> None:
            seed = self._seed()
            own = sstudy.own_seed(seed, first_number, worker_index())
            if own != seed:
                study.sampler = self._sampler(grid, own)
                log.debug("sampler seed %s (configured %s)", own, seed)

        def launch(job_overrides: list[list[str]]) -> list:
            returns = self.launcher.launch(job_overrides, initial_job_idx=self.job_idx)
            self.job_idx += len(returns)
            return list(returns)

        loop = Loop(
            study=study, space=space, sweep_dir=sweep_dir, compose=self._compose, launch=launch,
            n_trials=self.n_trials, n_jobs=self.n_jobs, max_rejected=self.max_rejected,
            max_duplicates=self.max_duplicates,
            max_failure_rate=self.max_failure_rate, grace_period=self.grace_period,
            trial_dir_format=self.trial_dir_format, precheck=self.precheck, on_trial_end=self.on_trial_end,
            reseed=reseed,
        )
        try:
            loop.run(progress)
        except BaseException:
            helpers.stop()
            raise
        finally:
            helpers.wait()
        if self.on_trial_end is not None:
            self.on_trial_end(study, sweep_dir)
        self._report_best(study, sweep_dir)
        if self.on_sweep_end is not None and not study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            self.on_sweep_end(study, sweep_dir)  # the last worker to finish writes the report

    # ------------------------------------------------------------------ helpers of sweep()
    def _seed(self) -> int | None:
        return self.config.hydra.sweeper.sampler.get("seed")

    def _grid(self, space: sspace.SearchSpace) -> dict | None:
        """GridSampler (a partial: it needs the search space): its grid, and n_trials capped to it."""
        import functools

        import optuna

        if not (isinstance(self.sampler, functools.partial) and self.sampler.func is optuna.samplers.GridSampler):
            return None
        grid = sspace.grid(space)
        size = 1
        for values in grid.values():
            size *= len(values)
        if size < self.n_trials:
            log.info("grid sampler: %d grid points, so n_trials %d -> %d", size, self.n_trials, size)
            self.n_trials = size
        return grid

    def _sampler(self, grid: dict | None, seed: int | None) -> Any:
        """The configured sampler; with ``seed``, a copy seeded with it."""
        if grid is not None:
            return sstudy.GridSampler(grid, seed=seed if seed is not None else self._seed())
        if seed is None:
            return self.sampler
        cfg = OmegaConf.to_container(self.config.hydra.sweeper.sampler, resolve=True)
        cfg["seed"] = seed
        return instantiate(cfg)

    def _warm_start(self, item: Any, space: sspace.SearchSpace) -> dict[str, Any]:
        """A parameter dict, or an experiment name whose values for the searched keys are queued."""
        if isinstance(item, str):
            try:
                cfg = self._compose([f"+experiment={item}"])
            except Exception:  # noqa: BLE001 - Hydra's many composition errors
                raise SweepError(f"hydra.sweeper.enqueue: no experiment '{item}' (conf/experiment/{item}.yaml)") from None
            return sspace.values_for(cfg, space)
        if isinstance(item, (dict, DictConfig)):
            params = dict(OmegaConf.to_container(item, resolve=True) if isinstance(item, DictConfig) else item)
            unknown = [k for k in params if k not in space.distributions]
            if unknown:
                raise SweepError(f"hydra.sweeper.enqueue: {', '.join(unknown)} not searched; use keys of hydra.sweeper.params")
            return params
        raise SweepError(f"hydra.sweeper.enqueue: expected parameter dicts or experiment names, got {item!r}")

    def _precheck_base(self, space: sspace.SearchSpace) -> None:
        """A config error in a key the search does not vary would reject every candidate: report
        it once, before the study is touched (an over-budget base model is fine: widths are sampled)."""
        if self.precheck is None:
            return
        try:
            self.precheck(self._compose([f"{k}={v}" for k, v in space.fixed.items()]))
        except ParamBudgetExceeded:
            return
        except MnistSweepError as e:
            if str(e).split(":", 1)[0] not in space.distributions:
                raise SweepError(str(e)) from None

    def _report_best(self, study: Any, sweep_dir: Path) -> None:
        summary = sstudy.best_summary(study)
        if summary is None:
            log.warning("no trial completed")
            return
        if "best_trial" in summary:
            log.info("best trial %d: value %s, params %s", summary["best_trial"], summary["best_value"], summary["best_params"])
        OmegaConf.save(OmegaConf.create(summary), sweep_dir / "optimization_results.yaml")


class MnistOptunaSweeper(OptunaSweeper):
    """The thin front: the stock sweeper's keys plus ours (config.MnistOptunaSweeperConf)."""

    def __init__(self, sampler, direction, storage, study_name, n_trials, n_jobs, max_failure_rate,
                 search_space, custom_search_space, params, precheck=None, max_rejected=1000, max_duplicates=50,
                 on_trial_end=None, trial_dir="trial_{number:04d}", pruner=None, workers=1,
                 on_sweep_end=None, heartbeat_interval=None, grace_period=None, enqueue=None,
                 dry_run=False) -> None:  # fmt: skip
        if custom_search_space:
            raise SweepError("hydra.sweeper.custom_search_space: not supported by mnist_optuna; use params")
        self.sweeper = MnistOptunaSweeperImpl(
            sampler, direction, storage, study_name, n_trials, n_jobs, max_failure_rate, search_space,
            custom_search_space, params,
            precheck=precheck, max_rejected=max_rejected, max_duplicates=max_duplicates, on_trial_end=on_trial_end,
            trial_dir=trial_dir,
            pruner=pruner, workers=workers, on_sweep_end=on_sweep_end,
            heartbeat_interval=heartbeat_interval, grace_period=grace_period, enqueue=enqueue, dry_run=dry_run,
        )
