"""A sweep's job in a process of its own (the joblib launcher's loky workers) stops when the sweep
process that launched it dies (``mnist_sweep.orphans``): a SIGKILLed sweep left them training on for
half an hour, and a run that ended late wrote result.json into a trial the resume had failed as
lost. Stand-in processes first (a sweep that starts a job, the job importing only orphans.py), then
one real sweep with hydra.sweeper.n_jobs=2 (slow)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mnist_sweep import orphans

ORPHANS = Path(orphans.__file__)

JOB = """
import importlib.util, logging, sys, time
from pathlib import Path
spec = importlib.util.spec_from_file_location("orphans", sys.argv[1])
orphans = importlib.util.module_from_spec(spec)
spec.loader.exec_module(orphans)
out = Path(sys.argv[2])
logging.basicConfig(filename=out.with_suffix(".log"), level=logging.INFO)
with orphans.stop_with_sweep() as pid:
    out.with_suffix(".ready").write_text(f"{pid}")
    time.sleep(60)
out.with_suffix(".ended").write_text("the job ran to its end")
"""

SWEEP = """
import os, socket, subprocess, sys, time
env = {**os.environ, sys.argv[4]: f"{socket.gethostname()}:{os.getpid()}"}
job = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2], sys.argv[3]], env=env)
print(job.pid, flush=True)
time.sleep(60)
"""


def _wait_for(path: Path, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path.name} never written")


def _gone_within(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not orphans.pid_alive(pid):
            return True
        time.sleep(0.1)
    return False


def _sweep_with_a_job(tmp_path: Path) -> tuple[subprocess.Popen, int]:
    """A stand-in sweep process and the pid of the job it started, named in its SWEEP_ENV."""
    sweep = subprocess.Popen([sys.executable, "-c", SWEEP, JOB, str(ORPHANS), str(tmp_path / "job"), orphans.SWEEP_ENV],
                             stdout=subprocess.PIPE, text=True)
    return sweep, int(sweep.stdout.readline())


@pytest.mark.skipif(sys.platform == "win32", reason="a dead parent's children are handed on: POSIX")
def test_a_job_stops_when_its_sweep_is_sigkilled_and_not_before(tmp_path):
    sweep, job = _sweep_with_a_job(tmp_path)
    try:
        assert int(_wait_for(tmp_path / "job.ready")) == sweep.pid
        time.sleep(1.5 * orphans.POLL_S)  # its sweep alive: the job runs on
        assert orphans.pid_alive(job)
        sweep.kill()
        sweep.wait()
        assert _gone_within(job, 5 * orphans.POLL_S), "the job trained on after its sweep was SIGKILLed"
        assert not (tmp_path / "job.ended").exists()
        log = (tmp_path / "job.log").read_text()
        assert orphans.gone_line(sweep.pid) in log and "no result.json" in log, log
    finally:
        sweep.kill()
        sweep.wait()
        if orphans.pid_alive(job):
            os.kill(job, signal.SIGKILL)


def test_a_job_whose_sweep_died_before_it_started_stops_at_once(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    env = {**os.environ, orphans.SWEEP_ENV: f"{socket.gethostname()}:{gone.pid}"}
    proc = subprocess.run([sys.executable, "-c", JOB, str(ORPHANS), str(tmp_path / "job")], env=env, timeout=30)
    assert proc.returncode == orphans.EXIT and not (tmp_path / "job.ended").exists()
    assert orphans.gone_line(gone.pid) in (tmp_path / "job.log").read_text()


def test_jobs_nobody_may_stop_are_not_watched(monkeypatch):
    """A plain run, a job in the sweep's own process (the basic launcher), one on another host (Slurm),
    one another living process of this host started (a scheduler's): none is its sweep's child."""
    host = socket.gethostname()
    assert orphans.watched_pid(None) is None
    assert orphans.watched_pid(f"{host}:{os.getpid()}") is None  # in the sweep's process
    assert orphans.watched_pid(f"elsewhere.{host}:{os.getppid()}") is None
    assert orphans.watched_pid(f"{host}:1") is None or os.getppid() == 1  # alive, not this process's parent
    assert orphans.watched_pid(f"{host}:{os.getppid()}") == os.getppid()  # a loky worker's sweep: its parent
    monkeypatch.delenv(orphans.SWEEP_ENV, raising=False)
    with orphans.stop_with_sweep() as pid:
        assert pid is None


def test_each_job_names_the_sweep_process_that_launched_it():
    from hydra_plugins.mnist_sweep_sweeper import _study

    job = _study.job_overrides(["model.c1=8"], "trial_0003", 7, 3)
    assert f"++hydra.job.env_set.{orphans.SWEEP_ENV}='{socket.gethostname()}:{os.getpid()}'" in job
    assert job[:2] == ["model.c1=8", "hydra.sweep.subdir=trial_0003"]


@pytest.mark.parametrize("host", ["node 7", "a=b", "x,y", "it's", 'say "hi"', "12", "1e3", "${oops}", "[n1]", "b\\s"])
def test_a_host_name_the_override_grammar_would_misread_reaches_the_job_as_it_is(host, monkeypatch):
    """The job's env went unquoted into its overrides (``++hydra.job.env_set.K=HOST:PID``): a host name with a
    space, '=', ',', quotes, brackets or ``${`` made Hydra refuse the job's overrides or read another value
    (a sweep of two, an interpolation). Each value reads back, through the grammar and OmegaConf, as given."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    from hydra_plugins.mnist_sweep_sweeper import _study
    from mnist_sweep.trial import TRIAL_ID_ENV, TRIAL_NUMBER_ENV

    monkeypatch.setattr(socket, "gethostname", lambda: host)
    job = _study.job_overrides(["model.c1=8"], "trial_0003", 7, 3)
    env = OmegaConf.create({"hydra": {"job": {"env_set": {}}}})
    for override in OverridesParser.create().parse_overrides(job[2:]):
        assert override.is_sweep_override() is False, override
        OmegaConf.update(env, override.key_or_group, override.value(), merge=True)
    got = {k: str(v) for k, v in env.hydra.job.env_set.items()}  # resolved, as Hydra's env_override reads them
    assert got == {TRIAL_ID_ENV: "7", TRIAL_NUMBER_ENV: "3", orphans.SWEEP_ENV: f"{host}:{os.getpid()}"}


def test_a_runs_task_is_watched_only_where_a_sweep_process_launched_it(tmp_path, monkeypatch):
    """The task trains inside ``stop_with_sweep``: a sweep's job from this process's parent (as a loky
    worker's) with a watcher, a plain run without one (train is stubbed: it trains nothing)."""
    import threading

    from conftest import TINY, run_inproc
    from mnist_sweep import cli
    from mnist_sweep.errors import MnistSweepError

    watchers: list[list[str]] = []

    def train(st, out_dir, **kwargs):  # noqa: ANN001, ANN003, ANN202, ARG001
        watchers.append([t.name for t in threading.enumerate() if t.name == "stop-with-sweep"])
        raise MnistSweepError("stub: not trained")

    monkeypatch.setattr(cli, "train", train)
    args = ["mnist_sweep.train", *TINY, f"hydra.run.dir={tmp_path}/run"]
    for env in ({orphans.SWEEP_ENV: f"{socket.gethostname()}:{os.getppid()}"}, {}):
        proc = run_inproc(args, cwd=tmp_path, env=env)
        assert "error: stub: not trained" in proc.stderr, proc.stderr
    assert watchers == [["stop-with-sweep"], []]


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _holds_open(pid: int, d: Path) -> bool:
    """Whether process ``pid`` has a file under ``d`` open (a loky worker training a trial: its train.log)."""
    links = []
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            links.append(os.readlink(fd))
        except OSError:
            continue
    return any(link.startswith(f"{d}/") for link in links)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="finds the loky workers in /proc")
def test_a_sigkilled_sweeps_loky_workers_stop_unfinished(tmp_path):
    """A real sweep, hydra.sweeper.n_jobs=2 through the joblib launcher, SIGKILLed while both runs
    train: the loky workers training them end within seconds (an idle one waits out loky's own
    timeout: it trains nothing), neither run writes result.json, each train.log says why."""
    from conftest import _env, sweep_args

    d = tmp_path / "orph"
    args = [*sweep_args(tmp_path, "orph", 2, "optimizer.lr=tag(log,interval(0.01,0.1))"),  # two configs: two jobs
            "trainer.max_epochs=400", "trainer.epoch_cap=null", "hydra/launcher=parallel", "hydra.sweeper.n_jobs=2"]
    sweep = subprocess.Popen([sys.executable, "-m", *args], cwd=tmp_path, env=_env(None),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[int] = []
    try:
        deadline = time.monotonic() + 180
        while len(list(d.glob("trial_*/metrics.csv"))) < 2:  # both runs past their first epoch (minutes to go)
            assert time.monotonic() < deadline and sweep.poll() is None, "the two runs never trained"
            time.sleep(0.2)
        children = _children(sweep.pid)
        training = [c for c in children if _holds_open(c, d)]
        assert len(training) == 2, (children, training)
        sweep.kill()
        sweep.wait()
        alive = [w for w in training if not _gone_within(w, 10)]
        assert not alive, f"loky workers {alive} trained on after their sweep was SIGKILLed"
        for trial in sorted(d.glob("trial_*")):
            assert not (trial / "result.json").exists(), trial
            assert f"the sweep process {sweep.pid} that launched this run has died" in (trial / "train.log").read_text()
    finally:
        sweep.kill()
        sweep.wait()
        for c in children:  # the workers, loky's resource trackers
            if orphans.pid_alive(c):
                os.kill(c, signal.SIGKILL)


@pytest.mark.parametrize("subdir", ["t,x 0", "t=1", "t'1", "trial_0003/seed_2"])
def test_a_trial_dir_format_the_grammar_would_misread_is_the_jobs_subdir_as_it_is(subdir):
    """hydra.sweeper.trial_dir='t,x {number}' passes its checks (a file name with {number}): the job's
    hydra.sweep.subdir=t,x 0 went unquoted, a sweep of two subdirs. Read back as given."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from hydra_plugins.mnist_sweep_sweeper import _study

    (override,) = OverridesParser.create().parse_overrides(_study.job_overrides([], subdir, 7, 3)[:1])
    assert not override.is_sweep_override() and (override.key_or_group, override.value()) == ("hydra.sweep.subdir", subdir)
