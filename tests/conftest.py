"""Shared fixtures: the real conf/ composed with Hydra's compose API, shrunk to tiny runs."""
from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import optuna
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from mnist_sweep import PROJECT_ROOT
from mnist_sweep.commandline import exit_status

CONF = PROJECT_ROOT / "conf"
# Tiny, seeded, one epoch: a few seconds on a 2-core CPU.
TINY = [  # fp32: auto times every new model's steps (seconds, more than a tiny run); tests/test_precision.py tests auto
    "data.train_limit=512", "data.val_size=256", "data.test_limit=256", "data.batch_size=64",
    "trainer.max_epochs=1", "trainer.progress=false", "trainer.precision=fp32",
    "trainer.save_curves=false",  # matplotlib's 0.3-0.5 s a run, over hundreds of runs; test_cli and the tiny_sweep draw them
]


def _parse_each_yaml_text_once() -> None:
    """OmegaConf.load, which Hydra's compose calls for every config file it reads (15 a composition,
    a fifth of its 0.3-0.5 CPU-s), parses the file's YAML anew each time. Here, in this test process
    and its forks, each distinct text is parsed once (with OmegaConf's own loader, under the file's
    name, so an error reads as it would) and a deep copy of what it parsed is returned: the same
    objects as a fresh parse, for a fraction of its cost. A text that fails to parse is not kept:
    it fails again each time. MNIST_SWEEP_TEST_YAML_CACHE=0 turns it off (to measure it)."""
    import copy
    import io

    import yaml
    from omegaconf import omegaconf as oc

    if os.environ.get("MNIST_SWEEP_TEST_YAML_CACHE") == "0":
        return
    parsed: dict[tuple[str, str], object] = {}

    class CachedYaml:
        def __getattr__(self, name: str) -> object:
            return getattr(yaml, name)

        @staticmethod
        def load(stream, Loader):  # noqa: N803 - yaml.load's own name
            text = stream.read() if hasattr(stream, "read") else stream
            key = (text, f"{Loader.__module__}.{Loader.__qualname__}")
            if key not in parsed:
                named = io.StringIO(text)
                named.name = getattr(stream, "name", "<file>")
                parsed[key] = yaml.load(named, Loader=Loader)
            return copy.deepcopy(parsed[key])

    oc.yaml = CachedYaml()


_parse_each_yaml_text_once()


def _sqlite_without_fsync() -> None:
    """Every SQLite connection SQLAlchemy opens in this test process and its forks (Optuna's storage,
    the sweeps', the tests' own load_study) runs with ``PRAGMA synchronous = OFF``: each commit of a
    sweep (hundreds a sweep: trial states, user attrs) waited for its fsyncs, 8 ms each on the CI's
    disk, 40% of a tiny 4-trial sweep's wall time. A commit still reaches the OS before it returns, so
    a SIGKILLed process loses nothing committed (what the signal tests check); only a machine's crash
    could. Locking and transactions are unchanged. Helpers started as new interpreters keep SQLite's
    default. MNIST_SWEEP_TEST_SQLITE_SYNC=1 turns it off (to measure it)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if os.environ.get("MNIST_SWEEP_TEST_SQLITE_SYNC") == "1":
        return

    @event.listens_for(Engine, "connect")
    def _no_fsync(dbapi_connection, _record) -> None:  # noqa: ANN001
        if type(dbapi_connection).__module__ == "sqlite3":
            dbapi_connection.execute("PRAGMA synchronous = OFF")


_sqlite_without_fsync()


def make_cfg(*overrides: str) -> DictConfig:
    return composed(overrides, hydra=False)


def make_cfg_hydra(*overrides: str) -> DictConfig:
    """The composed config with its hydra node (launcher, sweeper)."""
    return composed(overrides, hydra=True)


_COMPOSED: dict[tuple, bytes] = {}


def composed(overrides: tuple[str, ...], hydra: bool) -> DictConfig:
    """conf/ composed with ``overrides`` (Hydra's compose API), each distinct composition once per
    test process (about 0.2 CPU-s; hundreds of tests build the same TINY config), then a copy of it
    (unpickled, as the sweeper copies its composed base: milliseconds), which the test may change.
    A composition that fails is tried again each time (its error raised each time)."""
    import pickle

    key = (hydra, os.getcwd(), *overrides)  # hydra.runtime.cwd is the working directory's
    if key not in _COMPOSED:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
            _COMPOSED[key] = pickle.dumps(compose("config", overrides=list(overrides), return_hydra_config=hydra))
    return pickle.loads(_COMPOSED[key])


@pytest.fixture
def cfg():
    return make_cfg


REQUIRE_CUDA_ENV = "MNIST_SWEEP_REQUIRE_CUDA"  # bench/gpu_check.sh sets it on the GPU machine


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``cuda`` skip with one line where torch sees no CUDA device, and fail instead
    when $MNIST_SWEEP_REQUIRE_CUDA=1 (a GPU check must not pass by skipping everything)."""
    if item.get_closest_marker("cuda") is None:
        return
    import torch

    if torch.cuda.is_available():
        return
    if os.environ.get(REQUIRE_CUDA_ENV) == "1":
        pytest.fail(f"no CUDA device (torch.cuda.is_available() is False) but {REQUIRE_CUDA_ENV}=1", pytrace=False)
    pytest.skip("needs a CUDA GPU (torch.cuda.is_available() is False); bench/gpu_check.sh runs it on one")


def _env(env: dict | None) -> dict:
    full_env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "MNIST_SWEEP_STORAGE")}
    full_env.update({"PYTHONUNBUFFERED": "1", **(env or {})})
    return full_env


