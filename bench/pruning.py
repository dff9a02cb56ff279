"""Sweep cost with and without pruning: the same sweep, several pruners, one invocation.

Each arm is a fresh study with the same sampler seed, trial count and reduced workload, run
with the default arrangement (two workers). Reports epochs trained (from every trial's
metrics.csv), wall time, complete/pruned/rejected counts and the best selection metric
(validation accuracy) found.

    .venv/bin/python bench/pruning.py [--trials 16] [--epochs 8] [--train-limit 4000]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
from _sweep import reduced_workload, run_sweep, workload_args

PRUNERS = {  # hydra/sweeper/pruner options (hydra_plugins/mnist_sweep_sweeper/config.py)
    "none": ["hydra/sweeper/pruner=none"],
    "median": ["hydra/sweeper/pruner=median", "hydra.sweeper.pruner.n_warmup_steps=WARMUP"],
    "halving": ["hydra/sweeper/pruner=halving"],  # min_resource 1, reduction_factor 3
    "hyperband": ["hydra/sweeper/pruner=hyperband", "hydra.sweeper.pruner.max_resource=EPOCHS"],
}


def epochs_trained(board: pd.DataFrame) -> int:
    total = 0
    for d in board.trial_dir.dropna():
        m = Path(d) / "metrics.csv"
        if m.exists():
            total += len(pd.read_csv(m))
    return total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    workload_args(p, trials=16, epochs=8, warmup=2, warmup_help="median: epochs before any pruning")
    p.add_argument("--pruners", nargs="*", default=list(PRUNERS))
    args = p.parse_args()
    workload = reduced_workload(args.train_limit, args.epochs, args.trials)
    print("workload: " + " ".join(workload) + " (default search space, sampler seed 1234, 2 workers)")
    rows = []
    for name in args.pruners:
        with tempfile.TemporaryDirectory() as tmp:
            extra = [a.replace("EPOCHS", str(args.epochs)).replace("WARMUP", str(args.warmup)) for a in PRUNERS[name]]
            board, wall = run_sweep(Path(tmp) / name, name, [*workload, *extra])
            status = board.status.value_counts()
            best = board.loc[board.status == "complete", "val_acc"].max()
            rows.append(dict(
                pruner=name, epochs_trained=epochs_trained(board), wall_s=round(wall, 1),
                complete=int(status.get("complete", 0)), pruned=int(status.get("pruned", 0)),
                rejected=int(status.get("rejected", 0)), best_val_acc=best,
                best_test_acc=board.loc[board.status == "complete"].sort_values("val_acc").test_acc_final.iloc[-1],
            ))
            print(pd.DataFrame(rows).tail(1).to_string(index=False, header=len(rows) == 1), flush=True)
    df = pd.DataFrame(rows)
    base = df.loc[df.pruner == "none"]
    if len(base):
        df["epochs_saved_x"] = (base.epochs_trained.iloc[0] / df.epochs_trained).round(2)
        df["wall_saved_x"] = (base.wall_s.iloc[0] / df.wall_s).round(2)
    print()
    print(df.to_string(index=False))


if __name__ == "__main__":
    main()
