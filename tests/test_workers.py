"""Many sweep workers on one PostgreSQL study (a real server: scripts/pg-test-server).

Each worker is the same ``python -m mnist_sweep.train -m`` command, started separately; the
storage URL, password included, comes from $MNIST_SWEEP_STORAGE and must never be written out.
"""
from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, ProgrammingError

from conftest import Forked, run, spawn, sweep_args

SPACE = ["optimizer.lr=tag(log,interval(0.01,0.1))"]


def start(args: list[str], cwd, url: str) -> Forked | subprocess.Popen:
    return spawn(args, cwd, env={"MNIST_SWEEP_STORAGE": url})


def finish(procs: list[Forked | subprocess.Popen], timeout: int = 400) -> list[str]:
    outs = []
    for p in procs:
        out, _ = p.communicate(timeout=timeout)
        outs.append(out)
    return outs


def assert_no_password(password: str, tmp_path, *texts: str) -> None:
    for text in texts:
        assert password not in text
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert password.encode() not in f.read_bytes(), f


def worker_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.trials if t.user_attrs.get("host") != "elsewhere"]


@pytest.mark.slow
def test_three_workers_share_one_study_and_prune_against_each_other(tmp_path, pg_url):
    study_name, n_trials = "pg3", 7
    # One finished trial from "another machine": 100% at every epoch. With the median pruner
    # (1 startup trial) every worker's trial is pruned after its first epoch by comparing
    # against a trial no worker ran: pruning reads all workers' trials from the storage.
    study = optuna.create_study(study_name=study_name, storage=pg_url, direction="maximize")
    study.add_trial(create_trial(
        value=1.0, intermediate_values={1: 1.0, 2: 1.0}, params={"optimizer.lr": 0.05},
        distributions={"optimizer.lr": FloatDistribution(0.01, 0.1, log=True)},
        user_attrs={"status": "complete", "host": "elsewhere"},
    ))
    args = sweep_args(tmp_path, study_name, n_trials, *SPACE, "trainer.max_epochs=2", pruner="median", sqlite=False)
    args += ["hydra.sweeper.pruner.n_startup_trials=1", "hydra.sweeper.pruner.n_warmup_steps=0"]
    procs = [start(args, tmp_path, pg_url) for _ in range(3)]
    outs = finish(procs)
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-3000:]

    study = optuna.load_study(study_name=study_name, storage=pg_url)
    mine = worker_trials(study)
    assert not [t for t in study.trials if t.state == TrialState.RUNNING]
    # The total is respected: n_trials counted, at most one extra per worker in flight at the end.
    assert n_trials <= len(study.trials) <= n_trials + len(procs)
    # Every worker trial ran once, in its own dir named by its number, owned by one of the workers.
    pids = {p.pid for p in procs}
    assert {t.user_attrs["pid"] for t in mine} <= pids and len({t.user_attrs["pid"] for t in mine}) >= 2
    dirs = [t.user_attrs["trial_dir"] for t in mine]
    assert len(set(dirs)) == len(dirs)
    for t in mine:
        assert dirs[mine.index(t)].endswith(f"trial_{t.number:04d}")
        assert (tmp_path / study_name / f"trial_{t.number:04d}" / "result.json").exists()
        assert t.state == TrialState.PRUNED and t.user_attrs["status"] == "pruned"
        assert list(t.intermediate_values) == [1] and t.intermediate_values[1] < 1.0

    # The leaderboard from the storage alone (trial dirs gone): every trial, its dir, metrics and status.
    for t in mine:
        shutil.rmtree(t.user_attrs["trial_dir"])
    board_csv = tmp_path / "from_storage.csv"
    lb = run(["mnist_sweep.leaderboard", "--study", study_name, "--out", str(board_csv)], cwd=tmp_path,
             env={"MNIST_SWEEP_STORAGE": pg_url})
    assert lb.returncode == 0, lb.stderr
    board = pd.read_csv(board_csv)
    assert sorted(board.trial) == sorted(t.number for t in study.trials)
    rows = board.set_index("trial")
    for t in mine:
        assert rows.loc[t.number, "status"] == "pruned"
        assert rows.loc[t.number, "trial_dir"] == t.user_attrs["trial_dir"]
        assert rows.loc[t.number, "epochs"] == 1 and rows.loc[t.number, "val_acc"] < 1.0
        assert rows.loc[t.number, "host"] == t.user_attrs["host"]
    assert_no_password(make_url(pg_url).password, tmp_path, *outs, lb.stdout, lb.stderr)


