"""A sweep dir and what it points at: where its Optuna study lives, and its trial dirs' files.

The sweeper records the study's storage in ``<sweep_dir>/storage.json`` after every trial
(``record_storage``); readers (leaderboard ``--refresh``, report, dashboard) find it again from
any working directory (``find_storage``: that record, else a trial's ``.hydra/hydra.yaml``, else
``optuna.db`` or ``journal.log`` in the sweep dir; a recorded file gone, or another sweep dir's,
read in the sweep dir given where it holds one: moved or copied) and open it read-only (``load_study``: a missing
SQLite or journal file is refused, never created; an empty or foreign one is refused, never given
Optuna's schema). ``best_trial_files`` and ``top_metrics`` read the trial dirs of a leaderboard's
best rows (a damaged file there is a warning naming it).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from mnist_sweep import csv_rows, results
from mnist_sweep.errors import LeaderboardError, MnistSweepError, empty_or_binary, not_of_kind
from mnist_sweep.moved import is_trial_name, local_storage
from mnist_sweep.open_hints import unset_env
from mnist_sweep.storage import (
    JOURNAL_SCHEME, REPEATS_SUFFIX, STORAGE_RECORD, default_storage, file_url, mask_url, missing_file, open_for_reading,
    sqlite_path, without_password,
)

RECORDED_FIX = "moved or deleted? give --storage URL --study NAME"  # ``give`` where a command names it otherwise


# ------------------------------------------------------------------ recording where the study lives
def storage_url_of(study: Any) -> str | None:
    """The study's storage URL as the sweep opened it (None for in-memory storage): an RDB URL,
    or ``journal:///PATH`` for a journal file."""
    storage = getattr(study, "_storage", None)
    storage = getattr(storage, "_backend", storage)  # optuna wraps RDB storage in a cache
    url = getattr(storage, "url", None)
    if isinstance(url, str):
        return url
    journal = getattr(storage, "_file_path", None) or getattr(getattr(storage, "_backend", None), "_file_path", None)  # JournalStorage(JournalFileBackend)
    return f"{JOURNAL_SCHEME}{journal}" if isinstance(journal, str) else None


def portable_url(url: str, cwd: Path) -> str:
    """A URL that opens the same storage from any directory, with no password in it: a relative
    SQLite or journal path made absolute against ``cwd`` (where the sweep ran); a password dropped
    (it comes from $MNIST_SWEEP_STORAGE, PGPASSWORD or ~/.pgpass when read back)."""
    path = sqlite_path(url)
    if path is not None:
        scheme = JOURNAL_SCHEME if url.startswith(JOURNAL_SCHEME) else "sqlite:///"
        return file_url(scheme, path if path.is_absolute() else (cwd / path).resolve())
    return without_password(url)


def record_storage(study: Any, sweep_dir: Path) -> Path | None:
    """Write ``<sweep_dir>/storage.json`` (study name, portable storage URL, the sweep's cwd), so
    ``report`` and ``leaderboard --refresh`` find the study from any working directory."""
    url = storage_url_of(study)
    if not url or (url.startswith("sqlite") and sqlite_path(url) is None):
        return None
    cwd = Path.cwd()
    record = {"study_name": study.study_name, "storage": portable_url(url, cwd), "cwd": str(cwd)}
    path = Path(sweep_dir) / STORAGE_RECORD
    try:
        if json.loads(path.read_text()) == record:
            return path
    except (OSError, ValueError):
        pass
    results.atomic_write(path, lambda p: p.write_text(json.dumps(record, indent=2) + "\n"))
    return path


# ------------------------------------------------------------------ finding it again
def _from_env(url: str) -> str:
    """$MNIST_SWEEP_STORAGE when it is ``url`` with its password (a record never holds one)."""
    env = default_storage()
    if env and sqlite_path(url) is None and portable_url(env, Path.cwd()) == url:
        return env
    return url


