"""One "best" (mnist_sweep.best): the progress line, optimization_results.yaml and the leaderboard's
rank 1 (the closing line, the report, --rank 1) name the same trial."""
from __future__ import annotations

import logging

import optuna

from hydra_plugins.mnist_sweep_sweeper import _study
from hydra_plugins.mnist_sweep_sweeper._progress import Progress
from mnist_sweep.leaderboard import frame
from mnist_sweep.trial_rows import rows_from_study


def _tied_study(direction: str = "maximize") -> optuna.Study:
    study = optuna.create_study(direction=direction)
    _study.name_metrics(study, ["val_acc"])
    for params in (9778, 8000, 8000):  # the same accuracy; trial 1 and 2 the same size
        study.add_trial(optuna.trial.create_trial(value=0.1133, user_attrs={"status": "complete", "result": {"params": params}}))
    return study


def test_a_tie_in_accuracy_is_the_same_best_trial_everywhere(caplog):
    """On a tie the progress line said 'best 11.33% (trial 0)' while the closing line (the
    leaderboard's rank 1) said 'best: trial 1' (same accuracy, fewer parameters): one order now."""
    for direction in ("maximize", "minimize"):
        study = _tied_study(direction)
        with caplog.at_level(logging.INFO):
            Progress(5).trial_line(study, 2)
        assert "best 11.33% (trial 1)" in caplog.records[-1].getMessage(), caplog.records[-1].getMessage()
        assert _study.best_summary(study)["best_trial"] == 1
        assert frame(rows_from_study(study)).trial.tolist() == [1, 2, 0]
