"""A SQLite URL's path as SQLAlchemy reads it: each %XX one character, the path ended at '?'
(``sqlite:///my%20runs/optuna.db`` opens ``my runs/optuna.db``). A URL written so on purpose opens
what it says; a path written into one that SQLAlchemy reads as another file is one line: the sweep
dir's default storage (``sqlite:///${hydra.sweep.dir}/optuna.db``, a dir named ``a%20b`` put its
study in a new dir ``a b``, which the line offers to resume where it is there), and a URL whose path
as written is there while the file it opens is not. The ground floor: it imports nothing of the package but errors."""
from __future__ import annotations

import shlex
from pathlib import Path
from urllib.parse import unquote

from mnist_sweep.errors import redact

SQLITE = "sqlite:///"
HOW = "SQLAlchemy reads each %XX in a SQLite URL as one character and ends its path at '?'"


def escaped(path: str) -> str:
    """``path`` as a SQLite URL that opens it."""
    return SQLITE + path.replace("%", "%25").replace("?", "%3F")


def opened(url: str) -> Path:
    """The file SQLAlchemy opens for a ``sqlite:///`` URL."""
    return Path(unquote(url[len(SQLITE):].split("?", 1)[0]))


def sweep_dir_misread(url: str, sweep_dir: str) -> str | None:
    """One line where the storage is the sweep dir's optuna.db, its URL made of the dir's name, and
    SQLAlchemy would open another file (the dir's name holds %XX or '?'); else None."""
    if url != f"{SQLITE}{sweep_dir}/optuna.db" or opened(url) == Path(f"{sweep_dir}/optuna.db"):
        return None
    line = f"hydra.sweep.dir: {sweep_dir}: its storage URL {redact(url)} would open {opened(url)}, outside the sweep dir ({HOW})"
    if opened(url).is_file():  # a sweep of this dir from before the check: its study is there, to resume
        return (f"{line}; {opened(url)} is there (a sweep of this dir before this check put its study in it): "
                f"resume it with {shlex.quote(f'hydra.sweeper.storage={escaped(str(opened(url)))}')}, or for a new "
                "study choose a sweep dir without '%XX' or '?'")
    return f"{line}; choose a sweep dir without '%XX' or '?', or give hydra.sweeper.storage={escaped(f'{sweep_dir}/optuna.db')}"


def misread(url: str) -> str | None:
    """Why a SQLite URL would open another file than the path written in it, where that path is there
    (its file, or its dir where the opened file's is not) and the opened file is not; else None (an
    escape written on purpose: ``sqlite:///my%20runs/optuna.db`` opens ``my runs/optuna.db``)."""
    if not url.startswith(SQLITE):
        return None
    written, file = Path(url[len(SQLITE):].split("?", 1)[0]), opened(url)
    if written == file or file.exists() or not (written.exists() or (written.parent.is_dir() and not file.parent.is_dir())):
        return None
    there = "which is there" if written.exists() else "whose dir is there"
    return (f"{redact(url)}: it opens {file}, not {written}, {there} ({HOW}); to open {written}, write each '%' "
            f"as %25: {escaped(str(written))}")
