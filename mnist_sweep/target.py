"""Whether an accuracy reaches ``trainer.target_acc``: the one comparison that every place deciding it
shares (result.json's ``reached_target`` and ``epoch_reached_target``, so confirm's ``reached``; the
sweep's constraint, its repeats and progress lines, the pruner's bar; the leaderboard's ``feasible``).

An accuracy is a count over a split (9,940 of 10,000 images) and a config's mean over seeds such
counts summed; the float a mean comes out as can be a hair below the target it equals (three seeds
at 99.43, 99.43 and 99.34% against 0.994: 0.9939999999999999). So a shortfall within ``TOLERANCE``
is none: far above a float sum's error (1e-16 an operation), far below the smallest real gap a count
can make (one image in a mean of 20 seeds over all 70,000 of MNIST's images: 7e-7). The ground floor:
it imports nothing of the package."""
from __future__ import annotations

TOLERANCE = 1e-9


def met(gap: float) -> bool:
    """Whether a shortfall ``target - accuracy`` (a trial's stored constraint too) is none: the one
    comparison."""
    return float(gap) <= TOLERANCE


def reached(acc: float, target: float) -> bool:
    """Whether ``acc`` reaches ``target``."""
    return met(float(target) - float(acc))


def shortfall(acc: float, target: float) -> float:
    """``target - acc`` as Optuna's constraint (feasible when <= 0): a gap within the tolerance is 0.0,
    so that Optuna's samplers, which compare with 0, judge it as ``reached`` does."""
    gap = float(target) - float(acc)
    return min(gap, 0.0) if met(gap) else gap
