"""Signals and the training subprocesses a command runs: SIGTERM handled as Ctrl-C (``interrupt``,
train's handler), and ``Children``, the runs a command starts from its threads (confirm's seeds,
two at a time; reproduce's one re-run), stopped with it: a command killed with SIGTERM left them
training on their own."""
from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NoReturn, TypeVar

T, R = TypeVar("T"), TypeVar("R")


SEEN: list[str] = []  # the signals ``interrupt`` and ``ctrl_c`` raised a KeyboardInterrupt for, in this process
BEFORE_START = "interrupted before anything started: nothing written"  # a command stopped in its imports or checks


def interrupt(signum: int, frame: Any) -> NoReturn:
    """A handler for SIGTERM: the KeyboardInterrupt Ctrl-C raises, naming the signal, so a command's
    clean-up on Ctrl-C runs for it too."""
    SEEN.append(signal.Signals(signum).name)
    raise KeyboardInterrupt(signal.Signals(signum).name)


def from_the_start() -> None:
    """``interrupt`` for SIGTERM from a command's start, before its heavy imports and checks (seconds on a
    busy machine), where SIGTERM killed it silently (exit -15, nothing printed); there the command says
    ``BEFORE_START`` and exits 130, as on Ctrl-C. Only in the main thread, and not where SIGTERM is ignored."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, interrupt)


def started(command: Callable[[], int]) -> NoReturn:
    """``python -m mnist_sweep.confirm`` (reproduce): SIGTERM as Ctrl-C (``from_the_start``), then
    ``command`` (the module's import and main); an interrupt before main's own handling (the imports, its
    flags: seconds), where SIGTERM killed it silently with exit -15, says ``BEFORE_START``, as train does."""
    from_the_start()
    try:
        code = command()
    except KeyboardInterrupt:
        print(BEFORE_START, file=sys.stderr)
        code = 130
    sys.exit(code)


def ctrl_c(signum: int, frame: Any) -> NoReturn:
    """Python's own SIGINT handler (a KeyboardInterrupt without words), the signal recorded too."""
    SEEN.append("SIGINT")
    raise KeyboardInterrupt


def raise_lost_interrupt(seen: int) -> None:
    """Raise again an interrupt that came since ``len(SEEN)`` was ``seen`` and was lost: a KeyboardInterrupt
    raised in a finalizer or a weakref callback is printed ('Exception ignored in ...') and dropped, and
    a sweep that Ctrl-C or SIGTERM reached just then ran on to its end."""
    if len(SEEN) > seen:
        raise KeyboardInterrupt(*([] if SEEN[-1] == "SIGINT" else [SEEN[-1]]))


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A SIGINT or SIGTERM that comes in the block is raised at its end (a second one at once), where
    ``main`` handles them: a trial the storage made RUNNING for this worker is marked its own first.
    Interrupted in between, it stayed RUNNING with no owner, which no resume fails: counted as running
    for ever, the resumed sweep ended short of n_trials."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    seen = len(SEEN)

    def record(signum: int, frame: Any) -> None:
        SEEN.append(signal.Signals(signum).name)
        if len(SEEN) > seen + 1:
            raise_lost_interrupt(seen + 1)

    previous = {s: signal.signal(s, record) for s in (signal.SIGINT, signal.SIGTERM) if callable(signal.getsignal(s))}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    raise_lost_interrupt(seen)


class Children:
    """Subprocesses started from worker threads (``run``), each in its own process group, so only
    this process gets a terminal's Ctrl-C (or hang-up). While ``map`` runs, SIGINT, SIGTERM or SIGHUP
    sends each running child one SIGTERM (a train run stops as on Ctrl-C: its epochs so far kept, or nothing before its
    first ended), a second signal SIGKILL; no child starts after, and the interrupt is raised here."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # re-entered by a second signal's handler during the first's
        self._running: set[subprocess.Popen] = set()
        self.signals = 0

    def run(self, cmd: list[str]) -> subprocess.CompletedProcess:
        """``subprocess.run(cmd, capture_output=True, text=True)``, stopped with this process; a
        KeyboardInterrupt instead once a signal came (nothing more starts)."""
        with self._lock:
            if self.signals:
                raise KeyboardInterrupt("stopping")
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, process_group=0)
            self._running.add(proc)
        try:
            out, err = proc.communicate()
        finally:
            with self._lock:
                self._running.discard(proc)
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)

    def _stop(self, signum: int, frame: Any) -> NoReturn:
        with self._lock:
            self.signals += 1
            running = list(self._running)
        for proc in running:
            with contextlib.suppress(OSError):  # gone meanwhile
                proc.send_signal(signal.SIGTERM) if self.signals == 1 else proc.kill()
        interrupt(signum, frame)

    @contextlib.contextmanager
    def _handled(self) -> Iterator[None]:
        """``_stop`` handles SIGINT, SIGTERM and SIGHUP (one ignored, as in a background job or under
        nohup, stays so); only the main thread handles signals."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, self._stop) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
                    if signal.getsignal(s) is not signal.SIG_IGN}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def run_one(self, cmd: list[str]) -> subprocess.CompletedProcess:
        """``run`` of one command, with ``map``'s signal handling (reproduce's re-run): a signal stops
        it, and the interrupt is raised once it has ended."""
        return self.map(self.run, [cmd], workers=1)[0]

    def map(self, fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
        """``fn`` of each item in ``workers`` threads, the results in order; the first error is raised
        once the runs in flight have ended (on a signal: stopped), the items not started are dropped."""
        with self._handled(), ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(fn, item) for item in items]
            try:
                return [f.result() for f in futures]
            finally:
                for f in futures:
                    f.cancel()
