"""Samplers and pruners for small sweeps: Optuna's GP sampler and Wilcoxon pruner against the
default TPE (mnist_tpe) and successive halving / the median / the projection pruner, at the same budget.

Each arm is a fresh study of ``--trials`` counted trials with two workers, on a reduced
workload (``--epochs`` epochs on ``--train-limit`` training images, 2,000 validation and 2,000
test images), run once per sampler seed. Reports epochs trained, wall time, the best
validation accuracy found and its trial's test accuracy.

    .venv/bin/python bench/samplers.py [--seeds 1 2] [--trials 12] [--epochs 6] [--train-limit 4000]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
from _sweep import reduced_workload, run_sweep, workload_args
from pruning import epochs_trained

ARMS = {  # name -> hydra/sweeper overrides
    "tpe + median": ["hydra/sweeper/sampler=mnist_tpe", "hydra/sweeper/pruner=median",
                     "hydra.sweeper.pruner.n_warmup_steps=WARMUP"],
    "gp + median": ["hydra/sweeper/sampler=gp", "hydra/sweeper/pruner=median", "hydra.sweeper.pruner.n_warmup_steps=WARMUP"],
    "tpe + halving": ["hydra/sweeper/sampler=mnist_tpe", "hydra/sweeper/pruner=halving"],
    "tpe + wilcoxon": ["hydra/sweeper/sampler=mnist_tpe", "hydra/sweeper/pruner=wilcoxon",
                       "hydra.sweeper.pruner.n_startup_steps=WARMUP"],
    "tpe + projection": ["hydra/sweeper/sampler=mnist_tpe", "hydra/sweeper/pruner=projection",
                         "hydra.sweeper.pruner.n_warmup_steps=WARMUP"],
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    workload_args(p, trials=12, epochs=6, warmup=3, warmup_help="median/wilcoxon: epochs before any pruning")
    p.add_argument("--arms", nargs="*", default=list(ARMS))
    args = p.parse_args()
    workload = reduced_workload(args.train_limit, args.epochs, args.trials)
    print("workload: " + " ".join(workload) + " (default search space, 2 workers)", flush=True)
    rows = []
    for seed in args.seeds:
        for name in args.arms:
            with tempfile.TemporaryDirectory() as tmp:
                extra = [a.replace("WARMUP", str(args.warmup)) for a in ARMS[name]]
                board, wall = run_sweep(Path(tmp) / "s", f"s{seed}", [*workload, *extra, f"hydra.sweeper.sampler.seed={seed}"])
                status = board.status.value_counts()
                done = board[board.status == "complete"].sort_values("val_acc")
                rows.append(dict(
                    arm=name, seed=seed, epochs_trained=epochs_trained(board), wall_s=round(wall, 1),
                    complete=int(status.get("complete", 0)), pruned=int(status.get("pruned", 0)),
                    rejected=int(status.get("rejected", 0)), duplicates=int(status.get("duplicate", 0)),
                    best_val_acc=done.val_acc.iloc[-1] if len(done) else None,
                    its_test_acc=done.test_acc_final.iloc[-1] if len(done) else None,
                ))
                print(pd.DataFrame(rows).tail(1).to_string(index=False, header=len(rows) == 1), flush=True)
    df = pd.DataFrame(rows)
    print()
    print(df.to_string(index=False))
    mean = df.groupby("arm", sort=False)[["epochs_trained", "wall_s", "best_val_acc", "its_test_acc"]].mean()
    print()
    print(mean.round(4).to_string())


if __name__ == "__main__":
    main()
