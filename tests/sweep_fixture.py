"""A tiny real sweep shared by the export, predict, leaderboard and report tests (built once per
session), and image statistics for checking that a plot has drawn data.

The sweep runs in ``<tmp>/work`` with a *relative* SQLite storage (``sqlite:///db/optuna.db``,
so the database is not in the sweep dir) and an absolute sweep dir ``<tmp>/sw``: readers must
find the study through what the sweep recorded, from any working directory.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import run

# 1 epoch on 1,024 images without augmentation: about 60% accuracy, so predictions vary.
TRAIN = ["data.train_limit=1024", "data.val_size=256", "data.test_limit=256", "data.batch_size=32",
         "data.augment.strength=0", "trainer.max_epochs=1", "trainer.progress=false"]
# c3=256 is over the 20k budget: rejections are certain to be tried.
SPACE = ["model.c3=choice(8,16,256)", "optimizer.lr=tag(log,interval(0.02,0.2))", "model.dropout=interval(0.0,0.1)"]
N_TRIALS = 5  # complete trials (rejections do not count): enough for importances


@dataclass
class TinySweep:
    cwd: Path  # where the sweep ran
    dir: Path  # the sweep dir
    db: Path  # the SQLite file, outside the sweep dir
    board: pd.DataFrame


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory) -> TinySweep:
    tmp = tmp_path_factory.mktemp("tiny_sweep")
    cwd, sweep_dir = tmp / "work", tmp / "sw"
    cwd.mkdir()
    args = ["mnist_sweep.train", "-m", f"hydra.sweep.dir={sweep_dir}", "hydra.sweeper.storage=sqlite:///db/optuna.db",
            "hydra.sweeper.study_name=tiny", f"hydra.sweeper.n_trials={N_TRIALS}", "hydra.sweeper.workers=1",
            "hydra.sweeper.on_sweep_end=null",  # no report at the end: the report tests run `report` themselves
            "hydra/sweeper/pruner=none", "hydra.sweeper.sampler.n_startup_trials=2", "hydra.sweeper.params=null",
            *TRAIN, *SPACE]
    proc = run(args, cwd=cwd, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    board = pd.read_csv(sweep_dir / "leaderboard.csv")
    return TinySweep(cwd, sweep_dir, cwd / "db" / "optuna.db", board)


# ------------------------------------------------------------------ image statistics
def rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def _longest_runs(mask: np.ndarray) -> np.ndarray:
    """For each column of ``mask``, the longest run of consecutive True pixels."""
    padded = np.vstack([np.zeros((1, mask.shape[1]), int), mask.astype(int), np.zeros((1, mask.shape[1]), int)])
    d = np.diff(padded, axis=0)
    out = np.zeros(mask.shape[1], int)
    for j in range(mask.shape[1]):
        starts, ends = np.flatnonzero(d[:, j] == 1), np.flatnonzero(d[:, j] == -1)
        if len(starts):
            out[j] = int((ends - starts).max())
    return out


def _clusters(idx: np.ndarray) -> list[int]:
    """Runs of adjacent indices, each as its middle index."""
    groups: list[list[int]] = []
    for i in idx:
        if groups and i - groups[-1][-1] <= 3:
            groups[-1].append(int(i))
        else:
            groups.append([int(i)])
    return [g[len(g) // 2] for g in groups]


def axes_boxes(a: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(top, bottom, left, right) of each axes frame (black spines: long unbroken dark lines), left to right."""
    dark = a.max(axis=2) < 90
    h, w = dark.shape
    cols = _clusters(np.flatnonzero(_longest_runs(dark) > 0.3 * h))
    rows = _clusters(np.flatnonzero(_longest_runs(dark.T) > 0.15 * w))
    assert len(rows) >= 2 and len(cols) >= 2 and len(cols) % 2 == 0, (rows, cols)
    return [(rows[0], rows[-1], cols[i], cols[i + 1]) for i in range(0, len(cols), 2)]


def colored(a: np.ndarray, color: str | None = None, tol: int = 45) -> np.ndarray:
    """Mask of saturated pixels, or of pixels near ``color`` ('#rrggbb')."""
    if color is None:
        return (a.max(axis=2) - a.min(axis=2)) > 80
    target = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)])
    return (np.abs(a - target) <= tol).all(axis=2)


def inside(a: np.ndarray, box: tuple[int, int, int, int], mask: np.ndarray) -> int:
    """Pixels of ``mask`` strictly inside the axes box (spines excluded)."""
    top, bottom, left, right = box
    return int(mask[top + 3:bottom - 2, left + 3:right - 2].sum())
