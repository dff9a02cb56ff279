"""Resuming repeats: a parent lost while its seeds ran (its worker was interrupted or died) is
queued again by the next worker that looks (``revive``); the trial that pops it takes over the lost
parent's dir, first run and finished seeds (``takeover``) and only the missing seeds run."""
from __future__ import annotations

import optuna
from optuna.trial import TrialState

from hydra_plugins.mnist_sweep_sweeper._log import TRIAL_LINE, log
from hydra_plugins.mnist_sweep_sweeper._repeats import DONE, Repeats
from mnist_sweep import results
from mnist_sweep.storage import status_of


def revive(rep: Repeats) -> None:
    """Queue a config again whose parent was lost while repeating (its first run and finished
    seeds are reused: see ``takeover``)."""
    trials = rep.study.get_trials(deepcopy=False)
    live = {t.user_attrs.get("overrides") for t in trials if status_of(t) not in ("lost", "duplicate")}
    queued = {t.user_attrs.get("revive_of") for t in trials if t.state == TrialState.WAITING}
    for t in trials:
        if status_of(t) == "lost" and t.user_attrs.get("repeat_seeds") and t.number not in queued \
                and t.user_attrs.get("overrides") not in live:
            rep.study.enqueue_trial(t.params, user_attrs={"revive_of": t.number})
            live.add(t.user_attrs.get("overrides"))
            log.info("trial %d was lost while repeating; queued again to finish its seeds", t.number,
                     extra=TRIAL_LINE)


def takeover(rep: Repeats, trial: optuna.Trial) -> bool:
    """A revived config: take over the lost parent's dir, first run and seeds; True when done so."""
    number = trial.user_attrs.get("revive_of")
    lost = next((t for t in rep.study.get_trials(deepcopy=False) if t.number == number), None)
    if lost is None or not lost.user_attrs.get("repeat_seeds"):
        return False
    if any(t.user_attrs.get("revive_of") == number and t.number != trial.number and status_of(t) != "duplicate"
           and t.state != TrialState.WAITING for t in rep.study.get_trials(deepcopy=False)):
        return False  # another worker revived it first: this one is told as its duplicate
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
    revived = 0
    for t in trials:
        overrides, seeds = t.user_attrs.get("overrides"), t.user_attrs.get("repeat_seeds")
        if status_of(t) != "lost" or not seeds or overrides in live:
            continue
        live.add(overrides)
        taken = {str(seed) for seed in t.user_attrs.get("seed_runs", {})}  # the queued ones are counted above
        taken |= {str(run.user_attrs.get("seed")) for run in side if run.user_attrs.get("parent_dir") == t.user_attrs.get("trial_dir")
                  and (run.state in (TrialState.WAITING, TrialState.RUNNING) or status_of(run) in DONE)}
        revived += 1
        queued += sum(1 for seed in seeds if str(seed) not in taken)
    first_seeds = sum(1 for t in trials if t.state == TrialState.RUNNING and not t.user_attrs.get("repeat_seeds"))
    return max(left - revived, 0) * rep.seeds + queued + first_seeds * (rep.seeds - 1)