def run(args: list[str], cwd: Path, timeout: int = 300, env: dict | None = None,
        process: bool = False) -> subprocess.CompletedProcess:
    """``python -m <args>`` in ``cwd``: in this process through the entry point's ``main(argv)``
    (``run_inproc``; a new interpreter costs seconds of imports: torch, torch._dynamo, Optuna,
    Hydra), or as a real subprocess with ``process=True`` (one test per entry point) and for a
    sweep through the joblib or multigpu launcher."""
    if not process and in_process(args):
        return run_inproc(args, cwd, env)
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=_env(env)
    )


def in_process(args: list[str]) -> bool:
    module = args[0]
    if module == "mnist_sweep.train" and "-m" in args:  # helper workers and submitit's jobs are processes either way
        return not any(a.startswith("hydra/launcher=") and a != "hydra/launcher=submitit_local" for a in args)
    return module.startswith("mnist_sweep.")


def run_inproc(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """``run`` in this process: the entry point's ``main(argv)`` with stdout/stderr captured, cwd
    and environment as ``run`` sets them. An exception escaping main is written to stderr as its
    traceback (what a user would see), so assert_one_line_error catches it."""
    import importlib
    import io
    import traceback

    module, *argv = args
    main = importlib.import_module("mnist_sweep.cli" if module == "mnist_sweep.train" else module).main
    out, err = io.StringIO(), io.StringIO()
    # new_env is built before the clear, so the run sees this process's environment
    # ($MNIST_SWEEP_DATA, the precision cache) as a subprocess would
    old_cwd, old_env, new_env = os.getcwd(), dict(os.environ), _env(env)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(new_env)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = exit_code(main, argv)
            except Exception:  # noqa: BLE001 - reported like the interpreter would
                traceback.print_exc(file=err)
                rc = 1
    finally:
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(old_env)
    return subprocess.CompletedProcess(args, rc, out.getvalue(), err.getvalue())


def exit_code(main, argv: list[str]) -> int:  # noqa: ANN001
    """``main(argv)``'s exit status, a ``SystemExit`` turned into one as the interpreter does."""
    try:
        return main(list(argv))
    except SystemExit as e:
        return exit_status(e)


def snapshot(d: Path) -> dict[str, float]:
    """Every path under ``d`` with its size and mtime: to assert nothing was deleted or written."""
    return {str(p.relative_to(d)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(d.rglob("*"))}


def spawn(args: list[str], cwd: Path, env: dict | None = None) -> Forked | subprocess.Popen:
    """``python -m <args>`` started without waiting, stdout and stderr together (``communicate()``):
    a fork of this warm process (``Forked``) where that is safe, else a new interpreter. Not safe:
    CUDA already initialized here (a forked child cannot use it) or a run asking for more than one
    torch thread (torch's OpenMP pool does not survive a fork once used)."""
    import torch

    threads = [a.split("=", 1)[1] for a in args if a.startswith("trainer.threads=")]
    if not torch.cuda.is_initialized() and all(t == "1" for t in threads):
        return Forked(args, cwd, env)
    return subprocess.Popen([sys.executable, "-m", *args], cwd=cwd, env=_env(env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=_default_sigint)


def _default_sigint() -> None:
    """A shell's background job starts with SIGINT ignored (and under nohup SIGHUP), and Python
    keeps them so: restore them, as in a command typed at a terminal."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


class Forked:
    """``python -m <args>`` as a fork of this warm test process: a real process (its own pid,
    signals, storage connections and helper workers) that runs the entry point's ``main(argv)``
    and ends like an interpreter (non-daemon threads joined, atexit run), without the ~6 CPU-s
    of imports a new one pays (torch, torch._dynamo, Hydra's plugins, Optuna). Warnings, thread
    and unraisable exceptions go to its output as in a new interpreter, not to pytest. The subset
    of ``subprocess.Popen`` the tests use: pid, poll, wait, send_signal, kill, communicate."""

    def __init__(self, args: list[str], cwd: Path, env: dict | None = None, *, inherit: bool = False,
                 split: bool = False, own_group: bool = False) -> None:
        """``inherit``: this process's environment as it is (as Popen without ``env``), not ``_env``'s;
        ``split``: stderr apart from stdout (``communicate`` returns both); ``own_group``: its own
        process group (Popen's ``process_group=0``)."""
        import gc
        import importlib
        import tempfile
        import warnings

        module, *argv = args
        main = importlib.import_module("mnist_sweep.cli" if module == "mnist_sweep.train" else module).main
        self.args, self.returncode = args, None
        self._out = tempfile.TemporaryFile()
        self._err = tempfile.TemporaryFile() if split else None
        fds = (self._out.fileno(), (self._err or self._out).fileno())
        env = dict(os.environ) if inherit else _env(env)
        _warm_up()
        gc.collect()  # garbage of this process is collected here, never by the child
        sys.stdout.flush()
        sys.stderr.flush()
        with warnings.catch_warnings():  # Python 3.12+ warns about fork() with threads (xdist's reader)
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            rc = 1
            try:
                if own_group:
                    os.setpgid(0, 0)
                rc = _child(main, argv, fds, cwd, env)
            except BaseException:  # noqa: BLE001 - reported like the interpreter would
                with contextlib.suppress(BaseException):
                    import traceback

                    traceback.print_exc()
                    sys.stdout.flush()
                    sys.stderr.flush()
            finally:
                os._exit(rc)
        self.pid = pid
        _FORKED.append(self)

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                self._dump_stacks()
                self.kill()
                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(0.05)
        return self.returncode

    def _dump_stacks(self) -> None:
        """A child past its timeout: its threads' stacks (faulthandler, on SIGUSR2) and its output's
        tail to this test's stderr, which pytest shows with the failure (where it hung, not only that)."""
        import signal
        import time

        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGUSR2)
            time.sleep(1)
        sys.stderr.write(f"--- {' '.join(self.args[:2])}: output and threads at the timeout ---\n{_text(self._out)[-6000:]}\n")

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        import signal

        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])

    def communicate(self, timeout: float | None = None) -> tuple[str, str | None]:
        self.wait(timeout)
        return _text(self._out), (None if self._err is None else _text(self._err))


def _text(f) -> str:  # noqa: ANN001
    f.seek(0)
    return f.read().decode(errors="replace")


def _child(main, argv: list[str], fds: tuple[int, int], cwd: Path, env: dict) -> int:
    """A forked child's life: an interpreter's state, then ``main(argv)``, then an interpreter's end;
    its stdout and stderr go to ``fds`` (one file twice: both together)."""
    import atexit
    import faulthandler
    import gc
    import signal
    import threading
    import warnings

    gc.freeze()  # the parent's objects are never collected (or finalized) here
    atexit._clear()  # the parent's (pytest's) exit functions are not this process's
    if (futures := sys.modules.get("concurrent.futures.thread")) is not None:
        futures._threads_queues.clear()  # nor its executors' threads (forked from one: joined at the end, itself)
    if (global_hydra := sys.modules.get("hydra.core.global_hydra")) is not None:
        global_hydra.GlobalHydra.instance().clear()  # a compose under way in another thread (confirm's next seed)
    for fd, target in zip((1, 2), fds):
        os.dup2(target, fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = sys.stdout if fds[0] == fds[1] else open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.excepthook, sys.unraisablehook = sys.__excepthook__, sys.__unraisablehook__
    faulthandler.register(signal.SIGUSR2, file=sys.stderr, all_threads=True)  # Forked._dump_stacks at a timeout
    threading.excepthook = threading.__excepthook__
    warnings.showwarning = _print_warning  # pytest records warnings; an interpreter prints them
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)  # as from a terminal: pytest under nohup ignores it
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    try:
        rc = exit_code(main, argv)
    except KeyboardInterrupt:
        rc = 130
    threading._shutdown()  # what the interpreter does at exit: wait for non-daemon threads
    atexit._run_exitfuncs()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})  # nothing interrupts the end
    sys.stdout.flush()
    sys.stderr.flush()
    return rc


