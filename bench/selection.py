"""Two searches at equal CPU, each arm's selected config confirmed on all 60k: which search selects better.

Two arms start together from empty studies with the same sampler seed, one worker each (one core
each on a 2-core machine), for the same wall-clock minutes. ``--compare`` picks the pair:

- ``repeats`` (default; selection quality): ``single``, the search as given with one seed per
  config, against ``repeats``, the same with ``hydra.sweeper.repeats.seeds=3 top_k=3`` (the top
  configs judged on their mean over three seeds). Each arm selects its rank 1.
- ``smallest-pareto``: ``hparams_search=smallest`` against ``hparams_search=pareto``, each as
  shipped. Each arm selects the smallest complete config whose validation accuracy (its mean)
  reaches ``--target``.

After ``--minutes`` both are stopped (SIGTERM: every finished trial and seed is kept); running the
command again with the same ``--root`` continues both for more minutes. ``--confirm`` then
retrains each arm's selected config over 3 seeds on all 60,000 training images (``python -m
mnist_sweep.confirm --trial``), the two arms side by side, and one row per arm is printed:
minutes, trials, epochs trained, the selected trial and its validation accuracy (first seed,
mean), and its confirmed test mean and min. The rows are also written to ROOT/summary.csv, and each
arm's leaderboard (from its storage) to ROOT/ARM_leaderboard.csv.

    .venv/bin/python bench/selection.py [--compare smallest-pareto] --minutes 120 [--root DIR] [--confirm] [-- overrides]

``--confirm-set KEY=VALUE`` passes ``--set`` to the confirmation (a smoke test on tiny data).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from time_to_target import cpu

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from mnist_sweep.leaderboard import NEVER_LAUNCHED, frame, rows_from_study  # noqa: E402
from mnist_sweep.sweeps import study_of_sweep  # noqa: E402
COMPARISONS = {  # two arms each: their overrides
    "repeats": {"single": [], "repeats": ["hydra.sweeper.repeats.seeds=3", "hydra.sweeper.repeats.top_k=3"]},
    "smallest-pareto": {"smallest": ["hparams_search=smallest"], "pareto": ["hparams_search=pareto"]},
}


def start(d: Path, arm: str, overrides: list[str], seed: int, extra: list[str]) -> subprocess.Popen:
    d.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "mnist_sweep.train", "-m", f"hydra.sweep.dir={d}",
           f"hydra.sweeper.storage=sqlite:///{d}/optuna.db", f"hydra.sweeper.study_name=selection_{arm}",
           f"hydra.sweeper.sampler.seed={seed}", "hydra.sweeper.workers=1", "hydra.sweeper.n_trials=1000",
           "hydra.sweeper.on_sweep_end=null", "trainer.progress=false", *overrides, *extra]
    with open(d.parent / f"{arm}.log", "a") as log:
        return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def run_arms(root: Path, arms: dict[str, list[str]], minutes: float, seed: int, extra: list[str]) -> None:
    """Both arms side by side for ``minutes``, then stopped. The minutes add up in
    root/minutes.json, written as they pass (a killed run still counts what it ran)."""
    book = root / "minutes.json"
    before = json.loads(book.read_text()) if book.exists() else {}
    procs = {arm: start(root / arm, arm, overrides, seed, extra) for arm, overrides in arms.items()}
    t0 = time.time()
    while time.time() - t0 < minutes * 60 and any(p.poll() is None for p in procs.values()):
        time.sleep(10)
        book.write_text(json.dumps({arm: round(before.get(arm, 0) + (time.time() - t0) / 60, 1) for arm in arms}))
    for p in procs.values():
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)  # the sweep keeps every finished trial and seed
            p.wait()


def epochs_trained(d: Path) -> int:
    """Every epoch any run of the arm trained: trial dirs and their seed dirs (not the confirmation)."""
    return sum(len(pd.read_csv(m)) for m in d.glob("trial_*/**/metrics.csv"))


def summary(root: Path, arm: str, smallest_at: float | None = None) -> dict:
    """The arm's row: its cost and the config it selected (rank 1, or with ``smallest_at`` the
    smallest complete config whose validation accuracy reaches it: what both arms of
    smallest-pareto are asked)."""
    d = root / arm
    board = frame(rows_from_study(study_of_sweep(d)))  # the storage, as it stands after a stop
    board.to_csv(root / f"{arm}_leaderboard.csv", index=False)  # kept beside summary.csv
    done = board[board.status == "complete"]
    row = {"arm": arm, "minutes": json.loads((root / "minutes.json").read_text()).get(arm),
           "trials": int((~board.status.isin(NEVER_LAUNCHED)).sum()), "complete": len(done),
           "epochs_trained": epochs_trained(d), "cpu": cpu()}
    if smallest_at is not None:  # the smallest config whose selection accuracy (its mean) reaches the target
        val = done["val_mean"] if "val_mean" in done else done.val_acc
        done = done.assign(v=val)[val >= smallest_at].sort_values(["params", "v"], ascending=[True, False])
    if not done.empty:
        best = done.iloc[0]
        row.update(trial=int(best.trial), params=int(best.params), val_seed1=best.val_acc,
                   val_mean=best.get("val_mean", best.val_acc), n_seeds=best.get("n_seeds", 1))
    return row


def confirm(root: Path, rows: list[dict], confirm_set: list[str]) -> None:
    """Each arm's selected config over 3 seeds on 60k, the arms side by side (one core each). Two arms
    that selected the same parameters (same sampler seed: their first trials are the same) share
    one confirmation: it is deterministic on one machine, so a second would only repeat it."""
    procs, same_as = {}, {}
    for row in rows:
        if "trial" not in row:
            continue
        params = study_of_sweep(root / row["arm"]).trials[row["trial"]].params
        twin = next((arm for arm, (_, _, p) in procs.items() if p == params), None)
        if twin is not None:
            same_as[row["arm"]] = twin
            continue
        out = root / "confirm" / row["arm"]
        procs[row["arm"]] = (out, subprocess.Popen(
            [sys.executable, "-m", "mnist_sweep.confirm", str(root / row["arm"]), "--trial", str(row["trial"]),
             "--seeds", "3", "--parallel", "1", "--out", str(out),
             *[a for kv in confirm_set for a in ("--set", kv)]], cwd=ROOT), params)
    for row in rows:
        arm = same_as.get(row["arm"], row["arm"])
        if arm in procs:
            out, proc, _ = procs[arm]
            if proc.wait() != 0:
                sys.exit(f"confirm of arm {arm} failed (exit {proc.returncode}); its runs are under {out}")
            conf = pd.read_csv(out / "robustness.csv").iloc[0]
            row.update(test_mean=conf["mean"], test_min=conf["min"], confirm_epochs=3 * int(conf["epochs"]),
                       confirmed_as=arm)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=0, help="run both arms this long first (0: only summarize)")
    p.add_argument("--sampler-seed", type=int, default=11)
    p.add_argument("--compare", choices=COMPARISONS, default="repeats",
                   help="repeats: one seed per config against the mean of 3 (rank 1 of each); smallest-pareto: "
                        "hparams_search=smallest against pareto (the smallest config at --target of each)")
    p.add_argument("--target", type=float, default=0.994, help="smallest-pareto: the validation accuracy to reach")
    p.add_argument("--root", type=Path, help="default: outputs/bench/selection (repeats), outputs/bench/smallest_pareto")
    p.add_argument("--confirm", action="store_true", help="confirm each arm's selected config over 3 seeds on 60k")
    p.add_argument("--confirm-set", action="append", default=[], metavar="KEY=VALUE",
                   help="an override for every confirmation run (repeatable)")
    p.add_argument("extra", nargs="*", help="overrides for both sweeps (after --)")
    args = p.parse_args()
    arms = COMPARISONS[args.compare]
    root = args.root or ROOT / "outputs" / "bench" / ("selection" if args.compare == "repeats" else "smallest_pareto")
    if args.minutes > 0:
        run_arms(root, arms, args.minutes, args.sampler_seed, args.extra)
    smallest_at = args.target if args.compare == "smallest-pareto" else None
    rows = [summary(root, arm, smallest_at) for arm in arms]
    if args.confirm:
        confirm(root, rows, args.confirm_set)
    table = pd.DataFrame(rows)
    table.to_csv(root / "summary.csv", index=False)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
