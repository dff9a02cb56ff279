"""Training steps with torch's dropout against trainer.fast_dropout's BitsDropout, and with none.

For each shipped experiment's model: real training steps (its batch size, SGD, channels_last, one
thread, fp32 and bf16 autocast), the two dropout kinds interleaved round by round so that a
neighbour's load falls on both alike; CPU time per step (``time.process_time``), median of rounds.
``p=0`` is the same model without dropout: the most any dropout can cost.

    .venv/bin/python bench/dropout.py [--experiments best_20k small_8k tiny] [--rounds 5] [--steps 30]
"""
from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import time

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir

from mnist_sweep import PROJECT_ROOT
from mnist_sweep import model as mmodel
from mnist_sweep import precision as mprecision
from mnist_sweep.config.settings import validate


def ms_per_step(net: torch.nn.Module, batch: int, steps: int, precision: str) -> float:
    net = net.to(memory_format=torch.channels_last).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    for i in range(steps + 3):  # three warm-up steps
        if i == 3:
            t0 = time.process_time()
        with mprecision.autocast(precision, torch.device("cpu")):
            loss = F.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return (time.process_time() - t0) / steps * 1e3


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--experiments", nargs="+", default=["best_20k", "small_8k", "tiny"])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {mprecision.cpu_identity()[0] or platform.machine()}, one thread, "
          f"{args.rounds} rounds x {args.steps} steps, CPU ms per training step (median of rounds)")
    for name in args.experiments:
        with initialize_config_dir(version_base="1.3", config_dir=str(PROJECT_ROOT / "conf")):
            st = validate(compose("config", overrides=[f"+experiment={name}"]))
        spec, batch = st.model, st.data.batch_size
        none = dataclasses.replace(spec, dropout=tuple(0.0 for _ in spec.dropout))
        for precision in args.precisions:
            times: dict[str, list[float]] = {"torch": [], "fast": [], "p=0": []}
            for _ in range(args.rounds):
                for kind, net in (("torch", mmodel.build(spec)), ("fast", mmodel.build(spec, fast_dropout=True)),
                                  ("p=0", mmodel.build(none))):
                    times[kind].append(ms_per_step(net, batch, args.steps, precision))
            med = {k: statistics.median(v) for k, v in times.items()}
            print(f"  {name:9s} {precision}  batch {batch}: torch's dropout {med['torch']:6.1f} ms, fast "
                  f"{med['fast']:6.1f} ms, p=0 {med['p=0']:6.1f} ms; speedup {med['torch'] / med['fast']:.2f}x "
                  f"(dropout's share of the step: torch's {1 - med['p=0'] / med['torch']:.0%}, "
                  f"fast {1 - med['p=0'] / med['fast']:.0%})")


if __name__ == "__main__":
    main()
