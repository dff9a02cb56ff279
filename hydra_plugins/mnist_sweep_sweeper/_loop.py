"""The sweep loop: ask -> (duplicate? precheck) -> launch -> tell, until the study holds n_trials
counted trials. Runs in every worker; the storage is the only thing they share."""
from __future__ import annotations

import contextlib
import functools
import os
import shlex
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from hydra.errors import HydraException
from omegaconf import DictConfig

from hydra_plugins.mnist_sweep_sweeper import _failures, _faults, _groups, _liveness, _optuna, _repeats, _resume, _revive, _space, _study, _workers
from hydra_plugins.mnist_sweep_sweeper._log import log
from hydra_plugins.mnist_sweep_sweeper._progress import Progress
from mnist_sweep import children
from mnist_sweep.errors import SweepError, SweepStopped
from mnist_sweep.text import plural

RANDOM_AFTER_DUPLICATES = 2  # a sampler stuck on tried points (a small choice space) gets random draws
POLL_S = 2.0  # a worker whose open parents wait on other workers' seeds looks again after this
CROWDED_AT = 100  # rejections in one invocation before the loop checks what share of the study they are


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
    repeats: _repeats.Repeats | None = None  # hydra.sweeper.repeats with seeds > 1
    launched: list[optuna.Trial] = field(default_factory=list)  # the trials of the launch under way
    seen: int = field(default_factory=lambda: len(children.SEEN))  # the interrupts before the loop began

    def run(self, progress: Progress) -> None:
        self.rejected = self.duplicates = self.passed = 0  # this run's candidates: rejected, duplicates in a row, launched
        self.uncomposed: list[str] = []  # the reasons of this run's candidates that did not compose
        self.first_number: int | None = None
        self.exhausted = False
        self.held: list[optuna.Trial] = []  # parents open while their further seeds run (repeats)
        in_flight: list[optuna.Trial] = []  # asked or claimed here and not yet told, held parents too
        with _liveness.Heartbeat(self.study, in_flight) as heartbeat:
            try:
                while (jobs := self._next_jobs(in_flight, heartbeat)) is not None:
                    if not jobs:
                        time.sleep(POLL_S)
                        continue
                    self.launched = [trial for trial, _ in jobs]
                    returns = self.hooks.launch([overrides for _, overrides in jobs])
                    faults = [fault for (trial, _), ret in zip(jobs, returns)
                              if (fault := self._told(trial, ret, in_flight, progress)) is not None]
                    if faults:  # its trial is still in flight: lost below, replaced on resume
                        raise faults[0]
                _failures.check(self.study, self.limits.max_failure_rate, self.limits.n_trials, self.first_number)
            except BaseException as e:
                self._stopped(in_flight, e, progress)
                raise
            self._trial_end()

    def _told(self, trial: optuna.Trial, ret: Any, in_flight: list[optuna.Trial], progress: Progress) -> BaseException | None:
        """Tell how a launched job ended; a fault of the surroundings (a full or read-only sweep dir
        or storage: _faults) is returned instead, its trial left in flight."""
        if (fault := _faults.of_job(ret)) is not None:
            return fault
        shown = self._finish(trial, ret, in_flight)  # interrupted in it, the trial stays in flight: _stopped tells it
        in_flight.remove(trial)  # the first of two when _finish held it
        self._trial_end()
        if shown is not None:
            progress.trial_line(self.study, shown)
        return None

    def _stopped(self, in_flight: list[optuna.Trial], why: BaseException, progress: Progress | None = None) -> None:
        """The sweep stops: the runs of its launch that had ended are told how (a batch's other jobs
        still ran), its other open trials lost, the leaderboard rewritten as it stands. All best
        effort: a storage or dir that cannot take them may be what stopped it (a re-run fails the
        trials as lost, its worker gone, and writes the leaderboard)."""
        with _workers.signals_held():
            _faults.release(why)  # a storage transaction it cut holds SQLite's write lock
            try:
                for trial in [t for t in self.launched if progress is not None and t in in_flight and t not in self.held]:
                    if (ret := _liveness.finished_run(trial, self.study.metric_names)) is not None:
                        self._told(trial, ret, in_flight, progress)
            except Exception as e:  # noqa: BLE001 - lost below instead
                log.debug("ended runs not told: %s", e)
            try:
                for trial in in_flight:
                    _study.lose(trial.study, trial, why)
            except Exception as e:  # noqa: BLE001 - the storage failed too
                log.debug("open trials not marked lost: %s", e)
            try:
                self._trial_end()
            except Exception as e:  # noqa: BLE001 - the sweep dir failed too
                log.debug("leaderboard not rewritten: %s", e)

    def _next_jobs(self, in_flight: list[optuna.Trial], heartbeat: _liveness.Heartbeat) -> list | None:
        """The next launcher batch: queued seeds first, then new candidates; [] when only other
        workers' seeds are left to wait for; None when this worker is done."""
        children.raise_lost_interrupt(self.seen)  # one a finalizer swallowed: the sweep ran on
        jobs: list[tuple[optuna.Trial, list[str]]] = []
        _revive.fail_lost(self.study, self.limits.grace_period, self.constrained, self.repeats is not None)  # dead workers': before
        if self.repeats is not None:  # a revive (not one trial later) and before the count
            self._poll(in_flight)
            self._claim(jobs, in_flight, heartbeat)
        remaining = self._remaining()
        if remaining > 0 and len(jobs) < self.limits.n_jobs and not self.exhausted:
            batch = self._candidates(min(self.limits.n_jobs - len(jobs), remaining), in_flight, heartbeat)
            self.exhausted = batch is None
            jobs.extend(batch or [])
            if self.repeats is not None:  # a revived config's seeds were queued just now
                self._claim(jobs, in_flight, heartbeat)
        if jobs:
            return jobs
        return [] if self.held else None

    def _claim(self, jobs: list, in_flight: list[optuna.Trial], heartbeat: _liveness.Heartbeat) -> None:
        for trial, overrides in self.repeats.claim(self.limits.n_jobs - len(jobs)):
            in_flight.append(trial)
            heartbeat.beat(trial)
            jobs.append((trial, overrides))

    def _poll(self, in_flight: list[optuna.Trial]) -> None:
        """Drop the held parents that were told (by this or another worker); revive lost ones,
        dead workers' among them (failed by _next_jobs just before)."""
        still = self.repeats.poll(self.held, self.limits.grace_period)
        for trial in self.held:
            if trial not in still and trial in in_flight:
                in_flight.remove(trial)
        self.held = still
        _revive.revive(self.repeats)

    def _finish(self, trial: optuna.Trial, ret: Any, in_flight: list[optuna.Trial]) -> int | None:
        """Tell how a job ended: a seed of a repeated config, or a trial (held open when it enters
        the top-k of a sweep with repeats). Returns the number of the trial to show a line for."""
        if self.repeats is not None and trial.study is not self.study:
            return self.repeats.record(trial, ret)  # its config's number once the last seed told it
        hold = functools.partial(self.repeats.hold_if_wanted, trial) if self.repeats is not None else None
        if _study.record(self.study, trial, ret, self.constrained, hold):
            self.held.append(trial)
            in_flight.append(trial)
        return trial.number

    def _remaining(self) -> int:
        """Counted trials still missing (every worker's, dead workers' already failed); stops
        when too many failed."""
        counted = sum(1 for t in self.study.get_trials(deepcopy=False) if _liveness.counts_toward_total(t))
        if counted < self.limits.n_trials:
            _failures.check(self.study, self.limits.max_failure_rate, self.limits.n_trials, self.first_number)
        return self.limits.n_trials - counted

    def _candidates(self, n: int, in_flight: list[optuna.Trial], heartbeat: _liveness.Heartbeat) -> list | None:
        """Up to ``n`` (trial, job overrides) to launch; None when the space is exhausted."""
        batch: list[tuple[optuna.Trial, list[str]]] = []
        while len(batch) < n:
            trial, overrides = self._ask(in_flight, heartbeat)
            if overrides is None:  # rejected by the custom search space, or its groups did not compose
                self._dropped(trial, in_flight, rejected=True)
                continue
            if self.repeats is not None and _revive.takeover(self.repeats, trial):  # a lost repeating config, revived
                self.held.append(trial)
                return batch  # the count changed: _next_jobs asks again, its seeds first
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
            if _study.reject(self.study, trial, self.hooks.precheck, functools.partial(self._candidate, overrides),
                             self.constrained):
                self._dropped(trial, in_flight, rejected=True)
                continue
            self.passed += 1
            batch.append((trial, _study.job_overrides(overrides, trial_dir.name, _optuna.trial_id(trial), trial.number)))
        return batch

    def _ask(self, in_flight: list[optuna.Trial], heartbeat: _liveness.Heartbeat) -> tuple[optuna.Trial, list[str] | None]:
        """A new trial, owned by this worker, and its overrides (None: rejected by the custom space, or
        swept group choices that do not compose together, which the draw composes to find its keys)."""
        with self._sampler(), children.deferred():  # an interrupt waits until the trial is marked this worker's
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
                _study.tell_rejected(self.study, trial, f"hydra.sweeper.custom_search_space: {reason}", None,
                                     self.constrained)
                return trial, None
            except SweepError:  # the custom space's own error (a HydraException too): it stops the sweep
                raise
            except HydraException as e:  # model=a with +experiment=x: rejected in one line, counted as _candidate's
                drawn = [f"{k}={v}" for k, v in {**trial.params, **self.space.fixed}.items()]
                self.uncomposed.append(_groups.not_composed(e, drawn))
                _study.tell_rejected(self.study, trial, self.uncomposed[-1], None, self.constrained)
                return trial, None

    def _dropped(self, trial: optuna.Trial, in_flight: list[optuna.Trial], rejected: bool) -> bool:
        """A candidate told without launch (rejected or duplicate); True when the space is exhausted."""
        in_flight.remove(trial)
        self._trial_end()
        if rejected:
            self.rejected += 1
            _failures.check_composed(self.uncomposed, self.rejected, self.passed)
            if self.rejected == CROWDED_AT:
                self._warn_if_crowded()
            if self.rejected > self.limits.max_rejected:
                ours = [t for t in self.study.get_trials(deepcopy=False) if t.number >= (self.first_number or 0)]
                raise SweepStopped(f"hydra.sweeper.max_rejected: {plural(self.rejected, 'candidate')} rejected before launch, "
                                 f"{_failures.why_rejected(ours)[1]}")
            return False
        self.duplicates += 1
        if self.duplicates >= self.limits.max_duplicates:
            log.warning("%s in a row %s already tried: the search space is exhausted",
                        plural(self.duplicates, "candidate"), "was" if self.duplicates == 1 else "were")
            return True
        return False

    def _candidate(self, overrides: list[str]) -> DictConfig:
        """The candidate's config; swept choices that do not compose together (+experiment=tiny with
        scheduler=step) are a one-line SweepError naming the file and key, its rejection's reason (kept:
        a run none of whose first candidates compose stops, _failures.check_composed)."""
        try:
            return self.hooks.compose(overrides)
        except HydraException as e:
            self.uncomposed.append(_groups.not_composed(e, overrides))
            raise SweepError(self.uncomposed[-1]) from None

    def _warn_if_crowded(self) -> None:
        """Warn once when TPE's good group (its best min(ceil(n/10), 25) of the n told trials) must
        hold rejected candidates: fewer trained trials than that, so it draws almost at random."""
        told = self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,
                                                             optuna.trial.TrialState.PRUNED))
        rejected = sum(t.user_attrs.get("status") == "rejected" for t in told)
        if len(told) - rejected < min(-(-len(told) // 10), 25):
            log.warning("hydra.sweeper.params: %s of the study's %s were rejected before launch, so the "
                        "sampler draws almost at random; narrow the search space to the budget (fewer or smaller "
                        "widths) or raise model.max_params%s", f"{rejected:,}", plural(len(told), "candidate"), _failures.narrower(told))

    def _check_trial_dir(self, trial_dir: Path) -> None:
        if (trial_dir / "result.json").exists():  # another study's, put there since the start's check (_resume)
            raise _resume.foreign_run(trial_dir, self.study.study_name)

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
