"""One progress line per finished trial: n of N, status, metric, best so far, ETA (every
worker's reach the main console: ``_log``)."""
from __future__ import annotations

import time

import optuna
from optuna.trial import TrialState

from hydra_plugins.mnist_sweep_sweeper._liveness import counts_toward_total
from hydra_plugins.mnist_sweep_sweeper._log import TRIAL_LINE, log
from mnist_sweep import best
from mnist_sweep.target import met
from mnist_sweep.text import duration, metric, percent, plural, points


class Progress:
    """ETA from the study's own timestamps (every worker's trials), so it is right from the first
    finished trial on, also in short sweeps and across resumes."""

    def __init__(self, n_trials: int) -> None:
        self.n_trials = n_trials
        self.started = time.time()

    def start_line(self, study: optuna.Study, storage: str | None) -> int:
        """Log the study's count (``storage`` its masked URL, None or 'in-memory' for an in-memory
        study: 'study NAME in memory'); return the trials still to go."""
        counted = sum(1 for t in study.get_trials(deepcopy=False) if counts_toward_total(t))
        left = max(self.n_trials - counted, 0)
        of = f"{plural(counted, 'trial')} done or running, more than its n_trials ({self.n_trials:,})" \
            if counted > self.n_trials else f"{counted:,} of {plural(self.n_trials, 'trial')} done or running"  # not '2 of 1 trial'
        log.info("study %s %s: %s; %s to go", study.study_name, "in memory" if storage in (None, "in-memory") else
                 f"in {storage}", of, f"{left:,}", extra=TRIAL_LINE)
        return left

    def trial_line(self, study: optuna.Study, number: int) -> None:
        trials = study.get_trials(deepcopy=False)
        done = [t for t in trials if counts_toward_total(t) and t.state.is_finished()]
        running = [t for t in trials if t.state == TrialState.RUNNING]
        t = next(t for t in trials if t.number == number)
        name = (study.metric_names or ["metric"])[0]
        complete = [x for x in trials if x.state == TrialState.COMPLETE and x.user_attrs.get("status") != "duplicate"]
        feasible = [x for x in complete if not x.constraints or all(met(v) for v in x.constraints.values())]
        shown_best = "-"
        if feasible:
            sign = 1 if study.directions[0] == optuna.study.StudyDirection.MAXIMIZE else -1
            b = min(feasible, key=lambda x: best.key(sign * x.values[0], best.trial_params(x), x.number))
            shown_best = f"{metric(name, b.values[0])} (trial {b.number})"
        left = max(self.n_trials - len(done), 0)
        shown = metric(name, t.values[0]) if t.values else "-"
        if t.state == TrialState.PRUNED and t.intermediate_values:  # Optuna keeps its last metric as its value
            step, v = max(t.intermediate_values), t.intermediate_values[max(t.intermediate_values)]
            # reported: the selection accuracy where the study is this project's (its metrics are named)
            name, shown = "at epoch", f"{step} {percent(v) if study.metric_names else metric(name, v)}"
        elif t.user_attrs.get("n_seeds"):
            shown += f" (mean of {plural(t.user_attrs['n_seeds'], 'seed')})"
        elif t.user_attrs.get("seed_runs"):  # repeating: its first seed so far
            shown = f"{metric(name, next(iter(t.user_attrs['seed_runs'].values()))['values'][0])} (first seed)"
        log.info(
            "[%d/%d] trial %d %s, %s %s%s, best%s %s, ETA %s",
            min(len(done), self.n_trials), self.n_trials, number, t.user_attrs.get("status", "?"), name,
            shown, _feasibility(t), " feasible" if t.constraints else "", shown_best,
            self._eta(done, left, len(running) + 1) if left else "done",  # the others, and this worker again
            extra=TRIAL_LINE,
        )

    def _eta(self, done: list, left: int, parallel: int) -> str:  # noqa: D102
        spans = [
            (t.datetime_complete - t.datetime_start).total_seconds()
            for t in done if t.datetime_start and t.datetime_complete and t.user_attrs.get("status") != "rejected"
        ]
        if not spans:
            return "?"
        seconds = left * (sum(spans) / len(spans)) / parallel
        return duration(seconds)


def _feasibility(t: optuna.trial.FrozenTrial) -> str:
    """`` (feasible)`` / `` (below the target by 0.12 points)`` in a constrained study, else '': the gap
    in percentage points (text.points: ``by 89.60%`` read as a share of the target, and a gap of
    0.003 points read ``by 0.00 points``)."""
    c = t.constraints.get("target")
    if c is None:
        return ""
    return " (feasible)" if met(c) else f" (below the target by {points(c)})"
