"""A dry run on a study that has trials: it said what a new sweep of n_trials would start ('estimate: 3
trials ... / 2 workers'), while the resume it previews trains the trials left on the workers they need
(_revive.runs_to_go: 1 of 3 left starts no helper). Now it counts them as the resume does, read without
writing: its start line, the trials left, the workers they need, or that the study is complete."""
from __future__ import annotations

import re
import socket
import subprocess

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from conftest import run_inproc, sweep_args
from hydra_plugins.mnist_sweep_sweeper import _workers

C3 = CategoricalDistribution((8, 12, 16, 24, 32, 48))


@pytest.fixture
def two_cpus(monkeypatch):
    monkeypatch.setattr(_workers, "usable_cpus", lambda: 2)


def stored(tmp_path, complete: int, **running_attrs) -> optuna.Study:
    """Study 'dry' in <tmp>/dry/optuna.db with ``complete`` finished trials (and a RUNNING one with
    ``running_attrs``, where given)."""
    (tmp_path / "dry").mkdir()
    study = optuna.create_study(study_name="dry", storage=f"sqlite:///{tmp_path}/dry/optuna.db", direction="maximize")
    for i in range(complete):
        study.add_trial(create_trial(value=0.5, params={"model.c3": C3.choices[i]}, distributions={"model.c3": C3}))
    if running_attrs:
        study.add_trial(create_trial(state=TrialState.RUNNING, params={"model.c3": 48}, distributions={"model.c3": C3},
                                     user_attrs=running_attrs))
    return study


def dry_run(tmp_path, n_trials: int) -> str:
    args = [a for a in sweep_args(tmp_path, "dry", n_trials, f"model.c3=choice{C3.choices}".replace(" ", ""))
            if a != "hydra.sweeper.workers=1"]
    proc = run_inproc([*args, "hydra.sweeper.workers=2", "hydra.sweeper.dry_run=true"], cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-2000:]
    return out


def test_a_resumes_dry_run_estimates_the_trials_left_on_the_workers_they_need(tmp_path, two_cpus):
    study = stored(tmp_path, 2)
    out = dry_run(tmp_path, 3)
    assert "study dry in sqlite:///" in out and "2 of 3 trials done or running; 1 to go" in out
    assert "hydra.sweeper.workers=2: the sweep has 1 run to go at most, so 1 worker runs" in out
    assert re.search(r"estimate: 1 trial x 1 epoch x .* / 1 worker = ", out), out
    assert len(study.get_trials()) == 2  # read, not written


def test_a_new_studys_dry_run_still_estimates_its_n_trials(tmp_path, two_cpus):
    out = dry_run(tmp_path, 3)
    assert re.search(r"estimate: 3 trials x 1 epoch x .* / 2 workers = ", out), out
    assert "to go" not in out


def test_a_complete_studys_dry_run_says_so_and_estimates_nothing(tmp_path, two_cpus):
    out = dry_run(tmp_path, 2) if stored(tmp_path, 2) else ""
    assert "study dry is complete: its n_trials (2) are done; to train more, raise hydra.sweeper.n_trials" in out
    assert "estimate:" not in out


def test_a_study_with_more_trials_than_its_n_trials_says_how_far_to_raise_it(tmp_path, two_cpus):
    """A study of 3 trials resumed with n_trials=2 said 'to train more, raise hydra.sweeper.n_trials', and
    n_trials=3 trained none either: n_trials is the study's total, so the line names the count to go above."""
    out = dry_run(tmp_path, 2) if stored(tmp_path, 3) else ""
    assert ("study dry is complete: its n_trials (2) are done; to train more, raise hydra.sweeper.n_trials above 3 "
            "(the trials it has)") in out


def test_a_trial_whose_worker_died_is_counted_to_go_as_the_resume_fails_it(tmp_path, two_cpus):
    """A RUNNING trial whose worker's pid is gone: the resume fails it as lost and trains one more in its place."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    study = stored(tmp_path, 1, host=socket.gethostname(), pid=dead.pid)
    out = dry_run(tmp_path, 3)
    assert "1 of 3 trials done or running; 2 to go" in out
    assert re.search(r"estimate: 2 trials x 1 epoch x .* / 2 workers = ", out), out
    assert study.get_trials()[-1].state == TrialState.RUNNING  # the dry run failed nothing


@pytest.mark.parametrize("change, line", [
    ("model.c3=choice(8,12,20,24)", "hydra.sweeper.params.model.c3: the study 'dry' searched it as "
                                    "choice(8,12,16,24,32,48), this run as choice(8,12,20,24)"),
    ("hydra.sweeper.direction=[maximize,minimize]", "hydra.sweeper.direction: the study 'dry' was created to maximize"),
])
def test_a_dry_run_refuses_what_the_resume_it_previews_refuses(tmp_path, two_cpus, change, line):
    """A resume that changes a choice's values or the study's directions is refused before any trial, but
    its dry run ('look first') printed an estimate and exit 0: it now checks the stored study as the start does."""
    study = stored(tmp_path, 2)
    extra = ["trainer.objectives=[val_acc,params]"] if "direction" in change else []
    args = [*sweep_args(tmp_path, "dry", 3, f"model.c3=choice{C3.choices}".replace(" ", "")), change, *extra]
    proc = run_inproc([*args, "hydra.sweeper.dry_run=true"], cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2 and line in out and "estimate:" not in out, out[-2000:]
    assert len(study.get_trials()) == 2
