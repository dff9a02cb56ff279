"""Pruned trials trained to the end: what a sweep's pruning saved, and what it cost.

For a sweep dir: each pruned trial's epochs saved (its max_epochs minus the epochs it trained).
The trials named with ``--train`` are re-run to their last epoch from their saved config through
``python -m mnist_sweep.reproduce`` (which also checks that every recorded epoch comes out
identical, so the run is the pruned trial itself, continued). Their final validation and test
accuracy are printed beside the study's target and its best complete configs. A trial already re-run in ``--out`` is read, not trained again.

    .venv/bin/python bench/pruned_to_end.py outputs/sweeps/search_smallest --train 5 6 \\
        --out outputs/pruned_to_end/search_smallest
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from mnist_sweep import results  # noqa: E402
from mnist_sweep.leaderboard import read  # noqa: E402


def max_epochs(trial_dir: Path) -> int:
    import yaml

    return int(yaml.safe_load((trial_dir / ".hydra" / "config.yaml").read_text())["trainer"]["max_epochs"])


def to_end(sweep: Path, trial: int, out: Path) -> Path:
    """The pruned trial re-run to its last epoch (reproduce checks the recorded epochs match)."""
    run_dir = out / f"trial_{trial:04d}"
    if not (run_dir / "result.json").exists():
        subprocess.run([sys.executable, "-m", "mnist_sweep.reproduce", str(sweep), "--trial", str(trial),
                        "--out", str(run_dir)], check=True, cwd=ROOT)
    return run_dir


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sweep", type=Path, help="sweep dir (holding leaderboard.csv)")
    p.add_argument("--train", type=int, nargs="*", default=[], help="pruned trial numbers to train to the end")
    p.add_argument("--out", type=Path, default=Path("outputs/pruned_to_end"))
    args = p.parse_args()
    board = read(str(args.sweep))
    pruned = board[board.status == "pruned"]
    complete = board[board.status == "complete"]
    saved = sum(max_epochs(Path(d)) - int(e) for d, e in zip(pruned.trial_dir, pruned.epochs))
    trained = int(board.epochs.fillna(0).sum())
    print(f"{args.sweep}: {len(pruned)} pruned trials saved {saved} epochs; the sweep's trials trained {trained} "
          f"(first seeds; repeats not counted)")
    target = next((results.read(d).get("target_acc") for d in board.trial_dir.dropna()), None)
    best = complete.sort_values("val_acc", ascending=False).head(3)
    print("best complete configs (first seed): " + ", ".join(
        f"trial {t} {v:.2%} val / {a:.2%} test" for t, v, a in zip(best.trial, best.val_acc, best.test_acc_final)))
    rows = []
    for t in args.train:
        row = pruned[pruned.trial == t]
        if row.empty:
            raise SystemExit(f"trial {t}: not a pruned trial of {args.sweep}")
        row = row.iloc[0]
        end = results.read(str(to_end(args.sweep, t, args.out)))
        rows.append({
            "trial": t, "params": int(row.params), "pruned after epoch": int(row.epochs),
            "val then": f"{row.val_acc:.2%}", "epochs": end["epochs"], "final val": f"{end['val_acc']:.2%}",
            "final test": f"{end['test_acc_final']:.2%}",
            "val >= target": "-" if target is None else ("yes" if end["val_acc"] >= target else "no"),
            "precision": end.get("precision"),
        })
    if rows:
        print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
