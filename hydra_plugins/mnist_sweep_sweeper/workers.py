"""Helper sweep processes: ``workers - 1`` copies of this command on the same study, each running
one trial at a time; their progress lines are forwarded to this console."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from mnist_sweep.trial import WORKER_ENV

log = logging.getLogger("hydra_plugins.mnist_sweep_sweeper")
TRAIN_MODULE = "mnist_sweep.train"  # the task this sweeper runs; its helpers re-run it
FORWARDED = ("[", "trial ", "study ", "warm start")  # the helpers' progress and trial lines, not their logs


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


class Helpers:
    def __init__(self, n: int, sweep_dir: Path) -> None:
        self.n, self.sweep_dir = n, sweep_dir
        self.procs: list[tuple[subprocess.Popen, Path]] = []
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the helpers: the same command with workers=1; each picks its own sampler seed."""
        for i in range(1, self.n):
            log_path = self.sweep_dir / f"worker-{i}.log"
            out = open(log_path, "ab")  # noqa: SIM115 - closed by the forwarding thread
            proc = subprocess.Popen(
                helper_command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                env={**os.environ, WORKER_ENV: str(i), "PYTHONUNBUFFERED": "1"},
            )
            thread = threading.Thread(target=self._forward, args=(proc, out, i), daemon=True)
            thread.start()
            self.procs.append((proc, log_path))
            self.threads.append(thread)
            log.info("started worker %d (pid %d), log %s", i, proc.pid, log_path)

    @staticmethod
    def _forward(proc: subprocess.Popen, out, i: int) -> None:
        """Copy the helper's output to its log, and its progress lines to this console."""
        assert proc.stdout is not None
        with out:
            for raw in proc.stdout:
                out.write(raw)
                out.flush()
                line = raw.decode(errors="replace").rstrip()
                msg = line.split("] - ", 1)[-1] if "] - " in line else line
                if msg.startswith(FORWARDED) and "[hydra_plugins.mnist_sweep_sweeper" in line:
                    log.info("worker %d: %s", i, msg)

    def stop(self) -> None:
        """Ctrl-C reaches the helpers too; SIGTERM to this process does not: pass it on."""
        for proc, _ in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    def wait(self) -> None:
        for (proc, log_path), thread in zip(self.procs, self.threads):
            if proc.wait() != 0:
                log.warning("worker pid %d exited with %d; see %s", proc.pid, proc.returncode, log_path)
            thread.join(timeout=5)
