"""The single-run CLI, as a user runs it: a subprocess of python -m mnist_sweep.train."""
from __future__ import annotations

import json

import pytest

from conftest import TINY, assert_one_line_error, run


def test_tiny_run_writes_its_files(tmp_path):
    proc = run(["mnist_sweep.train", *TINY, f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "run"
    for name in (".hydra/config.yaml", ".hydra/overrides.yaml", "metrics.csv", "result.json", "model.pt", "train.log",
                 "curves.png"):
        assert (out / name).exists(), name
    assert json.loads((out / "result.json").read_text())["params"] == 9_778
    assert "Total params: 9,778" in proc.stdout  # the torchinfo summary
    assert "epoch  1/1" in proc.stdout


@pytest.mark.parametrize("args, needles", [
    (["model.c3=64", "model.c4=64"], ["model.max_params=20,000", "parameters"]),
    (["optimizer.lr=-1"], ["optimizer.lr"]),
    (["trainer.max_epochs=25"], ["trainer.max_epochs", "trainer.epoch_cap"]),
    (["data.root=/nonexistent"], ["/nonexistent/MNIST/raw/train-images-idx3-ubyte", "missing"]),
])
def test_bad_input_one_line_no_traceback_nothing_written(tmp_path, args, needles):
    proc = run(["mnist_sweep.train", *TINY, *args, f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    line = assert_one_line_error(proc, *needles)
    assert line.startswith("error: ")
    assert proc.returncode == 2
    assert not (tmp_path / "run").exists()


def test_unknown_key_is_one_hydra_error(tmp_path):
    proc = run(["mnist_sweep.train", "optimizer.lrr=0.1"], cwd=tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "optimizer.lrr" in proc.stderr
