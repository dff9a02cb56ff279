"""Two trials side by side against the seed-style DataLoader loop (issue 26's aggregate).

Starts ``--runs`` copies of ``python -m mnist_sweep.train +experiment=eva8_seed`` for
``--epochs`` epochs at once (one per core, as a sweep with two workers runs them), for each
``--precision``, and reads each run's result.json: training images/s (60,000 images x epochs /
``train_s``, the training steps) and whole-epoch images/s (evaluation included). Then the
seed-style loop on the same model: torchvision MNIST + per-sample transforms through a DataLoader
with one worker (one thread training plus one worker process: both cores), from
bench/throughput.py. The aggregate is the sum over the runs.

    .venv/bin/python bench/aggregate.py [--precision fp32 bf16] [--runs 2] [--epochs 1] [--fast-dropout false true]
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

sys.path.insert(0, str(Path(__file__).parent))
from throughput import bench_loader  # noqa: E402 - bench/ is not a package

from mnist_sweep import PROJECT_ROOT  # noqa: E402
from mnist_sweep import model as mmodel  # noqa: E402

TRAIN_IMAGES = 60_000  # eva8_seed trains on every training image (data.val_size=0)


def side_by_side(precision: str, runs: int, epochs: int, out: Path, fast_dropout: str = "false") -> list[dict]:
    procs = []
    out = out / f"fast_dropout_{fast_dropout}"
    for i in range(runs):
        cmd = [sys.executable, "-m", "mnist_sweep.train", "+experiment=eva8_seed", f"trainer.max_epochs={epochs}",
               f"trainer.precision={precision}", "trainer.progress=false", f"trainer.seed={i + 1}",
               f"trainer.fast_dropout={fast_dropout}", f"hydra.run.dir={out / f'{precision}_{i}'}"]
        procs.append(subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise SystemExit(f"a run failed: {err.strip().splitlines()[-1]}")
    return [json.loads((out / f"{precision}_{i}" / "result.json").read_text()) for i in range(runs)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--precision", nargs="+", default=["fp32", "bf16"])
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batches", type=int, default=150, help="DataLoader batches timed")
    p.add_argument("--fast-dropout", nargs="+", default=["false", "true"], choices=["false", "true"],
                   help="trainer.fast_dropout of the runs (eva8_seed sets false, as it was confirmed)")
    args = p.parse_args()
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {args.runs} runs x {args.epochs} epoch(s)")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for precision in args.precision:
            for fast in args.fast_dropout:
                t0 = time.perf_counter()
                res = side_by_side(precision, args.runs, args.epochs, Path(tmp), fast)
                train = sum(TRAIN_IMAGES * r["epochs"] / r["train_s"] for r in res)
                whole = sum(TRAIN_IMAGES * r["epochs"] / (r["s_per_epoch"] * r["epochs"]) for r in res)
                label = f"{precision}, fast_dropout={fast}"
                rows[label] = train
                print(f"  trainer x{args.runs} {label}: {train:7.0f} training images/s together ({whole:.0f} with "
                      f"evaluation; {time.perf_counter() - t0:.0f} s wall, resolved {res[0]['precision']})")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = OmegaConf.create({"model": OmegaConf.load(PROJECT_ROOT / "conf/model/eva8_seed.yaml")}).model
    model = mmodel.build(OmegaConf.to_container(cfg, resolve=True))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loader = bench_loader(model, opt, args.batches, 128, 1)
    print(f"  DataLoader loop, 1 thread + 1 worker: {loader:7.0f} images/s")
    for label, train in rows.items():
        print(f"  aggregate {label} / DataLoader: {train / loader:.2f}x")


if __name__ == "__main__":
    main()
