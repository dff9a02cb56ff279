"""Every shipped config runs (lightning-hydra-template's test_experiments): each conf/experiment/*
trains one epoch on tiny data, and each conf/hparams_search/* runs a one-trial sweep over its own
search space. Only properties that hold on any CPU are asserted."""
from __future__ import annotations

import json

import pytest

from conftest import CONF, TINY, run

EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
SEARCHES = sorted(p.stem for p in (CONF / "hparams_search").glob("*.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_trains_one_epoch(name, tmp_path):
    out = tmp_path / "run"
    proc = run(["mnist_sweep.train", f"+experiment={name}", *TINY, f"hydra.run.dir={out}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "complete" and result["epochs"] == 1
    assert 0 < result["params"] <= 20_000 and 0.0 <= result["test_acc_final"] <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("name", SEARCHES)
def test_every_search_runs_one_trial_of_its_own_space(name, tmp_path):
    d = tmp_path / name
    proc = run(["mnist_sweep.train", "-m", f"hparams_search={name}", f"hydra.sweep.dir={d}",
                f"hydra.sweeper.storage=sqlite:///{d}/optuna.db", "hydra.sweeper.n_trials=1",
                "hydra.sweeper.workers=1", "hydra.sweeper.on_sweep_end=null", *TINY], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    board = (d / "leaderboard.csv").read_text().splitlines()
    assert len(board) >= 2 and "complete" in "\n".join(board[1:])
