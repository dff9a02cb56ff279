"""A sweep dir read where it is now: moved (``mv``), copied (``cp -r``, rsync) or renamed since it ran.

Its ``leaderboard.csv`` and its Optuna storage record each trial's dir, and ``storage.json`` its
storage file, by the absolute path they had while the sweep ran. Readers find a sweep's own files
relative to the dir they were given: ``local_trial_dir`` maps a recorded trial dir to the dir of
the same name in the sweep dir given, where that dir holds one (``rebase`` does so for a table's
rows); ``local_storage`` maps a recorded SQLite or journal file to the one in the sweep dir given,
where the recorded one is gone or is another sweep dir's (the original of a copy). Each says so in
one ``note:`` line on stderr.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from mnist_sweep.storage import JOURNAL_SCHEME, sqlite_path


def note(text: str) -> None:
    """One ``note:`` line on stderr (the table or report on stdout stays as it was)."""
    print(f"note: {text}", file=sys.stderr)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:  # a link that loops: not the same
        return False


def local_trial_dir(recorded: object, sweep_dir: Path) -> object:
    """The trial dir of the same name (``trial_NNNN``) in ``sweep_dir`` where it holds one and the
    recorded path is elsewhere (the sweep dir was moved or copied); ``recorded`` otherwise."""
    if not isinstance(recorded, str) or not recorded.strip():
        return recorded
    rec = Path(recorded)
    here = Path(os.path.abspath(sweep_dir)) / rec.name
    if not rec.name.startswith("trial_") or not here.is_dir() or _same(rec.parent, Path(sweep_dir)):
        return recorded
    return str(here)


def rebase(df: pd.DataFrame, sweep_dir: Path, say: bool = True) -> pd.DataFrame:
    """A sweep dir's table with its rows' ``trial_dir`` read in ``sweep_dir`` (``local_trial_dir``),
    and (``say``) one note naming where they were recorded when any moved."""
    if "trial_dir" not in df.columns or df.empty:
        return df
    local = df["trial_dir"].map(lambda d: local_trial_dir(d, sweep_dir))
    moved = [d for d, new in zip(df["trial_dir"], local) if isinstance(d, str) and new != d]
    if moved and say:
        was = sorted({str(Path(d).parent) for d in moved})
        note(f"{sweep_dir}: its trial dirs were recorded in {', '.join(was)} (moved or copied since); "
             f"reading them in {Path(os.path.abspath(sweep_dir))}, the dir given")
    if moved:
        df = df.assign(trial_dir=local.astype(object))
    return df


def local_storage(url: str, sweep_dir: Path, source: str) -> str:
    """``url``, or the SQLite or journal file of the same name in ``sweep_dir`` where the recorded
    file is gone, or sits in another sweep dir (the original this dir was copied from): one note."""
    path = sqlite_path(url)
    if path is None:
        return url
    here = Path(os.path.abspath(sweep_dir)) / path.name
    if not here.is_file() or _same(path, here):
        return url
    if path.exists() and not (path.parent / "storage.json").is_file() and not any(path.parent.glob("trial_*")):
        return url  # a storage outside any sweep dir, still there: the one the sweep used
    why = "is gone" if not path.exists() else "is another sweep dir's (this one was copied from it)"
    note(f"{source}: records the storage {path}, which {why}; reading {here}, the one in the dir given")
    scheme = JOURNAL_SCHEME if url.startswith(JOURNAL_SCHEME) else "sqlite:///"
    return f"{scheme}{here}"
