"""The study, once open (``_open``): each process's own sampler seed, warm-start trials, and recording
what happened to a trial."""
from __future__ import annotations

import math
import os
import socket
import warnings
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
from hydra.core.utils import JobReturn, JobStatus
from optuna.trial import FrozenTrial, TrialState

from hydra_plugins.mnist_sweep_sweeper import _failures, _optuna
from hydra_plugins.mnist_sweep_sweeper._log import TRIAL_LINE, log
from mnist_sweep import best as best_order, orphans, results, target
from mnist_sweep.config.syntax import hydra_value  # a host name with a space, ',' or '=' broke the job's overrides
from mnist_sweep.storage import status_of
from mnist_sweep.text import plural
from mnist_sweep.trial import TRIAL_ID_ENV, TRIAL_NUMBER_ENV


class GridSampler(optuna.samplers.GridSampler):
    """Optuna's GridSampler, usable with ask/tell: once every grid point is taken it calls
    ``study.stop()``, which only works inside ``study.optimize``; the sweep loop ends by itself
    (n_trials is capped at the grid's size), so that call is skipped."""

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Any) -> None:
        try:
            super().after_trial(study, trial, state, values)
        except RuntimeError as e:
            if "Study.stop" not in str(e):
                raise


def own_seed(seed: int | None, first_number: int, worker: int) -> int | None:
    """This process's sampler seed. The process that runs a fresh study's trial 0 keeps the
    configured seed (a first run is reproducible); every other process (helper workers, a resumed
    sweep, the same command on another machine) draws its own stream from the seed, its first
    trial number, worker index, host and pid, so no two processes propose the same candidates."""
    if seed is None or first_number == 0:
        return seed
    entropy = [seed, first_number, worker, os.getpid(), zlib.crc32(socket.gethostname().encode())]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0] & 0x7FFFFFFF)


def enqueue(study: optuna.Study, params_list: list[dict[str, Any]]) -> None:
    """Queue known configs as the first trials of a new study (Optuna's enqueue_trial)."""
    if study.get_trials(deepcopy=False):
        log.info("warm start skipped: study %s already has trials", study.study_name)
        return
    for params in params_list:
        study.enqueue_trial(params, user_attrs={"warm_start": True}, skip_if_exists=True)
    log.info("warm start: %s queued as the first trials", plural(len(params_list), "config"))


def mark(trial: optuna.Trial, status: str | None, **attrs: Any) -> None:
    """Set the trial's status (None: unchanged) and user attrs: one storage write each."""
    if status is not None:
        trial.set_user_attr("status", status)
    for k, v in attrs.items():
        trial.set_user_attr(k, v)


def job_overrides(overrides: list[str], subdir: str, trial_id: int, number: int) -> list[str]:
    """A launch's overrides: the candidate's, its run dir, its job's env (mnist_sweep.trial, orphans), each value quoted."""
    env = {TRIAL_ID_ENV: trial_id, TRIAL_NUMBER_ENV: number, orphans.SWEEP_ENV: orphans.this_sweep()}
    return [*overrides, f"hydra.sweep.subdir={hydra_value(subdir)}", *(f"++hydra.job.env_set.{k}={hydra_value(str(v))}" for k, v in env.items())]


def original_of(study: optuna.Study, trial: optuna.Trial, overrides: str) -> FrozenTrial | None:
    """An earlier trial of the study with exactly these overrides (finished or running), if any;
    trials lost with their worker and other duplicates don't count."""
    for t in study.get_trials(deepcopy=False):
        if t.number != trial.number and t.user_attrs.get("overrides") == overrides and status_of(t) not in ("lost", "duplicate"):
            if t.state != TrialState.WAITING:
                return t
    return None


