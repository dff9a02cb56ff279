"""bench/searches.sh's save and restore: a study carried across sessions through the repo."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import optuna

from mnist_sweep import PROJECT_ROOT
from mnist_sweep.storage import status_of

STUDY = "search_smallest"


def pin(root: Path) -> Path:
    """A checkout-like dir holding only the script (it works relative to its own location)."""
    (root / "bench").mkdir(parents=True)
    for name in ("searches.sh", "save_study.py"):
        shutil.copy(PROJECT_ROOT / "bench" / name, root / "bench" / name)
    fake = root / "fake_python"  # runs save_study.py; records a sweep's launch (-m mnist_sweep.train) instead of training
    fake.write_text(f'#!/bin/sh\nif [ "$1" != -m ]; then exec "{sys.executable}" "$@"; fi\necho "$@" >> "{root}/launched"\n')
    fake.chmod(0o755)
    return root


def searches(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "bench/searches.sh", *args], cwd=root, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PY": str(root / "fake_python"), **env})


def make_study(sweep: Path) -> optuna.Study:
    """A study with one finished trial and its run dir, as a sweep leaves them."""
    run = sweep / "trial_0000"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text("model:\n  c1: 4\n")
    (run / "metrics.csv").write_text("epoch,val_acc\n1,0.99\n")
    (run / "result.json").write_text(json.dumps({"status": "complete", "value": 0.99}))
    (run / "model.pt").write_bytes(b"\0" * 1000)
    (run / "train.log").write_text("log\n")
    study = optuna.create_study(study_name=STUDY, storage=f"sqlite:///{sweep}/optuna.db")
    study.enqueue_trial({"x": 1.0}, user_attrs={"trial_dir": str(run)})
    trial = study.ask()
    trial.suggest_float("x", 0, 2)
    study.tell(trial, 0.99)
    return study


def test_save_then_start_restores_the_study_without_checkpoints_or_logs(tmp_path):
    old, new = pin(tmp_path / "old"), pin(tmp_path / "new")
    make_study(old / "outputs" / "sweeps" / STUDY)
    saved = new / "bench" / "results" / "searches"  # what a commit carries to the next session's checkout
    out = searches(old, "save", "smallest", SAVE_TO=str(saved))
    assert out.returncode == 0, out.stderr
    assert not (saved / f"{STUDY}.partial").exists()
    out = searches(new, "start", "smallest")
    assert out.returncode == 0, out.stderr
    assert "restored from" in out.stdout
    restored = new / "outputs" / "sweeps" / STUDY
    files = {p.relative_to(restored).as_posix() for p in restored.rglob("*") if p.is_file()}
    assert files == {"optuna.db", "trial_0000/.hydra/config.yaml", "trial_0000/metrics.csv", "trial_0000/result.json"}
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{restored}/optuna.db")
    assert [(t.state, t.value, t.params) for t in study.trials] == [(optuna.trial.TrialState.COMPLETE, 0.99, {"x": 1.0})]
    for _ in range(50):  # the launch is in the background
        if (new / "launched").exists():
            break
        subprocess.run(["sleep", "0.1"])
    launched = (new / "launched").read_text()
    assert f"hydra.sweep.dir=outputs/sweeps/{STUDY}" in launched and f"hydra.sweeper.study_name={STUDY}" in launched


def test_start_keeps_an_existing_sweep_dir(tmp_path):
    root = pin(tmp_path / "pin")
    make_study(root / "bench" / "results" / "searches" / STUDY)
    (root / "outputs" / "sweeps" / STUDY).mkdir(parents=True)  # a study already here: never overwritten
    out = searches(root, "start", "smallest")
    assert out.returncode == 0, out.stderr
    assert "restored" not in out.stdout and not (root / "outputs" / "sweeps" / STUDY / "optuna.db").exists()


def test_save_without_a_study_is_one_line_and_keeps_the_last_save(tmp_path):
    root = pin(tmp_path / "pin")
    saved = tmp_path / "saved"
    (saved / STUDY).mkdir(parents=True)
    (saved / STUDY / "optuna.db").write_text("the last save")
    out = searches(root, "save", "smallest", SAVE_TO=str(saved))
    assert out.returncode != 0
    assert out.stderr.strip() == f"outputs/sweeps/{STUDY}/optuna.db: no study there to copy; start it first"
    assert (saved / STUDY / "optuna.db").read_text() == "the last save"


def test_a_run_open_at_the_save_is_lost_in_the_copy_and_still_running_in_the_source(tmp_path):
    root = pin(tmp_path / "pin")
    sweep = root / "outputs" / "sweeps" / STUDY
    study = make_study(sweep)
    running = study.ask()
    running.set_user_attr("status", "running")
    out = searches(root, "save", "smallest", SAVE_TO=str(tmp_path / "saved"))
    assert out.returncode == 0, out.stderr
    assert "trial 1 was running; failed as lost in the copy" in out.stdout
    copy = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{tmp_path}/saved/{STUDY}/optuna.db")
    assert [(t.state, status_of(t)) for t in copy.trials][1] == (optuna.trial.TrialState.FAIL, "lost")
    source = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{sweep}/optuna.db")
    assert source.trials[1].state == optuna.trial.TrialState.RUNNING
