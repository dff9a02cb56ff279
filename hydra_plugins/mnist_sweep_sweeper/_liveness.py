"""Dead-worker detection: a trial left RUNNING by a worker that died is failed as ``lost``.

On the worker's own host as soon as its pid is gone; on any host once its heartbeat is older
than ``grace_period`` (RDB storages with ``heartbeat_interval`` set).
"""
from __future__ import annotations

import socket
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import optuna
from hydra.core.utils import JobReturn, JobStatus
from optuna.trial import FrozenTrial, TrialState

from hydra_plugins.mnist_sweep_sweeper import _optuna
from hydra_plugins.mnist_sweep_sweeper._log import TRIAL_LINE, log
from mnist_sweep import results
from mnist_sweep.errors import redact
from mnist_sweep.open_hints import driver_words
from mnist_sweep.orphans import pid_alive  # a sweep's jobs use it too
from mnist_sweep.storage import status_of
from mnist_sweep.text import duration
from mnist_sweep.trial import pruned_reason

UNCOUNTED = ("rejected", "lost", "duplicate")


def counts_toward_total(t: FrozenTrial) -> bool:
    """Rejected candidates, duplicates, trials lost with their worker and queued (warm-start)
    trials not yet asked for are not part of ``n_trials``."""
    return t.state != TrialState.WAITING and status_of(t) not in UNCOUNTED


def finished_run(trial: optuna.Trial, names: list[str] | None) -> JobReturn | None:
    """What the job of a launched trial returned, read back from its result.json (the run's last
    write: it ended, complete or pruned), for a trial its stopping sweep never heard back from: the
    other jobs of its batch still ran. ``names``: the study's objectives (None: the run's value).
    None while the run had not ended."""
    res, ret = results.read(trial.user_attrs.get("trial_dir")), JobReturn()
    values = [res.get(name) for name in names or ["value"]]
    if res.get("status") == "pruned" and res.get("value") is not None:
        ret.status, ret.return_value = JobStatus.FAILED, optuna.TrialPruned(pruned_reason(res.get("epochs", 0), res["value"]))
    elif res.get("status") == "complete" and None not in values:
        ret.status, ret.return_value = JobStatus.COMPLETED, values[0] if names is None or len(values) == 1 else values
    else:
        return None
    return ret


def fail_open(storage: optuna.storages.BaseStorage, t: FrozenTrial, status: str, error: str) -> bool:
    """Fail an open trial of any worker through the storage, without the sampler's tell hooks
    (a lost trial or a cancelled seed has no result); False when it was finished first."""
    try:
        storage.set_trial_user_attr(_optuna.trial_id(t), "status", status)
        storage.set_trial_user_attr(_optuna.trial_id(t), "error", error)
        storage.set_trial_state_values(_optuna.trial_id(t), TrialState.FAIL)
    except (RuntimeError, optuna.exceptions.UpdateFinishedTrialError):  # another worker finished it first
        return False
    return True


def cancel_waiting(storage: optuna.storages.BaseStorage, t: FrozenTrial, why: str) -> bool:
    """Cancel a queued trial that is still queued: claimed first, by the one atomic state change a
    worker claims it with, then failed as cancelled. False when a worker claimed it since ``t`` was
    read (failing it then would finish a trial that worker runs, and crash its tell)."""
    try:
        if not storage.set_trial_state_values(_optuna.trial_id(t), TrialState.RUNNING):
            return False
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
    return fail_open(storage, t, "cancelled", why)


def named(t: FrozenTrial | optuna.Trial) -> str:
    """'trial N', or for a further seed of a repeated config (the side study's trial, numbered on
    its own) 'seed S of trial_NNNN': both were 'trial 0' in one sweep's lines. Every line about a
    seed names it so (a failed seed's named its parent's whole path)."""
    parent_dir = t.user_attrs.get("parent_dir")
    return f"seed {t.user_attrs.get('seed')} of {Path(parent_dir).name}" if parent_dir else f"trial {t.number}"


def dead_here(t: FrozenTrial) -> bool:
    """Whether a trial's worker ran on this host and its pid is gone (a RUNNING trial so is lost)."""
    pid = t.user_attrs.get("pid")
    return t.user_attrs.get("host") == socket.gethostname() and isinstance(pid, int) and not pid_alive(pid)


def tell_ended(study: optuna.Study, names: list[str] | None, tell: Callable[[optuna.Trial, JobReturn], None]) -> None:
    """Each trial a dead worker of this host left RUNNING whose run had ended (its result.json written,
    ``finished_run`` with the objectives ``names``) told by ``tell`` as the run ended, not lost and trained
    again; one another worker told or failed first is left to it."""
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not dead_here(t) or (ret := finished_run(t, names)) is None:
            continue
        try:
            tell(optuna.Trial(study, _optuna.trial_id(t)), ret)
        except (optuna.exceptions.UpdateFinishedTrialError, RuntimeError, ValueError):
            continue  # another worker told or failed it first
        log.warning("%s: worker %s:%s died after its run ended; told %s from its result.json", named(t), t.user_attrs.get("host"),
                    t.user_attrs.get("pid"), status_of(_optuna.storage_of(study).get_trial(_optuna.trial_id(t))), extra=TRIAL_LINE)


def fail_lost_trials(study: optuna.Study, grace_period: int | None) -> None:
    """Trials left RUNNING by a dead worker become FAIL (status lost): on this host when the
    owner's pid is gone, on any host when its heartbeat is older than grace_period."""
    host, storage = socket.gethostname(), _optuna.storage_of(study)
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if dead_here(t):
            pid = t.user_attrs["pid"]
            if not fail_open(storage, t, "lost", f"worker {host}:{pid} died while the trial ran"):
                continue  # another worker failed it first
            log.warning("%s: worker %s:%d died while it ran; marked failed (lost)", named(t), host, pid,
                        extra=TRIAL_LINE)
    if interval := _optuna.heartbeat_interval(study):
        before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        with warnings.catch_warnings():  # heartbeats are used on purpose: no ExperimentalWarning (-Werror safe)
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        after = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        for number in sorted(before - after):
            log.warning("trial %d: no heartbeat for %s; marked failed (lost)", number,
                        duration(grace_period or 2 * interval), extra=TRIAL_LINE)  # null: Optuna's default


class Heartbeat:
    """Records a heartbeat for this worker's open trials every ``interval`` seconds."""

    def __init__(self, study: optuna.Study, in_flight: list[optuna.Trial]) -> None:
        self.study, self.in_flight, self.stop = study, in_flight, threading.Event()
        self.interval = _optuna.heartbeat_interval(study)

    def beat(self, trial: optuna.Trial) -> None:
        if self.interval:
            _optuna.storage_of(self.study).record_heartbeat(_optuna.trial_id(trial))

    def __enter__(self) -> Heartbeat:
        if self.interval:
            threading.Thread(target=self._run, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            for trial in list(self.in_flight):
                try:
                    self.beat(trial)
                except Exception as e:  # noqa: BLE001 - a missed beat is retried next interval
                    log.warning("heartbeat for trial %d failed (%s: %s); retried in %s", trial.number, type(e).__name__,
                                redact(driver_words(e)), duration(self.interval))
