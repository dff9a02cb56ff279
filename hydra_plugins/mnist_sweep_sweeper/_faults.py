"""Faults of the sweep's surroundings, not of a candidate: a sweep dir or storage that is full,
read-only or gone. Every later trial would meet them too, so the sweep stops with one line saying
what and how to resume; the trial that met one is lost (replaced on resume), not failed."""
from __future__ import annotations

import contextlib
import gc
import os
import traceback
from collections.abc import Iterator
from pathlib import Path

from hydra.core.utils import JobReturn, JobStatus

from hydra_plugins.mnist_sweep_sweeper import _optuna
from hydra_plugins.mnist_sweep_sweeper._log import log
from mnist_sweep.errors import SweepError, one_line
from mnist_sweep.open_hints import driver_words, root_cause, storage_fault
from mnist_sweep.rundir import UNWRITABLE
from mnist_sweep.text import plural

FREE = "free space or make it writable, then "
LOCKED = ("another process held it longer than SQLite waits (many workers on one SQLite file: PostgreSQL or "
          "a journal storage takes them); ")
SERVER_GONE = ("the database server closed the connection or stopped answering (stopped, restarted or out of reach); "
               "start it or check that this machine reaches it, then ")
AGAIN = "run the same command again to resume (finished trials are kept)"
# a new sweep stopped at its start is undone (_undo): nothing of it is there to resume
AGAIN_NEW = "run the same command again (nothing of this new sweep was kept: it starts from its first trial)"


def _server_gone(root: BaseException, storage: str | None) -> bool:
    """Whether a PostgreSQL server's connection broke (the server stopped or restarted, the network): libpq's
    own errors carry no SQLSTATE, the server's shutdown ones are class 57P, connection exceptions 08. A full
    disk there (53) or a read-only role is the storage's to free or make writable; SQLite's errors are files'."""
    if storage is not None and storage.startswith(("sqlite", "journal")):
        return False
    code = getattr(root, "sqlstate", None)
    return type(root).__module__.startswith("psycopg") and (code is None or code.startswith(("08", "57P")))


def message(e: BaseException, storage: str | None = None, sweep_dir: str | None = None, new: bool = False) -> str | None:
    """The one line for a fault of the surroundings, else None (the trial's own failure);
    ``storage`` is the storage's URL, passwords masked; ``sweep_dir`` is named when the error names no
    file; ``new``: a new sweep stopped at its start, undone, so nothing resumes (it starts again)."""
    again = AGAIN_NEW if new else AGAIN
    if isinstance(e, OSError) and e.errno in UNWRITABLE:
        where = f"{e.filename}: " if e.filename else (f"hydra.sweep.dir: {sweep_dir}: " if sweep_dir else
                                                     f"hydra.sweeper.storage: '{storage}': " if storage else "")
        return one_line(f"{where}{e.strerror or type(e).__name__}; {FREE}{again}")
    if storage_fault(e):
        root, reason = root_cause(e), driver_words(e)
        where = f" '{storage}'" if storage else ""
        fix = LOCKED if "database is locked" in reason else SERVER_GONE if _server_gone(root, storage) else FREE
        return one_line(f"hydra.sweeper.storage: cannot write the study in{where or ' its storage'} ({reason}); {fix}{again}")
    return None


def at_open(e: BaseException, storage: str | None, new: bool = False) -> str | None:
    """The line for a storage that failed to open for its disk, not its URL (full, read-only, locked;
    a journal file's OSError too, which was told to change the URL), else None."""
    disk = ("disk is full", "readonly database", "database is locked")
    if (isinstance(e, OSError) and e.errno in UNWRITABLE) or (storage_fault(e) and any(w in str(e) for w in disk)):
        return message(e, storage, new=new)
    return None


def of_job(ret: JobReturn) -> BaseException | None:
    """The exception of a launched job that failed on a fault of the surroundings, else None."""
    value = _optuna.return_value(ret)
    return value if ret.status != JobStatus.COMPLETED and message(value) is not None else None


@contextlib.contextmanager
def one_line_faults(storage: str | None, sweep_dir: str | None) -> Iterator[None]:
    """Turn a fault of the surroundings escaping the sweep into a SweepError (one line, no traceback)."""
    try:
        yield
    except Exception as e:  # noqa: BLE001 - only the faults ``message`` knows are turned
        line = message(e, storage, sweep_dir)
        if line is None:
            raise
        raise SweepError(line) from None


def release(why: BaseException) -> None:
    """Let go of what the code ``why`` interrupted still holds. A signal that lands inside a storage
    transaction (SQLite's write lock taken by BEGIN IMMEDIATE) leaves its cursor alive in the frames
    of ``why``'s traceback, and with it the lock: the stopping sweep's own writes (its open trials
    lost, the leaderboard) then waited SQLITE_BUSY_MS each, two minutes, and failed, the trials left
    RUNNING. The frames' locals are cleared (the traceback still names every line)."""
    traceback.clear_frames(why.__traceback__)
    gc.collect()


def mend_journal(path: Path) -> None:
    """A journal file whose last record was cut off (its writer killed mid-append, or the disk full)
    ends at its last whole record again. Optuna skips a cut-off last line when it reads, but appends
    the next record onto it: the resumed sweep made the whole journal unreadable ('Expecting ':'
    delimiter'). Done under the lock Optuna appends under, so no live append is cut."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    from optuna.storages.journal import JournalFileSymlinkLock  # JournalFileBackend's default lock

    lock = JournalFileSymlinkLock(str(path))
    lock.acquire()
    try:
        data = path.read_bytes()  # Optuna reads all of it on opening too
        if data.endswith(b"\n"):
            return
        keep = data.rfind(b"\n") + 1
        os.truncate(path, keep)
    finally:
        lock.release()
    log.warning("%s: its last record was cut off (a worker stopped while writing it); %s removed", path,
                plural(len(data) - keep, "byte"))
