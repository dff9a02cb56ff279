"""A new sweep that trained nothing leaves nothing behind. Every candidate rejected before launch
(a space whose every candidate is over the budget while the base config fits, where the start could
not tell the space's smallest model: ``_corner``) ends in one error line (``_failures.check_trained``), and the sweep dir kept optuna.db,
storage.json and leaderboard.csv of a study with no trained trial. ``Start`` records what the sweep
found (the sweep dir's entries, whether its study was in its storage); ``undo`` removes the study
and what the sweep added, and only where the study is new: a resumed study keeps all it had. A
storage file the sweep made is removed wherever it is (``sqlite:////tmp/x/o.db`` too, with the dirs made
for it); one that was there is never removed, only the new study deleted from it. A new
study whose storage failed to open (a full disk: a 0-byte optuna.db in a new sweep dir), or whose
storage.json could not be written after it, is undone too; the command removes a new sweep dir left
empty (``rundir``)."""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import optuna

from hydra_plugins.mnist_sweep_sweeper._log import log
from mnist_sweep.errors import one_line
from mnist_sweep.storage import local_path, open_storage

SIDE_FILES = ("-journal", "-wal", "-shm", ".lock")  # SQLite's rollback journal and WAL files; a journal storage's lock


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
        self.file = local_path(url).absolute() if url and local_path(url) is not None else None
        self.file_was_there = self.file is not None and (self.file.exists() or self.file.is_symlink())
        # the dirs the storage's open will make above a new file (hydra.sweeper.storage=sqlite:////tmp/x/o.db), deepest first
        self.new_parents = tuple(a for a in self.file.parents if not a.exists()) if self.file and not self.file_was_there else ()
        self.before = None if self.existed else _entries(sweep_dir)  # a resume's dir is never walked

    def joined(self) -> None:
        """The study, absent at the start's read, was created by another sweep before this one's open (two
        started at once on one name, ``_open.open_study``): not this sweep's, so never undone."""
        self.existed = True

    def undo(self) -> None:
        """The study deleted from a storage that was there before (a server, a shared file: nothing else
        of it touched), or the storage file the sweep made removed with the dirs it made for it (one
        outside the sweep dir too); then every entry the sweep added to the sweep dir removed;
        nothing where the study was there before this sweep."""
        if self.existed:
            return
        try:
            kept = None
            if self.url and (self.file is None or self.file_was_there):
                self._delete_study()
            elif self.file is not None:
                kept = self._remove_new_file()
            added = (_entries(self.sweep_dir) or set()) - (self.before or set())
            for p in added - {kept}:
                with contextlib.suppress(FileNotFoundError):
                    shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        except Exception as e:  # noqa: BLE001 - the error line that follows stays the one to read
            log.warning("the sweep's files were not all removed: %s", one_line(e))

    def _delete_study(self) -> None:
        with contextlib.suppress(KeyError):  # a start that failed before its study was made
            optuna.delete_study(study_name=self.name, storage=open_storage(self.url))

    def _remove_new_file(self) -> Path | None:
        """The storage file this sweep made, removed with its SQLite or journal side files and the
        dirs made for it, each while empty; where another sweep put a study of its own in it since
        (both started on one new file), only this study is deleted: the file is returned, kept."""
        from mnist_sweep.sweeps import not_a_storage

        if not self.file.exists():
            return None
        if not not_a_storage(self.url) and set(optuna.get_all_study_names(open_storage(self.url))) - {self.name}:
            self._delete_study()
            return self.file
        for p in (self.file, *(self.file.with_name(self.file.name + end) for end in SIDE_FILES)):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        for d in self.new_parents:
            if d == self.sweep_dir or d in self.sweep_dir.parents:  # the command's to remove, after the sweep dir (rundir)
                break
            try:
                d.rmdir()
            except FileNotFoundError:
                continue
            except OSError:  # not empty: something else was put there
                break
        return None
