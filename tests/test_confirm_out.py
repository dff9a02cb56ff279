"""confirm's --out, tried before anything trains: an existing dir that takes no files (read-only, a full disk)
passed its mkdir, and each seed's run then failed in turn with the run's 'hydra.run.dir: ...' line."""
from __future__ import annotations

import errno
import os

import pytest

from conftest import assert_one_line_error, run_inproc
from test_reproduce import fake_sweep, unwritable


@pytest.mark.parametrize("case", ["read-only", "no space left"])
def test_an_out_dir_that_cannot_be_written_is_refused_before_any_run_naming_out(tmp_path, monkeypatch, case):
    sw = fake_sweep(tmp_path)
    out = tmp_path / "out"
    out.mkdir()  # there already: its mkdir passed
    unwritable(monkeypatch, case)
    before = sorted(tmp_path.rglob("*"))  # (a write test's file made and removed in --out changes its mtime)
    proc = run_inproc(["mnist_sweep.confirm", str(sw), "--trial", "0", "--seeds", "2", "--out", str(out)], cwd=tmp_path)
    why = "Read-only file system" if case == "read-only" else os.strerror(errno.ENOSPC)
    assert_one_line_error(proc, f"--out: {out}: {why}")
    assert "confirming" not in proc.stdout and sorted(tmp_path.rglob("*")) == before
