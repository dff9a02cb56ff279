"""Dead-worker detection (hydra_plugins.mnist_sweep_sweeper._liveness), without a sweep: trials
in a SQLite study owned by processes that are gone."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

from hydra_plugins.mnist_sweep_sweeper import _liveness


def _zombie() -> subprocess.Popen:
    """A child that has exited and is not reaped yet: a helper worker SIGKILLed mid-trial, until
    its sweep's Helpers.wait."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    stat = Path(f"/proc/{proc.pid}/stat")
    for _ in range(200):
        if stat.read_text().rpartition(")")[2].split()[0] == "Z":
            return proc
        time.sleep(0.05)
    raise AssertionError("the child never exited")


def test_a_trial_of_a_dead_unreaped_helper_is_failed_as_lost(tmp_path):
    """The sweep's own helper, killed, is a zombie its parent has not waited for: signal 0 still
    reaches it. Its trial was left RUNNING and the sweep ended short of n_trials, the report unwritten."""
    proc = _zombie()
    try:
        study = optuna.create_study(storage=f"sqlite:///{tmp_path}/o.db")
        trial = study.ask()
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", proc.pid)
        assert not _liveness.pid_alive(proc.pid)
        _liveness.fail_lost_trials(study, None)
        t = study.trials[0]
        assert t.state == TrialState.FAIL and t.user_attrs["status"] == "lost"
    finally:
        proc.wait()


def test_a_live_process_keeps_its_trial():
    assert _liveness.pid_alive(os.getpid())
