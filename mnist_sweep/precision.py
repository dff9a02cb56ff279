"""``trainer.precision``: fp32, bf16 autocast, or ``auto`` (bf16 only where this machine trains
faster with it).

``auto`` decides once per machine and keeps the decision in a cache file, so the same machine
always trains a config the same way (``reproduce`` stays exact). A CPU without bf16 instructions
(no ``avx512_bf16``/``amx_bf16``) is fp32 without a measurement; otherwise a short measurement
(a few dozen training steps of a small CNN, fp32 against bf16, one thread) picks bf16 when it is
at least ``MIN_SPEEDUP`` faster. A CUDA device is measured the same way when it supports bf16.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

CACHE_ENV = "MNIST_SWEEP_CACHE"  # where decisions are kept (default ~/.cache/mnist_sweep)
MIN_SPEEDUP = 1.1
BF16_FLAGS = ("amx_bf16", "avx512_bf16")


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


def _probe_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 12, 3), nn.ReLU(), nn.BatchNorm2d(12), nn.Conv2d(12, 16, 3), nn.ReLU(),
                         nn.BatchNorm2d(16), nn.MaxPool2d(2), nn.Conv2d(16, 16, 3), nn.ReLU(), nn.BatchNorm2d(16),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


def measure(device: torch.device, steps: int = 30, batch: int = 128) -> dict[str, float]:
    """Images/s of training steps in fp32 and in bf16 autocast on ``device`` (one thread on a CPU).
    The global random state is restored: a run that measured trains like one that read the cache."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            return _rates(device, steps, batch)
    finally:
        torch.set_num_threads(threads)


def _rates(device: torch.device, steps: int, batch: int) -> dict[str, float]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 1, 28, 28, generator=gen).to(device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), generator=gen).to(device)
    rates: dict[str, float] = {}
    for name in ("fp32", "bf16", "fp32", "bf16"):  # interleaved: a busy neighbour slows both alike
        net = _probe_net().to(device, memory_format=torch.channels_last)
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        for i in range(steps + 3):
            if i == 3:
                _sync(device)
                t0 = time.perf_counter()
            with autocast(name, device):
                loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        _sync(device)
        rates[name] = max(rates.get(name, 0.0), steps * batch / (time.perf_counter() - t0))
    return rates


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _decide(device: torch.device) -> dict:
    """A fresh decision for ``device``: why, and the measured rates where a measurement was made."""
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return {"precision": "fp32", "why": "this GPU does not support bf16"}
    if device.type == "cpu" and not (set(BF16_FLAGS) & cpu_identity()[1]):
        return {"precision": "fp32", "why": "this CPU has no bf16 instructions (avx512_bf16, amx_bf16)"}
    rates = measure(device)
    speedup = rates["bf16"] / rates["fp32"]
    return {"precision": "bf16" if speedup >= MIN_SPEEDUP else "fp32", "speedup": round(speedup, 3),
            "why": f"measured bf16 at {speedup:.2f}x fp32 (bf16 when >= {MIN_SPEEDUP}x)", "images_per_s": rates}


def auto_decision(device: torch.device) -> dict:
    """This machine's decision for ``trainer.precision=auto``, measured once and cached."""
    path = cache_dir() / f"precision-{device.type}-{machine_key(device)}.json"
    with contextlib.suppress(OSError, ValueError, KeyError):
        cached = json.loads(path.read_text())
        if cached["precision"] in ("fp32", "bf16"):
            return cached
    decision = _decide(device)
    with contextlib.suppress(OSError):  # an unwritable cache only costs a measurement next time
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(decision, indent=2) + "\n")
        os.replace(tmp, path)
    return decision


def resolve(requested: str, device: torch.device) -> str:
    """fp32 or bf16: what ``trainer.precision`` means on ``device``."""
    if requested in ("fp32", "bf16"):
        return requested
    return auto_decision(device)["precision"]


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast for ``precision == "bf16"``, else nothing (fp32 stays exact)."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()

