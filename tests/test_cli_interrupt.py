"""Ctrl-C in one run (not a sweep): the line says what was kept and that a run starts over; it said
'finished runs and trials are kept; run the same command again to resume', a sweep's line, and a
run does not resume."""
from __future__ import annotations

from conftest import TINY, run_inproc

import mnist_sweep.cli


def _interrupt_after(epochs: int):
    def train(st, out_dir, **kwargs):  # noqa: ANN001, ANN202, ARG001
        if epochs:
            (out_dir / "metrics.csv").write_text("epoch,val_acc\n1,0.5\n")
        raise KeyboardInterrupt
    return train


def test_an_interrupted_run_says_it_starts_over_and_names_its_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_sweep.cli, "train", _interrupt_after(1))
    proc = run_inproc(["mnist_sweep.train", *TINY, f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert proc.returncode == 130
    (line,) = [l for l in proc.stderr.splitlines() if l.startswith("interrupted")]
    assert f"the run in {tmp_path / 'run'} did not finish" in line and "trains it again from its first epoch" in line
    assert "resume" not in line.replace("does not resume", "")
    assert (tmp_path / "run" / "metrics.csv").exists()  # its epochs so far are kept


def test_a_run_interrupted_before_its_first_epoch_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_sweep.cli, "train", _interrupt_after(0))
    proc = run_inproc(["mnist_sweep.train", *TINY, f"hydra.run.dir={tmp_path}/out/run"], cwd=tmp_path)
    assert proc.returncode == 130
    assert "interrupted before the first epoch ended: nothing kept" in proc.stderr
    assert not (tmp_path / "out").exists()  # the run dir and the dir made above it
