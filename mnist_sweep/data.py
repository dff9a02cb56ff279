"""MNIST as tensors for training: each trial's split, normalization, batched augmentation.

The raw IDX files (fetching, SHA-256 verification, reading, the default root) are
``mnist_sweep.mnist_files``; ``load`` takes its once-per-process verified uint8 arrays and
gives each trial its own copies: the seeded train/validation split, the limits, normalized
evaluation images, all on the trial's device. ``TrainBatches`` shuffles and augments the uint8
training images one batch at a time where they are (CPU or GPU). Normalization: pixels (uint8
0-255, white digit on black) divided by 255, then ``(x - MEAN) / STD``.

``python -m mnist_sweep.data fetch|verify [--root DIR]`` is ``mnist_files.main``.
"""
from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from mnist_sweep import mnist_files
from mnist_sweep.mnist_files import (  # noqa: F401 - the file layer's names, kept importable from here
    FIX,
    NPM_PACKAGE,
    SHA256,
    arrays,
    clear_cache,
    default_root,
    fetch,
    raw_dir,
    read_idx,
    verify,
)

MEAN, STD = 0.1307, 0.3081  # MNIST's training-set pixel mean and std, on pixels scaled to [0, 1]
PIXEL_SCALE = 255.0  # uint8 pixels are divided by this before normalization


@dataclass
class Splits:
    """All of MNIST as tensors on one device. Train images stay uint8 (augmented per batch)."""

    x_train: torch.Tensor  # uint8 [N, 1, 28, 28]
    y_train: torch.Tensor
    x_val: torch.Tensor | None  # float, normalized
    y_val: torch.Tensor | None
    x_test: torch.Tensor
    y_test: torch.Tensor


def normalize(x: torch.Tensor) -> torch.Tensor:
    """uint8 or [0, 1] float images to the standard MNIST normalization."""
    if x.dtype == torch.uint8:
        x = x.float().div_(PIXEL_SCALE)
    return (x - MEAN) / STD


def split_indices(n: int, val_size: int, train_limit: int | None, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded, disjoint (train, val) index sets; ``train_limit`` takes a random subset of the rest."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    val, train = perm[:val_size], perm[val_size:]
    if train_limit is not None:
        train = train[:train_limit]
    return train.sort().values, val.sort().values


def load(
    root: str | Path,
    *,
    val_size: int,
    train_limit: int | None,
    split_seed: int,
    device: torch.device,
    test_limit: int | None = None,
) -> Splits:
    """One trial's tensors on ``device``: the IDX files' verified arrays (read and hashed once
    per process and file version, ``mnist_files.arrays``), split, limited and copied, so
    nothing a trial does to its tensors reaches the cache or another trial."""
    x_all, y_all, x_test, y_test = mnist_files.arrays(root)
    tr, va = split_indices(len(x_all), val_size, train_limit, split_seed)
    if test_limit is not None:
        x_test, y_test = x_test[:test_limit], y_test[:test_limit]
    has_val = val_size > 0
    return Splits(
        x_train=x_all[tr].to(device),
        y_train=y_all[tr].to(device),
        x_val=normalize(x_all[va]).to(device) if has_val else None,
        y_val=y_all[va].to(device) if has_val else None,
        x_test=normalize(x_test).to(device),
        y_test=y_test.to(device, copy=True),
    )


def augment(
    x: torch.Tensor,
    gen: torch.Generator,
    *,
    rotate_deg: float,
    translate: float,
    scale: float,
) -> torch.Tensor:
    """Random rotation/translation/scale, drawn per sample, applied to the whole batch at once.

    ``x`` is float in [0, 1] (background 0, so zero padding is correct); ``translate`` is a
    fraction of the image size, ``scale`` the maximum relative zoom.
    """
    if rotate_deg == 0 and translate == 0 and scale == 0:
        return x
    b = x.shape[0]

    def uniform(limit: float) -> torch.Tensor:
        return (torch.rand(b, generator=gen, device=x.device) * 2 - 1) * limit

    angle = uniform(math.radians(rotate_deg))
    s = 1.0 + uniform(scale)
    tx, ty = uniform(2 * translate), uniform(2 * translate)  # grid coordinates span [-1, 1]
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """Batch bounds; a trailing batch of one sample is dropped (BatchNorm cannot train on it).
    The schema keeps data.batch_size in [2, training images], so there is always a batch."""
    return [(i, min(i + batch_size, n)) for i in range(0, n, batch_size) if min(i + batch_size, n) - i > 1]


class TrainBatches:
    """One epoch of training batches, the airbench way: the uint8 tensors stay where they are
    (CPU or GPU), each epoch is a ``randperm`` shuffle, each batch is augmented with one batched
    affine op, normalized and put in the model's memory format. ``for x, y in batches:``.

    Draws from ``gen`` in a fixed order (the shuffle, then each batch's affine parameters), so a
    seed gives the same batches on the same machine."""

    def __init__(
        self, x: torch.Tensor, y: torch.Tensor, batch_size: int, gen: torch.Generator, *,
        rotate_deg: float = 0.0, translate: float = 0.0, scale: float = 0.0,
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> None:
        self.x, self.y, self.gen, self.memory_format = x, y, gen, memory_format
        self.affine = {"rotate_deg": rotate_deg, "translate": translate, "scale": scale}
        self.bounds = batch_bounds(len(y), batch_size)

    def __len__(self) -> int:
        return len(self.bounds)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        perm = torch.randperm(len(self.y), generator=self.gen, device=self.x.device)
        for lo, hi in self.bounds:
            idx = perm[lo:hi]
            x = augment(self.x[idx].float().div_(PIXEL_SCALE), self.gen, **self.affine)
            yield normalize(x).contiguous(memory_format=self.memory_format), self.y[idx]


def main(argv: list[str] | None = None) -> int:
    """``python -m mnist_sweep.data fetch|verify``: the file layer's command."""
    return mnist_files.main(argv, prog="python -m mnist_sweep.data")


if __name__ == "__main__":
    sys.exit(main())
