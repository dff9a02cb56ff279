"""Resuming repeats: a parent lost while its seeds ran (its worker was interrupted or died) is
queued again by the next worker that looks (``revive``); the trial that pops it takes over the lost
parent's dir, first run and finished seeds (``takeover``) and only the missing seeds run. And the runs
a sweep (a resume too) still has (``runs_to_go``), which a dry run reads without writing (``left_to_start``); a
dead worker's trial whose run had ended told from its result.json, not lost (``fail_lost``)."""
from __future__ import annotations

from typing import Any, NamedTuple

import optuna
from optuna.trial import FrozenTrial, TrialState

from hydra_plugins.mnist_sweep_sweeper import _liveness, _optuna, _resume, _study
from hydra_plugins.mnist_sweep_sweeper._liveness import dead_here, finished_run
from hydra_plugins.mnist_sweep_sweeper._log import TRIAL_LINE, log
from hydra_plugins.mnist_sweep_sweeper._progress import Progress
from hydra_plugins.mnist_sweep_sweeper._repeats import DONE, Repeats
from mnist_sweep import results
from mnist_sweep.storage import REPEATS_SUFFIX, mask_url, status_of


def revive(rep: Repeats) -> None:
    """Queue a config again whose parent was lost while repeating (its first run and finished
    seeds are reused: see ``takeover``)."""
    trials = rep.study.get_trials(deepcopy=False)
    live = {t.user_attrs.get("overrides") for t in trials if status_of(t) not in ("lost", "duplicate")}
    queued = {t.user_attrs.get("revive_of") for t in trials if t.state == TrialState.WAITING} | taken_over(trials)
    for t in trials:
        if status_of(t) == "lost" and t.user_attrs.get("repeat_seeds") and t.number not in queued \
                and t.user_attrs.get("overrides") not in live:
            rep.study.enqueue_trial(t.params, user_attrs={"revive_of": t.number})
            live.add(t.user_attrs.get("overrides"))
            log.info("trial %d was lost while repeating; queued again to finish its seeds", t.number,
                     extra=TRIAL_LINE)


def taken_over(trials: list[FrozenTrial]) -> set[int]:
    """The lost parents a later trial took over (``takeover``: it holds their dir and seeds now), revived
    through it alone. A revived trial lost in its turn (its resume killed or interrupted) made the next
    resume revive both: the first revival was refused as the other's and trained the config afresh, the
    parent's finished seeds thrown away, and with SIGKILL the config was told twice."""
    return {t.user_attrs["revive_of"] for t in trials if t.user_attrs.get("revive_of") is not None
            and t.user_attrs.get("repeat_seeds") and t.state != TrialState.WAITING and status_of(t) != "duplicate"}


def takeover(rep: Repeats, trial: optuna.Trial) -> bool:
    """A revived config: take over the lost parent's dir, first run and seeds; True when done so."""
    number = trial.user_attrs.get("revive_of")
    lost = next((t for t in rep.study.get_trials(deepcopy=False) if t.number == number), None)
    if lost is None or not lost.user_attrs.get("repeat_seeds"):
        return False
    if any(t.user_attrs.get("revive_of") == number and t.number != trial.number and status_of(t) not in ("duplicate", "lost")
           and t.state != TrialState.WAITING for t in rep.study.get_trials(deepcopy=False)):
        return False  # another worker revived it first: this one is told as its duplicate (one lost took nothing over:
        # one that did holds the config, revived through it, ``taken_over``)
    for key in ("trial_dir", "result", "params", "repeat_seeds", "seed_runs", "target_acc", "overrides",
                *results.SHOWN_KEYS):
        if key in lost.user_attrs:
            trial.set_user_attr(key, lost.user_attrs[key])
    trial.set_user_attr("status", "repeating")
    rep.queue_missing(lost.user_attrs["trial_dir"], lost.user_attrs["overrides"], lost.user_attrs["repeat_seeds"],
                       lost.user_attrs.get("seed_runs", {}))
    log.info("trial %d: takes over trial %d's seeds", trial.number, number, extra=TRIAL_LINE)
    return True


