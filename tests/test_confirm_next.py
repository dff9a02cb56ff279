"""confirm ended at 'written OUT/robustness.csv': where each seed's run (and its weights) went, and how to
put one in an app as ONNX, was in neither its output nor the docs, so a user who had re-checked a config
over seeds listed OUT to find a run dir export takes. It now names the run dirs and, where a run kept
its model.pt, the export --onnx and predict commands for the best mean's run, each one pasteable."""
from __future__ import annotations

import shlex

import pandas as pd

from conftest import run_inproc
from test_confirm import SMALL, finished_seed_1
from test_reproduce import fake_sweep


def test_confirm_ends_with_its_run_dirs_and_the_onnx_export_of_one(tmp_path):
    sw, out = fake_sweep(tmp_path), tmp_path / "out"
    finished_seed_1(sw, 0, out)  # reused: no training
    (out / "trial_0000" / "seed_1" / "model.pt").write_bytes(b"weights")
    proc = run_inproc(["mnist_sweep.confirm", str(sw), "--trial", "0", "--seeds", "1", "--out", str(out), *SMALL],
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    run_dir = out / "trial_0000" / "seed_1"
    assert lines[-3] == f"runs: {out}/CONFIG/seed_N, one run dir each (model.pt, result.json, metrics.csv), e.g. {run_dir}"
    ship, command = lines[-2].split(": ", 1)
    assert ship == "ship one as ONNX (any seed's run dir works alike)", lines[-2]  # one config: no best mean to name
    assert shlex.split(command)[1:] == ["-m", "mnist_sweep.export", str(run_dir), "--onnx", "trial_0000.onnx"]
    assert shlex.split(lines[-1].split(": ", 1)[1])[1:] == ["-m", "mnist_sweep.predict", str(run_dir), "IMAGE.png"]


def test_of_several_configs_the_best_means_run_is_named(tmp_path):
    from mnist_sweep.next_steps import confirmed_lines

    df = pd.DataFrame([{"config": "b", "seed_1": 0.99}, {"config": "a", "seed_1": 0.98}])  # best mean first
    for name in ("a", "b"):
        (tmp_path / name / "seed_1").mkdir(parents=True)
        (tmp_path / name / "seed_1" / "model.pt").write_bytes(b"weights")
    assert confirmed_lines(tmp_path, df)[1].startswith("ship one as ONNX (b has the best mean; any seed's run dir ")


def test_without_weights_it_says_none_can_be_exported(tmp_path):
    from mnist_sweep.next_steps import confirmed_lines

    df = pd.DataFrame([{"config": "best_10k", "seed_1": 0.99, "seed_2": float("nan")}])
    (tmp_path / "best_10k" / "seed_1").mkdir(parents=True)
    lines = confirmed_lines(tmp_path, df)
    assert lines[0].endswith(f"e.g. {tmp_path / 'best_10k' / 'seed_1'}") and len(lines) == 2
    assert lines[1].startswith("no run kept its weights (model.pt")
