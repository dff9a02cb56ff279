"""A sweep's job in a process of its own on the sweep's host (the joblib launcher's loky workers,
``hydra.sweeper.n_jobs`` >= 2; submitit_local's jobs) stops when the sweep process that launched it
dies. A SIGKILLed sweep left them training on (34 minutes in one probe): nobody would record their
runs, which took the machine's cores from the resume, and a run that ended late wrote its
result.json into a trial the resume had failed as lost, maybe beside the replacement it trained.

The sweep names itself in each job's environment (``SWEEP_ENV``: ``HOST:PID``, ``this_sweep``); a
job whose process is that pid's child checks every ``POLL_S`` that it still is (a dead parent's
children are handed to another process), and once it is not, logs one line (``gone_line``) and
exits at once: no result.json, its epochs so far in metrics.csv, so its trial is what the resume
already fails as lost (the run's last write, result.json, came first where it had ended). Not
watched: a job in the sweep's own process (the basic launcher; n_jobs=1), one on another host
(Slurm), one another living process of this host started. Nothing here imports the package."""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

SWEEP_ENV = "MNIST_SWEEP_SWEEP_PROCESS"  # in a sweep's job: HOST:PID of the sweep process that launched it
POLL_S = 1.0  # how often a watched job checks that its sweep process is still its parent
EXIT = 130  # an orphaned job's exit status, an interrupted run's (nobody reads it: its sweep is gone)

log = logging.getLogger("mnist_sweep.train")  # the run's log (train.log), as the training loop's lines


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host. A zombie (exited, not yet reaped by its parent)
    is not: a helper worker killed mid-trial stays one until its sweep's Helpers.wait, and signal 0
    still reaches it, so the sweep ran on short of its trial, which stayed RUNNING."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): signal 0 is all there is
    return stat.rpartition(")")[2].split()[:1] not in (["Z"], ["X"])


def this_sweep() -> str:
    """``SWEEP_ENV``'s value for the jobs this sweep process launches."""
    return f"{socket.gethostname()}:{os.getpid()}"


def watched_pid(value: str | None) -> int | None:
    """The sweep process a job with ``SWEEP_ENV`` = ``value`` stops with, None where it has none to
    watch: no sweep launched it, it runs in the sweep's own process or on another host, or another
    process of this host started it while the sweep lives (a wrapper, a scheduler: not the sweep's
    child). A sweep gone before the job started is watched: the job stops at once."""
    host, _, pid = (value or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return None
    if os.getppid() != int(pid) and pid_alive(int(pid)):
        return None
    return int(pid)


def gone_line(pid: int) -> str:
    return (f"the sweep process {pid} that launched this run has died (killed?): nobody would record the run, so "
            "it stops here unfinished (its epochs so far in metrics.csv, no result.json); resuming the sweep fails "
            "its trial as lost and trains another")


def _watch(pid: int, ended: threading.Event) -> None:
    while os.getppid() == pid:
        if ended.wait(POLL_S):
            return
    if ended.is_set():
        return
    log.warning("%s", gone_line(pid))
    with contextlib.suppress(Exception):
        logging.shutdown()  # train.log flushed before the exit
        sys.stderr.flush()
    os._exit(EXIT)


@contextlib.contextmanager
def stop_with_sweep() -> Iterator[int | None]:
    """Around a sweep's job: ends this process (``_watch``) once the sweep process that launched it
    (``watched_pid``) has died; yields that pid, None where none is watched."""
    pid = watched_pid(os.environ.get(SWEEP_ENV))
    if pid is None:
        yield None
        return
    ended = threading.Event()
    threading.Thread(target=_watch, args=(pid, ended), name="stop-with-sweep", daemon=True).start()
    try:
        yield pid
    finally:
        ended.set()
