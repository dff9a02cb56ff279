"""The CPUs this process may use, and the one warning for more training threads than them:
``trainer.threads=4`` on 2 CPUs (a run's threads take turns on them, so it trains slower, and
``trainer.precision=auto`` times its candidates so), or a sweep's ``hydra.sweeper.workers`` x
``trainer.threads`` above them. Said once a process: a sweep's own line stands for its trials'."""
from __future__ import annotations

import logging
import os

from mnist_sweep.text import plural

log = logging.getLogger(__name__)
_said: list[str] = []  # the line said in this process, if one was


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, as a container or taskset limits it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_line(threads: int, cpus: int, workers: int = 1) -> str | None:
    """The warning for ``workers`` processes of ``threads`` training threads each on ``cpus`` CPUs,
    or None where they fit (at most one thread a CPU)."""
    if workers * threads <= cpus:
        return None
    most, usable = max(cpus // workers, 1), f"{plural(cpus, 'CPU')} this process may use (os.sched_getaffinity)"
    if workers == 1:
        return (f"trainer.threads={threads}: more threads than the {usable}, so they take turns and training runs "
                f"slower (precision auto's timing too); set trainer.threads={most}")
    return (f"hydra.sweeper.workers={workers} x trainer.threads={threads}: {workers * threads} training threads on the "
            f"{usable}, so they take turns and every trial trains slower (precision auto's timing too); "
            f"set trainer.threads={most}, so that workers x threads is at most {cpus}")


def warn_threads(threads: int, workers: int = 1, cpus: int | None = None, logger: logging.Logger | None = None) -> None:
    """Log ``threads_line`` as a warning, the first time this process has one to say."""
    line = threads_line(threads, usable_cpus() if cpus is None else cpus, workers)
    if line is None or _said:
        return
    _said.append(line)
    (logger or log).warning("%s", line)
