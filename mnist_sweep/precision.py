"""``trainer.precision``: fp32, bf16 autocast, or ``auto`` (bf16 only where this run's training
steps are faster with it on this machine).

``auto`` measures the run's own workload, not a stand-in: a fixed probe net said bf16 was 1.3-1.8x
faster on an AMD EPYC where a whole ``tiny`` trial was not faster at all (BENCHMARKS.md). A CPU
without bf16 instructions (no ``avx512_bf16``/``amx_bf16``) is fp32 without a measurement, as is
a GPU without bf16; otherwise ``measure`` times real training steps of copies of the run's model
(same device, memory format and thread count), with the run's optimizer kind and batches from the
run's own input pipeline (augmentation included), fp32 and bf16 in alternating blocks timed in
CPU time, the median of the paired ratios.
bf16 is picked when it is at least ``MIN_SPEEDUP`` faster. The decision is cached per machine and
per workload (the model's architecture but not its dropout rates, batch size, threads, memory
format, optimizer, augmentation), so the same machine always trains a config the same way (``reproduce`` stays
exact) and different models get their own decisions. The measurement works on copies inside
``torch.random.fork_rng``: the run's weights, optimizer and random stream are untouched, so a run
that measured trains bit-identically to one that read the cache.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import os
import platform
import re
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger("mnist_sweep.precision")

CACHE_ENV = "MNIST_SWEEP_CACHE"  # where decisions are kept (default ~/.cache/mnist_sweep)
# bf16 only for a clear gain (was 1.1): evaluation stays fp32, so a trial gains a little less than
# its training steps; on a 2-core EPYC mostly shared with another job eight measurements of `tiny`, whose
# whole trial was not faster in bf16 (BENCHMARKS.md), ranged 0.90-1.14x, and 1.1 let one of them
# pick bf16; and bf16's rounding is one more thing that differs between machines.
MIN_SPEEDUP = 1.15
# Timed steps per precision, in PAIRS blocks that alternate fp32 and bf16, after WARMUP untimed
# steps of each; the speedup is the median of the PAIRS per-block ratios: a neighbour whose load
# changes during the measurement slows both blocks of a pair alike (best-of-two rounds of 30
# steps, before, flipped best_20k's decision between 1.07x and 1.35x on a shared machine).
STEPS, WARMUP, PAIRS = 60, 3, 6
BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@dataclass
class Workload:
    """What a run trains, for ``auto`` to measure (on copies) and to key its decision by."""

    model: nn.Module  # the built model, on the run's device and in its memory format
    optimizer: Callable[[Iterator[nn.Parameter]], torch.optim.Optimizer]  # the run's kind, for any parameters
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]]  # the run's pipeline, with its own generator
    threads: int  # torch CPU threads the run trains with
    what: dict[str, Any] = field(default_factory=dict)  # the rest of the key: batch size, optimizer, ...

    def describe(self) -> dict[str, Any]:
        """Everything a measurement depends on besides the machine: the cache key's contents."""
        return {"model": architecture(self.model), "threads": self.threads, **self.what}

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.describe(), sort_keys=True).encode()).hexdigest()[:16]


def architecture(model: nn.Module) -> str:
    """``str(model)`` with each dropout rate written as on or off: a step's cost does not depend on
    the rate (a mask is drawn per element at any p > 0), so a search's trials that differ only in
    dropout share one decision instead of measuring again (about 6 s a trial)."""
    return re.sub(r"(Dropout\w*\(p=)([0-9.e+-]+)", lambda m: m[1] + ("off" if float(m[2]) == 0 else "on"), str(model))


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "mnist_sweep")


def cpu_identity() -> tuple[str, set[str]]:
    """(model name, flags) of this CPU from /proc/cpuinfo (platform's name elsewhere)."""
    name, flags = platform.processor() or platform.machine(), set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                name = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    return name, flags


def machine_key(device: torch.device) -> str:
    """What a decision depends on: the processor (or GPU), its instruction set and torch's version."""
    if device.type == "cuda":
        what = f"cuda|{torch.cuda.get_device_name(device)}|{torch.__version__}"
    else:
        name, flags = cpu_identity()
        what = f"cpu|{name}|{' '.join(sorted(f for f in flags if 'bf16' in f or 'avx512' in f or 'amx' in f))}|{torch.__version__}"
    return hashlib.sha256(what.encode()).hexdigest()[:16]