def tell_duplicate(study: optuna.Study, trial: optuna.Trial, original: FrozenTrial) -> None:
    """Record a candidate equal to ``original`` without training it: its metric is the original's."""
    mark(trial, "duplicate", duplicate_of=original.number, error=f"same parameters as trial {original.number}")
    if original.state == TrialState.COMPLETE:
        study.tell(trial, original.values[0] if len(original.values) == 1 else original.values)
    elif original.state == TrialState.PRUNED:
        for step, value in original.intermediate_values.items():
            trial.report(value, step)
        study.tell(trial, state=TrialState.PRUNED)
    else:  # running (no metric yet) or failed
        study.tell(trial, state=TrialState.FAIL)
    log.info("trial %d: same parameters as trial %d (%s); not trained again", trial.number, original.number,
             status_of(original), extra=TRIAL_LINE)


def reject(study: optuna.Study, trial: optuna.Trial, precheck: Callable[[Any], dict] | None, cfg: Callable[[], Any],
           constrained: bool = False) -> bool:
    """Run the precheck on the candidate's config: on an error, record it as rejected and return True."""
    if precheck is None:
        return False
    try:
        attrs = precheck(cfg()) or {}
    except Exception as e:  # noqa: BLE001 - any precheck error rejects the candidate
        tell_rejected(study, trial, str(e), getattr(e, "user_attrs", {}), constrained)
        return True
    for k, v in attrs.items():
        trial.set_user_attr(k, v)
    return False


REJECTED_VIOLATION = 1.0  # a rejected candidate's distance to the target: at least any trained trial's


def tell_rejected(study: optuna.Study, trial: optuna.Trial, reason: str, attrs: dict[str, Any] | None = None,
                  constrained: bool = False) -> None:
    """A candidate refused before launch (precheck, or the custom search space): status ``rejected``,
    told PRUNED with no value (TPE ranks it below every real trial), and a note in optuna-dashboard,
    where its state alone would read like a trial the pruner stopped. In a constrained study it is
    also infeasible, further from the target than any trained trial (1 + its parameters / 1e6):
    TPE ranks PRUNED trials without constraint values above every infeasible one, so a rejected
    candidate would otherwise lead its good group while no trial is feasible."""
    mark(trial, "rejected", error=reason, **(attrs or {}))
    if constrained:
        trial.set_constraint("target", REJECTED_VIOLATION + float((attrs or {}).get("params", 0)) / 1e6)
    note(trial, f"**Rejected before training**, never launched (Optuna lists it as PRUNED): {reason}")
    study.tell(trial, state=TrialState.PRUNED)
    log.info("trial %d rejected before launch: %s", trial.number, reason, extra=TRIAL_LINE)


def note(trial: optuna.Trial, body: str) -> None:
    """A Markdown note on the trial, shown in optuna-dashboard's trial view (its ``save_note``)."""
    try:
        from optuna_dashboard import save_note
    except ImportError:
        return
    try:
        save_note(trial, body)
    except Exception as e:  # noqa: BLE001 - a note is a courtesy: never stop the sweep for it
        log.debug("trial %d: dashboard note not saved (%s)", trial.number, e)


def name_metrics(study: optuna.Study, names: list[str] | None) -> None:
    """Name the study's objectives (optuna-dashboard's axes and columns), once."""
    if names and len(names) == len(study.directions) and study.metric_names != names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # stable in use since Optuna 3.2
            study.set_metric_names(list(names))


def constrain(trial: optuna.Trial, res: dict[str, Any]) -> None:
    """The target as Optuna's constraint (feasible when <= 0): target_acc - the selection metric, a hair's gap none."""
    if res.get("value") is not None and res.get("target_acc") is not None:
        trial.set_constraint("target", target.shortfall(res["value"], res["target_acc"]))


def objective_values(value: Any) -> list[float]:
    """A job's return value as Optuna's values; ValueError when it is not one finite number or a
    list of them (a trial's and a repeat's return value are checked here alike)."""
    try:
        values = [float(v) for v in value] if isinstance(value, (list, tuple)) else [float(value)]
    except (TypeError, ValueError) as e:
        raise ValueError(f"bad return value {value!r}: {e}") from e
    if not values or not all(math.isfinite(v) for v in values):
        raise ValueError(f"bad return value {value!r}: non-finite objective {values}")
    return values


