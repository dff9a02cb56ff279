"""Seconds per epoch on one device through the trainer's own loop, with and without bf16 autocast,
channels_last and torch.compile.

One epoch is what ``mnist_sweep.train.train`` runs per epoch: ``train_epoch`` over the training
split (uint8 images resident on the device, shuffled and augmented there in batches), then
``evaluate`` on the validation and test splits. The config is composed from ``conf/`` like a run
(``model=eva8_seed`` by default) and validated by ``train.settings``; the model, optimizer,
scheduler and data come from the project's own functions. What varies per row:

- batch size (``data.batch_size``),
- ``trainer.channels_last`` (NHWC) or NCHW,
- bf16: the epoch runs under ``torch.autocast(device, dtype=torch.bfloat16)``,
- compile: the model is ``torch.compile``d with static shapes, mode ``default`` or
  ``reduce-overhead`` (CUDA graphs: this small model is bound by kernel launches); the first
  epoch includes the compilation,
- cudnn_benchmark: ``cudnn.benchmark=True, deterministic=False`` instead of the trainer's
  deterministic setting (GPU only).

Each variant trains ``--warmup`` untimed epochs then ``--epochs`` timed ones (the device is
synchronized around every timed region) and appends one CSV row as soon as it is done, so a
run cut short keeps what it measured. Variants that would start after ``--deadline-s`` are
written as skipped.

    python bench/gpu_epoch.py --device cuda --out epoch.csv                  # 8 variants
    python bench/gpu_epoch.py --device cuda --out epoch.csv --only-compile   # the compiled ones
    python bench/gpu_epoch.py --device cpu --batch-sizes 32 128 --train-limit 128 --val-size 32 \\
        --test-limit 32 --epochs 1 --warmup 0 --out /tmp/epoch.csv           # the dry run
"""
from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm
from hydra import compose, initialize_config_dir

from mnist_sweep import PROJECT_ROOT
from mnist_sweep import data as mdata
from mnist_sweep import model as mmodel
from mnist_sweep.config.settings import validate
from mnist_sweep.distill import criterion
from mnist_sweep import precision as mprecision
from mnist_sweep.training import evaluate, make_optimizer, make_scheduler, split_metrics, train_epoch

COLUMNS = [
    "status", "model", "params", "device", "device_name", "batch_size", "channels_last", "bf16", "compile",
    "cudnn_benchmark", "train_images", "epochs_timed", "epoch_s", "train_s", "eval_s", "images_per_s",
    "first_epoch_s", "val_acc", "peak_mem_mib", "torch",
]


@dataclass(frozen=True)
class Variant:
    batch_size: int
    channels_last: bool
    bf16: bool
    compile: str = "no"  # no | default | reduce-overhead (torch.compile's mode; static shapes)
    cudnn_benchmark: bool = False


def variants(batch_sizes: list[int], only_compile: bool, device: str) -> list[Variant]:
    if only_compile:  # the trainer's default (channels_last, fp32), compiled two ways; the larger batch first
        return [Variant(bs, True, False, compile=mode) for bs in sorted(batch_sizes, reverse=True)
                for mode in ("default", "reduce-overhead")]
    out = [Variant(bs, cl, bf16) for bs in batch_sizes for cl in (False, True) for bf16 in (False, True)]
    if device.startswith("cuda"):  # what the trainer's deterministic cuDNN setting costs
        out += [Variant(bs, True, False, cudnn_benchmark=True) for bs in batch_sizes]
    return out


