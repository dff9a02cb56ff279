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
    if feasible:
        assert complete.params.is_monotonic_increasing  # smallest first
    else:  # nearest the target first: the highest validation accuracy
        assert complete.val_acc.is_monotonic_decreasing
    assert ("no trial reached trainer.target_acc yet" in "\n".join(closing_lines(d))) is not feasible


@pytest.mark.parametrize("constrained", [True, False])
def test_a_rejected_candidate_never_leads_tpes_good_group(constrained):
    """Optuna's TPE fills its good group with feasible complete trials, then PRUNED trials without
    constraint values, then infeasible ones: a rejected candidate (PRUNED, never trained) of a
    constrained study must be infeasible, and further from the target than any trained trial."""
    from optuna.samplers._tpe.sampler import _split_trials

    from hydra_plugins.mnist_sweep_sweeper._study import tell_rejected

    study = optuna.create_study(direction="minimize")
    for state, value, distance in [(optuna.trial.TrialState.COMPLETE, 3000.0, 0.002),
                                   (optuna.trial.TrialState.PRUNED, None, 0.9)]:
        t = study.ask()
        t.suggest_int("c", 1, 10)
        t.report(0.09 if distance > 0.5 else 0.992, 1)
        if constrained:
            t.set_constraint("target", distance)
        study.tell(t, value, state=state)
    rejected = study.ask()
    rejected.suggest_int("c", 1, 10)
    tell_rejected(study, rejected, "over the budget", {"params": 9000}, constrained)
    frozen = study.trials
    assert frozen[2].user_attrs["status"] == "rejected" and frozen[2].state == optuna.trial.TrialState.PRUNED
    assert bool(frozen[2].constraints) is constrained
    if constrained:
        assert frozen[2].constraints["target"] > max(t.constraints["target"] for t in frozen[:2])
    below, _ = _split_trials(study, frozen, n_below=2)
    assert [t.number for t in below] == [0, 1]