@pytest.mark.slow
def test_sigkilled_worker_loses_only_its_trial_and_resume_fails_it(tmp_path, pg_url):
    study_name, n_trials = "pgkill", 4
    # 1,024 images x 4 epochs: after a trial's first epoch, about 1.5 s for the poll below to see it
    args = sweep_args(tmp_path, study_name, n_trials, *SPACE, "trainer.max_epochs=4", "data.train_limit=1024",
                      sqlite=False)
    procs = [start(args, tmp_path, pg_url) for _ in range(2)]  # the victim and one that carries on
    victim = procs[0]
    deadline = time.time() + 240
    victim_trial = None
    storage = None  # one engine for the polling, not one per look
    while victim_trial is None and time.time() < deadline and victim.poll() is None:
        time.sleep(0.2)
        try:
            storage = storage or optuna.storages.RDBStorage(pg_url)
            study = optuna.load_study(study_name=study_name, storage=storage)
        except (KeyError, IntegrityError, ProgrammingError):  # no study yet; or its schema is being created
            continue
        running = [t for t in study.get_trials(states=(TrialState.RUNNING,)) if t.user_attrs.get("pid") == victim.pid]
        if running and running[0].intermediate_values:  # mid-trial: at least one epoch done
            victim_trial = running[0].number
    assert victim_trial is not None, "the victim never ran a trial"
    victim.send_signal(signal.SIGKILL)
    outs = finish(procs)
    assert victim.returncode == -signal.SIGKILL
    for p, out in zip(procs[1:], outs[1:]):
        assert p.returncode == 0, out[-3000:]

    resumed = run(args[:], cwd=tmp_path, env={"MNIST_SWEEP_STORAGE": pg_url})  # the same command again
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    study = optuna.load_study(study_name=study_name, storage=pg_url)
    by_number = {t.number: t for t in study.trials}
    lost = by_number[victim_trial]
    assert lost.state == TrialState.FAIL and lost.user_attrs["status"] == "lost"
    assert str(victim.pid) in lost.user_attrs["error"]
    others = [t for t in study.trials if t.number != victim_trial]
    assert all(t.state == TrialState.COMPLETE for t in others), [(t.number, t.state) for t in others]
    assert len(others) == n_trials  # the lost trial was replaced, nothing else was lost or re-run
    for t in others:
        assert (tmp_path / study_name / f"trial_{t.number:04d}" / "result.json").exists()
    board = pd.read_csv(tmp_path / study_name / "leaderboard.csv").set_index("trial")
    assert board.loc[victim_trial, "status"] == "failed" and "died" in board.loc[victim_trial, "error"]
    assert_no_password(make_url(pg_url).password, tmp_path, *outs, resumed.stdout, resumed.stderr)


@pytest.mark.slow
def test_stale_heartbeat_from_another_host_is_failed_as_lost(tmp_path, pg_url):
    """A worker on another machine stopped beating: after grace_period its trial is failed."""
    study_name = "pgbeat"
    storage = optuna.storages.RDBStorage(pg_url, heartbeat_interval=1, grace_period=2)
    study = optuna.create_study(study_name=study_name, storage=storage, direction="maximize")
    orphan = study.ask()
    orphan.set_user_attr("status", "running")
    orphan.set_user_attr("host", "elsewhere")
    storage.record_heartbeat(orphan._trial_id)
    time.sleep(3.5)
    args = sweep_args(tmp_path, study_name, 1, *SPACE, sqlite=False)
    proc = run(args + ["hydra.sweeper.heartbeat_interval=1", "hydra.sweeper.grace_period=2"], cwd=tmp_path,
               env={"MNIST_SWEEP_STORAGE": pg_url})
    assert proc.returncode == 0, proc.stderr[-3000:]
    study = optuna.load_study(study_name=study_name, storage=pg_url)
    trials = {t.number: t for t in study.trials}
    assert trials[orphan.number].state == TrialState.FAIL
    assert [t.state for n, t in trials.items() if n != orphan.number] == [TrialState.COMPLETE]  # replaced
    board = pd.read_csv(tmp_path / study_name / "leaderboard.csv").set_index("trial")
    assert board.loc[orphan.number, "status"] == "failed" and "heartbeat" in board.loc[orphan.number, "error"]


@pytest.mark.slow
def test_two_postgres_workers_share_the_repeats_and_run_each_seed_once(tmp_path, pg_url):
    from test_sweeper_repeats import check_parents

    from mnist_sweep.storage import REPEATS_SUFFIX

    study_name = "pgrep"
    args = sweep_args(tmp_path, study_name, 3, *SPACE, "hydra.sweeper.repeats.seeds=3", "hydra.sweeper.repeats.top_k=10",
                      sqlite=False)
    procs = [start(args, tmp_path, pg_url) for _ in range(2)]
    outs = finish(procs)
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-3000:]
    main = optuna.load_study(study_name=study_name, storage=pg_url)
    side = optuna.load_study(study_name=study_name + REPEATS_SUFFIX, storage=pg_url)
    assert not [t for t in main.trials + side.trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    parents = check_parents(main, side)  # each seed ran once, in its own dir, and the mean was told
    assert len(parents) >= 3
    assert {t.user_attrs["pid"] for t in side.trials} <= {p.pid for p in procs}
    assert_no_password(make_url(pg_url).password, tmp_path, *outs)


def test_the_test_server_script_starts_stops_and_refuses_an_unknown_argument():
    """scripts/pg-test-server on its own cluster and port: start, stop (make pg-stop), stop again
    (nothing to stop is no error), start again (the same cluster), and a mistyped argument refused."""
    import os

    import glob
    import tempfile

    import psycopg

    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        (pytest.fail if os.environ.get("CI") else pytest.skip)("PostgreSQL is not installed (apt-get install postgresql)")
    script = Path(__file__).resolve().parents[1] / "scripts" / "pg-test-server"
    tmp_path = Path(tempfile.mkdtemp(prefix="pg-script-"))  # not pytest's: root's is 0700, closed to the postgres user
    tmp_path.chmod(0o755)
    env = {**os.environ, "MNIST_SWEEP_PG_DIR": str(tmp_path / "pg"), "MNIST_SWEEP_PG_PORT": "55498"}

    def script_run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(script), *args], env=env, capture_output=True, text=True, timeout=120)

    try:
        url = (tmp_path / "pg" / "url").read_text().strip() if script_run().returncode == 0 else pytest.fail("no start")
        psycopg.connect(url, connect_timeout=5).close()
        assert script_run("stop").stdout.startswith("pg-test-server: stopped")
        assert script_run("stop").stdout.startswith("pg-test-server: not running")
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url, connect_timeout=5)
        assert script_run().returncode == 0 and (tmp_path / "pg" / "url").read_text().strip() == url
        bad = script_run("bogus")
        assert bad.returncode == 2 and "unknown argument 'bogus'" in bad.stderr and len(bad.stderr.splitlines()) == 1
    finally:
        script_run("stop")
        shutil.rmtree(tmp_path, ignore_errors=True)
