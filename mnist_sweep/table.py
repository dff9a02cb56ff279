"""The leaderboard as a printed table: its default columns, ``--columns``/``--hp`` selection,
``--status`` and ``--max-params`` filters, ``--sort`` order and the cell formats (accuracies as percentages)."""
from __future__ import annotations

import fnmatch
import math
from pathlib import Path
from typing import Any

import pandas as pd

from mnist_sweep.csv_rows import short_row
from mnist_sweep.errors import LeaderboardError
from mnist_sweep.text import ACCURACIES, percent, spread

STATUS_ORDER = {"complete": 0, "pruned": 1, "running": 2, "repeating": 2, "failed": 3, "rejected": 4, "duplicate": 5}
SHOWN = ["rank", "sweep", "trial", "status", "feasible", "params", "val_acc", "n_seeds", "val_mean", "val_sem",
         "test_acc_final", "test_acc_best", "epoch_reached_target", "epochs", "train_s", "wall_s",
         "pareto", "teacher"]  # the CLI's default (teacher: a sweep with a distilled trial's alone)
PERCENT = ACCURACIES
INT_COLUMNS = ["trial", "params", "epoch_reached_target", "epochs", "seed", "n_seeds"]
NUMBERS = (*PERCENT, "value", "wall_s", "train_s", "s_per_epoch", *INT_COLUMNS)  # a leaderboard CSV's numeric columns


def check_numbers(df: pd.DataFrame, path: Any) -> None:
    """A value that is no finite number in a numeric column of a leaderboard CSV (edited by hand), or
    no whole number within 64 bits in an integer one, is one line naming it; the table printed it as a
    ValueError or OverflowError traceback (epochs inf, 1e30), as empty, or as 'inf%'."""
    for col in [c for c in NUMBERS if c in df.columns]:
        num = pd.to_numeric(df[col], errors="coerce")
        bad = df[col].notna() & ~num.between(-2**63, 2**63, inclusive="neither")  # NaN from text, and inf, fail
        whole = col in INT_COLUMNS
        bad |= df[col].notna() & (num % 1 != 0) if whole else False
        if bad.any():
            i = int(bad.to_numpy().argmax())
            v = df[col].iloc[i]
            raise LeaderboardError(f"{path}: {col} {v if isinstance(v, float) else repr(v)} in row {i + 1} is not "
                                   f"{'a whole number (64 bits)' if whole else 'a finite number'}; fix the file, or "
                                   f"rebuild a sweep's with --refresh --out {path}")


def check_rows(data: bytes, path: Any) -> None:
    """A leaderboard CSV (``path``, its bytes ``data``) with a ``short_row`` is one line naming it: a
    leaderboard.csv cut off after ``15`` of ``15392`` printed a complete trial of 15 params and no accuracy, exit 0."""
    if why := short_row(data):
        fix = (f"rebuild it from the sweep's storage: python -m mnist_sweep.leaderboard {Path(path).parent} "
               f"--refresh --out {path}" if Path(path).name == "leaderboard.csv" else "restore it from a copy")
        raise LeaderboardError(f"{path}: {why}; {fix}")