def _from_hydra_yaml(sweep_dir: Path) -> tuple[str, str, str] | None:
    """(url, study, source) from a trial's saved ``.hydra/hydra.yaml`` (sweeps run before
    storage.json existed): its storage resolved, a relative SQLite path against its cwd. A trial
    dir is any the sweep's ``hydra.sweeper.trial_dir`` names (run-0007 too), not trial_* alone."""
    from omegaconf import OmegaConf

    for hydra_yaml in sorted(sweep_dir.glob("*/.hydra/hydra.yaml")):
        if not is_trial_name(hydra_yaml.parent.parent.name, sweep_dir):
            continue
        try:
            h = OmegaConf.load(hydra_yaml).hydra
            url, name, cwd = h.sweeper.storage, h.sweeper.study_name, h.runtime.cwd
        except Exception:  # noqa: BLE001 - unreadable or unresolvable: try the next trial
            continue
        if isinstance(url, str) and url and isinstance(name, str):
            return portable_url(url, Path(cwd)), name, str(hydra_yaml)
    return None


def in_memory_trial(sweep_dir: Path) -> str | None:
    """The ``.hydra/hydra.yaml`` of a trial in ``sweep_dir`` that ran in an in-memory study (its
    storage null): no storage holds that study, and a sweep there would number trials from 0 again."""
    from omegaconf import OmegaConf

    for hydra_yaml in sorted(Path(sweep_dir).glob("*/.hydra/hydra.yaml")):
        try:
            if is_trial_name(hydra_yaml.parent.parent.name, Path(sweep_dir)) \
                    and OmegaConf.load(hydra_yaml).hydra.sweeper.get("storage", "") is None:
                return str(hydra_yaml)
        except Exception:  # noqa: BLE001 - unreadable or unresolvable: not a record of one
            continue
    return None


