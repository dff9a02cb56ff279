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
import pytest
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


def test_a_second_signal_does_not_cut_short_the_stopping_workers_clean_up(tmp_path, monkeypatch):
    """Ctrl-C reaches a helper, and its sweep's SIGTERM (Helpers.stop) follows while the helper
    marks its open trials lost: that KeyboardInterrupt escaped the clean-up, and a trial of the
    stopped sweep stayed RUNNING, 'running' on its leaderboard."""
    import signal

    from hydra_plugins.mnist_sweep_sweeper import _study
    from hydra_plugins.mnist_sweep_sweeper._loop import Hooks, Limits, Loop
    from mnist_sweep import cli

    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/o.db")
    trials = [study.ask() for _ in range(2)]
    real_lose = _study.lose

    def lose_then_sigterm(s: optuna.Study, trial: optuna.Trial, why: BaseException) -> None:
        if trial.number == 0:  # one signal: the sweep's SIGTERM after Ctrl-C
            os.kill(os.getpid(), signal.SIGTERM)
        real_lose(s, trial, why)

    monkeypatch.setattr(_study, "lose", lose_then_sigterm)
    previous = signal.signal(signal.SIGTERM, cli._terminate)  # what main() installs
    try:
        loop = Loop(study, None, tmp_path, "trial_{number:04d}", Limits(2, 1, 0, 0, 0.0, None),
                    Hooks(None, None, None, None, None))
        try:
            loop._stopped(list(trials), KeyboardInterrupt())
        except KeyboardInterrupt:
            raise AssertionError("the clean-up was interrupted") from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert [(t.state, t.user_attrs["status"]) for t in study.trials] == [(TrialState.FAIL, "lost")] * 2


def test_a_lost_seed_is_named_by_its_config_not_by_the_side_studys_number(tmp_path, caplog):
    """A repeated config's further seed is a trial of the side study, numbered on its own: its loss
    was logged as 'trial 0', the same words as the sweep's own trial 0."""
    import logging

    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/o.db", study_name="s.repeats")
    seed = study.ask()
    for key, value in {"host": socket.gethostname(), "pid": 2**22 + 12345, "parent_dir": "/x/trial_0003",
                       "seed": 2}.items():
        seed.set_user_attr(key, value)
    with caplog.at_level(logging.WARNING, logger="hydra_plugins.mnist_sweep_sweeper"):
        _liveness.fail_lost_trials(study, None)
    assert "seed 2 of trial_0003: worker" in caplog.text and "trial 0" not in caplog.text