def measure(device: torch.device, work: Workload, steps: int = STEPS, warmup: int = WARMUP) -> dict[str, float]:
    """Images/s of ``work``'s training steps in fp32 and in bf16 autocast on ``device``, with its
    thread count. Copies only, and the global random state and thread count are restored: a run
    that measured trains like one that read the cache."""
    threads = torch.get_num_threads()
    torch.set_num_threads(work.threads)
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            return _rates(device, work, steps, warmup)
    finally:
        torch.set_num_threads(threads)


def _endless(batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    while True:
        yield from batches


def _rates(device: torch.device, work: Workload, steps: int, warmup: int) -> dict[str, float]:
    """Median images/s of each precision and the median of the paired per-block ratios."""
    batches = _endless(work.batches)
    runs = {}
    for name in ("fp32", "bf16"):
        net = copy.deepcopy(work.model).train()  # the run's weights, buffers and memory format
        runs[name] = (net, work.optimizer(net.parameters()))
        _block(runs[name], name, device, batches, warmup)
    per = max(1, steps // PAIRS)
    rates: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for i in range(PAIRS):
        for name in (("fp32", "bf16") if i % 2 == 0 else ("bf16", "fp32")):  # neither always goes first
            rates[name].append(_block(runs[name], name, device, batches, per))
    ratios = [b / f for f, b in zip(rates["fp32"], rates["bf16"])]
    return {"fp32": statistics.median(rates["fp32"]), "bf16": statistics.median(rates["bf16"]),
            "speedup": statistics.median(ratios)}


def _block(run: tuple[nn.Module, torch.optim.Optimizer], name: str, device: torch.device,
           batches: Iterator[tuple[torch.Tensor, torch.Tensor]], steps: int) -> float:
    """Images/s of ``steps`` training steps (the input pipeline included: it is part of every step)."""
    net, opt = run
    clock = _clock(device)
    _sync(device)
    seen, t0 = 0, clock()
    for _ in range(steps):
        x, y = next(batches)
        with autocast(name, device):
            loss = F.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += len(y)
    _sync(device)
    return seen / max(clock() - t0, 1e-9)


def _clock(device: torch.device) -> Callable[[], float]:
    """On a CPU, this process's CPU time: what the steps cost, whatever else the machine runs
    (wall time on a shared 2-core machine varied by a third between blocks); on a GPU, wall time."""
    return time.perf_counter if device.type == "cuda" else time.process_time


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _decide(device: torch.device, work: Workload) -> dict:
    """A fresh decision for ``work`` on ``device``: why, and the measured rates where measured."""
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return {"precision": "fp32", "why": "this GPU does not support bf16"}
    if device.type == "cpu" and not (set(BF16_FLAGS) & cpu_identity()[1]):
        return {"precision": "fp32", "why": "this CPU has no bf16 instructions (avx512_bf16, amx_bf16)"}
    log.info("precision auto: timing this model's training steps in fp32 and bf16 (once per model and machine)")
    rates = measure(device, work)
    speedup = rates.get("speedup") or rates["bf16"] / rates["fp32"]
    return {"precision": "bf16" if speedup >= MIN_SPEEDUP else "fp32", "speedup": round(speedup, 3),
            "why": f"measured bf16 at {speedup:.2f}x fp32 on this run's training steps (bf16 when >= {MIN_SPEEDUP}x)",
            "images_per_s": {k: round(v, 1) for k, v in rates.items() if k in ("fp32", "bf16")}}


def auto_decision(device: torch.device, work: Workload) -> dict:
    """This machine's decision for ``trainer.precision=auto`` on ``work``, measured once and cached."""
    path = cache_dir() / f"precision-{device.type}-{machine_key(device)}-{work.key()}.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        cached = json.loads(path.read_text())
        if cached["precision"] in ("fp32", "bf16"):
            return cached
    decision = {**_decide(device, work), "workload": work.describe()}
    with contextlib.suppress(OSError):  # an unwritable cache only costs a measurement next time
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(decision, indent=2) + "\n")
        os.replace(tmp, path)
    return decision


def resolve(requested: str, device: torch.device, work: Workload | None = None) -> str:
    """fp32 or bf16: what ``trainer.precision`` means on ``device`` for the run ``work`` (which
    only ``auto`` needs; fp32 and bf16 are taken as asked, with no measurement)."""
    if requested in ("fp32", "bf16"):
        return requested
    if work is None:
        raise ValueError("trainer.precision=auto needs the run's workload to measure")
    return auto_decision(device, work)["precision"]


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast for ``precision == "bf16"``, else nothing (fp32 stays exact)."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
