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


# Every value check is in test_train.BAD_VALUES (in-process); these are the CLI path per kind of error.
BAD_RUNS = [
    (["model.c3=64", "model.c4=64"], ["model.max_params=20,000", "parameters"]),
    (["optimizer.lr=-1"], ["optimizer.lr"]),
    (["model.dropout=1.0"], ["model.dropout"]),
    (["trainer.max_epochs=25"], ["trainer.max_epochs", "trainer.epoch_cap"]),
    (["optimizer=lion"], ["optimizer/lion", "adam, adamw, sgd"]),
    (["model.block=fancy"], ["model.block", "plain, separable"]),
    (["model.nope=1"], ["model.nope", "+model.nope=1"]),
    (["optimizer.lr=("], ["optimizer.lr=("]),
    (["data.root=/nonexistent"], ["/nonexistent/MNIST/raw/train-images-idx3-ubyte", "missing"]),
]


@pytest.mark.parametrize("args, needles", BAD_RUNS, ids=[" ".join(a) for a, _ in BAD_RUNS])
def test_bad_input_one_line_no_traceback_nothing_written(tmp_path, args, needles):
    proc = run(["mnist_sweep.train", *TINY, *args, f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    line = assert_one_line_error(proc, *needles)
    assert line.startswith("error: ")
    assert proc.returncode == 2
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("mode", ["run", "sweep"])
def test_unwritable_output_dir_is_one_line_before_any_work(tmp_path, mode):
    (tmp_path / "a_file").write_text("")
    target = tmp_path / "a_file" / "out"  # a path under a regular file: unwritable for any user
    args = (["hydra.run.dir=" + str(target)] if mode == "run" else
            ["-m", "hydra.sweep.dir=" + str(target), f"hydra.sweeper.storage=sqlite:///{tmp_path}/s.db",
             "hydra.sweeper.params=null", "hydra.sweeper.n_trials=1"])
    proc = run(["mnist_sweep.train", *args[:1], *TINY, *args[1:]], cwd=tmp_path)
    key = "hydra.run.dir" if mode == "run" else "hydra.sweep.dir"
    assert_one_line_error(proc, key, str(target), "Not a directory", "writable")
    assert proc.returncode == 2 and (tmp_path / "a_file").read_text() == ""
    assert not (tmp_path / "s.db").exists()