@pytest.mark.slow
def test_a_resumed_sweep_counts_a_dead_workers_trial_as_to_go(tmp_path):
    """The start line counted the trial its dead worker left RUNNING as running ('1 of 1 trials done
    or running; 0 to go'), failed it as lost just after, and then trained a replacement."""
    from conftest import run_inproc, sweep_args

    d = tmp_path / "ghost"
    d.mkdir()
    study = optuna.create_study(study_name="ghost", storage=f"sqlite:///{d}/optuna.db", direction="maximize")
    ghost = study.ask()
    for key, value in {"host": socket.gethostname(), "pid": 2**22 + 12345, "status": "running"}.items():
        ghost.set_user_attr(key, value)
    proc = run_inproc(sweep_args(tmp_path, "ghost", 1, "optimizer.lr=tag(log,interval(0.01,0.1))"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    assert "0 of 1 trial done or running; 1 to go" in out, out[-3000:]
    assert out.index("marked failed (lost)") < out.index("1 to go")


def test_a_stale_heartbeat_names_the_grace_period_optuna_applied(tmp_path, caplog):
    """hydra.sweeper.grace_period=null (the default: Optuna's 2 x heartbeat_interval) was printed
    as 'no heartbeat for Nones'; the line reads as the sweep's other durations (text.duration)."""
    import logging
    import sqlite3
    import warnings

    with warnings.catch_warnings():  # heartbeats outside Study.optimize, on purpose (as the sweep uses them)
        warnings.simplefilter("ignore")
        storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path}/o.db", heartbeat_interval=1)
        study = optuna.create_study(storage=storage)
        trial = study.ask()
    storage.record_heartbeat(trial._trial_id)
    with sqlite3.connect(tmp_path / "o.db") as db:  # its last heartbeat an hour ago, not a wait
        db.execute("UPDATE trial_heartbeats SET heartbeat = datetime('now', '-1 hour')")
    with caplog.at_level(logging.WARNING, logger="hydra_plugins.mnist_sweep_sweeper"):
        _liveness.fail_lost_trials(study, None)
    assert study.trials[0].state == TrialState.FAIL
    assert "trial 0: no heartbeat for 2 s; marked failed (lost)" in caplog.messages, caplog.messages


def test_a_queued_seed_claimed_since_it_was_read_is_not_cancelled(tmp_path):
    """A raced-out or failed config cancels its queued seeds from a list read a moment before: a
    seed another worker claimed in between was failed under it, and that worker's tell crashed."""
    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/o.db")
    study.enqueue_trial({})
    study.enqueue_trial({})
    claimed, queued = study.get_trials(states=(TrialState.WAITING,))  # the list the cancel acts on
    storage = study._storage
    assert storage.set_trial_state_values(claimed._trial_id, TrialState.RUNNING)  # another worker's claim
    assert not _liveness.cancel_waiting(storage, claimed, "seed 1 was raced out")
    assert _liveness.cancel_waiting(storage, queued, "seed 1 was raced out")
    first, second = study.get_trials()
    assert first.state == TrialState.RUNNING and "status" not in first.user_attrs
    assert second.state == TrialState.FAIL and second.user_attrs["status"] == "cancelled"
    assert second.user_attrs["error"] == "seed 1 was raced out"


# A helper worker that asks a trial, marks it as a sweep's helper does, and is SIGKILLed once the
# sweep's own trial is told: the sweep process is then past its loop, waiting for its helpers.
KILLED_HELPER = """
import os, signal, socket, sys, time
import optuna
args = dict(a.split("=", 1) for a in sys.argv[1:] if "=" in a)
study = optuna.load_study(study_name=args["hydra.sweeper.study_name"], storage=args["hydra.sweeper.storage"])
trial = study.ask()
for key, value in {"host": socket.gethostname(), "pid": os.getpid(), "status": "running"}.items():
    trial.set_user_attr(key, value)
while not any(t.state.is_finished() for t in study.get_trials(deepcopy=False)):
    time.sleep(0.05)
time.sleep(1.0)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.slow
def test_a_helper_killed_while_the_sweep_waits_for_it_has_its_trial_replaced(tmp_path, monkeypatch):
    """The sweep's own trials were done and it waited for its helper's last trial when the helper was
    SIGKILLed: the sweep exited 0 short of n_trials, that trial RUNNING ('running' on its
    leaderboard), and no report."""
    import sys

    from conftest import load, run_inproc, sweep_args
    from hydra_plugins.mnist_sweep_sweeper import _workers
    from mnist_sweep import cli

    monkeypatch.setattr(_workers, "usable_cpus", lambda: 2)
    monkeypatch.setattr(_workers, "helper_command", lambda: [sys.executable, "-c", KILLED_HELPER, *sys.argv[1:]])
    real_train = cli.train

    def train_once_the_helper_asked(st, out_dir, **kwargs):  # noqa: ANN001, ANN202
        for _ in range(600):
            if len(load(tmp_path, "killed").trials) > 1:
                break
            time.sleep(0.05)
        return real_train(st, out_dir, **kwargs)

    monkeypatch.setattr(cli, "train", train_once_the_helper_asked)
    args = [a for a in sweep_args(tmp_path, "killed", 2, "optimizer.lr=tag(log,interval(0.01,0.1))")
            if a != "hydra.sweeper.workers=1"] + ["hydra.sweeper.workers=2"]
    proc = run_inproc(args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    states = [(t.state, t.user_attrs.get("status")) for t in load(tmp_path, "killed").trials]
    assert sorted(states, key=str) == sorted([(TrialState.COMPLETE, "complete")] * 2 + [(TrialState.FAIL, "lost")],
                                             key=str), states


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowed interrupt, as printed
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_an_interrupt_a_finalizer_swallowed_still_stops_the_sweep(tmp_path, signame):
    """Ctrl-C or SIGTERM whose KeyboardInterrupt was raised in a finalizer (SQLAlchemy's weakref
    callbacks run often) is printed as 'Exception ignored in ...' and dropped: the sweep ran on to
    n_trials and exited 0. It now stops before its next trial, the trial that ended told."""
    import signal

    from hydra.core.utils import JobReturn, JobStatus

    from hydra_plugins.mnist_sweep_sweeper._progress import Progress
    from mnist_sweep import children, cli, results
    from test_sweeper_faults import _loop

    class Finalized:
        def __del__(self) -> None:  # the signal lands while it runs
            os.kill(os.getpid(), getattr(signal, signame))
            time.sleep(0.1)

    launched = []

    def launch(jobs: list[list[str]]) -> list:
        launched.append(jobs)
        sub = next(o.split("=", 1)[1] for o in jobs[0] if o.startswith("hydra.sweep.subdir="))
        Finalized()
        results.write(tmp_path / sub, {"status": "complete", "value": 0.9, "val_acc": 0.9, "params": 100, "epochs": 1})
        ret = JobReturn()
        ret.status, ret.return_value = JobStatus.COMPLETED, 0.9
        return [ret]

    handler = {"SIGTERM": cli._terminate, "SIGINT": children.ctrl_c}[signame]  # what main() installs
    previous = signal.signal(getattr(signal, signame), handler)
    try:
        study = optuna.create_study(direction="maximize", storage=f"sqlite:///{tmp_path}/o.db")
        loop = _loop(study, tmp_path, launch)
        loop.limits.n_trials = 2
        with pytest.raises(KeyboardInterrupt):
            loop.run(Progress(2))
    finally:
        signal.signal(getattr(signal, signame), previous)
    assert len(launched) == 1 and [(t.state, t.user_attrs["status"]) for t in study.trials] == [(TrialState.COMPLETE, "complete")]


def test_main_records_ctrl_c_and_leaves_an_ignored_one_ignored(monkeypatch):
    import signal

    from conftest import TINY
    from mnist_sweep import children, cli

    seen = []
    monkeypatch.setattr(cli, "task", lambda: seen.append(signal.getsignal(signal.SIGINT)))
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as typed at a terminal (pytest under
    try:  # nohup or in a shell's background job starts with SIGINT ignored)
        assert cli.main(list(TINY)) == 0 and seen == [children.ctrl_c]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # nohup, a background job
        assert cli.main(list(TINY)) == 0 and seen[-1] is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
