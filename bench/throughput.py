"""Training images/s: this trainer's tensor pipeline against a conventional DataLoader loop.

Same model, batch size, optimizer, thread count and augmentation strength; only the input
pipeline differs:
- tensors: the trainer's own input pipeline (also in bf16 autocast: trainer.precision=bf16, and with
  trainer.fast_dropout's BitsDropout: the _fastdrop rows), ``mnist_sweep.data.TrainBatches`` (MNIST loaded
  once as uint8 tensors, shuffled with randperm, augmented per sample with one batched
  affine_grid/grid_sample call), in NHWC (channels_last, the trainer's default) and NCHW;
- dataloader: torchvision.datasets.MNIST + per-sample transforms (RandomAffine, ToTensor,
  Normalize) through torch.utils.data.DataLoader, num_workers 0 (same single core) and 1.

    .venv/bin/python bench/throughput.py [--model eva8_seed] [--batches 150] [--threads 1]
"""
from __future__ import annotations

import argparse
import platform
import time

import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from mnist_sweep import data as mdata
from mnist_sweep import model as mmodel
from mnist_sweep import precision as mprecision

ROT, TRANS, SCALE = 8.0, 0.07, 0.07  # conf/data/mnist.yaml at strength 1
WARMUP = 5


def step(model, opt, x, y, fmt=torch.contiguous_format, precision="fp32"):
    with mprecision.autocast(precision, torch.device("cpu")):  # the trainer's own switch (trainer.precision)
        loss = F.cross_entropy(model(x.contiguous(memory_format=fmt)), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def bench_tensors(model, opt, n_batches, bs, fmt, precision="fp32"):
    s = mdata.load(mdata.default_root(), val_size=5000, train_limit=None, split_seed=0, device=torch.device("cpu"))
    batches = mdata.TrainBatches(s.x_train, s.y_train, bs, torch.Generator().manual_seed(0),
                                 rotate_deg=ROT, translate=TRANS, scale=SCALE, memory_format=fmt)
    for i, (x, y) in enumerate(batches):
        if i == WARMUP:
            t0 = time.perf_counter()
        if i == n_batches + WARMUP:
            break
        step(model, opt, x, y, fmt, precision)
    return n_batches * bs / (time.perf_counter() - t0)


def bench_loader(model, opt, n_batches, bs, workers):
    tf = transforms.Compose([
        transforms.RandomAffine(ROT, translate=(TRANS, TRANS), scale=(1 - SCALE, 1 + SCALE)),
        transforms.ToTensor(),
        transforms.Normalize((mdata.MEAN,), (mdata.STD,)),
    ])
    ds = datasets.MNIST(str(mdata.default_root()), train=True, download=False, transform=tf)
    loader = DataLoader(ds, batch_size=bs, shuffle=True, num_workers=workers, generator=torch.Generator().manual_seed(0))
    it = iter(loader)
    for i in range(n_batches + WARMUP):  # start-up (worker spawn) and warm-up are not counted
        if i == WARMUP:
            t0 = time.perf_counter()
        x, y = next(it)
        step(model, opt, x, y)
    return n_batches * bs / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="eva8_seed", help="conf/model/<name>.yaml")
    p.add_argument("--batches", type=int, default=150)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cfg = OmegaConf.create({"model": OmegaConf.load(f"conf/model/{args.model}.yaml")}).model  # for ${model.*}
    results = {}
    nhwc, nchw = torch.channels_last, torch.contiguous_format
    nhwc_run = lambda m, o, precision="fp32": bench_tensors(m.to(memory_format=nhwc), o, args.batches,  # noqa: E731
                                                            args.batch_size, nhwc, precision)
    for name, fn in [("tensors_nhwc", nhwc_run),
                     ("tensors_nhwc_bf16", lambda m, o: nhwc_run(m, o, "bf16")),
                     ("tensors_nhwc_fastdrop", nhwc_run),  # trainer.fast_dropout=true: BitsDropout
                     ("tensors_nhwc_bf16_fastdrop", lambda m, o: nhwc_run(m, o, "bf16")),
                     ("tensors_nchw", lambda m, o: bench_tensors(m, o, args.batches, args.batch_size, nchw)),
                     ("dataloader_w0", lambda m, o: bench_loader(m, o, args.batches, args.batch_size, 0)),
                     ("dataloader_w1", lambda m, o: bench_loader(m, o, args.batches, args.batch_size, 1))]:
        torch.manual_seed(0)
        model = mmodel.build(OmegaConf.to_container(cfg, resolve=True), fast_dropout=name.endswith("_fastdrop"))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        results[name] = fn(model, opt)
    print(f"model {args.model} ({mmodel.count_params(model):,} params), batch {args.batch_size}, "
          f"{args.batches} batches, torch threads {args.threads}, torch {torch.__version__}, {platform.processor() or platform.machine()}")
    for name, ips in results.items():
        print(f"  {name:26s} {ips:8.0f} images/s")
    t = results["tensors_nhwc"]  # the trainer's default path (trainer.channels_last=true)
    print(f"  ratio trainer (tensors, NHWC) / dataloader (0 workers): {t / results['dataloader_w0']:.2f}x")
    print(f"  ratio trainer (tensors, NHWC) / dataloader (1 worker, uses a 2nd core): {t / results['dataloader_w1']:.2f}x")
    print(f"  ratio tensors NCHW / dataloader (0 workers): {results['tensors_nchw'] / results['dataloader_w0']:.2f}x")
    print(f"  ratio bf16 / fp32 (tensors, NHWC): {results['tensors_nhwc_bf16'] / t:.2f}x")
    print(f"  ratio fast dropout / torch's (tensors, NHWC, fp32): {results['tensors_nhwc_fastdrop'] / t:.2f}x; "
          f"bf16: {results['tensors_nhwc_bf16_fastdrop'] / results['tensors_nhwc_bf16']:.2f}x")


if __name__ == "__main__":
    main()
