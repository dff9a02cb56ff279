"""Helper sweep processes: ``workers - 1`` copies of this command on the same study, each running
one trial at a time. A helper's whole output goes to ``worker-N.log`` in the sweep dir; its
per-trial lines (complete, pruned, failed, rejected, duplicate, lost) come through a pipe of their
own (``_log``) and are logged on this console as ``worker N: <line>``."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from hydra_plugins.mnist_sweep_sweeper._log import PROGRESS_FD_ENV, log, parse_channel_line
from mnist_sweep.cpus import Load, usable_cpus, warn_threads
from mnist_sweep.trial import WORKER_ENV
from mnist_sweep.text import duration, plural

TRAIN_MODULE = "mnist_sweep.train"  # the task this sweeper runs; its helpers re-run it
INTERRUPTED = 128 + signal.SIGINT  # what a helper's main() returns when SIGTERM or Ctrl-C stops it
STOP_WAIT_S = (10.0, 20.0)  # a stopped helper not gone after the first: SIGTERM again; after both: SIGKILL
PARENT_ENV = "MNIST_SWEEP_PARENT_PID"  # in a helper: the pid of the sweep process that started it
PR_SET_PDEATHSIG = 1  # prctl(2)


def helper_command() -> list[str]:
    """``python -m mnist_sweep.train <this sweep's arguments> hydra.sweeper.workers=1``.

    The arguments are ``sys.argv``, which ``mnist_sweep.cli.main(argv)`` sets for Hydra, so a sweep
    started in-process (a notebook, a test) gets helpers running its own command, not the host
    interpreter's. Interpreter options (-X, -W) are carried over with the stdlib's private
    ``subprocess._args_from_interpreter_flags``, the function multiprocessing uses for its children.
    """
    args = [a for a in sys.argv[1:] if not a.startswith("hydra.sweeper.workers=")]
    flags = subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]
    return [sys.executable, *flags, "-m", TRAIN_MODULE, *args, "hydra.sweeper.workers=1"]


def stop_with_parent() -> None:
    """In a helper: SIGTERM to itself when the sweep process that started it dies (Linux's
    PR_SET_PDEATHSIG), so it stops as on ``Helpers.stop``'s SIGTERM, its open trial marked lost. A
    SIGKILLed sweep left its helper training the study alone to n_trials. The parent is the thread
    that started the helper: ``_run``'s, alive until the helpers are waited for. A sweep gone before
    this call (the helper still importing) is found by its pid: not this process's parent any more."""
    parent = os.environ.pop(PARENT_ENV, None)
    if parent is None or not sys.platform.startswith("linux"):
        return
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != int(parent):  # started through a wrapper, or its sweep died already
        from hydra_plugins.mnist_sweep_sweeper._liveness import pid_alive

        if not pid_alive(int(parent)):
            os.kill(os.getpid(), signal.SIGTERM)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """While a stopping worker marks its open trials lost: one SIGINT or SIGTERM more is held back
    and dropped (the worker is stopping already), a second one still interrupts. Ctrl-C reaches a
    helper and its sweep's SIGTERM (``Helpers.stop``) follows at once; that second signal cut the
    clean-up short, leaving a trial RUNNING and 'running' on the leaderboard of a stopped sweep."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread handles signals
        yield
        return
    held: list[int] = []

    def hold(signum: int, frame: object) -> None:
        held.append(signum)
        if len(held) > 1:
            raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


REMOTE_LAUNCHERS = ("SlurmLauncher",)  # trials trained on other machines (hydra/launcher=slurm), not on this one's CPUs
PARALLEL_LAUNCHERS = ("JoblibLauncher",)  # a worker's batch of hydra.sweeper.n_jobs trials trained at once (parallel, multigpu)


def trial_load(config: Any, space: Any = None, n_jobs: int = 1) -> Load:
    """What each worker of the sweep trains at once on this machine, for the workers x threads warning
    (``worker_count``): ``n_jobs`` trials where the joblib launcher runs its batch at once (the basic
    launcher runs them one after another), each of the sweep's ``trainer.threads``, or the most that
    ``space`` (``_space.SearchSpace``) draws for it (trainer.threads=choice(1,2): 2). Where its trials
    train on other machines (hydra/launcher=slurm: each job has its own cpus_per_task, and each run
    warns on its own CPUs) one thread of one trial: docs/distributed.md's Slurm command was told to set 1."""
    from omegaconf import OmegaConf

    target = str(OmegaConf.select(config, "hydra.launcher._target_", default="") or "").rsplit(".", 1)[-1]
    if target in REMOTE_LAUNCHERS:
        return Load()
    jobs = max(n_jobs, 1) if target in PARALLEL_LAUNCHERS else 1
    threads = OmegaConf.select(config, "trainer.threads", default=1)
    if space is not None and str(space.fixed.get("trainer.threads", "")).isdigit():  # hydra.sweeper.params={trainer.threads:4}
        threads = int(space.fixed["trainer.threads"])
    dist = space.values.get("trainer.threads") if space is not None else None
    if dist is None:
        return Load(threads, jobs)
    drawn = [c for c in getattr(dist, "choices", ()) if isinstance(c, int)] or [getattr(dist, "high", threads)]
    return Load(max(drawn), jobs, True)