def record(study: optuna.Study, trial: optuna.Trial, ret: JobReturn, constrained: bool = False,
           hold: Callable[[list[float], dict[str, Any]], bool] | None = None) -> bool:
    """Tell Optuna how a launched trial ended and keep its result summary in the storage; in a
    constrained sweep, the trial's distance to the target first. ``hold`` (repeats) may keep a
    completed trial open instead: then nothing is told and True is returned."""
    value = _optuna.return_value(ret)
    res = results.read(trial.user_attrs.get("trial_dir"))
    if res:  # the leaderboard can be rebuilt from the storage alone (dirs on other machines, or gone)
        trial.set_user_attr("result", results.stored(res))
        for key in results.SHOWN_KEYS:  # flat, so optuna-dashboard shows them as the leaderboard does
            if res.get(key) is not None:
                trial.set_user_attr(key, res[key])
    if ret.status == JobStatus.COMPLETED:
        try:
            values = objective_values(value)
        except ValueError as e:
            mark(trial, "failed", error=str(e))
            study.tell(trial, state=TrialState.FAIL)
            log.warning("trial %d failed: %s", trial.number, e, extra=TRIAL_LINE)
            return False
        if hold is not None and hold(values, res):
            return True
        if constrained:
            constrain(trial, res)
        mark(trial, "complete")
        study.tell(trial, values[0] if len(values) == 1 else values)
        log.debug("trial %d complete: %s", trial.number, values)
        return False
    if constrained:
        constrain(trial, res)
    if isinstance(value, optuna.TrialPruned):
        mark(trial, "pruned", error=str(value))
        study.tell(trial, state=TrialState.PRUNED)
        log.debug("trial %d pruned: %s", trial.number, value)
    else:
        mark(trial, "failed", error=_failures.reason(value))
        study.tell(trial, state=TrialState.FAIL)
        log.warning("trial %d failed: %s: %s", trial.number, type(value).__name__, value, extra=TRIAL_LINE)
    return False


def settle(study: optuna.Study, trial: FrozenTrial, attrs: dict[str, Any], values: Any = None,
           state: TrialState | None = None, before_tell: Callable[[int], None] | None = None) -> bool:
    """Record ``attrs`` on an open trial that may be another worker's (through the storage, by its
    id), then tell it; False when another worker told it first."""
    storage, tid = _optuna.storage_of(study), _optuna.trial_id(trial)
    try:
        for key, value in attrs.items():
            storage.set_trial_user_attr(tid, key, value)
        if before_tell is not None:
            before_tell(tid)
        study.tell(trial.number, values, state=state)
    except (optuna.exceptions.UpdateFinishedTrialError, ValueError) as e:
        return _optuna.told_already(storage, tid, e)
    return True


def lose(study: optuna.Study, trial: optuna.Trial, why: BaseException) -> None:
    """A trial asked but never told (interrupted, or the sweep itself failed) is failed as lost."""
    try:
        mark(trial, "lost", error=f"sweep stopped while the trial was open: {_failures.reason(why)}")
        study.tell(trial, state=TrialState.FAIL)
    except (optuna.exceptions.UpdateFinishedTrialError, ValueError) as e:
        _optuna.told_already(_optuna.storage_of(study), _optuna.trial_id(trial), e)


def best_summary(study: optuna.Study) -> dict[str, Any] | None:
    """What optimization_results.yaml holds: the best trial (or the Pareto front)."""
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if status_of(t) != "duplicate"]
    if not done:
        return None
    feasible = [t for t in done if all(target.met(v) for v in t.constraints.values())]
    done = feasible or done  # a constrained study's best is its best feasible trial, when it has one
    if len(study.directions) == 1:
        sign = 1 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1
        best = min(done, key=lambda t: best_order.key(sign * t.value, best_order.trial_params(t), t.number))
        return {"name": "optuna", "best_trial": best.number, "best_params": best.params, "best_value": best.value}
    return {"name": "optuna", "solutions": [{"trial": t.number, "params": t.params, "values": t.values} for t in study.best_trials]}

