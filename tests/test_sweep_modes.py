"""The target-aware modes (hparams_search=smallest|fastest): the target as Optuna's constraint in
the storage, feasible trials ranked first, and "best" the best feasible trial. Targets are set
where every trial is certainly feasible (1%) or certainly not (100%), so nothing depends on the
numbers a CPU trains to."""
from __future__ import annotations

import optuna
import pandas as pd
import pytest

from conftest import TINY, run
from mnist_sweep.leaderboard import frame
from mnist_sweep.next_steps import closing_lines


def test_feasible_trials_rank_first_then_the_objective_in_its_direction():
    rows = [  # smallest mode: minimize params subject to the target
        {"trial": 0, "status": "complete", "value": 3000, "params": 3000, "val_acc": 0.990, "feasible": False, "_sign": -1.0},
        {"trial": 1, "status": "complete", "value": 9000, "params": 9000, "val_acc": 0.995, "feasible": True, "_sign": -1.0},
        {"trial": 2, "status": "complete", "value": 5000, "params": 5000, "val_acc": 0.994, "feasible": True, "_sign": -1.0},
        {"trial": 3, "status": "pruned", "value": None, "params": 2000, "val_acc": 0.95, "feasible": False, "_sign": -1.0},
    ]
    for r in rows:
        r.update(test_acc_final=r["val_acc"], trial_dir=None)
    board = frame(rows)
    assert list(board.trial) == [2, 1, 0, 3] and list(board["rank"]) == [1, 2, 3, 4]
    assert list(board.feasible) == [True, True, False, False]


def test_an_unconstrained_study_has_no_feasible_column():
    rows = [{"trial": 0, "status": "complete", "value": 0.99, "params": 100, "val_acc": 0.99, "test_acc_final": 0.99,
             "feasible": None, "_sign": 1.0, "trial_dir": None}]
    assert "feasible" not in frame(rows).columns


@pytest.mark.slow
@pytest.mark.parametrize("target, feasible", [(0.01, True), (1.0, False)])
def test_smallest_tells_optuna_the_distance_to_the_target(tmp_path, target, feasible):
    d = tmp_path / "sw"
    proc = run(["mnist_sweep.train", "-m", "hparams_search=smallest", f"hydra.sweep.dir={d}",
                "hydra.sweeper.n_trials=3", "hydra.sweeper.workers=1", "hydra.sweeper.on_sweep_end=null",
                f"trainer.target_acc={target}", *TINY], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    study = optuna.load_study(study_name="mnist_smallest", storage=f"sqlite:///{d}/optuna.db")
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert done and study.direction == optuna.study.StudyDirection.MINIMIZE
    for t in done:  # constraint = target - validation accuracy; the objective is the parameter count
        assert t.constraints["target"] == pytest.approx(target - t.user_attrs["val_acc"])
        assert (t.constraints["target"] <= 0) is feasible and t.value == t.user_attrs["result"]["params"]
    board = pd.read_csv(d / "leaderboard.csv")
    assert board.feasible[board.status == "complete"].tolist() == [feasible] * len(done)
    complete = board[board.status == "complete"]
    assert complete.params.is_monotonic_increasing  # smallest first
    assert ("no trial reached trainer.target_acc yet" in "\n".join(closing_lines(d))) is not feasible
