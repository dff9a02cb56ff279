"""The training loop: ``train(settings, out_dir) -> result`` and its helpers.

The run directory gets ``metrics.csv`` (one row per epoch), ``result.json``, ``curves.png`` and
``model.pt`` (the final state_dict); Hydra adds ``.hydra/`` (the resolved config). The entry
point around it (override checks, the Hydra task, one-line errors, signals) is mnist_sweep.cli.
"""
from __future__ import annotations

import io
import logging
import math
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from mnist_sweep import data as mdata, distill, model as mmodel, precision as mprecision, results
from mnist_sweep.config.settings import OptimizerSettings, SchedulerSettings, Settings, validate
from mnist_sweep.errors import DivergedError
from mnist_sweep.text import plural
from mnist_sweep.trial import EpochHook, pick_device

log = logging.getLogger("mnist_sweep.train")


def make_optimizer(params: Any, opt: OptimizerSettings) -> torch.optim.Optimizer:
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[opt.name]
    return cls(params, **opt.kwargs)


@dataclass
class Stepper:
    """The optimizer and its schedule: OneCycle and cosine step every batch, StepLR every epoch."""

    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler | None = None
    per_batch: bool = False
    ema: AveragedModel | None = None  # trainer.ema_decay: an exponential moving average of the weights ...
    ema_of: torch.nn.Module | None = None  # ... of this model's

    def batch_done(self) -> None:
        self.opt.step()
        if self.ema is not None:
            self.ema.update_parameters(self.ema_of)
        if self.sched is not None and self.per_batch:
            self.sched.step()

    def epoch_done(self) -> None:
        if self.sched is not None and not self.per_batch:
            self.sched.step()

    @property
    def lr(self) -> float:
        return self.opt.param_groups[0]["lr"]


def make_scheduler(opt: torch.optim.Optimizer, s: SchedulerSettings, epochs: int, steps_per_epoch: int) -> Stepper:
    total = max(1, epochs * steps_per_epoch)
    kw = dict(s.kwargs)
    if s.name == "onecycle":
        group = opt.param_groups[0]
        if kw["pct_start"] * total == 1.0:
            # A warm-up of exactly one step makes torch's first phase zero steps long
            # (ZeroDivisionError); the next float up gives it a sliver and changes nothing else.
            kw["pct_start"] = math.nextafter(kw["pct_start"], 1.0)
        cycle_momentum = group.get("momentum", 0) > 0 or "betas" in group
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=group["lr"], total_steps=total,
                                                    cycle_momentum=cycle_momentum, **kw)
        return Stepper(opt, sched, per_batch=True)
    if s.name == "cosine":
        return Stepper(opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total, **kw), per_batch=True)
    if s.name == "step":
        return Stepper(opt, torch.optim.lr_scheduler.StepLR(opt, **kw), per_batch=False)
    return Stepper(opt)


def make_ema(model: torch.nn.Module, decay: float | None) -> AveragedModel | None:
    """The EMA copy of ``model`` (BatchNorm statistics averaged too), or None when off (null, or 0:
    a decay of 0 averages nothing, so a sweep can search ``choice(0, 0.99, 0.999)``). It is the
    copy that is evaluated and saved: the deployed net, with the same parameter count."""
    if not decay:
        return None
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


