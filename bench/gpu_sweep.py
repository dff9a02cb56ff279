"""Completed sweep trials per minute with 1, 2, 4 and 8 trials at once on one device.

Each arrangement runs the same short sweep in a fresh SQLite study: ``python -m
mnist_sweep.train -m`` with ``hydra.sweeper.workers=N`` (N sweep processes sharing the study and
the device; ``trainer.device`` is passed to every trial, so with one GPU they all train on it), no
pruning, the same sampler seed, and a fixed workload whose trials all cost the same: the
``eva8_seed`` model at batch 128, only the learning rate searched. Reports completed trials per
minute of wall time (process start-up included, as a user pays it), the mean seconds one trial
trained (``wall_s`` in the leaderboard: it grows when trials contend for the device), and, on a
GPU, the mean utilization and the peak memory that ``nvidia-smi`` sampled once a second.

    python bench/gpu_sweep.py --device cuda --workers 1 2 4 8 --trials 16 --out sweeps.csv --logs DIR
    python bench/gpu_sweep.py --device cpu --workers 1 2 --trials 2 --train-limit 256 --val-size 128 \\
        --test-limit 128 --out /tmp/sweeps.csv --logs /tmp/sweeps                # the dry run

Each row is appended as soon as its arrangement ends, so a run cut short keeps what it
measured; an arrangement still running at ``--deadline-s`` is stopped and recorded as cut short.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd

COLUMNS = [
    "status", "workers", "trials", "complete", "pruned", "failed", "rejected", "wall_s", "trials_per_min",
    "mean_trial_s", "gpu_util_mean_pct", "gpu_mem_peak_mib", "device", "first_error",
]


class GpuSampler(threading.Thread):
    """nvidia-smi once a second: utilization (%) and memory used (MiB) of every GPU."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.util: list[float] = []
        self.mem: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            try:
                out = subprocess.run(
                    ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits"],
                    capture_output=True, text=True, timeout=10,
                ).stdout
            except (OSError, subprocess.SubprocessError):
                return
            for line in out.strip().splitlines():
                try:
                    u, m = (float(x) for x in line.split(","))
                except ValueError:
                    continue
                self.util.append(u)
                self.mem.append(m)


RUNNING: list[subprocess.Popen] = []  # the sweep in flight, for _stop


def _stop(signum: int, frame) -> None:
    """SIGTERM/SIGINT (gpu_check.sh's timeout): stop the sweep in flight and its workers, then exit."""
    for proc in RUNNING:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    sys.exit(128 + signum)


def sweep_cmd(d: Path, name: str, n: int, args: argparse.Namespace) -> list[str]:
    workload = [
        "model=eva8_seed", "data.batch_size=128", "hydra.sweeper.params=null",
        "optimizer.lr=tag(log,interval(0.01,0.3))",
        f"trainer.max_epochs={args.epochs}", f"trainer.device={args.device}", "trainer.progress=false",
        *([f"data.val_size={args.val_size}"] if args.val_size is not None else []),
        *([f"data.train_limit={args.train_limit}"] if args.train_limit else []),
        *([f"data.test_limit={args.test_limit}"] if args.test_limit else []),
    ]
    return [
        sys.executable, "-m", "mnist_sweep.train", "-m", f"hydra.sweep.dir={d}",
        f"hydra.sweeper.storage=sqlite:///{d}/optuna.db", f"hydra.sweeper.study_name={name}",
        f"hydra.sweeper.n_trials={args.trials}", f"hydra.sweeper.workers={n}", "hydra.sweeper.n_jobs=1",
        "hydra/sweeper/pruner=none", "hydra.sweeper.on_sweep_end=null", "hydra.sweeper.sampler.seed=1234",
        *workload,
    ]


def run_arrangement(n: int, args: argparse.Namespace, time_left: float) -> dict:
    d = Path(args.logs) / f"w{n}"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    sampler = GpuSampler() if args.device.startswith("cuda") and shutil.which("nvidia-smi") else None
    if sampler:
        sampler.start()
    t0 = time.perf_counter()
    with open(d / "sweep.log", "w") as log:
        # its own process group (not session): stopped as a whole below or by _stop on SIGTERM
        proc = subprocess.Popen(sweep_cmd(d, f"gpu_w{n}", n, args), stdout=log, stderr=subprocess.STDOUT,
                                process_group=0, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        RUNNING[:] = [proc]
        try:
            rc = proc.wait(timeout=max(time_left, 1))
            status = "ok" if rc == 0 else f"sweep exited {rc}"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)  # the sweep and the workers it started (same group)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            status = "cut short: time budget"
        RUNNING.clear()
    wall = time.perf_counter() - t0
    if sampler:
        sampler.stop.set()
        sampler.join(timeout=5)
    row = dict(status=status, workers=n, trials=args.trials, wall_s=round(wall, 1), device=args.device)
    board_path = d / "leaderboard.csv"
    board = pd.read_csv(board_path) if board_path.exists() else pd.DataFrame(columns=["status", "wall_s", "error"])
    counts = board.status.value_counts()
    for key in ("complete", "pruned", "failed", "rejected"):
        row[key] = int(counts.get(key, 0))
    done = board[board.status == "complete"]
    row["trials_per_min"] = round(60 * len(done) / wall, 2)
    row["mean_trial_s"] = round(float(done.wall_s.mean()), 2) if len(done) else ""
    errors = board.error.dropna() if "error" in board else []
    row["first_error"] = str(errors.iloc[0])[:300] if len(errors) else ""
    if status == "ok" and len(done) < args.trials:
        row["status"] = f"only {len(done)} of {args.trials} trials complete"
    if sampler and sampler.util:
        row["gpu_util_mean_pct"] = round(sum(sampler.util) / len(sampler.util), 1)
        row["gpu_mem_peak_mib"] = max(sampler.mem)
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="trainer.device of every trial: cuda or cpu (the dry run)")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--trials", type=int, default=16, help="trials per arrangement (all complete: no pruning)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--train-limit", type=int, default=None, help="default: the whole training split (conf/data: 60,000 minus data.val_size)")
    p.add_argument("--val-size", type=int, default=None, help="default: conf/data's data.val_size")
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--deadline-s", type=float, default=None, help="stop whatever still runs after this many seconds")
    p.add_argument("--out", required=True, help="CSV, appended to (header written when new)")
    p.add_argument("--logs", required=True, help="one folder per arrangement: sweep.log, worker logs, trial dirs")
    args = p.parse_args(argv)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    t_start = time.perf_counter()
    out = Path(args.out)
    new = not out.exists() or out.stat().st_size == 0
    bad = 0
    with open(out, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        if new:
            w.writeheader()
        for n in args.workers:
            left = (args.deadline_s - (time.perf_counter() - t_start)) if args.deadline_s is not None else 24 * 3600
            if left < 5:
                row = dict(status="skipped: time budget", workers=n, trials=args.trials, device=args.device)
            else:
                row = run_arrangement(n, args, left)
            bad += row["status"] != "ok"
            w.writerow(row)
            f.flush()
            print(" ".join(f"{k}={row.get(k, '')}" for k in COLUMNS if k != "first_error"), flush=True)
            if row.get("first_error"):
                print(f"  first error: {row['first_error']}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