def find_storage(sweep_dir: Path, give: str = "give --storage URL --study NAME") -> tuple[str, str | None, str] | None:
    """(storage URL, study name or None for "the only one", where it was found) for a sweep dir:
    its ``storage.json``, else a trial's ``.hydra/hydra.yaml``, else ``<sweep_dir>/optuna.db`` or
    ``journal.log``. ``give``: how the command names a storage instead (a damaged record's way out)."""
    sweep_dir = Path(sweep_dir)
    record = sweep_dir / STORAGE_RECORD
    if record.exists():
        try:
            data = json.loads(record.read_text())
            url, name = str(data["storage"]), str(data["study_name"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            what = empty_or_binary(record, "JSON") or {KeyError: f"no {e} key (edited by hand?)", TypeError: (
                "not a JSON object (edited by hand?)")}.get(type(e), "unreadable or damaged")
            raise LeaderboardError(f"{record}: {what}; delete it (the next trial of the sweep rewrites it) or {give}") from None
        return _from_env(local_storage(url, sweep_dir, str(record))), name, str(record)
    found = _from_hydra_yaml(sweep_dir)
    if found:
        return _from_env(local_storage(found[0], sweep_dir, found[2])), found[1], found[2]
    for name, scheme in (("optuna.db", "sqlite:///"), ("journal.log", JOURNAL_SCHEME)):
        if (sweep_dir / name).is_file():
            return file_url(scheme, (sweep_dir / name).resolve()), None, str(sweep_dir / name)
    return None


NOT_A_STORAGE_FIX = "give the file the sweep wrote (restore it from a backup), or another storage"


def not_a_storage(url: str) -> str | None:
    """Why an existing SQLite or journal file holds no Optuna storage: it is empty, not a SQLite
    database, or a database without Optuna's tables. Read without writing (``mode=ro``): opening
    such a file through Optuna would write its schema into it. None when it looks like a storage."""
    import sqlite3

    path = sqlite_path(url)
    if path is None or not path.is_file():
        return None
    if path.stat().st_size == 0 or url.startswith(JOURNAL_SCHEME):  # a journal is text: binary data is none
        return (what := empty_or_binary(path, "an Optuna storage")) and f"{mask_url(url)}: {what}"
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            con.close()
    except sqlite3.OperationalError:  # locked, unreadable: the real open says why
        return None
    except sqlite3.DatabaseError:  # not SQLite at all: its first bytes
        return f"{mask_url(url)}: {not_of_kind(path, 'an Optuna storage')}"
    if not {"studies", "trials", "version_info"} <= tables:
        return f"{mask_url(url)}: the file is a SQLite database without Optuna's tables, not an Optuna storage"
    return None


def check_exists(storage: str, flag: str = "--storage", fix: str = "give the path of the sweep's optuna.db") -> None:
    """A SQLite or journal URL whose file is missing (opening it would create an empty one), or is
    there but holds no Optuna storage (opening it would write the schema into it): refuse."""
    if bad := missing_file(storage):
        raise LeaderboardError(f"{flag} {bad}; {fix}")
    if bad := not_a_storage(storage):
        raise LeaderboardError(f"{flag} {bad}; {NOT_A_STORAGE_FIX}")


def _only_study(storage_obj: Any, storage: str, flag: str) -> str:
    import optuna

    names = [s.study_name for s in optuna.get_all_study_summaries(storage_obj) if not s.study_name.endswith(REPEATS_SUFFIX)]
    if not names:  # 'pick one with --study' of none
        raise LeaderboardError(f"{flag} {mask_url(storage)}: holds no study, so no sweep ran on it; "
                               f"{NOT_A_STORAGE_FIX}")
    if len(names) != 1:
        raise LeaderboardError(f"{flag} {mask_url(storage)}: holds {len(names)} studies "
                               f"({', '.join(names)}); pick one with --study")
    return names[0]


def load_study(storage: str, study_name: str | None, flag: str = "--storage", fix: str | None = None,
               named_by: str = "--study", other: str = "give one of them with --study") -> Any:
    """Open an existing study read-only (a missing SQLite file is refused, never created);
    ``study_name`` None: the storage's only study; ``named_by``: where the name came from, ``other``:
    how to name another."""
    import optuna

    check_exists(storage, flag, *([fix] if fix else []))
    storage_obj = open_for_reading(storage, flag)  # an old schema is refused here, never upgraded by a reader
    try:
        study_name = study_name if study_name is not None else _only_study(storage_obj, storage, flag)
        return optuna.load_study(study_name=study_name, storage=storage_obj)
    except LeaderboardError:
        raise
    except KeyError:
        from mnist_sweep.similar import close_matches

        names = [n for n in optuna.get_all_study_names(storage_obj) if not n.endswith(REPEATS_SUFFIX)]  # a sweep's seeds
        near = close_matches(str(study_name), names, n=1)  # P1: p1 too; a record's name: what --study to give
        mean = (f"did you mean {named_by} {near[0]}?" if named_by.startswith("--") else f"did you mean {near[0]}? give --study {near[0]}") if near else other
        raise LeaderboardError(f"{named_by} {study_name}: no such study in {mask_url(storage)} (its studies: "
                               f"{', '.join(names) or 'none'}); {mean}") from None
    except Exception as e:  # noqa: BLE001
        raise LeaderboardError(f"{flag} {mask_url(storage)}: cannot open ({type(e).__name__})") from None


def study_of_sweep(sweep_dir: Path, study_name: str | None = None, give: str = "give --storage URL --study NAME",
                   also: str = "") -> Any:
    """The sweep dir's Optuna study, found through ``find_storage`` (``study_name`` overrides the
    recorded name); a LeaderboardError when none is recorded (``give``: how to name one instead)
    or it cannot be opened. ``also``: another way out, appended to either message."""
    found = find_storage(sweep_dir, give)
    if found is None and (memory := in_memory_trial(sweep_dir)):
        raise LeaderboardError(f"{sweep_dir}: its trials ran in an in-memory study (hydra.sweeper.storage=null, recorded "
                               f"in {memory}), which no storage kept after its sweep; " + (
                                   f"use {also.removeprefix(', or ')}" if also else "read its leaderboard.csv as it is (no --refresh)"))
    if found is None:
        raise LeaderboardError(
            f"{sweep_dir}: no Optuna storage recorded for this sweep (no {STORAGE_RECORD}, no trial "
            f".hydra/hydra.yaml, no optuna.db); {give}{also}"
        )
    url, name, source = found
    named_by = "--study" if study_name else f"{source}: study_name"
    fix = f"{hint}, or {give}{also}" if missing_file(url) and (hint := unset_env(source)) else f"moved or deleted? {give}{also}"
    return load_study(url, study_name or name, flag=f"the storage recorded in {source}:", fix=fix, named_by=named_by,
                      other=f"give one of them with --study{also}" if study_name else f"{give} for one of them{also}")


# ------------------------------------------------------------------ the trial dirs of a leaderboard's rows
CURVE_COLUMNS = ("epoch", "val_acc", "test_acc")  # what a trial's curves are drawn from


def _damaged(path: Path, e: Exception | str) -> None:
    """A trial file a reader skips: one warning naming it (the report goes on without it); ``e`` a str: why, in words."""
    if isinstance(e, str):  # results.load's reason: 'not valid JSON (...)', not wrapped once more
        logging.getLogger(__name__).warning("%s: %s, left out of the report; restore it or ignore it", path, e)
        return
    if isinstance(e, MnistSweepError):  # already names the file and what is wrong
        logging.getLogger(__name__).warning("%s; left out of the report", str(e).split("; ")[0])
        return
    why = (str(e).strip().splitlines() or [""])[0]
    what = empty_or_binary(path, {".csv": "a CSV", ".json": "JSON"}.get(path.suffix, "YAML"))  # as every command words it
    logging.getLogger(__name__).warning("%s: %s, left out of the report; restore it or ignore it", path,
                                        what or f"damaged ({type(e).__name__}{f': {why}' if why else ''})")


def best_trial_files(board: pd.DataFrame) -> tuple[dict, Any] | None:
    """(result.json, .hydra/config.yaml) of the best complete trial whose dir still holds them (a
    damaged one is warned about and passed over)."""
    for _, row in board[board.status == "complete"].iterrows():
        d = Path(str(row.trial_dir))
        result, config = d / results.FILENAME, d / ".hydra" / "config.yaml"
        if not (result.exists() and config.exists()):
            continue
        res, why = results.load(d)
        if why:
            _damaged(result, why)
            continue
        try:
            cfg = results.read_config(d)  # the one reader of a saved config (predict, export, reproduce)
            if "model" not in cfg:
                raise ValueError("no model section")
        except (MnistSweepError, ValueError) as e:
            _damaged(config, e)
            continue
        return res, cfg
    return None


def top_metrics(board: pd.DataFrame, n: int = 5) -> dict[str, pd.DataFrame]:
    """``{"trial N": metrics.csv}`` of the first ``n`` complete rows whose trial dir still has one
    (a damaged one is warned about and left out)."""
    out = {}
    for _, row in board[board.status == "complete"].head(n).iterrows():
        m = Path(str(row.trial_dir)) / "metrics.csv"
        if not m.exists():
            continue
        try:
            frame = csv_rows.read_whole(m)
            missing = [c for c in CURVE_COLUMNS if c not in frame.columns]
            if missing or frame.empty:
                raise ValueError(f"no column {', '.join(missing)}" if missing else "no rows")
            frame[list(CURVE_COLUMNS)] = frame[list(CURVE_COLUMNS)].apply(pd.to_numeric)
        except (OSError, ValueError, UnicodeDecodeError) as e:  # pandas' ParserError, EmptyDataError are ValueErrors
            _damaged(m, e)
            continue
        out[f"trial {row.trial}"] = frame
    return out
