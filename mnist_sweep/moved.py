"""A sweep dir read where it is now: moved (``mv``), copied (``cp -r``, rsync) or renamed since it ran.

Its ``leaderboard.csv`` and its Optuna storage record each trial's dir, and ``storage.json`` its
storage file, by the absolute path they had while the sweep ran. Readers find a sweep's own files
relative to the dir they were given: ``local_trial_dir`` maps a recorded trial dir (a name that the
sweep's ``hydra.sweeper.trial_dir`` gives, as its trials' saved ``.hydra/hydra.yaml`` record it) to
the dir of the same name in the sweep dir given. A copy reads only what it holds: a trial dir left
out of it is missing there, not read from the original (``rebase`` does so for a table's rows and
names them); ``local_storage`` maps a recorded SQLite or journal file to the one in the sweep dir
given, where the recorded one is gone or is another sweep dir's (the original of a copy). Each says
so in one ``note:`` line on stderr.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mnist_sweep.storage import JOURNAL_SCHEME, STORAGE_RECORD, file_url, sqlite_path

if TYPE_CHECKING:  # only rebase's annotations: importing this module costs no pandas (board_paths, the dashboard)
    import pandas as pd


def note(text: str) -> None:
    """One ``note:`` line on stderr (the table or report on stdout stays as it was)."""
    print(f"note: {text}", file=sys.stderr)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:  # a link that loops: not the same
        return False


def once(paths: list[str]) -> list[str]:
    """``paths`` less each that names a table given before under another name (``sw/``,
    ``sw/leaderboard.csv``, a link to ``sw`` or its absolute path: one note each); merged with itself,
    a sweep's every trial was listed and counted twice."""
    kept: dict[Path | str, str] = {}
    for p in paths:
        table = Path(p) / "leaderboard.csv" if Path(p).is_dir() else Path(p)
        try:
            key: Path | str = table.resolve() if Path(p).exists() else p  # missing, a URL: the reader says
        except OSError:  # a link that loops: the reader says
            key = p
        if key in kept and kept[key] != p:
            note(f"{p} is the table of {kept[key]}, given before; read once")
        kept.setdefault(key, p)
    return list(kept.values())


_FORMATS: dict[tuple[str, int], tuple[str, ...]] = {}  # (sweep dir, its mtime) -> its trial dir formats


def names_trial(name: str, fmt: str) -> bool:
    """Whether ``name`` is one that the trial dir format ``fmt`` (``trial_{number:04d}``) gives."""
    try:
        return any(fmt.format(number=int(n)) == name for n in set(re.findall(r"\d+", name)))
    except (ValueError, KeyError, IndexError, AttributeError, TypeError):  # a format of no number
        return False


def _recorded_format(hydra_yaml: Path) -> str | None:
    """hydra.sweeper.trial_dir of a sweep trial's saved hydra config, where it gives the trial's own name."""
    from omegaconf import OmegaConf

    try:
        h = OmegaConf.load(hydra_yaml).hydra
        fmt = h.sweeper.get("trial_dir") if str(h.get("mode")) == "MULTIRUN" else None
    except Exception:  # noqa: BLE001 - unreadable, damaged or not Hydra's: no record
        return None
    return fmt if isinstance(fmt, str) and names_trial(hydra_yaml.parent.parent.name, fmt) else None


def trial_dir_formats(sweep_dir: Path) -> tuple[str, ...]:
    """The ``hydra.sweeper.trial_dir`` formats the trials in ``sweep_dir`` recorded (a resumed sweep
    may have changed it): each read once, from a dir whose name no format known yet gives."""
    d = Path(os.path.abspath(sweep_dir))
    try:
        key = (str(d), d.stat().st_mtime_ns)  # a trial dir added or removed: read again
    except OSError:
        return ()
    if key not in _FORMATS:
        formats: list[str] = []
        for hydra_yaml in sorted(d.glob("*/.hydra/hydra.yaml")):
            if not any(names_trial(hydra_yaml.parent.parent.name, f) for f in formats):
                formats += [f] if (f := _recorded_format(hydra_yaml)) else []
        _FORMATS[key] = tuple(formats)
    return _FORMATS[key]


def is_trial_name(name: str, sweep_dir: Path) -> bool:
    """A name that the sweep's trial dir format gives; without a saved one (hydra.output_subdir=null,
    no trial dir held), the default's ``trial_``."""
    formats = trial_dir_formats(sweep_dir)
    return any(names_trial(name, f) for f in formats) if formats else name.startswith("trial_")


