"""Pruned trials trained to the end: what a sweep's pruning saved, and what it cost.

For a sweep dir: each pruned trial's epochs saved (its max_epochs minus the epochs it trained).
The trials named with ``--train`` are re-run to their last epoch from their saved config through
``python -m mnist_sweep.reproduce`` (which also checks that every recorded epoch comes out
identical, so the run is the pruned trial itself, continued). Their final validation and test
accuracy are printed beside the study's target and its best complete configs, with the epoch at
which today's pruner (mnist_sweep/pruning.py, replayed on the full curve against the study's
finished trials as they stand now) would stop it, if at all. A trial already re-run in ``--out``
is read, not trained again.

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
from mnist_sweep.pruning import ProjectionPruner  # noqa: E402
from mnist_sweep.sweeps import study_of_sweep  # noqa: E402
from mnist_sweep.target import reached  # noqa: E402


def max_epochs(trial_dir: Path) -> int:
    import yaml

    return int(yaml.safe_load((trial_dir / ".hydra" / "config.yaml").read_text())["trainer"]["max_epochs"])


def pruner_settings(trial_dir: Path) -> dict:
    """The sweep's ProjectionPruner settings (hydra.sweeper.pruner in the trial's hydra.yaml)."""
    import yaml

    conf = yaml.safe_load((trial_dir / ".hydra" / "hydra.yaml").read_text())["hydra"]["sweeper"]["pruner"]
    if conf.get("_target_") != "mnist_sweep.pruning.ProjectionPruner":
        raise SystemExit(f"{trial_dir}: swept with {conf.get('_target_')}, not the projection pruner: no replay")
    return {k: v for k, v in conf.items() if k != "_target_"}


def replay(study, number: int, curve: list[float], pct_start: float | None) -> int | None:
    """The first epoch at which today's pruner would stop trial ``number`` on ``curve`` (its full
    validation curve), or None. Its schedule's peak epoch is recorded by today's jobs; for an
    older trial it is derived the way the job does (OneCycle: ceil(pct_start x max_epochs))."""
    import math

    import optuna

    frozen = study.trials[number]
    pruner = ProjectionPruner(**pruner_settings(Path(frozen.user_attrs["trial_dir"])))
    attrs = dict(frozen.user_attrs)
    if "peak_epoch" not in attrs and pct_start is not None:
        attrs["peak_epoch"] = math.ceil(pct_start * len(curve))
    for step in range(1, len(curve)):  # the last epoch is never pruned
        t = optuna.trial.create_trial(state=optuna.trial.TrialState.RUNNING, user_attrs=attrs,
                                      intermediate_values={e + 1: v for e, v in enumerate(curve[:step])})
        t.number = -1
        if pruner.prune(study, t):
            return step
    return None


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
    study = study_of_sweep(args.sweep)
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
        run_dir = to_end(args.sweep, t, args.out)
        end = results.read(str(run_dir))
        curve = list(pd.read_csv(run_dir / "metrics.csv").val_acc)
        pct = row.get("hp.scheduler.pct_start")
        stop = replay(study, t, curve, None if pd.isna(pct) else float(pct))
        rows.append({
            "trial": t, "params": int(row.params), "pruned after epoch": int(row.epochs),
            "val then": f"{row.val_acc:.2%}", "epochs": end["epochs"], "final val": f"{end['val_acc']:.2%}",
            "final test": f"{end['test_acc_final']:.2%}",
            "val >= target": "-" if target is None else ("yes" if reached(end["val_acc"], target) else "no"),
            "today's pruner": "never" if stop is None else f"epoch {stop}",
            "precision": end.get("precision"),
        })
    if rows:
        print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
