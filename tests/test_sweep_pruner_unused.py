"""A pruner picked for a study that never asks it: Optuna cannot prune a study of several objectives
(hparams_search=pareto with hydra/sweeper/pruner=median, or a multi-objective search file of one's own
inheriting projection), nor can an in-memory study's trials reach it, so the sweep ran every trial to its
end without a word, and its dry run said 'pruning shortens it'. One warning names the pruner; the estimate
says nothing is pruned, and why."""
from __future__ import annotations

import pytest

from conftest import run_inproc, sweep_args

PARETO = ["hydra.sweeper.direction=[maximize,minimize]", "trainer.objectives=[val_acc,params]"]
WARNING = ("hydra.sweeper.pruner: MedianPruner prunes nothing here: Optuna cannot prune a study of 2 objectives "
           "(hydra.sweeper.direction=[maximize,minimize]), so every trial runs all its epochs; give "
           "hydra/sweeper/pruner=none (as hparams_search=pareto does)")


def dry_run(tmp_path, pruner: str, *extra: str) -> str:
    args = sweep_args(tmp_path, "mo", 2, "model.c3=choice(8,12)", *extra, pruner=pruner)
    proc = run_inproc([*args, "hydra.sweeper.dry_run=true"], cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-2000:]
    return out


@pytest.mark.parametrize("pruner, extra, warned, tail", [
    ("median", PARETO, True, "without pruning; Optuna cannot prune a study of 2 objectives "
                             "(hydra.sweeper.direction=[maximize,minimize]), so nothing is pruned"),
    ("none", PARETO, False, "without pruning; hydra/sweeper/pruner=none, so nothing is pruned"),
    ("median", [], False, "without pruning; pruning shortens it"),
    ("median", ["hydra.sweeper.storage=null"], False, "without pruning; an in-memory study (hydra.sweeper.storage=null) "
                                                      "is out of its trials' reach, so nothing is pruned"),
])
def test_a_pruner_the_study_never_asks_is_named_and_the_estimate_says_so(tmp_path, pruner, extra, warned, tail):
    out = dry_run(tmp_path, pruner, *extra)
    assert (WARNING in out) is warned and out.count("prunes nothing here") == int(warned or "null" in str(extra)), out[-2000:]
    assert tail in out, out[-2000:]