def holds_trials(sweep_dir: Path) -> bool:
    """Whether ``sweep_dir`` holds a trial dir of its sweep (it is the sweep dir, or a copy of it,
    whole or in part); not a dir where a table alone was saved (leaderboard --out DIR/leaderboard.csv),
    or a table with its storage: their rows' dirs are where they were recorded."""
    d = Path(sweep_dir)
    return bool(trial_dir_formats(d)) or any(p.is_dir() and is_trial_name(p.name, d) for p in d.glob("trial_*"))


def local_trial_dir(recorded: object, sweep_dir: Path) -> object:
    """The trial dir of the same name in ``sweep_dir`` where the recorded path is elsewhere (the
    sweep dir was moved or copied): there even where the copy left it out (it is missing in the
    copy; the original's is not read); ``recorded`` otherwise: a dir that is no trial dir of the
    sweep, the sweep dir itself (or a link to it), a table in a dir holding none of its trial dirs, or
    a trial this dir lacks where its own sweep ran here (``ran_here``): another sweep dir's of its study."""
    if not isinstance(recorded, str) or not recorded.strip():
        return recorded
    rec = Path(recorded)
    here = Path(os.path.abspath(sweep_dir)) / rec.name
    if _same(rec.parent, Path(sweep_dir)) or not is_trial_name(rec.name, sweep_dir):
        return recorded
    if not here.is_dir() and ran_here(sweep_dir):  # one study, two sweep dirs (a shared storage): another's trial
        return recorded
    return str(here) if here.is_dir() or holds_trials(sweep_dir) else recorded


_RAN: dict[tuple[str, int], bool] = {}  # (sweep dir, its mtime) -> whether its sweep ran there


def ran_here(sweep_dir: Path) -> bool:
    """Whether a sweep ran in ``sweep_dir`` itself, not in a dir it was copied or moved from: its
    newest trial's ``.hydra/hydra.yaml`` records this very dir as its ``hydra.runtime.output_dir``."""
    d = Path(os.path.abspath(sweep_dir))
    try:
        key = (str(d), d.stat().st_mtime_ns)
    except OSError:
        return False
    if key not in _RAN:
        from omegaconf import OmegaConf

        made = [p for p in d.glob("*/.hydra/hydra.yaml") if is_trial_name(p.parent.parent.name, d)]
        try:
            newest = max(made, key=lambda p: p.stat().st_mtime_ns)
            _RAN[key] = _same(Path(str(OmegaConf.load(newest).hydra.runtime.output_dir)), newest.parent.parent)
        except Exception:  # noqa: BLE001 - no trial dir, or none that records where it was made
            _RAN[key] = False
    return _RAN[key]


def rebase(df: pd.DataFrame, sweep_dir: Path, say: bool = True) -> pd.DataFrame:
    """A sweep dir's table with its rows' ``trial_dir`` read in ``sweep_dir`` (``local_trial_dir``),
    and (``say``) one note naming where they were recorded when any moved, and those it lacks."""
    if "trial_dir" not in df.columns or df.empty:
        return df
    local = df["trial_dir"].map(lambda d: local_trial_dir(d, sweep_dir))
    moved = [d for d, new in zip(df["trial_dir"], local) if isinstance(d, str) and new != d]
    if moved and say:
        was = sorted({str(Path(d).parent) for d in moved})
        lacks = sorted({Path(d).name for d in moved} - {Path(d).name for d in local if isinstance(d, str) and Path(d).is_dir()})
        left = f"; it lacks {', '.join(lacks[:5])}{', ...' if len(lacks) > 5 else ''} (missing here, not read from there)" \
            if lacks else ""
        note(f"{sweep_dir}: its trial dirs were recorded in {', '.join(was)} (moved or copied since); "
             f"reading them in {Path(os.path.abspath(sweep_dir))}, the dir given{left}")
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
    if path.exists() and not (path.parent / STORAGE_RECORD).is_file() and not any(path.parent.glob("trial_*")):
        return url  # a storage outside any sweep dir, still there: the one the sweep used
    why = "is gone" if not path.exists() else "is another sweep dir's (this one was copied from it)"
    note(f"{source}: records the storage {path}, which {why}; reading {here}, the one in the dir given")
    return file_url(JOURNAL_SCHEME if url.startswith(JOURNAL_SCHEME) else "sqlite:///", here)
