"""The CPUs this process may use, and the one warning for more training threads than them:
``trainer.threads=4`` on 2 CPUs (a run's threads take turns on them, so it trains slower, and
``trainer.precision=auto`` times its candidates so), or what a sweep trains at once above them:
``hydra.sweeper.workers`` x ``hydra.sweeper.n_jobs`` (where the joblib launcher runs a worker's batch
at once) x ``trainer.threads`` (a searched one at the most its search draws). Said once a process: a
sweep's own line stands for its trials'."""
from __future__ import annotations

import logging
import os
from typing import NamedTuple

from mnist_sweep.text import plural

log = logging.getLogger(__name__)
_said: list[str] = []  # the line said in this process, if one was


class Load(NamedTuple):
    """What one sweep worker trains at once on this machine: ``jobs`` trials (hydra.sweeper.n_jobs under
    the joblib launcher, else 1) of ``threads`` training threads each (``searched``: the most a searched
    trainer.threads draws)."""

    threads: int = 1
    jobs: int = 1
    searched: bool = False


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, as a container or taskset limits it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_line(threads: int, cpus: int, workers: int = 1, jobs: int = 1, searched: bool = False) -> str | None:
    """The warning for ``workers`` processes of ``jobs`` trials at once of ``threads`` training threads
    each (``searched``: the most trainer.threads' search draws) on ``cpus`` CPUs, or None where they fit
    (at most one thread a CPU)."""
    at_once = workers * jobs
    if at_once * threads <= cpus:
        return None
    usable = f"{plural(cpus, 'CPU')} this process may use (os.sched_getaffinity)"
    named = f"trainer.threads={threads}" + (" (the most its search draws)" if searched else "")
    most = max(cpus // at_once, 1)
    fix = f"search trainer.threads up to {most}" if searched else f"set trainer.threads={most}"
    if at_once == 1:
        return (f"{named}: more threads than the {usable}, so they take turns and training runs slower (precision auto's "
                f"timing too); {fix}")
    if at_once > cpus:  # even one thread a trial is too many: fewer trials at once
        fix = (f"set hydra.sweeper.n_jobs={max(cpus // workers, 1)}" if jobs > 1 else f"set hydra.sweeper.workers={cpus}") \
            + " and trainer.threads=1"
    factors = [f"hydra.sweeper.workers={workers}"] * (workers > 1) + [f"hydra.sweeper.n_jobs={jobs}"] * (jobs > 1)
    names = ["workers"] * (workers > 1) + ["n_jobs"] * (jobs > 1) + ["threads"]
    return (f"{' x '.join([*factors, named])}: {at_once * threads} training threads on the {usable}, so they take turns "
            f"and every trial trains slower (precision auto's timing too); {fix}, so that {' x '.join(names)} is at most "
            f"{cpus}")


def warn_threads(threads: int, workers: int = 1, cpus: int | None = None, logger: logging.Logger | None = None,
                 jobs: int = 1, searched: bool = False) -> None:
    """Log ``threads_line`` as a warning, the first time this process has one to say."""
    line = threads_line(threads, usable_cpus() if cpus is None else cpus, workers, jobs, searched)
    if line is None or _said:
        return
    _said.append(line)
    (logger or log).warning("%s", line)