def _fmt(col: str, v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    if col in PERCENT:  # a standard error over seeds: never 0.00% where it is not none
        return spread(v) if col == "val_sem" else percent(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _unknown(name: str, names: Any, flag: str, listed: str, tail: str = "", end: str = "") -> str:
    """How a line for an unknown ``name`` ends: ``; did you mean --sort val_acc? (available: ...)``
    for the nearest name (similar.close_matches: ``VAL_ACC`` and ``hp.model.cl`` find val_acc and
    hp.model.c1; failing that, similar.part_matches: ``accuracy`` finds val_acc, ``lr`` hp.optimizer.lr; a unit's
    word first, similar.unit_matches: ``time`` finds train_s),
    a glob (``hp.mdl.*``) the nearest glob that matches a name (``hp.model.*``), else
    ``; available: ...`` (``listed``: how the names are introduced)."""
    from mnist_sweep.similar import close_matches, part_matches, unit_matches

    names = [str(n) for n in names]
    near = [] if _is_glob(name) else unit_matches(name, names, n=1)  # time: train_s (difflib: val_mean)
    near = near or close_matches(name, _globs_like(name, names) if _is_glob(name) else names, n=1, cutoff=0.5)
    near = near or ([] if _is_glob(name) else part_matches(name, names, n=1))
    shown = f"{listed} {', '.join(names)}{end}"
    return f"; did you mean {flag} {near[0]}{tail}? ({shown})" if near else f"; {shown}"


def _is_glob(name: str) -> bool:
    return any(c in name for c in "*?[")


def _globs_like(glob: str, names: list[str]) -> list[str]:
    """``glob``'s last dotted part after each dotted prefix of ``names`` (``hp.mdl.*``: ``hp.*``,
    ``hp.model.*``, ...), those that match a name: what a mistyped glob may have meant."""
    last = glob.rpartition(".")[2]
    prefixes = dict.fromkeys(n[:i + 1] for n in names for i, c in enumerate(n) if c == ".")
    return [g for g in (p + last for p in prefixes) if any(fnmatch.fnmatchcase(n, g) for n in names)]


def select_columns(df: pd.DataFrame, hp: bool = False, extra: list[str] | None = None) -> list[str]:
    """The default columns present, then ``hp.*`` (``hp``), then ``extra`` (names or globs such as
    ``hp.model.*``); an unknown name is a LeaderboardError listing what exists."""
    cols = [c for c in SHOWN if c in df.columns]
    if hp:
        cols += sorted(c for c in df.columns if c.startswith("hp."))
    for name in extra or []:
        matched = [c for c in df.columns if fnmatch.fnmatchcase(c, name)]
        if not matched:
            raise LeaderboardError(f"--columns {name}: no such column{_unknown(name, df.columns, '--columns', 'available:')}")
        cols += [c for c in matched if c not in cols]
    return cols


def filter_status(df: pd.DataFrame, statuses: list[str] | None) -> pd.DataFrame:
    if not statuses:
        return df
    bad = [s for s in statuses if s not in STATUS_ORDER]
    if bad:
        raise LeaderboardError(f"--status {bad[0]}: not a status"
                               + _unknown(bad[0], STATUS_ORDER, "--status", "use one or more of", end=" (comma-separated)"))
    return df[df["status"].isin(statuses)]


def at_most_params(df: pd.DataFrame, max_params: int | None) -> pd.DataFrame:
    """--max-params N: the rows of trials with at most N parameters, in order, their ranks kept (the
    sweep's, which --rank takes in reproduce, export and confirm); a row without params is left out."""
    if max_params is None:
        return df
    return df[pd.to_numeric(df["params"], errors="coerce").le(max_params)] if "params" in df else df.iloc[:0]


def none_at_most(df: pd.DataFrame, max_params: int, what: str = "trial") -> str:
    """Why ``at_most_params`` found no row, naming the smallest trial of ``df`` and the --max-params that
    takes it: 'no trial has at most 4,999 parameters; the smallest, trial 3, has 5,210: give --max-params
    5210 or more' (``what``: the trials ``df`` holds, 'complete trial')."""
    params = pd.to_numeric(df["params"], errors="coerce") if "params" in df else pd.Series(dtype=float)
    if params.isna().all():
        return f"no {what} has at most {max_params:,} parameters: " + (
            f"no {what} records its parameters" if len(df) else f"there is no {what}")
    row, least = df.loc[params.idxmin()], int(params.min())
    sweep = f" of {row['sweep']}" if "sweep" in df and isinstance(row["sweep"], str) else ""  # a merge: its sweep too
    return (f"no {what} has at most {max_params:,} parameters; the smallest, trial {row['trial']}{sweep}, has "
            f"{least:,}: give --max-params {least} or more")


def within_params(df: pd.DataFrame, max_params: int | None, source: Any, what: str = "trial") -> pd.DataFrame:
    """``at_most_params`` for a command that picks a trial from them (export, confirm): none is one line."""
    found = at_most_params(df, max_params)
    if max_params is not None and found.empty:
        raise LeaderboardError(f"--max-params {max_params}: {source}: {none_at_most(df, max_params, what)}")
    return found


def nothing_shown(df: pd.DataFrame, max_params: int | None, statuses: list[str] | None = None) -> str:
    """The leaderboard's line for no row shown: none yet, none within --max-params (the smallest of the rows --status
    keeps named: 'no complete trial has ...', or 'there is no running trial' where it keeps none), none matching."""
    if df.empty:
        return "(no trials yet)"
    kept = filter_status(df, statuses)
    what = f"{' or '.join(dict.fromkeys(statuses))} trial" if statuses else "trial"
    return f"({none_at_most(kept, max_params, what)})" if max_params and at_most_params(kept, max_params).empty \
        else "(no rows match)"


def sort_by(df: pd.DataFrame, spec: str | None) -> pd.DataFrame:
    """``COLUMN``, ``COLUMN:asc`` or ``COLUMN:desc``; by default accuracies sort high first, other
    columns low first; missing values last; ties keep the leaderboard's order."""
    if not spec:
        return df
    col, colon, order = spec.partition(":")
    if "," in spec:  # params:desc,val_acc: 'order must be asc or desc, as in --sort params:desc', which it was
        raise LeaderboardError(f"--sort {spec}: sorts by one column; give one, e.g. --sort {spec.split(',')[0]}")
    if col not in df.columns:
        hint = _unknown(col, df.columns, "--sort", "available:", f":{order}" if order else "")
        raise LeaderboardError(f"--sort {spec}: no column {col}{hint}")
    if order not in ("asc", "desc") and (order or colon):  # 'val_acc:' too: an order left out after its colon
        raise LeaderboardError(f"--sort {spec}: order must be asc or desc, as in --sort {col}:desc")
    ascending = order == "asc" or (order == "" and not ("acc" in col or col in ("value", "pareto")))
    return df.sort_values(col, ascending=ascending, na_position="last", kind="stable")


def show(df: pd.DataFrame, top: int, columns: list[str] | None = None) -> str:
    """The first ``top`` rows of ``columns`` (default: SHOWN) as a text table."""
    cols = columns or [c for c in SHOWN if c in df.columns]
    out = df.head(top)[cols].astype(object)
    out = pd.DataFrame({c: [_fmt(c, v) for v in out[c]] for c in cols})
    return out.to_string(index=False)