def worker_count(workers: int, runs: int, threads: int = 1, jobs: int = 1, searched: bool = False) -> int:
    """How many sweep processes ``hydra.sweeper.workers`` starts: at most one per usable CPU (each
    trains on one or more threads; on 2 cores, 4 workers completed fewer trials per minute than 2)
    and at most the ``runs`` the sweep can still have (``_revive.runs_to_go``: a resume's trials left,
    not n_trials). Each cap is logged, and so are more training threads than CPUs: the workers x
    ``jobs`` trials each x ``threads`` each (``trial_load``; mnist_sweep.cpus, said once)."""
    cpus = usable_cpus()
    count = max(min(workers, cpus, runs), 1)
    if count < workers:
        started = "1 worker runs" if count == 1 else f"{count} workers run"
        if cpus <= runs:  # more workers than CPUs: a setting to change
            log.warning("hydra.sweeper.workers=%d: this machine has %s, so %s; more would only share them",
                        workers, plural(cpus, "usable CPU"), started)
        else:  # a short sweep, or a resume with little left: nothing for the rest to do
            log.info("hydra.sweeper.workers=%d: the sweep has %s to go at most, so %s", workers, plural(runs, "run"), started)
    jobs = min(jobs, max(-(-runs // count), 1))  # a batch holds no more trials than the sweep has to go
    warn_threads(threads, count, cpus, log, jobs, searched)
    return count


def interrupted_starting(log_path: Path) -> bool:
    """Whether a helper's log ends in a KeyboardInterrupt's traceback: a SIGINT (Ctrl-C to the process
    group) that reached its Python while it was starting, before any handler, in ``import site`` ('Fatal
    Python error: init_import_site') or runpy's module lookup, exits 1, not -2 or 130. It was said as a
    fault: 'worker pid N exited with 1; see worker-1.log'. A real failure's log ends in its own error."""
    try:
        with open(log_path, "rb") as f:
            f.seek(max(f.seek(0, os.SEEK_END) - 4096, 0))
            tail = f.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return False
    return bool(tail) and tail[-1].strip().split(":")[0] == "KeyboardInterrupt"


class Helpers:
    def __init__(self, n: int, sweep_dir: Path) -> None:
        self.n, self.sweep_dir = n, sweep_dir
        self.procs: list[tuple[subprocess.Popen, Path]] = []
        self.threads: list[threading.Thread] = []
        self.stopped = False  # stop() sent SIGTERM: a helper ending by it is expected, not a fault

    def start(self) -> None:
        """Start the helpers: the same command with workers=1; each picks its own sampler seed."""
        for i in range(1, self.n):
            log_path = self.sweep_dir / f"worker-{i}.log"
            out = open(log_path, "ab")  # noqa: SIM115 - closed by its copying thread
            read_fd, write_fd = os.pipe()
            try:
                proc = subprocess.Popen(
                    helper_command(), stdout=out, stderr=subprocess.STDOUT, pass_fds=(write_fd,),
                    env={**os.environ, WORKER_ENV: str(i), PROGRESS_FD_ENV: str(write_fd), PARENT_ENV: str(os.getpid()),
                         "PYTHONUNBUFFERED": "1"},
                )
            finally:
                os.close(write_fd)  # the helper holds the only writing end: the pipe ends with it
                out.close()
            lines = os.fdopen(read_fd, "r", encoding="utf-8", errors="replace")
            thread = threading.Thread(target=self._forward, args=(lines, i), daemon=True)
            thread.start()
            self.procs.append((proc, log_path))
            self.threads.append(thread)
            log.info("started worker %d (pid %d), log %s", i, proc.pid, log_path)

    @staticmethod
    def _forward(lines: IO[str], i: int) -> None:
        """Log the helper's per-trial lines on this console, at their own level."""
        with lines:
            for line in lines:
                level, message = parse_channel_line(line)
                log.log(level, "worker %d: %s", i, message)

    def stop(self) -> None:
        """Ctrl-C reaches the helpers too; SIGTERM to this process does not: pass it on."""
        self.stopped = True
        for proc, _ in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    def wait(self) -> bool:
        """Wait for the helpers to end; True when one ended on its own with an error (killed, say):
        its open trials are then this worker's to fail as lost and replace. Interrupted while they run
        on (this worker's own trials done, a SIGTERM or a Ctrl-C to this process alone), stop them
        first: they trained on, alone. Each helper is waited for once, whatever the calls."""
        try:
            return self._wait()
        except BaseException:
            if not self.stopped:
                self.stop()
                self._wait()
            raise

    def _wait(self) -> bool:
        failed = False
        while self.procs:
            (proc, log_path), thread = self.procs[0], self.threads[0]
            code = self._stopped(proc) if self.stopped else proc.wait()
            if self.stopped and code in (-signal.SIGTERM, -signal.SIGINT, INTERRUPTED):  # killed before or after its handler
                log.info("worker pid %d stopped with the sweep", proc.pid)
            elif code == 1 and interrupted_starting(log_path):  # Ctrl-C to the group while its Python started
                log.info("worker pid %d was interrupted while starting; it opened no trial", proc.pid)
            elif self.stopped and code == -signal.SIGKILL:
                log.warning("worker pid %d did not stop within %s of the sweep's SIGTERM; killed (its open "
                            "trials are failed as lost on resume); see %s", proc.pid, duration(sum(STOP_WAIT_S)), log_path)
            elif code != 0:
                log.warning("worker pid %d exited with %d; see %s", proc.pid, code, log_path)
                failed = True
            thread.join(timeout=5)
            del self.procs[0], self.threads[0]
        return failed

    @staticmethod
    def _stopped(proc: subprocess.Popen) -> int:
        """A stopped helper's exit status. Its SIGTERM can be lost: the KeyboardInterrupt its handler
        raises is ignored when it lands in a finalizer ('Exception ignored in ...'), and the helper
        ran the rest of the sweep alone. So SIGTERM again after a while, and at last SIGKILL."""
        for wait_s, then in zip(STOP_WAIT_S, (lambda: proc.send_signal(signal.SIGTERM), proc.kill)):
            try:
                return proc.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                then()
        return proc.wait()