class _ForkingSubprocess:
    """``subprocess`` as ``mnist_sweep.children`` sees it in the tests: the training runs confirm and
    reproduce start (``Children.run``: ``python -m mnist_sweep.train ...``, output captured, in a
    process group of its own) are forks of this warm process (``Forked``), not new interpreters, each
    without the ~6 CPU-s of imports; still real processes that Children's signals stop. Any other
    command (the signal tests' stand-in scripts) or way of starting one is a real subprocess."""

    FORKABLE = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "process_group": 0}

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(subprocess, name)

    def Popen(self, cmd, **kwargs):  # noqa: ANN001, ANN201, N802 - subprocess.Popen's name
        if (list(cmd[:2]) == [sys.executable, "-m"] and str(cmd[2]).startswith("mnist_sweep.")
                and kwargs == self.FORKABLE):
            return Forked(list(cmd[2:]), Path.cwd(), inherit=True, split=True, own_group=True)
        return subprocess.Popen(cmd, **kwargs)


@pytest.fixture(scope="session", autouse=True)
def _autograd_forkable() -> None:
    """torch's autograd engine decides once, at a process's first backward, whether it starts device
    threads (for each non-CPU device registered by then), and a fork after that cannot backward.
    FakeTensorMode (torch.export, so export --onnx) registers one: a test's in-process training after
    an ONNX export started them, and every later ``Forked`` run of that xdist worker failed with
    'Unable to handle autograd's threading in combination with fork-based multiprocessing'. A first
    backward here, with the CPU alone, settles it for the session."""
    import torch

    torch.zeros(1, requires_grad=True).sum().backward()


