"""What a resumed study must keep: its directions and each parameter's distribution. Checked
right after the study is opened, before any trial is asked, so a run that does not fit the study
records nothing in it."""
from __future__ import annotations

import optuna
from optuna.distributions import BaseDistribution

from hydra_plugins.mnist_sweep_sweeper import _optuna
from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace, describe
from mnist_sweep.errors import SweepError

NEW_STUDY = "give a new hydra.sweep.dir (and hydra.sweeper.study_name) for a new study"


def check_study(study: optuna.Study, space: SearchSpace, directions: list[str]) -> None:
    """The run's directions, then each searched key, against what the study was created with."""
    check_directions(study, directions)
    recorded: dict[str, BaseDistribution] = {}
    for t in study.get_trials(deepcopy=False):
        recorded.update(t.distributions)  # the latest trial's last
    for name, new in space.distributions.items():  # Optuna refuses another kind or other choices at the
        old = recorded.get(name)                    # first trial, left failed in the storage at every resume
        if old is None or (why := _optuna.incompatible(old, new)) is None:
            continue
        raise SweepError(
            f"hydra.sweeper.params.{name}: the study '{study.study_name}' searched it as {describe(old)}, this run "
            f"as {describe(new)}, and Optuna cannot change that within a study ({why.rstrip('.')}); keep "
            f"'{name}={describe(old)}' to resume, or {NEW_STUDY}"
        )


def check_directions(study: optuna.Study, directions: list[str]) -> None:
    """An existing study keeps the directions it was created with: Optuna loads it with those and
    ignores the run's, so another direction (or mode: pareto's two objectives on a one-objective
    study) would be optimized the wrong way, or every trial failed by ``tell``."""
    had = [d.name.lower() for d in study.directions]
    asked = [str(d).lower() for d in directions]
    if had == asked:
        return
    raise SweepError(
        f"hydra.sweeper.direction: the study '{study.study_name}' was created to {_spelled(had)}, this run "
        f"asks to {_spelled(asked)}, and Optuna cannot change a study's directions; resume it with "
        f"hydra.sweeper.direction={_spelled(had)} (its own hparams_search), or {NEW_STUDY}"
    )


def _spelled(directions: list[str]) -> str:
    """One direction as itself, several as the override's list: ``[maximize,minimize]``."""
    return directions[0] if len(directions) == 1 else f"[{','.join(directions)}]"
