"""Config to CNN: blocks of conv + ReLU + BatchNorm + Dropout, max-pools where asked, GAP, one Linear.

Every model has the four ingredients of the original assignment (BatchNorm, Dropout, Global
Average Pooling, a fully connected output). Widths, kernels, padding, dropout and block type
are lists with one entry per block (a scalar means "the same for every block"); a kernel of
1 is a 1x1 transition. Block types (mnist_sweep.spec): plain, separable (depthwise +
pointwise conv), se (plain + a squeeze-and-excitation gate) and residual (plain + its input,
where the shapes match). The parameter count is exact and checked against ``max_params``
before any training.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from mnist_sweep.spec import (
    IMAGE_SIZE, IN_CHANNELS, NUM_CLASSES, ModelSpec, check_budget, se_hidden, spec_from_config,
)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: GAP -> 1x1 conv to ``hidden`` -> ReLU -> 1x1 conv back -> sigmoid,
    the result scaling each channel of the input."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1), nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class Residual(nn.Module):
    """``body(x) + x``: the spec admits it only where body keeps the shape (spec.fits_residual)."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + x


class BitsDropout(nn.Dropout):
    """``nn.Dropout`` whose CPU masks come from 16 random bits per element, four per 64-bit draw of
    torch's generator (seeded like torch's), at p rounded to 1/65536: torch draws one number per
    element, about a third of a small net's training step on a CPU. CUDA runs torch's (cheap there)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cut = round(self.p * 65536)
        if not self.training or x.device.type != "cpu" or not 0 < cut < 65536 or not _dense(x):
            return super().forward(x)  # eval: x; p = 0: x; p near 1: torch's
        n = x.numel()
        bits = torch.randint(-2**63, 2**63 - 1, ((n + 3) // 4,), dtype=torch.int64).view(torch.int16)[:n]
        keep = bits.as_strided(x.shape, x.stride()) >= cut - 32768  # P(keep) = 1 - cut / 65536
        mask = keep.to(x.dtype).mul_(65536 / (65536 - cut))
        return x.mul_(mask) if self.inplace else x * mask  # inplace=True: x itself, as torch's


def _dense(x: torch.Tensor) -> bool:
    """``x`` fills its storage in one of its memory formats (a mask laid out with its strides fits)."""
    return x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last)


def _block(kind: str, c_in: int, c_out: int, k: int, p: int, drop: float, bias: bool, se_ratio: int,
           dropout: type[nn.Dropout] = nn.Dropout) -> nn.Module:
    if kind == "separable" and k > 1:
        conv: list[nn.Module] = [
            nn.Conv2d(c_in, c_in, k, padding=p, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=bias),
        ]
    else:
        conv = [nn.Conv2d(c_in, c_out, k, padding=p, bias=bias)]
    body = nn.Sequential(*conv, nn.ReLU(inplace=True), nn.BatchNorm2d(c_out), dropout(drop))
    if kind == "se":
        body.append(SqueezeExcite(c_out, se_hidden(c_out, se_ratio)))
    return Residual(body) if kind == "residual" else body


class Net(nn.Module):
    """Blocks, then Global Average Pooling, then a fully connected layer to the 10 classes."""

    def __init__(self, spec: ModelSpec, fast_dropout: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = IN_CHANNELS
        for i, c_out in enumerate(spec.widths):
            layers.append(
                _block(spec.block[i], c_in, c_out, spec.kernels[i], spec.padding[i], spec.dropout[i], spec.bias,
                       spec.se_ratio, BitsDropout if fast_dropout else nn.Dropout)
            )
            if i in spec.pool_after:
                layers.append(nn.MaxPool2d(2))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.gap(self.features(x)).flatten(1))


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def build(cfg: Mapping[str, Any] | ModelSpec, fast_dropout: bool = False) -> Net:
    """Validated model from a ``model`` config section (or a spec); ParamBudgetExceeded if over
    ``max_params``, checked arithmetically before anything is allocated. ``fast_dropout``:
    BitsDropout (trainer.fast_dropout), the same parameters and outputs in eval mode."""
    spec = cfg if isinstance(cfg, ModelSpec) else spec_from_config(cfg)
    check_budget(spec)
    return Net(spec, fast_dropout)


def summary(model: nn.Module) -> str:
    """torchinfo table: layer, output shape, parameters, total. Its units read as it means them
    ('Total mult-adds (M)'): on Python 3.11+ torchinfo prints its Units enum's name there
    ('(Units.MEGABYTES)')."""
    import re

    import torchinfo
    from torchinfo.enums import Units

    text = str(
        torchinfo.summary(
            model,
            input_size=(1, IN_CHANNELS, IMAGE_SIZE, IMAGE_SIZE),
            col_names=("output_size", "num_params"),
            depth=3,
            verbose=0,
            device="cpu",
        )
    )
    return re.sub(r"\(Units\.([A-Z]+)\)", lambda m: f"({Units[m[1]].value})" if m[1] in Units.__members__ else m[0], text)
