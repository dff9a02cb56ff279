"""The sweep loop: ask -> (duplicate? precheck) -> launch -> tell, until the study holds n_trials
counted trials. Runs in every worker; the storage is the only thing they share."""
from __future__ import annotations

import contextlib
import os
import shlex
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from omegaconf import DictConfig

from hydra_plugins.mnist_sweep_sweeper import _liveness, _optuna, _space, _study
from hydra_plugins.mnist_sweep_sweeper._log import log
from hydra_plugins.mnist_sweep_sweeper._progress import Progress
from mnist_sweep.errors import SweepError
from mnist_sweep.trial import TRIAL_ID_ENV, TRIAL_NUMBER_ENV

RANDOM_AFTER_DUPLICATES = 2  # a sampler stuck on tried points (a small choice space) gets random draws


@dataclass
class Limits:
    """When the loop stops: the study's total, and how many bad candidates it takes."""

    n_trials: int
    n_jobs: int  # trials launched at once (one launcher batch)
    max_rejected: int
    max_duplicates: int  # in a row: then even random draws find nothing new, the space is exhausted
    max_failure_rate: float
    grace_period: int | None


@dataclass
class Hooks:
    """What the loop calls out to: composition, the launcher, the user's callbacks."""

    compose: Callable[[list[str]], DictConfig]
    launch: Callable[[list[list[str]]], list[Any]]  # the launcher, job overrides -> JobReturns
    precheck: Callable[[DictConfig], dict] | None
    on_trial_end: Callable[[optuna.Study, Path], None] | None
    reseed: Callable[[int], None]  # called with this process's first trial number


@dataclass
class Loop:
    study: optuna.Study
    space: _space.SearchSpace
    sweep_dir: Path
    trial_dir_format: str
    limits: Limits
    hooks: Hooks
    constrained: bool = False  # hydra.sweeper.constrain_to_target: each trial's distance to the target told too

    def run(self, progress: Progress) -> None:
        self.rejected = self.duplicates = 0
        self.first_number: int | None = None
        in_flight: list[optuna.Trial] = []
        with _liveness.Heartbeat(self.study, in_flight) as heartbeat:
            try:
                while (remaining := self._remaining()) > 0:
                    batch = self._candidates(min(self.limits.n_jobs, remaining), in_flight, heartbeat)
                    if batch is None:
                        break
                    returns = self.hooks.launch([overrides for _, overrides in batch])
                    for (trial, _), ret in zip(batch, returns):
                        _study.record(self.study, trial, ret, self.constrained)
                        in_flight.remove(trial)
                        self._trial_end()
                        progress.trial_line(self.study, trial.number)
                _study.check_failure_rate(self.study, self.limits.max_failure_rate, self.limits.n_trials)
            except BaseException as e:
                for trial in in_flight:
                    _study.lose(self.study, trial, e)
                raise
            finally:
                self._trial_end()

    def _remaining(self) -> int:
        """Counted trials still missing (every worker's); first fails dead workers' trials and
        stops when too many failed."""
        _liveness.fail_lost_trials(self.study, self.limits.grace_period)
        counted = sum(1 for t in self.study.get_trials(deepcopy=False) if _liveness.counts_toward_total(t))
        if counted < self.limits.n_trials:
            _study.check_failure_rate(self.study, self.limits.max_failure_rate, self.limits.n_trials)
        return self.limits.n_trials - counted

    def _candidates(self, n: int, in_flight: list[optuna.Trial], heartbeat: _liveness.Heartbeat) -> list | None:
        """Up to ``n`` (trial, job overrides) to launch; None when the space is exhausted."""
        batch: list[tuple[optuna.Trial, list[str]]] = []
        while len(batch) < n:
            trial, overrides = self._ask(in_flight, heartbeat)
            if overrides is None:  # rejected by the custom search space
                self._dropped(trial, in_flight, rejected=True)
                continue
            joined = " ".join(shlex.quote(o) for o in overrides)
            trial_dir = self.sweep_dir / self.trial_dir_format.format(number=trial.number)
            _study.mark(trial, None, trial_dir=str(trial_dir), overrides=joined)  # still "running"
            original = _study.original_of(self.study, trial, joined)
            if original is not None:
                _study.tell_duplicate(self.study, trial, original)
                if self._dropped(trial, in_flight, rejected=False):
                    return batch or None
                continue
            self.duplicates = 0
            self._check_trial_dir(trial_dir)
            if _study.reject(self.study, trial, self.hooks.precheck, lambda: self.hooks.compose(overrides)):
                self._dropped(trial, in_flight, rejected=True)
                continue
            batch.append((trial, [
                *overrides,
                f"hydra.sweep.subdir={trial_dir.name}",
                f"++hydra.job.env_set.{TRIAL_ID_ENV}={_optuna.trial_id(trial)}",
                f"++hydra.job.env_set.{TRIAL_NUMBER_ENV}={trial.number}",
            ]))
        return batch

    def _ask(self, in_flight: list[optuna.Trial], heartbeat: _liveness.Heartbeat) -> tuple[optuna.Trial, list[str] | None]:
        """A new trial, owned by this worker, and its overrides (None: the custom space rejected it)."""
        with self._sampler():
            trial = self.study.ask()
            in_flight.append(trial)
            _study.mark(trial, "running", host=socket.gethostname(), pid=os.getpid())  # owner first
            heartbeat.beat(trial)
            if self.first_number is None:
                self.first_number = trial.number
                self.hooks.reseed(trial.number)
            try:
                return trial, _space.suggest(trial, self.space, self.hooks.compose)
            except optuna.TrialPruned as e:
                reason = str(e) or "pruned by hydra.sweeper.custom_search_space"
                _study.tell_rejected(self.study, trial, f"hydra.sweeper.custom_search_space: {reason}")
                return trial, None

    def _dropped(self, trial: optuna.Trial, in_flight: list[optuna.Trial], rejected: bool) -> bool:
        """A candidate told without launch (rejected or duplicate); True when the space is exhausted."""
        in_flight.remove(trial)
        self._trial_end()
        if rejected:
            self.rejected += 1
            if self.rejected > self.limits.max_rejected:
                raise SweepError(
                    f"hydra.sweeper.max_rejected: {self.rejected} candidates rejected before launch "
                    "(over the parameter budget?); narrow the search space or raise model.max_params"
                )
            return False
        self.duplicates += 1
        if self.duplicates >= self.limits.max_duplicates:
            log.warning("%d candidates in a row were already tried: the search space is exhausted", self.duplicates)
            return True
        return False

    def _check_trial_dir(self, trial_dir: Path) -> None:
        if (trial_dir / "result.json").exists():
            raise SweepError(
                f"{trial_dir}: already holds a finished run but the study '{self.study.study_name}' has no such "
                "trial; the storage does not belong to this sweep dir: use a new hydra.sweep.dir"
            )

    @contextlib.contextmanager
    def _sampler(self) -> Iterator[None]:
        """After a few duplicates in a row, the next candidate is drawn at random instead of by the
        sampler (TPE keeps proposing the tried points of a small, mostly tried choice space)."""
        if self.duplicates < RANDOM_AFTER_DUPLICATES:
            yield
            return
        sampler, self.study.sampler = self.study.sampler, optuna.samplers.RandomSampler()
        try:
            yield
        finally:
            self.study.sampler = sampler

    def _trial_end(self) -> None:
        if self.hooks.on_trial_end is not None:
            self.hooks.on_trial_end(self.study, self.sweep_dir)
