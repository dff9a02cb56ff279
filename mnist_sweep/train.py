"""Train one config: ``python -m mnist_sweep.train [overrides]``; ``-m`` runs the Optuna sweep.

This module holds the training loop and its helpers; the entry point (override checks, the
Hydra task, one-line errors, signals) is mnist_sweep.cli. The run directory gets ``.hydra/`` (resolved config), ``metrics.csv`` (one row per epoch),
``result.json`` and ``model.pt`` (the final state_dict). The task returns the selection
metric (final-epoch validation accuracy by default) for the sweeper.
"""
from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from tqdm import tqdm

from mnist_sweep import data as mdata
from mnist_sweep import model as mmodel
from mnist_sweep import plots
from mnist_sweep import results
from mnist_sweep.errors import DivergedError
from mnist_sweep.schema import Settings, TrainerSettings, validate
from mnist_sweep.trial import EpochHook, pick_device

log = logging.getLogger(__name__)


def make_optimizer(params: Any, name: str, kw: Mapping[str, Any]) -> torch.optim.Optimizer:
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name]
    return cls(params, **kw)


def make_scheduler(
    opt: torch.optim.Optimizer, name: str, kw: Mapping[str, Any], epochs: int, steps_per_epoch: int
) -> tuple[torch.optim.lr_scheduler.LRScheduler | None, bool]:
    """(scheduler, steps_per_batch): OneCycle and cosine step every batch, StepLR every epoch."""
    total = max(1, epochs * steps_per_epoch)
    if name == "onecycle":
        group = opt.param_groups[0]
        cycle_momentum = group.get("momentum", 0) > 0 or "betas" in group
        kw = dict(kw)
        if kw["pct_start"] * total == 1.0:
            # A warm-up of exactly one step makes torch's first phase zero steps long
            # (ZeroDivisionError); the next float up gives it a sliver and changes nothing else.
            kw["pct_start"] = math.nextafter(kw["pct_start"], 1.0)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=group["lr"], total_steps=total, cycle_momentum=cycle_momentum, **kw
        )
        return sched, True
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total, **kw), True
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(opt, **kw), False
    return None, False


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` on normalized images ``x``."""
    model.eval()
    loss, correct = torch.zeros((), device=x.device), torch.zeros((), device=x.device, dtype=torch.long)
    for i in range(0, len(y), batch_size):
        out = model(x[i : i + batch_size].contiguous(memory_format=memory_format))
        loss += F.cross_entropy(out, y[i : i + batch_size], reduction="sum")
        correct += (out.argmax(1) == y[i : i + batch_size]).sum()
    return loss.item() / len(y), correct.item() / len(y)


def memory_format(ts: TrainerSettings) -> torch.memory_format:
    """NHWC when trainer.channels_last (about 15% faster convolutions on CPU), else NCHW."""
    return torch.channels_last if ts.channels_last else torch.contiguous_format


def train_epoch(
    model: torch.nn.Module, opt: torch.optim.Optimizer, batches: mdata.TrainBatches, *,
    sched: torch.optim.lr_scheduler.LRScheduler | None, per_step: bool, label_smoothing: float,
    show: bool, desc: str,
) -> tuple[float, float, float]:
    """One pass over the epoch's batches; returns (loss, accuracy, images/s)."""
    model.train()
    device = batches.y.device
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen, t0 = 0, time.perf_counter()
    bar = tqdm(batches, desc=desc, leave=False, disable=not show, unit="batch")
    for step, (x, y) in enumerate(bar):
        out = model(x)
        loss = F.cross_entropy(out, y, label_smoothing=label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sched is not None and per_step:
            sched.step()
        loss_sum += loss.detach() * len(y)
        correct += (out.argmax(1) == y).sum()
        seen += len(y)
        if step % 50 == 0 or step == len(batches) - 1:  # the last step too: no NaN slips into a result
            running = loss_sum.item() / seen
            if not math.isfinite(running):
                raise DivergedError(f"training loss became {running} at step {step}; lower optimizer.lr or check the config")
            bar.set_postfix(loss=f"{running:.4f}", img_s=f"{seen / (time.perf_counter() - t0):.0f}")
    if sched is not None and not per_step:
        sched.step()
    return loss_sum.item() / seen, correct.item() / seen, seen / (time.perf_counter() - t0)


def precheck(cfg: DictConfig) -> dict[str, Any]:
    """Validate every section and the model budget without training (nothing is allocated); the
    sweeper calls this before launching a candidate. Returns what to record about it."""
    return {"params": validate(cfg).n_params}


def train(cfg: DictConfig, out_dir: Path, on_epoch: EpochHook | None = None, slot: int = 0) -> dict[str, Any]:
    """Train ``cfg`` and write metrics.csv, result.json and model.pt to ``out_dir``; returns the result.
    ``slot`` picks the GPU on a multi-GPU machine (see gpu_slot)."""
    st: Settings = validate(cfg)  # every config error (budget included) before any work
    ts, ds = st.trainer, st.data
    torch.set_num_threads(ts.threads)
    torch.manual_seed(ts.seed)  # initial weights depend only on the seed
    model = mmodel.build(st.model)
    n_params = st.n_params
    log.info("model summary\n%s", mmodel.summary(model))
    device = pick_device(ts.device, slot)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    root = ds.root or str(mdata.default_root())
    data = mdata.load(
        root, val_size=ds.val_size, train_limit=ds.train_limit, split_seed=ds.split_seed,
        device=device, test_limit=ds.test_limit,
    )
    fmt = memory_format(ts)
    model = model.to(device, memory_format=fmt)
    gen = torch.Generator(device=device).manual_seed(ts.seed)
    opt = make_optimizer(model.parameters(), st.optimizer, st.optimizer_kwargs)
    batches = mdata.TrainBatches(
        data.x_train, data.y_train, ds.batch_size, gen,
        rotate_deg=ds.rotate_deg, translate=ds.translate, scale=ds.scale, memory_format=fmt,
    )
    sched, per_step = make_scheduler(opt, st.scheduler, st.scheduler_kwargs, ts.max_epochs, len(batches))
    show = ts.progress == "True" or (ts.progress == "auto" and sys.stderr.isatty())
    log.info(
        "training %s params on %d images (val %d, test %d) for %d epochs on %s",
        f"{n_params:,}", len(data.y_train), ds.val_size, len(data.y_test), ts.max_epochs, device,
    )

    rows: list[dict[str, Any]] = []
    t_start = time.perf_counter()

    def summarize(status: str) -> dict[str, Any]:
        return results.summarize(
            rows, select_on=ts.select_on, target_acc=ts.target_acc, n_params=n_params, status=status,
            wall_s=time.perf_counter() - t_start, seed=ts.seed, device=str(device), threads=ts.threads,
        )
    for epoch in range(1, ts.max_epochs + 1):
        t0 = time.perf_counter()
        lr = opt.param_groups[0]["lr"]
        train_loss, train_acc, ips = train_epoch(
            model, opt, batches, sched=sched, per_step=per_step, label_smoothing=ts.label_smoothing,
            show=show, desc=f"epoch {epoch}/{ts.max_epochs}",
        )
        val_loss, val_acc = (
            evaluate(model, data.x_val, data.y_val, ds.eval_batch_size, fmt) if data.x_val is not None else (math.nan, math.nan)
        )
        test_loss, test_acc = evaluate(model, data.x_test, data.y_test, ds.eval_batch_size, fmt)
        rows.append(dict(
            epoch=epoch, lr=lr, train_loss=train_loss, train_acc=train_acc, val_loss=val_loss, val_acc=val_acc,
            test_loss=test_loss, test_acc=test_acc, epoch_s=time.perf_counter() - t0, images_per_s=ips,
        ))
        results.write_metrics(out_dir, rows)
        log.info(
            "epoch %2d/%d  loss %.4f  train %.4f  val %s  test %.4f  lr %.5f  %.0f img/s  %.1fs",
            epoch, ts.max_epochs, train_loss, train_acc, "-" if math.isnan(val_acc) else f"{val_acc:.4f}", test_acc, lr,
            ips, rows[-1]["epoch_s"],
        )
        if on_epoch is not None:
            try:
                on_epoch(epoch, rows[-1][f"{ts.select_on}_acc"])
            except optuna.TrialPruned:
                results.write(out_dir, summarize("pruned"))
                raise

    result = summarize("complete")
    plots.curves(pd.DataFrame(rows), out_dir / "curves.png", f"{n_params:,} parameters")
    if ts.save_checkpoint:
        cpu_state = {k: v.detach().cpu() for k, v in model.state_dict().items()}  # loads on any machine
        results.atomic_write(out_dir / "model.pt", lambda p: torch.save(cpu_state, p))
    results.write(out_dir, result)
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m mnist_sweep.train``: the entry point lives in mnist_sweep.cli."""
    from mnist_sweep import cli

    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