def runs_to_go(study: optuna.Study, left: int, rep: Repeats | None) -> int:
    """The runs a sweep (a resume too) can still have, for its worker count: ``left`` new trials, each
    with its further seeds where repeats are on; the seeds queued in ``<study>.repeats``; the missing
    seeds of the configs lost while repeating, which ``revive`` queues again (each takes one of
    ``left``: counted by its seeds instead); and the further seeds of a config another live worker
    trains now, which may enter the top-k. An upper bound: a trial not repeated has one run. Call it
    after the dead workers' trials of both studies are failed (``_liveness.fail_lost_trials``)."""
    if rep is None:
        return left
    side = rep.side.get_trials(deepcopy=False)
    queued = sum(1 for t in side if t.state == TrialState.WAITING)
    trials = study.get_trials(deepcopy=False)
    live = {t.user_attrs.get("overrides") for t in trials if status_of(t) not in ("lost", "duplicate")}
    revived, superseded = 0, taken_over(trials)
    for t in trials:
        overrides, seeds = t.user_attrs.get("overrides"), t.user_attrs.get("repeat_seeds")
        if status_of(t) != "lost" or not seeds or overrides in live or t.number in superseded:
            continue
        live.add(overrides)
        taken = {str(seed) for seed in t.user_attrs.get("seed_runs", {})}  # the queued ones are counted above
        taken |= {str(run.user_attrs.get("seed")) for run in side if run.user_attrs.get("parent_dir") == t.user_attrs.get("trial_dir")
                  and (run.state in (TrialState.WAITING, TrialState.RUNNING) or status_of(run) in DONE)}
        revived += 1
        queued += sum(1 for seed in seeds if str(seed) not in taken)
    first_seeds = sum(1 for t in trials if t.state == TrialState.RUNNING and not t.user_attrs.get("repeat_seeds"))
    return max(left - revived, 0) * rep.seeds + queued + first_seeds * (rep.seeds - 1)


def fail_lost(study: optuna.Study, grace_period: int | None, constrained: bool, repeats: bool) -> None:
    """The trials left RUNNING by dead workers: on this host, one whose run had ended told how from its
    result.json (``tell_ended``; not in a sweep with ``repeats``, where a config's first seed may enter the
    top-k); the rest failed as lost (``_liveness.fail_lost_trials``)."""
    if not repeats:
        tell_ended(study, constrained)
    _liveness.fail_lost_trials(study, grace_period)


def tell_ended(study: optuna.Study, constrained: bool) -> None:
    """A run that had ended (its result.json written) when its worker died, before the worker told it, is
    told as the run ended, as a stopped sweep tells its launch's ended runs (``_loop._stopped``). A kill -9
    of the sweep while the joblib launcher's batch ran (hydra.sweeper.n_jobs=2: the first job's result
    waits for the other's) failed the finished trial as lost, and the resume trained another in its place."""
    _liveness.tell_ended(study, study.metric_names, lambda trial, ret: _study.record(study, trial, ret, constrained))


class _Read:
    """A stored study as a resume finds it, read without writing: each trial a worker of this host left
    RUNNING when it died shown failed as lost, as ``_liveness.fail_lost_trials`` fails it at the start, or
    told where its run had ended (``ended``: no repeats' first seeds; ``tell_ended``, ``Repeats.fail_lost`` a
    further seed's). A stale heartbeat is not judged:
    such a trial stays counted as running."""

    def __init__(self, study: optuna.Study | None, name: str, ended: bool = False) -> None:
        self.study_name, self.trials = name, study.get_trials(deepcopy=True) if study is not None else []
        names = study.metric_names if study is not None else None
        for t in self.trials:
            if t.state == TrialState.RUNNING and dead_here(t):
                ret = finished_run(t, names) if ended else None
                t.state = TrialState.FAIL if ret is None else TrialState.COMPLETE  # pruned or complete: counted
                t.user_attrs["status"] = "lost" if ret is None else "complete"

    def get_trials(self, deepcopy: bool = False, states: Any = None) -> list[FrozenTrial]:  # noqa: ARG002 - Study's
        return [t for t in self.trials if states is None or t.state in states]


class Left(NamedTuple):
    trials: int  # the new trials it would train
    runs: int  # every run it has to go (``runs_to_go``): the cap on its workers


def left_to_start(url: str | None, study_name: str, n_trials: int, conf: Any, points: dict | None) -> Left | None:
    """What the sweep would start, for its dry run, read without writing: a new study's ``n_trials``; a
    stored one's trials left and runs to go, as a resume counts them (``_impl._run``: its start line, the
    trials it has, capped at the configs of a small space, ``points``, it lacks), or None where the study is
    complete (said as the resume says it). The dry run sized a resume with 1 of 3 trials left by n_trials."""
    seeds, stored = conf.repeats.seeds, _resume.read(url, study_name) if url else None
    if stored is None or stored.study is None:
        return Left(n_trials, n_trials * seeds)
    study = _Read(stored.study, study_name, seeds <= 1)
    if points is not None:
        n_trials = _resume.within_space(study, points, conf.n_trials)  # type: ignore[arg-type]
    left = Progress(n_trials).start_line(study, mask_url(url))  # type: ignore[arg-type]
    if _resume.complete(study, left, n_trials, n_trials < conf.n_trials):  # type: ignore[arg-type]
        return None
    if seeds <= 1:
        return Left(left, left)
    try:
        side = optuna.load_study(study_name=study_name + REPEATS_SUFFIX, storage=_optuna.storage_of(stored.study))
    except KeyError:  # no seed repeated yet
        side = None
    rep = Repeats(study, _Read(side, study_name + REPEATS_SUFFIX, True), seeds, conf.repeats.top_k,  # type: ignore[arg-type]
                  conf.constrain_to_target, conf.repeats.race)
    return Left(left, runs_to_go(study, left, rep))  # type: ignore[arg-type]
