"""A pruner that asks "can this trial still get there?", not "is it below the median now?".

Each epoch a trial reports its selection accuracy. The pruner projects the best final accuracy the
trial could still reach: its accuracy now, plus the largest gain from this epoch to the end that
any finished trial of the study made (what the rest of a schedule such as OneCycle's annealing
gives, measured on this study's own curves), plus the noise of one seed on the validation split
(``sigmas`` binomial standard deviations). It prunes only when even that projection falls short
of the bar:

- with ``to_target`` (the constrained modes, ``hparams_search=smallest|fastest``): the trial's
  ``trainer.target_acc``, so a trial is stopped when it cannot become feasible, whatever the
  other trials do;
- without (the default mode): the best final accuracy of the finished trials, so a trial is
  stopped when it cannot catch the leader, not when it is merely below the median.

Only finished trials with the trial's own number of epochs teach the late gain (a 12-epoch
schedule anneals earlier than a 20-epoch one). The job records its epochs, validation size and
target in the trial's user attrs (mnist_sweep.trial.pruning_hook).

Until ``n_startup_trials`` trials have finished (no curves to learn the late gain from), before
``n_warmup_steps`` epochs, and before the trial's learning rate peaks (``peak_epoch``, OneCycle's
warm-up: until then its accuracy swings by a point between epochs), nothing is pruned. A seed of a
repeated config (``race_bar`` set) also learns the late gain from its config's own first seed,
the curve with its very schedule, and is raced only from halfway between that point and its last
epoch: its config entered the top-k, so it sits near its bar, and a seed's dip while the rate is
still high is noise, not a verdict (bench/racing.py measured a seed raced out at 94.65% right
after the peak that would have ended at 98.50%, its config truly second best). A trial's last
epoch is never pruned (the task does not ask then).
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import optuna
from optuna.pruners import BasePruner
from optuna.trial import FrozenTrial, TrialState

from mnist_sweep.target import reached


def noise(accuracy: float, n_images: int) -> float:
    """The standard deviation of an accuracy measured on ``n_images`` (binomial)."""
    p = min(max(accuracy, 0.0), 1.0)
    return math.sqrt(max(p * (1 - p), 1e-6) / max(n_images, 1))


def late_gain(finished: Sequence[FrozenTrial], step: int, epochs: int | None = None) -> float | None:
    """The largest ``final - accuracy at step`` among finished trials of ``epochs`` epochs (any,
    when None); None when no such trial reached ``step``."""
    gains = []
    for t in finished:
        values = t.intermediate_values
        if step in values and (epochs is None or t.user_attrs.get("max_epochs", max(values)) == epochs):
            gains.append(values[max(values)] - values[step])
    return max(gains) if gains else None


class ProjectionPruner(BasePruner):
    """Prune when a trial's optimistic projection (now + the study's largest late gain + seed
    noise) cannot reach ``target`` (or, without one, the best finished trial)."""

    def __init__(self, to_target: bool = False, sigmas: float = 2.0, n_startup_trials: int = 2,
                 n_warmup_steps: int = 3) -> None:
        """Each argument checked as Optuna's pruners check theirs: a NaN ``sigmas`` never pruned and a
        negative one pruned trials within their own seed noise, silently."""
        if isinstance(sigmas, bool) or not isinstance(sigmas, numbers.Real) or not 0 <= sigmas < math.inf:
            raise ValueError(f"sigmas must be a finite number >= 0 (2.0: two standard deviations of one seed; "
                             f"hydra/sweeper/pruner=none never prunes), got {sigmas}")
        for name, value in (("n_startup_trials", n_startup_trials), ("n_warmup_steps", n_warmup_steps)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {value}")
        self.to_target, self.sigmas = to_target, sigmas
        self.n_startup_trials, self.n_warmup_steps = n_startup_trials, n_warmup_steps

    def bar(self, trial: FrozenTrial, finished: Sequence[FrozenTrial]) -> float | None:
        """The accuracy ``trial`` must be able to reach: a repeat's ``race_bar`` (set by the sweeper:
        the target, or the k-th best mean of the other configs; None: no race), else its target
        (``to_target``), else the best final one."""
        if "race_bar" in trial.user_attrs:
            return trial.user_attrs["race_bar"]
        if self.to_target:
            return trial.user_attrs.get("target_acc")
        finals = [t.intermediate_values[max(t.intermediate_values)] for t in finished]
        return max(finals) if finals else None

    def projection(self, trial: FrozenTrial, step: int, finished: Sequence[FrozenTrial]) -> float | None:
        """The best final accuracy ``trial`` could still reach from ``step`` (None: unknown yet)."""
        gain = late_gain(finished, step, trial.user_attrs.get("max_epochs"))
        if gain is None:
            return None
        value = trial.intermediate_values[step]
        return value + max(gain, 0.0) + self.sigmas * noise(value, int(trial.user_attrs.get("n_val", 10_000)))

    def earliest(self, trial: FrozenTrial) -> int:
        """The first epoch ``trial`` may be stopped at: after the warm-up steps and its learning rate's
        peak (OneCycle's warm-up, recorded by the job as peak_epoch: until then its accuracy swings
        by a point from epoch to epoch); a raced repeat only halfway from there to its last epoch."""
        first = max(self.n_warmup_steps, int(trial.user_attrs.get("peak_epoch") or 0))
        if trial.user_attrs.get("race_bar") is not None:
            first = max(first, math.ceil((first + int(trial.user_attrs.get("max_epochs") or 0)) / 2))
        return first

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or step < self.earliest(trial):
            return False
        repeat_of = trial.user_attrs.get("repeat_of") if "race_bar" in trial.user_attrs else None
        finished = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
                    if t.intermediate_values and (t.state == TrialState.COMPLETE or t.number == repeat_of)
                    and (t.number != trial.number or repeat_of is not None)]  # a repeat: its config's first seed too
        if len(finished) < self.n_startup_trials:
            return False
        bar, best_case = self.bar(trial, finished), self.projection(trial, step, finished)
        return bar is not None and best_case is not None and not reached(best_case, bar)
