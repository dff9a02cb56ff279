"""Train one config: ``python -m mnist_sweep.train [overrides]``; ``-m`` runs the Optuna sweep.

The run directory gets ``.hydra/`` (resolved config), ``metrics.csv`` (one row per epoch),
``result.json`` and ``model.pt`` (the final state_dict). The task returns the selection
metric (final-epoch validation accuracy by default) for the sweeper.
"""
from __future__ import annotations

import logging
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import hydra
import optuna
import pandas as pd
import torch
import torch.nn.functional as F
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from mnist_sweep import PROJECT_ROOT
from mnist_sweep import data as mdata
from mnist_sweep import model as mmodel
from mnist_sweep import plots
from mnist_sweep import results
from mnist_sweep.errors import DivergedError, MnistSweepError, unusable_path
from mnist_sweep.trial import EpochHook, gpu_slot, pick_device, pruning_hook, worker_index
from mnist_sweep.settings import DataSettings, TrainerSettings, optimizer_kwargs, scheduler_kwargs

log = logging.getLogger(__name__)


def make_optimizer(params: Any, cfg: dict[str, Any]) -> torch.optim.Optimizer:
    name, kw = optimizer_kwargs(cfg)
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name]
    return cls(params, **kw)


def make_scheduler(
    opt: torch.optim.Optimizer, cfg: dict[str, Any], epochs: int, steps_per_epoch: int
) -> tuple[torch.optim.lr_scheduler.LRScheduler | None, bool]:
    """(scheduler, steps_per_batch): OneCycle and cosine step every batch, StepLR every epoch."""
    name, kw = scheduler_kwargs(cfg)
    total = epochs * steps_per_epoch
    if name == "onecycle":
        group = opt.param_groups[0]
        cycle_momentum = group.get("momentum", 0) > 0 or "betas" in group
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


def batches(n: int, batch_size: int) -> list[tuple[int, int]]:
    """Batch bounds; a trailing batch of one sample is dropped (BatchNorm cannot train on it)."""
    return [(i, min(i + batch_size, n)) for i in range(0, n, batch_size) if min(i + batch_size, n) - i > 1]


def train_epoch(model, opt, sched, per_step, data, ds, ts, gen, bar_desc) -> tuple[float, float, float]:
    """One pass over the shuffled training tensors; returns (loss, accuracy, images/s)."""
    model.train()
    n = len(data.y_train)
    perm = torch.randperm(n, generator=gen, device=data.x_train.device)
    loss_sum = torch.zeros((), device=data.x_train.device)
    correct = torch.zeros((), device=data.x_train.device, dtype=torch.long)
    seen, t0 = 0, time.perf_counter()
    show = ts.progress == "True" or (ts.progress == "auto" and sys.stderr.isatty())
    bounds = batches(n, ds.batch_size)
    bar = tqdm(bounds, desc=bar_desc, leave=False, disable=not show, unit="batch")
    for step, (lo, hi) in enumerate(bar):
        idx = perm[lo:hi]
        x = mdata.augment(
            data.x_train[idx].float().div_(255.0), gen, rotate_deg=ds.rotate_deg, translate=ds.translate, scale=ds.scale
        )
        y = data.y_train[idx]
        out = model(mdata.normalize(x).contiguous(memory_format=memory_format(ts)))
        loss = F.cross_entropy(out, y, label_smoothing=ts.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sched is not None and per_step:
            sched.step()
        loss_sum += loss.detach() * (hi - lo)
        correct += (out.argmax(1) == y).sum()
        seen += hi - lo
        if step % 50 == 0 or step == len(bounds) - 1:  # the last step too: no NaN slips into a result
            running = loss_sum.item() / seen
            if not math.isfinite(running):
                raise DivergedError(f"training loss became {running} at step {step}; lower optimizer.lr or check the config")
            bar.set_postfix(loss=f"{running:.4f}", img_s=f"{seen / (time.perf_counter() - t0):.0f}")
    if sched is not None and not per_step:
        sched.step()
    return loss_sum.item() / seen, correct.item() / seen, seen / (time.perf_counter() - t0)


def settings(cfg: DictConfig) -> tuple[TrainerSettings, DataSettings, dict, dict, dict]:
    """Every section validated and typed: (trainer, data, model, optimizer, scheduler)."""
    ts = TrainerSettings.from_cfg(cfg.trainer)
    ds = DataSettings.from_cfg(cfg.data)
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    opt_cfg = OmegaConf.to_container(cfg.optimizer, resolve=True)
    sched_cfg = OmegaConf.to_container(cfg.scheduler, resolve=True)
    optimizer_kwargs(opt_cfg), scheduler_kwargs(sched_cfg), mmodel.spec_from_config(model_cfg)
    return ts, ds, model_cfg, opt_cfg, sched_cfg


def precheck(cfg: DictConfig) -> dict[str, Any]:
    """Validate every section and the model budget without training; the sweeper calls this
    before launching a candidate. Returns what to record about it."""
    model_cfg = settings(cfg)[2]
    return {"params": mmodel.count_params(mmodel.build(model_cfg))}


def train(cfg: DictConfig, out_dir: Path, on_epoch: EpochHook | None = None, slot: int = 0) -> dict[str, Any]:
    """Train ``cfg`` and write metrics.csv, result.json and model.pt to ``out_dir``; returns the result.
    ``slot`` picks the GPU on a multi-GPU machine (see gpu_slot)."""
    ts, ds, model_cfg, opt_cfg, sched_cfg = settings(cfg)  # every config error before any work
    torch.set_num_threads(ts.threads)
    torch.manual_seed(ts.seed)  # initial weights depend only on the seed
    model = mmodel.build(model_cfg)  # raises ParamBudgetExceeded before any data is loaded
    n_params = mmodel.count_params(model)
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
    opt = make_optimizer(model.parameters(), opt_cfg)
    steps = len(batches(len(data.y_train), ds.batch_size))
    sched, per_step = make_scheduler(opt, sched_cfg, ts.max_epochs, steps)
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
            model, opt, sched, per_step, data, ds, ts, gen, f"epoch {epoch}/{ts.max_epochs}"
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
            "epoch %2d/%d  loss %.4f  train %.4f  val %.4f  test %.4f  lr %.5f  %.0f img/s  %.1fs",
            epoch, ts.max_epochs, train_loss, train_acc, val_acc, test_acc, lr, ips, rows[-1]["epoch_s"],
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


@hydra.main(version_base="1.3", config_path=str(PROJECT_ROOT / "conf"), config_name="config")
def main(cfg: DictConfig) -> float:
    hc = HydraConfig.get()
    out_dir = Path(hc.runtime.output_dir)
    try:
        hook, slot = None, 0
        if hc.mode == RunMode.MULTIRUN:
            hook = pruning_hook(hc.sweeper, int(cfg.trainer.max_epochs))
            slot = gpu_slot(hc.job.num, hc.sweeper.get("n_jobs") or 1, worker_index())
        result = train(cfg, out_dir, on_epoch=hook, slot=slot)
        objectives = TrainerSettings.from_cfg(cfg.trainer).objectives
        return [float(result[o]) for o in objectives] if objectives else result["value"]
    except MnistSweepError as e:
        if hc.mode == RunMode.MULTIRUN:
            raise  # the sweeper records the trial as failed/rejected and goes on
        log.debug("run failed", exc_info=True)
        if not (out_dir / "metrics.csv").exists():  # failed before any epoch: leave nothing behind
            shutil.rmtree(out_dir, ignore_errors=True)
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)


