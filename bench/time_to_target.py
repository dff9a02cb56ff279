"""Time to target: from an empty study, run the default sweep (`make sweep`'s settings) until the
first trial whose final-epoch validation accuracy reaches the target, then stop it.

Records the wall time, that trial, its test accuracy, and the epochs trained by all trials until
then (every trial dir's metrics.csv, running ones included); one row per sampler seed, appended
to ``--out`` (a CSV), so runs on several seeds, or resumed later, collect in one table. A seed
already in the table is skipped. Runs that never reach the target stop at ``--max-minutes``.

    .venv/bin/python bench/time_to_target.py --seeds 1 2 3 [--max-minutes 60] [-- extra overrides]
"""
from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from mnist_sweep.target import reached  # noqa: E402


def epochs_trained(sweep_dir: Path) -> tuple[int, float]:
    """(epochs trained by all trials, median seconds per epoch): the second shows how loaded the
    machine was (two trials side by side on an idle 2-core machine: about 25-30 s)."""
    frames = []
    for m in sweep_dir.glob("trial_*/metrics.csv"):
        try:
            frames.append(pd.read_csv(m))
        except (OSError, ValueError, pd.errors.EmptyDataError):
            pass
    if not frames:
        return 0, float("nan")
    epochs = pd.concat(frames)
    return len(epochs), round(float(epochs.epoch_s.median()), 1)


def hit(study: optuna.Study, target: float) -> optuna.trial.FrozenTrial | None:
    done = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
            if t.values and reached(t.values[0], target) and t.user_attrs.get("status") == "complete"]
    return min(done, key=lambda t: t.datetime_complete) if done else None


def cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def run_seed(seed: int, out_root: Path, target: float, max_minutes: float, extra: list[str]) -> dict:
    d = out_root / f"seed{seed}"
    if d.exists():
        sys.exit(f"{d}: exists; a time-to-target run needs an empty study (remove it to rerun seed {seed})")
    url = f"sqlite:///{d}/optuna.db"
    cmd = [sys.executable, "-m", "mnist_sweep.train", "-m", f"hydra.sweep.dir={d}", f"hydra.sweeper.storage={url}",
           f"hydra.sweeper.study_name=ttt_seed{seed}", f"hydra.sweeper.sampler.seed={seed}",
           "hydra.sweeper.on_sweep_end=null", "trainer.progress=false", *extra]
    d.mkdir(parents=True)
    t0 = time.time()
    with open(d / "sweep.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    found = None
    try:
        while proc.poll() is None and time.time() - t0 < max_minutes * 60:
            time.sleep(10)
            if not (d / "optuna.db").exists():
                continue
            try:
                study = optuna.load_study(study_name=f"ttt_seed{seed}", storage=url)
            except (KeyError, Exception):  # noqa: BLE001 - not created yet
                continue
            found = hit(study, target)
            if found is not None:
                break
    finally:
        wall = time.time() - t0
        epochs, epoch_s = epochs_trained(d)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the sweep keeps every finished trial
            proc.wait()
    study = optuna.load_study(study_name=f"ttt_seed{seed}", storage=url)
    found = found or hit(study, target)
    trials = study.get_trials(deepcopy=False)
    res = found.user_attrs.get("result", {}) if found else {}
    return {
        "seed": seed, "reached": found is not None, "wall_min": round(wall / 60, 1),
        "trial": found.number if found else None, "val_acc": found.values[0] if found else None,
        "test_acc_final": res.get("test_acc_final"), "params": res.get("params"),
        "epochs_trained": epochs, "median_epoch_s": epoch_s, "trials_started": len(trials),
        "complete": sum(t.user_attrs.get("status") == "complete" for t in trials),
        "pruned": sum(t.user_attrs.get("status") == "pruned" for t in trials),
        "rejected": sum(t.user_attrs.get("status") == "rejected" for t in trials),
        "duplicates": sum(t.user_attrs.get("status") == "duplicate" for t in trials),
        "cpu": cpu(), "overrides": " ".join(extra),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--target", type=float, default=0.994)
    p.add_argument("--max-minutes", type=float, default=60)
    p.add_argument("--root", default=str(ROOT / "outputs" / "bench" / "time_to_target"))
    p.add_argument("--out", default=str(ROOT / "outputs" / "bench" / "time_to_target.csv"))
    p.add_argument("extra", nargs="*", help="overrides for the sweep (after --)")
    args = p.parse_args()
    out = Path(args.out)
    done = set(pd.read_csv(out).seed) if out.exists() else set()
    for seed in args.seeds:
        if seed in done:
            print(f"seed {seed}: already in {out}; skipped")
            continue
        row = run_seed(seed, Path(args.root), args.target, args.max_minutes, args.extra)
        print(pd.Series(row).to_string(), flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame([row]).to_csv(out, mode="a", header=not out.exists(), index=False)


if __name__ == "__main__":
    main()