@torch.inference_mode()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int,
             memory_format: torch.memory_format = torch.contiguous_format,
             cast: Callable[[], AbstractContextManager] = nullcontext) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image cross-entropy and correctness of ``model`` on normalized images ``x``, in one pass
    of ``batch_size`` batches."""
    model.eval()
    losses = torch.empty(len(y), device=x.device)
    correct = torch.empty(len(y), device=x.device, dtype=torch.bool)
    for i in range(0, len(y), batch_size):
        with cast():
            out = model(x[i : i + batch_size].contiguous(memory_format=memory_format))
        out = out.float()
        losses[i : i + batch_size] = F.cross_entropy(out, y[i : i + batch_size], reduction="none")
        correct[i : i + batch_size] = out.argmax(1) == y[i : i + batch_size]
    return losses, correct


def split_metrics(losses: torch.Tensor, correct: torch.Tensor, bounds: dict[str, tuple[int, int]]) -> dict[str, float]:
    """``{name}_loss`` and ``{name}_acc`` of each ``name: (start, end)`` slice (nan when it is empty)."""
    out = {}
    for name, (a, b) in bounds.items():
        n = b - a
        out[f"{name}_loss"] = losses[a:b].sum().item() / n if n else math.nan
        out[f"{name}_acc"] = correct[a:b].sum().item() / n if n else math.nan
    return out


def train_epoch(model: torch.nn.Module, stepper: Stepper, batches: mdata.TrainBatches, loss_fn: distill.LossFn,
                bar: tqdm, cast: Callable[[], AbstractContextManager] = nullcontext) -> tuple[float, float, float]:
    """One pass over the epoch's batches (``loss_fn``: distill.criterion's); returns (loss, accuracy, images/s)."""
    model.train()
    loss_sum = torch.zeros((), device=batches.y.device)
    correct = torch.zeros((), device=batches.y.device, dtype=torch.long)
    seen, t0 = 0, time.perf_counter()
    for step, (x, y) in enumerate(batches):
        with cast():
            out = model(x)
            loss = loss_fn(out, x, y)
        stepper.opt.zero_grad(set_to_none=True)
        loss.backward()
        stepper.batch_done()
        loss_sum += loss.detach() * len(y)
        correct += (out.argmax(1) == y).sum()
        seen += len(y)
        bar.update()
        if step % 50 == 0 or step == len(batches) - 1:  # the last step too: no NaN slips into a result
            running = loss_sum.item() / seen
            if not math.isfinite(running):
                raise DivergedError(f"training loss became {running} at step {step}")  # train() says of which epoch
            bar.set_postfix(loss=f"{running:.4f}", img_s=f"{seen / (time.perf_counter() - t0):.0f}")
    stepper.epoch_done()
    return loss_sum.item() / seen, correct.item() / seen, seen / (time.perf_counter() - t0)


def precheck(cfg: Any) -> dict[str, Any]:
    """The sweeper's check before it launches a candidate: every section and the budget, nothing
    allocated. Returns what to record about the candidate."""
    return {"params": validate(cfg).n_params}


@dataclass
class Setup:
    """What one run trains with, built from its Settings."""

    model: torch.nn.Module
    batches: mdata.TrainBatches
    stepper: Stepper
    device: torch.device
    fmt: torch.memory_format
    precision: str  # fp32 | bf16: what trainer.precision resolved to on this machine
    evals: dict[str, tuple[torch.Tensor, torch.Tensor]]  # "val" and "test": images and labels, each its own batches
    teacher: distill.Teacher | None = None  # trainer.teacher, loaded on the device

    @property
    def deployed(self) -> torch.nn.Module:
        """What is evaluated and saved: the EMA copy when trainer.ema_decay is set, else the model."""
        return self.stepper.ema.module if self.stepper.ema is not None else self.model

    def cast(self) -> AbstractContextManager:
        return mprecision.autocast(self.precision, self.device)


def _workload(st: Settings, model: torch.nn.Module, data: mdata.Splits, fmt: torch.memory_format) -> mprecision.Workload:
    """This run's training steps for trainer.precision=auto to time: its model (copied there), its
    optimizer kind and input pipeline, on batches of its own generator (the run's is not drawn from)."""
    ds = st.data
    gen = torch.Generator(device=data.x_train.device).manual_seed(0)
    batches = mdata.TrainBatches(data.x_train, data.y_train, ds.batch_size, gen, rotate_deg=ds.rotate_deg,
                                 translate=ds.translate, scale=ds.scale, memory_format=fmt)
    augment = bool(ds.rotate_deg or ds.translate or ds.scale)
    return mprecision.Workload(model, lambda p: make_optimizer(p, st.optimizer), batches, st.trainer.threads,
                               {"optimizer": st.optimizer.name, "batch_size": ds.batch_size,
                                "channels_last": st.trainer.channels_last, "augment": augment})


def setup(st: Settings, slot: int) -> Setup:
    """Seeded model, data on the device, batches, optimizer and schedule."""
    ts, ds = st.trainer, st.data
    device = pick_device(ts.device, slot)
    torch.set_num_threads(ts.threads)
    fmt = torch.channels_last if ts.channels_last else torch.contiguous_format  # NHWC: ~15% faster on CPU
    teacher = distill.load(st, device, fmt)  # first: a refusal before any work; its weights drawn before the seed
    # The data first: missing files are one error line, not one after the model summary (the
    # split has its own generator, so the global RNG the weights come from is untouched).
    data = mdata.load(ds.root or str(mdata.default_root()), val_size=ds.val_size, train_limit=ds.train_limit,
                      split_seed=ds.split_seed, device=device, test_limit=ds.test_limit)
    torch.manual_seed(ts.seed)  # initial weights depend only on the seed
    model = mmodel.build(st.model, fast_dropout=st.trainer.fast_dropout)
    log.info("model summary\n%s", mmodel.summary(model))
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    model = model.to(device, memory_format=fmt)
    gen = torch.Generator(device=device).manual_seed(ts.seed)
    batches = mdata.TrainBatches(data.x_train, data.y_train, ds.batch_size, gen, rotate_deg=ds.rotate_deg,
                                 translate=ds.translate, scale=ds.scale, memory_format=fmt)
    stepper = make_scheduler(make_optimizer(model.parameters(), st.optimizer), st.scheduler, ts.max_epochs, len(batches))
    stepper.ema, stepper.ema_of = make_ema(model, ts.ema_decay), model
    val = (data.x_val, data.y_val) if data.y_val is not None else (data.x_test[:0], data.y_test[:0])
    precision = mprecision.resolve(ts.precision, device, _workload(st, model, data, fmt))  # auto: on copies
    return Setup(model, batches, stepper, device, fmt, precision, {"val": val, "test": (data.x_test, data.y_test)}, teacher)


def epoch_row(s: Setup, st: Settings, epoch: int, bar: tqdm) -> dict[str, Any]:
    """Train one epoch, evaluate (the test set too unless it waits for the final epoch), and
    return the epoch's metrics row."""
    t0, lr, loss = time.perf_counter(), s.stepper.lr, distill.criterion(st.trainer.label_smoothing, s.teacher)
    train_loss, train_acc, ips = train_epoch(s.model, s.stepper, s.batches, loss, bar, s.cast)
    train_s = time.perf_counter() - t0
    with_test = st.trainer.test_every_epoch or epoch == st.trainer.max_epochs
    test = eval_part(s, st, "test") if with_test else {"test_loss": math.nan, "test_acc": math.nan}
    m = {**eval_part(s, st, "val"), **test}
    return dict(epoch=epoch, lr=lr, train_loss=train_loss, train_acc=train_acc, **m,
                epoch_s=time.perf_counter() - t0, train_s=train_s, images_per_s=ips)


def final_test(s: Setup, st: Settings, row: dict[str, Any]) -> dict[str, float]:
    """The test metrics of the epoch a run stops at, evaluated now if that epoch skipped them."""
    if not math.isnan(row["test_acc"]) or not len(s.evals["test"][1]):
        return {}
    return eval_part(s, st, "test")


def eval_part(s: Setup, st: Settings, name: str) -> dict[str, float]:
    """``{name}_loss`` and ``{name}_acc`` of the val or the test images, each part batched from its
    own first image: ``predict --test`` batches the test images as training did, on any CPU."""
    x, y = s.evals[name]
    losses, correct = evaluate(s.deployed, x, y, st.data.eval_batch_size, s.fmt)
    return split_metrics(losses, correct, {name: (0, len(y))})


def _acc(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.4f}"


def train(run: Settings | Any, out_dir: Path, on_epoch: EpochHook | None = None, slot: int = 0) -> dict[str, Any]:
    """Train ``run`` (its validated Settings, or a config to validate) and write metrics.csv,
    result.json, curves.png and model.pt (each unless switched off) to ``out_dir``; returns the result. ``slot`` picks the
    GPU on a multi-GPU machine (see trial.gpu_slot)."""
    st = run if isinstance(run, Settings) else validate(run)  # every config error before any work
    ts, out_dir = st.trainer, Path(out_dir)
    s = setup(st, slot)
    log.info("training %s params on %d images (val %d, test %d) for %s on %s (%s)", f"{st.n_params:,}",
             len(s.batches.y), len(s.evals["val"][1]), len(s.evals["test"][1]), plural(ts.max_epochs, 'epoch'), s.device, s.precision)
    info = results.RunInfo(select_on=ts.select_on, target_acc=ts.target_acc, n_params=st.n_params, seed=ts.seed,
                           device=str(s.device), threads=ts.threads, precision=s.precision,
                           test_every_epoch=ts.test_every_epoch, teacher=distill.record(s.teacher))
    rows: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    for epoch in range(1, ts.max_epochs + 1):
        with tqdm(total=len(s.batches), desc=f"epoch {epoch}/{ts.max_epochs}", leave=False, unit="batch",
                  disable=not ts.show_progress(sys.stderr.isatty())) as bar:
            try:
                rows.append(epoch_row(s, st, epoch, bar))
            except DivergedError as e:  # logged where epochs are kept: the run dir says why it stopped
                e.args = (f"optimizer.lr: {e} of epoch {epoch} (optimizer.lr={st.optimizer.kwargs['lr']:g}); lower it or "
                          f"check the config{f' (epochs 1-{epoch - 1} are in metrics.csv)' if rows else ''}",)
                if rows:
                    log.error("%s", e)
                raise
        results.write_metrics(out_dir, rows)
        r = rows[-1]
        log.info("epoch %2d/%d  loss %.4f  train %.4f  val %s  test %s  lr %.5f  %.0f img/s  %.1fs",
                 epoch, ts.max_epochs, r["train_loss"], r["train_acc"], _acc(r["val_acc"]), _acc(r["test_acc"]),
                 r["lr"], r["images_per_s"], r["epoch_s"])
        if on_epoch is not None:
            try:
                on_epoch(epoch, r[f"{ts.select_on}_acc"])
            except optuna.TrialPruned:
                rows[-1].update(final_test(s, st, rows[-1]))  # a pruned trial's last epoch is its final one
                results.write_metrics(out_dir, rows)
                results.write(out_dir, results.summarize(rows, info, time.perf_counter() - t_start, "pruned"))
                raise
    result = results.summarize(rows, info, time.perf_counter() - t_start, "complete")
    if ts.save_curves:  # matplotlib imported only here: about 0.5 s of a run's start otherwise
        from mnist_sweep import plots
        plots.curves(pd.DataFrame(rows), out_dir / "curves.png", f"{st.n_params:,} parameters")
    if ts.save_checkpoint:
        cpu_state = {k: v.detach().cpu() for k, v in s.deployed.state_dict().items()}  # loads on any machine
        buf = io.BytesIO()  # saved to memory first: torch's zip writer says a full disk is a RuntimeError
        torch.save(cpu_state, buf)
        results.atomic_write(out_dir / "model.pt", lambda p: p.write_bytes(buf.getvalue()))
    results.write(out_dir, result)
    return result
