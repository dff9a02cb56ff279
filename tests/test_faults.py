"""A full disk while a run writes its files (results.atomic_write, the training loop's model.pt):
an OSError naming the file, which the sweep stops on (tests/test_sweeper_faults.py), never another
exception that reads as the config's own failure; nothing half-written is left."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from conftest import TINY
from mnist_sweep import results
from mnist_sweep.training import train


def test_a_full_disk_names_the_file_not_its_temporary(tmp_path):
    """A write error carries no file name (or the temporary's): it was '[Errno 28] No space left on
    device' naming nothing, or '.model.pt.k2j4.tmp'."""
    with pytest.raises(OSError) as e:
        results.atomic_write(tmp_path / "model.pt", lambda p: Path("/dev/full").write_bytes(b"x" * 65536))
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(tmp_path / "model.pt")
    assert list(tmp_path.iterdir()) == []


def test_a_writers_own_oserror_keeps_its_words(tmp_path):
    """An OSError with no errno (PIL's 'cannot write mode RGBA as JPEG') is not renamed: it read
    '[Errno None] None: <path>', its message gone."""
    def refuse(p: Path) -> None:
        raise OSError("cannot write mode RGBA as JPEG")

    with pytest.raises(OSError, match="cannot write mode RGBA as JPEG"):
        results.atomic_write(tmp_path / "a.jpg", refuse)
    assert list(tmp_path.iterdir()) == []


def test_a_checkpoint_on_a_full_disk_is_an_oserror(cfg, tmp_path, monkeypatch):
    """torch's zip writer reported a full disk as RuntimeError ('[enforce fail at inline_container.cc]
    unexpected pos'): the trial was failed as a broken config and the sweep went on."""
    real = results.atomic_write

    def full_for_the_checkpoint(path: Path, write) -> None:  # noqa: ANN001
        if Path(path).name != "model.pt":
            return real(path, write)
        return real(path, lambda p: (write(Path("/dev/full"))))

    monkeypatch.setattr(results, "atomic_write", full_for_the_checkpoint)
    with pytest.raises(OSError) as e:
        train(cfg(*TINY), tmp_path / "run")
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(tmp_path / "run" / "model.pt")
    assert not (tmp_path / "run" / "result.json").exists() and not (tmp_path / "run" / "model.pt").exists()


def test_a_full_or_read_only_disk_is_told_to_free_space_or_choose_another(tmp_path, monkeypatch, capsys):
    """export --onnx, --out, leaderboard --out on a full disk said '...: No space left on device; choose a
    writable directory or fix its permissions' (export --onnx: 'cannot write in DIR (...)'), which no
    permission fixes; a read-only file system was told to fix its permissions too."""
    from mnist_sweep import export, leaderboard
    from test_export_inputs import board

    sweep = board(tmp_path / "sw")
    for code, says in [(errno.ENOSPC, "No space left on device; free space on its disk (or choose a directory on "
                                      "another), then run the same command again"),
                       (errno.EROFS, "Read-only file system; choose a writable directory")]:
        def refused(path: Path, write, code=code) -> None:  # noqa: ANN001
            raise OSError(code, os.strerror(code), str(path))

        monkeypatch.setattr(results, "atomic_write", refused)
        for main, args, named in [(export.main, ["--onnx", str(tmp_path / "m.onnx")], f"--onnx: {tmp_path}/m.onnx"),
                                  (leaderboard.main, ["--out", str(tmp_path / "t.csv")], f"{tmp_path}/t.csv")]:
            assert main([str(sweep), *args]) == 2
            err = capsys.readouterr().err.strip().splitlines()
            assert err == [f"error: {named}: {says}"], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sw"]
