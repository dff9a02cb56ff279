"""Launcher configs: Slurm (hydra-submitit-launcher) and one trial per GPU (joblib) compose,
their launchers import, GPU slots are distinct, and a sweep runs through submitit's launcher."""
from __future__ import annotations

import pandas as pd
import pytest
from hydra.utils import get_class

from conftest import make_cfg_hydra, run, sweep_args
from mnist_sweep.trial import gpu_slot


@pytest.mark.parametrize("launcher, target, keys", [
    ("slurm", "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher",
     {"array_parallelism": 4, "gpus_per_node": 1, "tasks_per_node": 1}),
    ("multigpu", "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", {"n_jobs": 4}),
    ("parallel", "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", {"n_jobs": 4}),
])
def test_launcher_configs_compose(launcher, target, keys):
    cfg = make_cfg_hydra(f"hydra/launcher={launcher}", "hydra.sweeper.n_jobs=4")
    assert cfg.hydra.launcher._target_ == target
    assert get_class(target).__name__ == target.rsplit(".", 1)[1]
    for key, value in keys.items():
        assert cfg.hydra.launcher[key] == value


def test_gpu_slots_are_distinct_within_a_batch_and_across_workers():
    n_jobs, workers = 4, 2
    for first in (0, 4, 7):  # a batch is n_jobs consecutive job numbers, wherever it starts
        slots = {gpu_slot(first + k, n_jobs, w) for w in range(workers) for k in range(n_jobs)}
        assert slots == set(range(n_jobs * workers))


@pytest.mark.slow
def test_sweep_through_submitit_local_launcher(tmp_path):
    # threshold 1.0: both jobs pruned after epoch 1 on any CPU (halving pruned the job that reported
    # second when its accuracy was lower, so the outcome hung on the order and the trained numbers)
    args = sweep_args(tmp_path, "sub", 2, "optimizer.lr=tag(log,interval(0.01,0.1))", "trainer.max_epochs=2",
                      "hydra.sweeper.pruner.lower=1.0", pruner="threshold")
    proc = run([*args, "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5", "hydra.sweeper.n_jobs=2"],
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    board = pd.read_csv(tmp_path / "sub" / "leaderboard.csv")
    assert list(board.status) == ["pruned", "pruned"] and list(board.epochs) == [1, 1]  # the pruning hook works there
    assert (tmp_path / "sub" / ".submitit").is_dir()  # the jobs really went through submitit
    for d in board.trial_dir:
        assert (tmp_path / "sub" / d.rsplit("/", 1)[1] / "result.json").exists()