class OutputDirCheck(Callback):
    """Hydra callback: stop with one line, before any work, when the run or sweep dir cannot be written."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _check_writable(config.hydra.run.dir, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _check_writable(config.hydra.sweep.dir, "hydra.sweep.dir")


def _check_writable(path: str, key: str) -> None:
    d = Path(path)
    existed = d.exists()
    try:
        d.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=d, prefix=".write-test-"):  # unique: workers may start together
            pass
    except OSError as e:
        if not existed and d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
        print(f"error: {unusable_path(e, key)}", file=sys.stderr)
        sys.exit(2)


def _one_line(message: str) -> str:
    """Hydra's multi-line composition errors as one line (option lists joined, search path dropped)."""
    parts: list[str] = []
    for line in message.splitlines():
        if line.startswith(("Config search path", "Set the environment variable HYDRA_FULL_ERROR")):
            break
        if line.startswith("\t") and parts:
            parts[-1] += (", " if not parts[-1].endswith(":") else " ") + line.strip()
        elif line.strip() and not line.startswith("    "):
            parts.append(line.strip().rstrip("."))
    return "; ".join(parts)


def override_error(argv: list[str]) -> str | None:
    """One line for the first command-line override Hydra would refuse (syntax, unknown option of a
    config group, unknown key), found by composing the plain overrides once up front; else None."""
    from hydra import compose, initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    parser = OverridesParser.create()
    plain = []
    for arg in argv:
        if arg.startswith(("--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd")):
            return None  # a saved config (reproduce, confirm): Hydra reports on it itself
        if "=" not in arg or arg.startswith("-"):
            continue
        try:
            (override,) = parser.parse_overrides([arg])
        except OverrideParseException as e:
            lines = [l.strip() for l in str(e).splitlines() if l.strip() and not l.startswith("See ")]
            return f"{arg}: {lines[-1]}"
        if not override.is_sweep_override():
            plain.append(arg)
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(PROJECT_ROOT / "conf")):
            compose("config", overrides=plain, return_hydra_config=True)
    except Exception as e:  # noqa: BLE001 - any composition error, reported in one line
        return _one_line(str(e)) or type(e).__name__
    return None


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def cli() -> None:
    """``python -m mnist_sweep.train``: one-line errors for malformed overrides, clean interrupts.

    SIGTERM is handled like Ctrl-C: the sweeper marks the trials in flight as lost, rewrites the
    leaderboard and stops its helper workers; finished trials keep their dirs and records.
    """
    bad = override_error(sys.argv[1:])
    if bad:
        print(f"error: {bad}", file=sys.stderr)
        sys.exit(2)
    signal.signal(signal.SIGTERM, _terminate)
    # Call the task through its importable name, so hydra-joblib-launcher pickles it by
    # reference (a function defined in __main__ would be pickled by value, torch and all).
    from mnist_sweep.train import main as task

    try:
        task()
    except KeyboardInterrupt:
        print("interrupted: finished runs and trials are kept; run the same command again to resume", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    cli()