def compose_cfg(model: str, v: Variant, device: str, epochs: int, limits: list[str]):
    overrides = [
        f"model={model}", f"data.batch_size={v.batch_size}", f"trainer.channels_last={str(v.channels_last).lower()}",
        f"trainer.device={device}", f"trainer.precision={'bf16' if v.bf16 else 'fp32'}", f"trainer.max_epochs={epochs}", f"trainer.epoch_cap={max(epochs, 1)}",
        "trainer.progress=false", *limits,
    ]
    with initialize_config_dir(version_base="1.3", config_dir=str(PROJECT_ROOT / "conf")):
        return compose("config", overrides=overrides)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_variant(v: Variant, args: argparse.Namespace, device: torch.device, data: mdata.Splits, limits: list[str]) -> dict:
    total_epochs = args.warmup + args.epochs
    cfg = compose_cfg(args.model, v, args.device, total_epochs, limits)
    st = validate(cfg)
    ts, ds = st.trainer, st.data
    torch.set_num_threads(ts.threads)
    if device.type == "cuda":  # as train() sets it, unless this variant measures the alternative
        torch.backends.cudnn.benchmark = v.cudnn_benchmark
        torch.backends.cudnn.deterministic = not v.cudnn_benchmark
        torch.cuda.reset_peak_memory_stats(device)
    torch.manual_seed(ts.seed)
    fmt = torch.channels_last if ts.channels_last else torch.contiguous_format
    model = mmodel.build(st.model).to(device, memory_format=fmt)
    params = mmodel.count_params(model)
    # static shapes: one graph per batch shape (full batches, the epoch's last batch, eval batches)
    step_model = model if v.compile == "no" else torch.compile(model, mode=v.compile, dynamic=False)
    opt = make_optimizer(model.parameters(), st.optimizer)
    gen = torch.Generator(device=device).manual_seed(ts.seed)
    batches = mdata.TrainBatches(  # the trainer's own input pipeline
        data.x_train, data.y_train, ds.batch_size, gen,
        rotate_deg=ds.rotate_deg, translate=ds.translate, scale=ds.scale, memory_format=fmt,
    )
    stepper = make_scheduler(opt, st.scheduler, ts.max_epochs, len(batches))
    autocast = lambda: mprecision.autocast(ts.precision, device)  # noqa: E731 - the trainer's own switch
    train_s, eval_s, first_epoch_s, val_acc = [], [], None, float("nan")
    for epoch in range(total_epochs):
        sync(device)
        t0 = time.perf_counter()
        with tqdm(total=len(batches), disable=True) as bar:
            train_epoch(step_model, stepper, batches, criterion(ts.label_smoothing), bar, autocast)
        sync(device)
        t1 = time.perf_counter()
        if data.x_val is not None:
            val = evaluate(step_model, data.x_val, data.y_val, ds.eval_batch_size, fmt, autocast)
            val_acc = split_metrics(*val, {"val": (0, len(data.y_val))})["val_acc"]
        evaluate(step_model, data.x_test, data.y_test, ds.eval_batch_size, fmt, autocast)
        sync(device)
        t2 = time.perf_counter()
        if epoch == 0:
            first_epoch_s = t2 - t0
        if epoch >= args.warmup:
            train_s.append(t1 - t0)
            eval_s.append(t2 - t1)
    tr, ev = statistics.median(train_s), statistics.median(eval_s)
    return dict(
        status="ok", params=params, train_images=len(data.y_train), epochs_timed=len(train_s),
        epoch_s=round(tr + ev, 4), train_s=round(tr, 4), eval_s=round(ev, 4),
        images_per_s=round(len(data.y_train) / tr), first_epoch_s=round(first_epoch_s, 3), val_acc=val_acc,
        peak_mem_mib=round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if device.type == "cuda" else "",
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (the dry run)")
    p.add_argument("--model", default="eva8_seed", help="conf/model/<name>.yaml")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 512])
    p.add_argument("--epochs", type=int, default=2, help="timed epochs per variant (the median is reported)")
    p.add_argument("--warmup", type=int, default=1, help="untimed epochs first (cuDNN/cuBLAS set-up, compilation)")
    p.add_argument("--train-limit", type=int, default=None, help="default: the whole training split (conf/data: 60,000 minus data.val_size)")
    p.add_argument("--val-size", type=int, default=None, help="default: conf/data's data.val_size")
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--only-compile", action="store_true", help="only the torch.compile variants")
    p.add_argument("--deadline-s", type=float, default=None, help="start no variant after this many seconds")
    p.add_argument("--out", required=True, help="CSV, appended to (header written when new)")
    args = p.parse_args(argv)

    t_start = time.perf_counter()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(f"error: --device {args.device}: no CUDA device is available", file=sys.stderr)
        return 2
    limits = [f"data.val_size={args.val_size}"] if args.val_size is not None else []
    limits += [f"data.train_limit={args.train_limit}"] if args.train_limit else []
    limits += [f"data.test_limit={args.test_limit}"] if args.test_limit else []
    ds = validate(compose_cfg(args.model, Variant(args.batch_sizes[0], True, False), args.device, 1, limits)).data
    data = mdata.load(ds.root or str(mdata.default_root()), val_size=ds.val_size, train_limit=ds.train_limit,
                      split_seed=ds.split_seed, device=device, test_limit=ds.test_limit)  # once: resident for every variant
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    out = Path(args.out)
    new = not out.exists() or out.stat().st_size == 0
    failed = 0
    with open(out, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        if new:
            w.writeheader()
        for v in variants(args.batch_sizes, args.only_compile, args.device):
            row = dict(model=args.model, device=str(device), device_name=name, torch=torch.__version__, **asdict(v))
            if args.deadline_s is not None and time.perf_counter() - t_start > args.deadline_s:
                row["status"] = "skipped: time budget"
            else:
                try:
                    row.update(run_variant(v, args, device, data, limits))
                except Exception as e:  # noqa: BLE001 - one variant's failure is a result; go on with the next
                    traceback.print_exc()
                    row["status"] = f"error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
                    failed += 1
            w.writerow(row)
            f.flush()
            print(" ".join(f"{k}={row.get(k, '')}" for k in ("status", "batch_size", "channels_last", "bf16", "compile",
                                                            "cudnn_benchmark", "epoch_s", "train_s", "images_per_s",
                                                            "first_epoch_s", "val_acc")), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
