"""Which way of using both cores completes the most sweep trials per hour?

Runs the same small sweep (default search space, same sampler seed, no pruning, a reduced
workload) three ways, each in a fresh study, and prints completed trials per hour:
- serial:  workers=1, n_jobs=1 (one core; the baseline)
- joblib:  workers=1, n_jobs=2 (hydra-joblib-launcher runs trials in batches of two)
- workers: workers=2, n_jobs=1 (two sweep processes share the study; no batch barrier)

    .venv/bin/python bench/arrangement.py [--trials 8] [--train-limit 6000] [--epochs 2]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _sweep import run_sweep

ARRANGEMENTS = {
    "serial": ["hydra.sweeper.workers=1", "hydra.sweeper.n_jobs=1"],
    "joblib": ["hydra.sweeper.workers=1", "hydra.sweeper.n_jobs=2"],
    "workers": ["hydra.sweeper.workers=2", "hydra.sweeper.n_jobs=1"],
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=8)
    p.add_argument("--train-limit", type=int, default=6000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--only", nargs="*", default=list(ARRANGEMENTS))
    args = p.parse_args()
    workload = [
        f"data.train_limit={args.train_limit}", "data.val_size=2000", "data.test_limit=2000",
        f"trainer.max_epochs={args.epochs}", "trainer.progress=false", "hydra/sweeper/pruner=none",
        f"hydra.sweeper.n_trials={args.trials}",
    ]
    print(f"workload: {' '.join(workload)}")
    for name in args.only:
        with tempfile.TemporaryDirectory() as tmp:
            board, wall = run_sweep(Path(tmp) / name, name, [*workload, *ARRANGEMENTS[name]])
            done = int((board.status == "complete").sum())
            train_s = board.loc[board.status == "complete", "wall_s"].sum()
            print(f"{name:8s} {' '.join(ARRANGEMENTS[name]):50s} {done} complete in {wall:6.1f} s "
                  f"= {3600 * done / wall:6.0f} trials/h  (sum of trial train time {train_s:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
