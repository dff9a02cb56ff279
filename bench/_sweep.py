"""Shared by the sweep benchmarks: run one sweep in a fresh study and read its leaderboard."""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd


def run_sweep(d: Path, name: str, overrides: list[str]) -> tuple[pd.DataFrame, float]:
    """(leaderboard, wall seconds) of ``python -m mnist_sweep.train -m`` in study ``name`` under ``d``."""
    cmd = [sys.executable, "-m", "mnist_sweep.train", "-m", f"hydra.sweep.dir={d}",
           f"hydra.sweeper.storage=sqlite:///{d}/optuna.db", f"hydra.sweeper.study_name={name}", *overrides]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{name}: sweep failed: {proc.stderr.strip().splitlines()[-1]}")
    return pd.read_csv(d / "leaderboard.csv"), wall


def workload_args(p: argparse.ArgumentParser, *, trials: int, epochs: int, warmup: int, warmup_help: str) -> None:
    """The reduced workload's flags (shared by the pruning and sampler benchmarks)."""
    p.add_argument("--trials", type=int, default=trials)
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--train-limit", type=int, default=4000)
    p.add_argument("--warmup", type=int, default=warmup, help=warmup_help)


def reduced_workload(train_limit: int, epochs: int, trials: int) -> list[str]:
    """The sweep benchmarks' reduced workload: a training subset, 2,000 validation and 2,000 test
    images, a few epochs, ``trials`` counted trials, no report."""
    return [
        f"data.train_limit={train_limit}", "data.val_size=2000", "data.test_limit=2000",
        f"trainer.max_epochs={epochs}", "trainer.progress=false", f"hydra.sweeper.n_trials={trials}",
        "hydra.sweeper.on_sweep_end=null",
    ]
