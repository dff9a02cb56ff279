"""A new sweep that trained nothing leaves nothing behind. Every candidate rejected before launch
(a space whose every candidate is over the budget while the base config fits, which the start does
not probe) ends in one error line (``_failures.check_trained``), and the sweep dir kept optuna.db,
storage.json and leaderboard.csv of a study with no trained trial. ``Start`` records what the sweep
found (the sweep dir's entries, whether its study was in its storage); ``undo`` removes the study
and what the sweep added, and only where the study is new: a resumed study keeps all it had. A new
study whose storage failed to open (a full disk: a 0-byte optuna.db in a new sweep dir) is undone
too; the command removes a new sweep dir left empty (``rundir``)."""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import optuna

from hydra_plugins.mnist_sweep_sweeper._log import log
from mnist_sweep.errors import one_line
from mnist_sweep.storage import local_path, open_storage


def _entries(d: Path) -> set[Path] | None:
    """The entries of ``d`` (not walked: a dir of the user's, however large, costs one listing, and
    what the sweep added is new at the top); None where ``d`` is not a directory (yet)."""
    try:
        return set(d.iterdir()) if d.is_dir() else None
    except OSError:  # unreadable: nothing of it is taken for new
        return None


class Start:
    """A sweep's start: ``sweep_dir``'s entries and whether study ``name`` was in storage ``url``
    (``existed``: the sweep's own read of the storage says, ``_resume.read``; True where it could not
    be read: kept, as a resume)."""

    def __init__(self, sweep_dir: Path, url: str | None, name: str, existed: bool) -> None:
        self.sweep_dir, self.url, self.name, self.existed = sweep_dir, url, name, existed
        self.file = local_path(url) if url else None
        self.file_was_there = self.file is not None and self.file.exists()
        self.before = None if self.existed else _entries(sweep_dir)  # a resume's dir is never walked

    def undo(self) -> None:
        """The study deleted from a storage that was there before (a server, a shared file), then every
        entry the sweep added to the sweep dir removed (the storage file it made with them); nothing
        where the study was there before this sweep."""
        if self.existed:
            return
        try:
            if self.url and (self.file is None or self.file_was_there):
                with contextlib.suppress(KeyError):  # a start that failed before its study was made
                    optuna.delete_study(study_name=self.name, storage=open_storage(self.url))
            added = (_entries(self.sweep_dir) or set()) - (self.before or set())
            for p in added:
                with contextlib.suppress(FileNotFoundError):
                    shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        except Exception as e:  # noqa: BLE001 - the error line that follows stays the one to read
            log.warning("the sweep's files were not all removed: %s", one_line(e))
