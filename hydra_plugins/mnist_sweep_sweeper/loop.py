"""The sweep loop: ask -> (duplicate? precheck) -> launch -> tell, until the study holds n_trials
counted trials. Runs in every worker; the storage is the only thing they share."""
# No `from __future__ import annotations`: Hydra execs plugin modules outside sys.modules, and
# dataclasses cannot resolve string annotations there.

import contextlib
import logging
import os
import shlex
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import optuna
from omegaconf import DictConfig

from hydra_plugins.mnist_sweep_sweeper import _optuna, liveness, space as sspace, study as sstudy
from hydra_plugins.mnist_sweep_sweeper.progress import Progress
from mnist_sweep.errors import SweepError
from mnist_sweep.trial import TRIAL_ID_ENV, TRIAL_NUMBER_ENV

log = logging.getLogger("hydra_plugins.mnist_sweep_sweeper")
RANDOM_AFTER_DUPLICATES = 2  # a sampler stuck on tried points (a small choice space) gets random draws


@dataclass
class Loop:
    study: optuna.Study
    space: sspace.SearchSpace
    sweep_dir: Path
    compose: Callable[[list[str]], DictConfig]
    launch: Callable[[list[list[str]]], list[Any]]  # the launcher, job overrides -> JobReturns
    n_trials: int
    n_jobs: int
    max_rejected: int
    max_duplicates: int  # in a row: then even random draws find nothing new, the space is exhausted
    max_failure_rate: float
    grace_period: int | None
    trial_dir_format: str
    precheck: Callable[[DictConfig], dict] | None
    on_trial_end: Callable[[optuna.Study, Path], None] | None
    reseed: Callable[[int], None]  # called with this process's first trial number

    def run(self, progress: Progress) -> None:
        self.rejected = self.duplicates = 0
        self.first_number: int | None = None
        in_flight: list[optuna.Trial] = []
        with liveness.Heartbeat(self.study, in_flight) as heartbeat:
            try:
                while True:
                    liveness.fail_lost_trials(self.study, self.grace_period)
                    remaining = self.n_trials - sum(
                        1 for t in self.study.get_trials(deepcopy=False) if liveness.counts_toward_total(t)
                    )
                    if remaining <= 0:
                        break
                    sstudy.check_failure_rate(self.study, self.max_failure_rate, self.n_trials)
                    batch = self._candidates(min(self.n_jobs, remaining), in_flight, heartbeat)
                    if batch is None:
                        break
                    returns = self.launch([overrides for _, overrides in batch])
                    for (trial, _), ret in zip(batch, returns):
                        sstudy.record(self.study, trial, ret)
                        in_flight.remove(trial)
                        self._trial_end()
                        progress.trial_line(self.study, trial.number)
                sstudy.check_failure_rate(self.study, self.max_failure_rate, self.n_trials)
            except BaseException as e:
                for trial in in_flight:
                    sstudy.lose(self.study, trial, e)
                raise
            finally:
                self._trial_end()

    def _candidates(self, n: int, in_flight: list[optuna.Trial], heartbeat: liveness.Heartbeat) -> list | None:
        """Up to ``n`` (trial, job overrides) to launch; None when the space is exhausted."""
        batch: list[tuple[optuna.Trial, list[str]]] = []
        while len(batch) < n:
            with self._sampler():
                trial = self.study.ask()
                in_flight.append(trial)
                sstudy.mark(trial, "running", host=socket.gethostname(), pid=os.getpid())  # owner first
                heartbeat.beat(trial)
                if self.first_number is None:
                    self.first_number = trial.number
                    self.reseed(trial.number)
                overrides = sspace.suggest(trial, self.space, self.compose)
            joined = " ".join(shlex.quote(o) for o in overrides)
            trial_dir = self.sweep_dir / self.trial_dir_format.format(number=trial.number)
            sstudy.mark(trial, "running", trial_dir=str(trial_dir), overrides=joined)
            original = sstudy.original_of(self.study, trial, joined)
            if original is not None:
                sstudy.tell_duplicate(self.study, trial, original)
                in_flight.remove(trial)
                self._trial_end()
                self.duplicates += 1
                if self.duplicates >= self.max_duplicates:
                    log.warning("%d candidates in a row were already tried: the search space is exhausted", self.duplicates)
                    return batch or None
                continue
            self.duplicates = 0
            if (trial_dir / "result.json").exists():
                raise SweepError(
                    f"{trial_dir}: already holds a finished run but the study '{self.study.study_name}' has no such "
                    "trial; the storage does not belong to this sweep dir: use a new hydra.sweeper.study_name"
                )
            if sstudy.reject(self.study, trial, self.precheck, lambda: self.compose(overrides)):
                in_flight.remove(trial)
                self._trial_end()
                self.rejected += 1
                if self.rejected > self.max_rejected:
                    raise SweepError(
                        f"hydra.sweeper.max_rejected: {self.rejected} candidates rejected by the precheck "
                        "(over the parameter budget?); narrow the search space or raise model.max_params"
                    )
                continue
            batch.append((trial, [
                *overrides,
                f"hydra.sweep.subdir={trial_dir.name}",
                f"++hydra.job.env_set.{TRIAL_ID_ENV}={_optuna.trial_id(trial)}",
                f"++hydra.job.env_set.{TRIAL_NUMBER_ENV}={trial.number}",
            ]))
        return batch

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
        if self.on_trial_end is not None:
            self.on_trial_end(self.study, self.sweep_dir)
