"""Seconds per epoch of shipped experiments on this machine's CPU, in each trainer.precision, runs side by side.

Each (experiment, precision) pair is one ordinary run of the trainer (``python -m mnist_sweep.train
+experiment=NAME trainer.precision=P trainer.device=cpu``, one torch thread, each experiment's
own data protocol: the shipped ones train on all 60k and test every epoch), all started at once,
one per core, each with an empty precision cache (so ``auto`` measures afresh). A row per run: the
precision it trained in, the median seconds per epoch after the first (training and evaluation;
``train_s`` the training steps alone), images/s, and the CPU (model name, whether it has AMX). A
20-epoch trial costs about 20 times ``epoch_s``. With ``--epochs 0`` each experiment trains its own ``max_epochs`` (a
whole trial: ``wall_s`` its seconds, ``test_acc`` its final-epoch test accuracy); ``--seeds 1 2 3``
runs each pair once per ``trainer.seed`` (accuracy over seeds in each precision).

    .venv/bin/python bench/cpu_epoch.py [--experiments best_20k tiny] [--precisions fp32 bf16 auto]
        [--epochs 3] [--seeds 1] [--work DIR] [--out cpu.csv] [--set KEY=VALUE ...]

``--set`` adds an override to every run (a smoke test on tiny data). Runs still going at
``--deadline-s`` are stopped and get status ``cut``.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from mnist_sweep.precision import cpu_identity  # noqa: E402

COLUMNS = ["status", "cpu", "amx", "cores", "experiment", "requested", "precision", "seed", "epochs", "epoch_s",
           "train_s", "images_per_s", "first_epoch_s", "wall_s", "test_acc"]
Run = tuple[str, str, int]  # experiment, precision, seed


def name(run: Run) -> str:
    return f"{run[0]}_{run[1]}_s{run[2]}"


def launch(work: Path, run: Run, epochs: int, extra: list[str]) -> subprocess.Popen:
    experiment, precision, seed = run
    env = {**os.environ, "MNIST_SWEEP_CACHE": str(work / f"cache_{name(run)}")}
    cmd = [sys.executable, "-m", "mnist_sweep.train", f"+experiment={experiment}", f"trainer.precision={precision}",
           "trainer.device=cpu", "trainer.threads=1", f"trainer.seed={seed}", "trainer.progress=false",
           "trainer.save_checkpoint=false", f"hydra.run.dir={work / name(run)}", *extra]
    if epochs > 0:
        cmd.append(f"trainer.max_epochs={epochs}")
    with open(work / f"{name(run)}.log", "w") as log:  # the child keeps its own handle
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def row(work: Path, machine: dict, run: Run, status: str, wall_s: float) -> dict:
    d = work / name(run)
    r = {"status": status, **machine, "experiment": run[0], "requested": run[1], "seed": run[2],
         "wall_s": round(wall_s, 1)}
    if not (d / "metrics.csv").exists():
        return r | {"status": status if status != "ok" else "no metrics"}
    m = pd.read_csv(d / "metrics.csv")
    later = m.iloc[1:] if len(m) > 1 else m  # the first epoch carries one-time costs
    r |= {"epochs": len(m), "epoch_s": round(float(later.epoch_s.median()), 2),
          "train_s": round(float(later.train_s.median()), 2),
          "images_per_s": round(float(later.images_per_s.median())),
          "first_epoch_s": round(float(m.epoch_s.iloc[0]), 2)}
    if (d / "result.json").exists():
        result = json.loads((d / "result.json").read_text())
        r |= {"precision": result.get("precision", ""), "test_acc": result.get("test_acc_final", "")}
    return r


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--experiments", nargs="+", default=["best_20k", "tiny"])
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16", "auto"], choices=["fp32", "bf16", "auto"])
    p.add_argument("--epochs", type=int, default=3, help="0: each experiment's own max_epochs")
    p.add_argument("--seeds", nargs="+", type=int, default=[1])
    p.add_argument("--work", type=Path, default=None, help="where the run dirs go (default: a new temp dir)")
    p.add_argument("--deadline-s", type=float, default=600)
    p.add_argument("--out", type=Path, default=Path("cpu_epoch.csv"))
    p.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE")
    a = p.parse_args(argv)
    work = a.work or Path(tempfile.mkdtemp(prefix="cpu_epoch."))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    runs = {(e, pr, s): launch(work, (e, pr, s), a.epochs, a.extra)
            for e in a.experiments for pr in a.precisions for s in a.seeds}
    walls: dict[Run, float] = {}
    while len(walls) < len(runs) and time.time() - t0 < a.deadline_s:
        for k, proc in runs.items():
            if k not in walls and proc.poll() is not None:
                walls[k] = time.time() - t0
        time.sleep(0.5)
    cpu_name, flags = cpu_identity()
    machine = {"cpu": cpu_name, "amx": "amx_bf16" in flags, "cores": os.cpu_count()}
    rows = []
    for run, proc in runs.items():
        status = "ok"
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            status = "cut"
        elif proc.returncode != 0:
            status = f"exit {proc.returncode}: " + (work / f"{name(run)}.log").read_text(errors="replace").strip()[-200:]
        rows.append(row(work, machine, run, status, walls.get(run, time.time() - t0)))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with open(a.out, "w", newline="") as f:
        w = csv.DictWriter(f, COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    for r in rows:
        print(", ".join(f"{c}={r.get(c, '')}" for c in COLUMNS), flush=True)
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
