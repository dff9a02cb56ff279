"""The sweeper's logger and its per-trial lines, which reach the main console from every worker.

Each per-trial line (complete, pruned, failed, rejected, duplicate, lost; the start line) is
logged with ``extra=TRIAL_LINE``. A helper worker (``_workers``) is started with a pipe in
``$MNIST_SWEEP_PROGRESS_FD``; ``attach_helper_channel`` sends those lines, and only those, down
the pipe, and the main process logs each as ``worker N: <line>``. Nothing depends on the helper's
log format (a helper logs with Hydra's format before its first job and the job's after).
"""
from __future__ import annotations

import logging
import os

from mnist_sweep.errors import one_line

log = logging.getLogger("hydra_plugins.mnist_sweep_sweeper")
TRIAL_LINE = {"mnist_sweep_trial_line": True}  # logging ``extra=``: a line every worker's console shows
PROGRESS_FD_ENV = "MNIST_SWEEP_PROGRESS_FD"  # in a helper: the pipe to the main process


class _Channel(logging.Handler):
    """Writes the per-trial lines of a helper to the main process: ``LEVELNO<TAB>message``."""

    def __init__(self, fd: int) -> None:
        super().__init__(logging.DEBUG)
        self.stream = os.fdopen(fd, "w", buffering=1, encoding="utf-8", errors="replace")

    def emit(self, record: logging.LogRecord) -> None:
        if not getattr(record, "mnist_sweep_trial_line", False) or self.stream is None:
            return
        try:
            self.stream.write(f"{record.levelno}\t{one_line(record.getMessage())}\n")
        except (OSError, ValueError):  # the main process is gone: its console with it
            self.stream = None


def attach_helper_channel() -> None:
    """In a helper worker: send this process's per-trial lines to the main process (once)."""
    fd = os.environ.pop(PROGRESS_FD_ENV, None)
    if fd is None or any(isinstance(h, _Channel) for h in log.handlers):
        return
    try:
        os.set_inheritable(int(fd), False)  # this helper's own children (launcher jobs) don't hold it open
        log.addHandler(_Channel(int(fd)))
    except (OSError, ValueError):
        log.warning("%s=%r: not a pipe of the main sweep process; this worker's lines stay in its log", PROGRESS_FD_ENV, fd)


def parse_channel_line(line: str) -> tuple[int, str]:
    """(level, message) of a line a helper sent (a line that is not one is logged at INFO as is)."""
    level, sep, message = line.rstrip("\n").partition("\t")
    if sep and level.isdigit():
        return int(level), message
    return logging.INFO, line.rstrip("\n")
