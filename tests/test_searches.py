"""bench/searches.sh's save and restore: a study carried across sessions through the repo."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
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


def searches(root: Path, *args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(root / "bench" / "searches.sh"), *args], cwd=cwd or root, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PY": str(root / "fake_python"), **env})


def launched(root: Path, needle: str) -> str:
    """What the background launch recorded, once it holds ``needle`` (or after 5 s)."""
    for _ in range(50):
        text = (root / "launched").read_text() if (root / "launched").exists() else ""
        if needle in text:
            break
        time.sleep(0.1)
    return text


def make_study(sweep: Path) -> optuna.Study:
    """A study with one finished trial and its run dir, as a sweep leaves them."""
    run = sweep / "trial_0000"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text("model:\n  c1: 4\n")
    (run / "metrics.csv").write_text("epoch,val_acc\n1,0.99\n")
    (run / "result.json").write_text(json.dumps({"status": "complete", "value": 0.99}))
    (run / "model.pt").write_bytes(b"\0" * 1000)
    (run / "train.log").write_text("log\n")
    (run / "curves.png").write_bytes(b"\x89PNG")
    study = optuna.create_study(study_name=STUDY, storage=f"sqlite:///{sweep}/optuna.db")
    study.enqueue_trial({"x": 1.0}, user_attrs={"trial_dir": str(run)})
    trial = study.ask()
    trial.suggest_float("x", 0, 2)
    study.tell(trial, 0.99)
    return study


def test_save_then_start_restores_the_study_without_checkpoints_or_logs(tmp_path):
    root = pin(tmp_path / "pin")
    sweep = root / "outputs" / "sweeps" / STUDY
    make_study(sweep)
    out = searches(root, "save", "smallest")  # to bench/results/searches/, which a commit carries
    assert out.returncode == 0, out.stderr
    saved = root / "bench" / "results" / "searches"
    assert not (saved / f"{STUDY}.partial").exists()
    assert (saved / STUDY / "saved_from").read_text().strip() == str(sweep.resolve())
    shutil.rmtree(root / "outputs")  # the next session: a fresh checkout at the same path
    out = searches(root, "start", "smallest")
    assert out.returncode == 0, out.stderr
    assert "restored from" in out.stdout
    files = {p.relative_to(sweep).as_posix() for p in sweep.rglob("*") if p.is_file()}
    assert files == {"optuna.db", "saved_from", "trial_0000/.hydra/config.yaml", "trial_0000/metrics.csv",
                     "trial_0000/result.json"}
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{sweep}/optuna.db")
    assert [(t.state, t.value, t.params) for t in study.trials] == [(optuna.trial.TrialState.COMPLETE, 0.99, {"x": 1.0})]
    text = launched(root, f"hydra.sweeper.study_name={STUDY}")
    assert f"hydra.sweep.dir=outputs/sweeps/{STUDY}" in text and f"hydra.sweeper.study_name={STUDY}" in text


def test_a_study_saved_from_another_path_is_not_restored(tmp_path):
    old, new = pin(tmp_path / "old"), pin(tmp_path / "new")
    make_study(old / "outputs" / "sweeps" / STUDY)
    assert searches(old, "save", "smallest", SAVE_TO=str(new / "bench" / "results" / "searches")).returncode == 0
    out = searches(new, "start", "smallest")
    assert out.returncode != 0
    assert out.stderr.strip().splitlines() == [
        f"bench/results/searches/{STUDY}: saved from {old.resolve()}, and its storage records each run's dir by that "
        f"absolute path; restore it there: bash bench/searches.sh pin {old.resolve()}, then start it from that checkout"]
    assert not (new / "outputs" / "sweeps" / STUDY).exists() and not (new / "launched").exists()


def test_a_search_of_the_same_name_from_another_checkout_is_not_this_ones(tmp_path):
    """pid_of matched any process on the machine whose command line named the search: another pin's
    search (or a parallel test's launch) of the same name read as 'already running (pid )', and
    start returned without starting this checkout's. Only a process running in this checkout counts."""
    here, elsewhere = pin(tmp_path / "here"), tmp_path / "elsewhere"
    elsewhere.mkdir()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "-m", "mnist_sweep.train",
                              "hydra.sweep.dir=outputs/sweeps/search_smallest ", "x"], cwd=elsewhere)
    try:
        out = searches(here, "start", "smallest")
        assert out.returncode == 0 and "already running" not in out.stdout, out.stdout
        assert "hydra.sweep.dir=outputs/sweeps/search_smallest" in launched(here, "search_smallest")
        assert str(other.pid) not in searches(here, "stop", "smallest").stdout  # nor is it stopped from here
        assert other.poll() is None
    finally:
        other.kill()


def test_start_keeps_an_existing_sweep_dir(tmp_path):
    root = pin(tmp_path / "pin")
    make_study(root / "bench" / "results" / "searches" / STUDY)
    (root / "outputs" / "sweeps" / STUDY).mkdir(parents=True)  # a study already here: never overwritten
    out = searches(root, "start", "smallest")
    assert out.returncode == 0, out.stderr
    assert "restored" not in out.stdout and not (root / "outputs" / "sweeps" / STUDY / "optuna.db").exists()


def test_save_without_a_study_is_one_line_keeps_the_last_save_and_saves_the_others(tmp_path):
    root = pin(tmp_path / "pin")
    make_study(root / "outputs" / "sweeps" / STUDY)
    saved = tmp_path / "saved"
    (saved / "search_smallest_4k").mkdir(parents=True)
    (saved / "search_smallest_4k" / "optuna.db").write_text("the last save")
    out = searches(root, "save", "smallest_4k", "smallest", SAVE_TO=str(saved))
    assert out.returncode != 0
    assert out.stderr.strip() == "outputs/sweeps/search_smallest_4k/optuna.db: no study there to copy; start it first"
    assert (saved / "search_smallest_4k" / "optuna.db").read_text() == "the last save"
    assert (saved / STUDY / "optuna.db").is_file() and "smallest: saved to" in out.stdout


def test_a_relative_save_to_is_relative_to_where_it_was_called_from(tmp_path):
    root = pin(tmp_path / "pin")
    make_study(root / "outputs" / "sweeps" / STUDY)
    out = searches(root, "save", "smallest", cwd=tmp_path, SAVE_TO="kept")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "kept" / STUDY / "optuna.db").is_file() and not (root / "kept").exists()


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
    lost = copy.trials[1]
    assert (lost.state, status_of(lost), lost.user_attrs["status"]) == (optuna.trial.TrialState.FAIL, "lost", "lost")
    assert lost.user_attrs["error"] == "running when the study was saved (bench/searches.sh save)"
    source = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{sweep}/optuna.db")
    assert source.trials[1].state == optuna.trial.TrialState.RUNNING