@pytest.fixture(autouse=True)
def _forked_children(request, monkeypatch):
    """Every test's confirm and reproduce train their runs in forks (``_ForkingSubprocess``), but a
    test marked ``subprocess_children``, whose runs are new interpreters as a user's are."""
    if request.node.get_closest_marker("subprocess_children") is None:
        from mnist_sweep import children

        monkeypatch.setattr(children, "subprocess", _ForkingSubprocess())


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    import warnings

    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


_FORKED: list[Forked] = []


def _warm_up() -> None:
    """Import here, once, what a run imports lazily, so forked children do not each pay it."""
    import torch
    from hydra.core.plugins import Plugins

    import mnist_sweep.plots  # noqa: F401 - matplotlib (Agg), drawn at the end of every run
    import mnist_sweep.train  # noqa: F401

    Plugins.instance()  # imports every installed Hydra plugin (launchers, sweepers)
    torch.optim.SGD([torch.zeros(1, requires_grad=True)])  # imports torch._dynamo (about 2 CPU-s)


def kill_forked() -> None:
    """SIGKILL this test's forked children still running (a failed test's, before its teardown)."""
    while _FORKED:
        _FORKED.pop().kill()


@pytest.fixture(autouse=True)
def _no_forked_child_outlives_its_test():
    yield
    kill_forked()


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Non-zero exit, no traceback, no pointer to Hydra's debug switch, and one stderr line in the
    project's ``error: ...`` form that names what was wrong."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "HYDRA_FULL_ERROR" not in proc.stderr, proc.stderr
    lines = [l for l in proc.stderr.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith(("error: ", "interrupted")), proc.stderr
    last = lines[-1]
    for needle in needles:
        assert needle in last, last
    return last


# One small space: c3=256 is always over the 20k budget, so rejections are certain to occur.
SPACE = ["model.c3=choice(16,256)", "optimizer.lr=tag(log,interval(0.01,0.1))", "scheduler=choice(onecycle,cosine)",
         "scheduler.pct_start=interval(0.2,0.3)"]


# Every test sweep draws at random (TPE's seeded start-up draws): past its start-up TPE models the
# trials' accuracies, which differ between CPU kinds (Xeon, EPYC), so which config it drew next, and
# whether a test saw every config, depended on the machine.
STARTUP = 10_000


def sweep_args(tmp_path, study: str, n_trials: int, *extra: str, pruner: str = "none", sqlite: bool = True,
               report: bool = False) -> list[str]:
    """A tiny one-worker sweep; no pruning unless asked, so every trial runs its epochs; no report
    unless asked (report tests only). ``sqlite=False`` leaves the storage to $MNIST_SWEEP_STORAGE."""
    d = tmp_path / study
    storage = [f"hydra.sweeper.storage=sqlite:///{d}/optuna.db"] if sqlite else []
    storage += [] if report else ["hydra.sweeper.on_sweep_end=null"]
    return [
        "mnist_sweep.train", "-m", f"hydra.sweep.dir={d}", *storage,
        f"hydra.sweeper.study_name={study}", f"hydra.sweeper.n_trials={n_trials}", "hydra.sweeper.workers=1",
        f"hydra/sweeper/pruner={pruner}",
        f"hydra.sweeper.sampler.n_startup_trials={STARTUP}",
        "hydra.sweeper.params=null", *TINY, *extra,
    ]


def load(tmp_path, study: str) -> optuna.Study:
    return optuna.load_study(study_name=study, storage=f"sqlite:///{tmp_path / study}/optuna.db")


def fingerprint(d) -> dict[str, str]:
    return {
        str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(d.rglob("*")) if p.is_file() and p.suffix in (".json", ".csv", ".pt", ".yaml")
    }


@pytest.fixture(scope="session")
def swept(tmp_path_factory):
    """A 3-trial sweep, then the same command resumed to 5 trials, then run once more."""
    tmp = tmp_path_factory.mktemp("sweep")
    first = run(sweep_args(tmp, "e2e", 3, *SPACE), cwd=tmp)
    assert first.returncode == 0, first.stderr[-3000:]
    board1 = pd.read_csv(tmp / "e2e" / "leaderboard.csv")
    dirs1 = {p.name: fingerprint(p) for p in (tmp / "e2e").glob("trial_*")}
    second = run(sweep_args(tmp, "e2e", 5, *SPACE), cwd=tmp)
    assert second.returncode == 0, second.stderr[-3000:]
    third = run(sweep_args(tmp, "e2e", 5, *SPACE, report=True), cwd=tmp)  # nothing left to run: the report
    assert third.returncode == 0, third.stderr[-3000:]
    return tmp, board1, dirs1


# A tiny real sweep shared by the export, predict, leaderboard and report tests. It runs in
# ``<tmp>/work`` with a *relative* SQLite storage (``sqlite:///db/optuna.db``, so the database is
# not in the sweep dir) and an absolute sweep dir ``<tmp>/sw``: readers must find the study through
# what the sweep recorded, from any working directory.
# 1 epoch on 1,024 images without augmentation: about 60% accuracy, so predictions vary; c3=256 is
# over the 20k budget, so rejections are certain to be tried.
TINY_SWEEP_TRAIN = ["data.train_limit=1024", "data.val_size=256", "data.test_limit=256", "data.batch_size=32",
                    "data.augment.strength=0", "trainer.max_epochs=1", "trainer.progress=false",
                    "trainer.precision=fp32"]  # auto measures per CPU kind (bf16 on some): numbers differ between them
TINY_SWEEP_SPACE = ["model.c3=choice(8,16,256)", "optimizer.lr=tag(log,interval(0.02,0.2))",
                    "model.dropout=interval(0.0,0.1)"]
TINY_SWEEP_TRIALS = 5  # complete trials (rejections do not count): enough for importances


@dataclass
class TinySweep:
    cwd: Path  # where the sweep ran
    dir: Path  # the sweep dir
    db: Path  # the SQLite file, outside the sweep dir
    board: pd.DataFrame


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory) -> TinySweep:
    tmp = tmp_path_factory.mktemp("tiny_sweep")
    cwd, sweep_dir = tmp / "work", tmp / "sw"
    cwd.mkdir()
    args = ["mnist_sweep.train", "-m", f"hydra.sweep.dir={sweep_dir}", "hydra.sweeper.storage=sqlite:///db/optuna.db",
            "hydra.sweeper.study_name=tiny", f"hydra.sweeper.n_trials={TINY_SWEEP_TRIALS}", "hydra.sweeper.workers=1",
            "hydra.sweeper.on_sweep_end=null",  # no report at the end: the report tests run `report` themselves
            "hydra/sweeper/pruner=none", f"hydra.sweeper.sampler.n_startup_trials={STARTUP}", "hydra.sweeper.params=null",
            *TINY_SWEEP_TRAIN, *TINY_SWEEP_SPACE]
    proc = run(args, cwd=cwd, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    board = pd.read_csv(sweep_dir / "leaderboard.csv")
    return TinySweep(cwd, sweep_dir, cwd / "db" / "optuna.db", board)


PG_URL_FILE = Path(os.environ.get("MNIST_SWEEP_PG_DIR", "/tmp/mnist_sweep_pg")) / "url"


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The throwaway server's admin URL (scripts/pg-test-server, started by `make test`); the
    PostgreSQL tests skip with one line where there is none or it no longer answers (fail in CI)."""
    import psycopg

    url = os.environ.get("MNIST_SWEEP_TEST_PG") or (PG_URL_FILE.read_text().strip() if PG_URL_FILE.exists() else "")
    msg = "no PostgreSQL test server: run scripts/pg-test-server (make test does)"
    if url:
        try:
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.OperationalError as e:
            url, msg = "", f"the PostgreSQL test server in {PG_URL_FILE} does not answer ({str(e).splitlines()[0][:120]}): run scripts/pg-test-server"
    if not url:
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return url


# Tests that share a session sweep run on one xdist worker (`make test` passes --dist loadgroup), so
# each sweep is built once per run instead of once per worker.
SHARED_SWEEPS = ("swept", "tiny_sweep")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups and -m deselects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests on a shared sweep are grouped (and ``slow``: the sweep is); ``slow`` tests go first, so
    two workers finish together instead of one waiting on the last long test."""
    for item in items:
        shared = [f for f in SHARED_SWEEPS if f in getattr(item, "fixturenames", ())]
        for name in shared:  # defined in a test module (or a module it imports), it is built once per module
            # pytest has no public API for where a fixture is defined: this reads its private _fixtureinfo
            where = [d.baseid for d in item._fixtureinfo.name2fixturedefs[name] if d.baseid.endswith(".py")]
            if where:
                raise pytest.UsageError(f"{item.nodeid}: the shared sweep {name!r} is also defined in {where[0]}, "
                                        "which builds it again for that module; use the one in tests/conftest.py")
        if shared:
            item.add_marker(pytest.mark.xdist_group(shared[0]))
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What this test process has imported and collected by now (torch, Hydra, Optuna, 2,000 test
    items: about 300,000 objects) is left out of the cyclic garbage collector's passes, and a pass
    starts after 10,000 new container objects, not 700: the tests' Hydra compositions allocate
    millions, and the collector's passes over the same long-lived objects took about 8% of the
    tests' CPU time (4% now). A command's own process (a subprocess test's) keeps Python's defaults."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def pytest_configure(config: pytest.Config) -> None:
    """The tests keep trainer.precision=auto's decisions in a cache of their own (each is measured
    once per machine and model; the subprocesses inherit the variable). xdist groups tests by a suffix on their node ids; from pytest 9.2 the suffix no longer sticks
    (pytest-dev/pytest-xdist#1386) and each worker would build every shared sweep again."""
    from packaging.version import Version

    from mnist_sweep.precision import CACHE_ENV

    config.addinivalue_line("markers", "subprocess_children: confirm's and reproduce's training runs are new "
                                       "interpreters, not forks of the test process (conftest._ForkingSubprocess)")

    if CACHE_ENV not in os.environ:
        import tempfile

        os.environ[CACHE_ENV] = str(Path(tempfile.gettempdir()) / "mnist_sweep_test_cache")
    if config.getoption("dist", "no") == "loadgroup" and Version(pytest.__version__) >= Version("9.2.0.dev0"):
        raise pytest.UsageError(
            f"--dist loadgroup does not group tests on pytest {pytest.__version__} (pytest-dev/pytest-xdist#1386): "
            "install requirements.lock's pytest (make setup)"
        )


@pytest.fixture
def pg_url(pg_admin_url):
    """A fresh database for one test, dropped afterwards; its URL carries the password."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"mnist_sweep_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(pg_admin_url, autocommit=True)
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        kill_forked()  # before the database goes
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
