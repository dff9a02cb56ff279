"""The leaderboard: one row per trial, built from the Optuna storage and each trial's result.json.

``python -m mnist_sweep.leaderboard PATH [PATH ...]`` prints the top N of a sweep dir, a
leaderboard CSV, or ``--storage URL --study NAME``; several paths are merged into one table.
``--hp``/``--columns`` show more columns, ``--status`` and ``--max-params`` filter, ``--sort`` orders by any column,
``--refresh`` rebuilds a sweep dir's table from the storage recorded in its ``storage.json``.
Finding a sweep's study (``storage.json`` and the rest) is ``mnist_sweep.sweeps``; a study's trials as
rows, ``mnist_sweep.trial_rows``; what a path given for a table is when it holds none, ``mnist_sweep.board_paths``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from mnist_sweep import best, results
from mnist_sweep.board_paths import FILENAME, TAKES, a_storage, a_url, no_such, no_table, not_a_table, rowless_trial_dirs, \
    sweeps_here
from mnist_sweep.commandline import CliParser, exit_code_of
from mnist_sweep.errors import LeaderboardError, MnistSweepError, UsageError, empty_or_binary, one_line
from mnist_sweep.moved import holds_trials, once, rebase
from mnist_sweep.results import pareto_mask
from mnist_sweep.storage import STORAGE_ENV, default_storage, mask_url
from mnist_sweep.sweeps import STORAGE_RECORD, load_study, record_storage, study_of_sweep
from mnist_sweep.output_files import Outputs
from mnist_sweep.csv_rows import read_csv_once
from mnist_sweep.table import INT_COLUMNS, STATUS_ORDER, at_most_params, check_numbers, check_rows, filter_status, \
    nothing_shown, select_columns, show, sort_by
from mnist_sweep.text import plural
from mnist_sweep.trial_rows import NEVER_LAUNCHED, REPEAT_COLUMNS, rows_from_study

CORE = [
    "rank", "trial", "status", "feasible", "params", "val_acc", "n_seeds", "val_mean", "val_sem", "test_acc_final",
    "test_acc_best", "epoch_reached_target", "reached_target", "epochs", "wall_s", "seed", "pareto",
]
TAIL = ["error", "trial_dir", "overrides"]


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows sorted best first: status, then (in a constrained study) feasible before infeasible and
    the infeasible nearest the target first (as Optuna's constrained samplers rank them), then the
    objective in its direction, then fewer parameters; ranked. ``pareto`` marks the
    complete trials that no other beats on both accuracy and parameters."""
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=CORE + TAIL)
    for col in ("params", "val_acc", "test_acc_final", "value"):  # a leaderboard CSV made without them (merge)
        df[col] = df[col] if col in df else None
    sign = pd.to_numeric(df.pop("_sign"), errors="coerce").fillna(1.0) if "_sign" in df else 1.0
    acc = pd.to_numeric(df["val_acc"], errors="coerce").fillna(pd.to_numeric(df["test_acc_final"], errors="coerce"))
    if "val_mean" in df:  # a repeated config: its mean over seeds
        acc = pd.to_numeric(df["val_mean"], errors="coerce").fillna(acc)
    df["_order"] = df["status"].map(STATUS_ORDER).fillna(9)
    df["_infeasible"] = df["feasible"].map(lambda f: 1 if f is False else 0) if "feasible" in df else 0
    df["_violation"] = pd.to_numeric(df["_violation"], errors="coerce") if "_violation" in df else 0.0
    df["_score"] = (sign * pd.to_numeric(df["value"], errors="coerce")).fillna(acc)
    df["_acc"] = acc
    df = df.iloc[sorted(range(len(df)), key=lambda i: (  # then best.key: the sweep's own "best" (progress line)
        df["_order"].iat[i], df["_infeasible"].iat[i], best.missing_last(df["_violation"].iat[i]),
        *best.key(df["_score"].iat[i], df["params"].iat[i], df["trial"].iat[i])))]
    params = pd.to_numeric(df["params"], errors="coerce")  # a duplicate shows its original's numbers; only the
    done = (df.status == "complete") & df["_acc"].notna() & params.notna()  # original is marked, and only with both
    df["pareto"] = False
    df.loc[done, "pareto"] = pareto_mask(df.loc[done, "_acc"], params[done])
    if "direction" in df and df["direction"].isna().all():
        df = df.drop(columns=["direction"])  # a multi-objective study: no one direction
    if "feasible" in df and df["feasible"].map(lambda f: not isinstance(f, bool)).all():
        df = df.drop(columns=["feasible"], errors="ignore")  # an unconstrained study has no such column
    if all(c not in df or df[c].isna().all() for c in REPEAT_COLUMNS):
        df = df.drop(columns=REPEAT_COLUMNS, errors="ignore")  # no config was repeated
    else:  # a config trained on one seed says so: its rank rests on that one run
        one = df.status.eq("complete") & df.n_seeds.isna()
        df.loc[one, "n_seeds"], df.loc[one, "val_mean"] = 1, df.loc[one, "_acc"] if one.any() else None
    df = df.drop(columns=["_order", "_infeasible", "_violation", "_score", "_acc"]).reset_index(drop=True)
    df.insert(0, "rank", range(1, len(df) + 1))
    hp = sorted(c for c in df.columns if c.startswith("hp."))
    rest = [c for c in df.columns if c not in CORE + TAIL + hp]
    return _ints(df[[c for c in CORE if c in df.columns] + rest + hp + [c for c in TAIL if c in df.columns]])


def _ints(df: pd.DataFrame) -> pd.DataFrame:
    """Integer columns stay integers next to missing values (rejected rows have no epochs)."""
    for col in INT_COLUMNS:
        if col in df.columns:
            df[col] = pd.to_numeric(df[col], errors="coerce").round().astype("Int64")
    return df


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Atomic: readers see the old file or the new one, never half of one."""
    results.atomic_write(Path(path), lambda p: df.to_csv(p, index=False))


def write_for_sweep(study: Any, sweep_dir: Path) -> Path:
    """The sweeper's on_trial_end hook: rebuild ``<sweep_dir>/leaderboard.csv`` and record where
    the study lives (``storage.json``)."""
    path = Path(sweep_dir) / FILENAME
    write_csv(frame(rows_from_study(study)), path)
    record_storage(study, Path(sweep_dir))
    return path


def read(path: str | Path, takes: str = TAKES, several: bool = False, picks: bool | str = False) -> pd.DataFrame:
    """A leaderboard from a CSV file or a sweep dir (its leaderboard.csv); a sweep dir's own table
    reads its trial dirs in that dir, wherever the sweep ran (``moved.rebase``). A dir without one
    is refused with what the command ``takes`` (whether ``several``; whether it ``picks`` a trial,
    --trial N): ``board_paths.no_table``."""
    if url := a_url(str(path), takes):
        raise LeaderboardError(url)
    p = Path(path)
    if p.is_dir():
        if not (p / FILENAME).exists():
            raise LeaderboardError(f"{p}: {no_table(p, takes, several, picks)}")
        p = p / FILENAME
    if not p.exists():
        raise LeaderboardError(no_such(p, f"give a sweep dir or its {FILENAME}" if takes == TAKES else f"give {takes}"))
    if line := a_storage(p):
        raise LeaderboardError(line)
    try:
        df, data = read_csv_once(p)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise LeaderboardError(not_a_table(p, empty_or_binary(p, "a CSV") or f"not a readable CSV ({type(e).__name__})", picks)) from None
    missing = [c for c in ("rank", "trial", "status", "trial_dir") if c not in df.columns]
    if missing:
        raise LeaderboardError(not_a_table(p, f"not a leaderboard (no column {', '.join(missing)})", picks))
    check_rows(data, p)
    check_numbers(df, p)
    if p.name == FILENAME and "sweep" not in df.columns:  # a sweep dir's own table (not a merge): moved or copied?
        df = rebase(df, p.parent)
    gone = df["status"].isin(NEVER_LAUNCHED) & ~df["trial_dir"].map(lambda d: isinstance(d, str) and Path(d).is_dir())
    df["trial_dir"] = df["trial_dir"].astype(object).where(~gone, None)  # never launched: no dir to point at
    return _ints(df)


def direction(df: pd.DataFrame, path: str | None = None) -> float | None:
    """A leaderboard's objective direction: 1.0 maximize, -1.0 minimize (``smallest``: params,
    ``fastest``: train_s), None where it cannot tell. As its ``direction`` column records it, else (a
    table from before that column) as the storage of its sweep dir ``path`` records it, else from its
    own ranking: maximize where its ranked feasible complete values fall."""
    told = set(df["direction"].dropna()) if "direction" in df else set()
    if len(told) == 1 and told <= {"maximize", "minimize"}:
        return 1.0 if told == {"maximize"} else -1.0
    recorded = _stored_direction(Path(path)) if path and "value" in df else None
    if recorded is not None or "value" not in df:
        return recorded
    done = df[(df["status"] == "complete") & ~df.get("feasible", pd.Series(True, index=df.index)).isin([False])]
    values = pd.to_numeric(done.sort_values("rank")["value"], errors="coerce").dropna()
    if len(values) < 2 or values.iloc[0] == values.iloc[-1]:
        return None
    return -1.0 if values.iloc[0] < values.iloc[-1] else 1.0


def _stored_direction(path: Path) -> float | None:
    """The direction of a one-objective study in the storage a sweep dir (or its leaderboard.csv's
    dir) records; None where there is none, or it cannot be opened."""
    d = path if path.is_dir() else path.parent if path.name == FILENAME else None
    if d is None or not any((d / f).is_file() for f in (STORAGE_RECORD, "optuna.db", "journal.log")):
        return None
    try:
        study = study_of_sweep(d)
    except MnistSweepError:
        return None
    return None if len(study.directions) != 1 else 1.0 if study.direction.name == "MAXIMIZE" else -1.0


def merge(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Several leaderboards as one, re-ranked (each in its own direction), with a ``sweep`` column."""
    signs = {name: direction(df, name) for name, df in frames.items()}
    rows, told = [], [d for d in signs.values() if d is not None]
    for name, df in frames.items():
        sign = signs[name] or (told[0] if told else 1.0)  # one row: the others' direction
        df = df.drop(columns="rank").copy()
        df.insert(0, "sweep", name)
        rows.extend({**r, "_sign": sign} for r in df.to_dict("records"))
    if "value" not in pd.DataFrame(rows).columns:
        for r in rows:
            r["value"] = r.get("val_acc")
    return frame(rows)


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for arg in values or [] for v in arg.split(",") if v.strip()]


def _check_names(args: argparse.Namespace) -> None:
    """--status, --columns and --sort name something: an empty value is refused, not ignored."""
    for flag, values, what in (("--status", args.status, "statuses"), ("--columns", args.columns, "columns")):
        for value in values or []:
            if not _split([value]):
                raise LeaderboardError(f"{flag} {value!r}: names no {what}; give one or more (comma-separated), "
                                       f"or leave out {flag}")
    if args.sort is not None and not args.sort.partition(":")[0].strip():
        raise LeaderboardError(f"--sort {args.sort!r}: names no column; give COLUMN[:asc|:desc], or leave out --sort")


def _check_out(args: argparse.Namespace) -> None:
    """--out may not replace a sweep dir's own leaderboard.csv with another table (a merge, another
    sweep's): reproduce, export and confirm read their rows there. Its own sweep dir's table is fine.
    Nor one of several tables merged: that input would be lost under the merge."""
    if not args.out:
        return
    d = Path(args.out).absolute().parent
    if Path(args.out).name == FILENAME and (
            (d / STORAGE_RECORD).exists() or (d / "optuna.db").exists() or holds_trials(d)) and not (
            len(args.paths) == 1 and not args.storage and Path(args.paths[0]).resolve() in (d.resolve(), d.resolve() / FILENAME)):
        raise LeaderboardError(f"--out {args.out}: is the leaderboard of the sweep in {d} (reproduce, export and confirm "
                               "pick its rows by rank); this table would replace it: give another file name")
    inputs = [Path(p).resolve() / FILENAME if Path(p).is_dir() else Path(p).resolve() for p in args.paths]
    if len(inputs) > 1 and Path(args.out).resolve() in inputs:
        raise LeaderboardError(f"--out {args.out}: is one of the tables merged; the merge would replace it, and its "
                               "rows be lost: give another file name")


def _run(args: argparse.Namespace, outputs: Outputs) -> None:
    args.paths = once(args.paths)  # sw, sw/ and sw/leaderboard.csv: one table, read once
    _check_names(args)
    _check_out(args)
    in_sweeps = args.refresh and bool(args.paths)  # --study picks a study of the sweep dirs' storage
    storage = args.storage or (default_storage() if (args.study or not args.paths) and not in_sweeps else None)
    flag = "--storage" if args.storage else f"--storage (default ${STORAGE_ENV})"  # none given: where the URL came from
    if args.study and not storage and not in_sweeps:
        raise UsageError(f"--study {args.study}: needs --storage URL or ${STORAGE_ENV}, or --refresh with sweep dirs")
    if args.top < 1:
        raise LeaderboardError(f"--top {args.top}: must be at least 1")
    rowless: list[str] = []  # the plain table's sweep dirs' trial dirs that have no row
    if storage:  # no --study: the storage's only study (one that holds several is named with its studies)
        df = frame(rows_from_study(load_study(storage, args.study, flag)))
    elif url := next((f"{line}, or read the storage itself: --storage '{mask_url(p)}' --study NAME" for p in args.paths
                      if (line := a_url(p))), None):
        raise LeaderboardError(url)
    elif args.paths and args.refresh:
        frames = {}
        for path in args.paths:
            if not Path(path).exists():
                raise LeaderboardError("--refresh " + no_such(Path(path), "give a sweep dir"))
            if not Path(path).is_dir():
                raise LeaderboardError(f"--refresh {path}: not a sweep dir; --refresh rebuilds a sweep dir's table from its storage")
            frames[str(path)] = rebase(frame(rows_from_study(study_of_sweep(Path(path), args.study), Path(path))), Path(path))
        df = next(iter(frames.values())) if len(frames) == 1 else merge(frames)
    elif args.paths:
        frames = {str(path): read(path, several=True) for path in args.paths}
        df = next(iter(frames.values())) if len(frames) == 1 else merge(frames)
        rowless = [line for path, f in frames.items() if (line := rowless_trial_dirs(path, list(f["trial_dir"])))]
    else:
        raise UsageError(f"give a sweep dir, a leaderboard CSV, or --storage URL --study NAME{sweeps_here()}")
    cols = select_columns(df, args.hp, _split(args.columns))
    cols += [c for c in [(args.sort or "").partition(":")[0]] if c in df.columns and c not in cols]  # what it sorts by
    shown = sort_by(filter_status(at_most_params(df, args.max_params), _split(args.status)), args.sort)  # ranks kept
    written = _write_out(df, args.out, outputs) if args.out else None  # before printing: an unwritable --out is the one line
    print(show(shown, args.top, cols) if len(shown) else nothing_shown(df, args.max_params, _split(args.status)))
    counts = ", ".join(f"{n:,} {s}" for s, n in df["status"].value_counts().items())
    why = bool("error" in shown and "error" not in cols and shown["error"].notna().any())  # failed, rejected, ...: its cause
    by = " and ".join(flag for flag, given in (("--status", args.status), ("--max-params", args.max_params)) if given)
    tail = (f" ({len(shown)} shown by {by})" if by else "") + "; --columns error says why a trial did not complete" * why
    print(f"\n{plural(len(df), 'trial')}" + (f": {counts}" if counts else "") + tail)
    for line in [*dict.fromkeys(rowless), written]:  # a sweep dir given twice: once; the --out line last
        if line:
            print(line)


def _write_out(df: pd.DataFrame, out: str, outputs: Outputs) -> str:
    """--out written (its missing folders made, as export and confirm make theirs; removed again,
    each while empty, where the write fails), and the line that says where, naming a folder it made."""
    path = Path(out)
    new = f"; made the folder {one_line(path.parent)}" if outputs.write(path, lambda p: write_csv(df, p)) else ""
    return f"written {one_line(path)} (the whole table, {plural(len(df), 'trial')}{new})"


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="python -m mnist_sweep.leaderboard", description=__doc__.splitlines()[0])
    p.add_argument("paths", nargs="*", help="sweep dirs or leaderboard CSVs (several are merged)")
    p.add_argument("--storage", help=f"Optuna storage URL, instead of paths (e.g. sqlite:///outputs/sweeps/NAME/optuna.db); "
                   f"default ${STORAGE_ENV}, which keeps a password off the command line")
    p.add_argument("--study", help="study name, with --storage (default: its only study), or with --refresh: the study "
                   "of the sweep dirs' storage (one that holds several)")
    p.add_argument("--refresh", action="store_true",
                   help=f"rebuild each sweep dir's table from its Optuna storage (found through {STORAGE_RECORD}) "
                   "instead of reading its leaderboard.csv")
    p.add_argument("--top", type=int, default=10, help="rows to print (default 10)")
    p.add_argument("--max-params", type=int, metavar="N", help="show only trials with at most N parameters (their ranks kept: "
                   "the sweep's, which --rank takes in reproduce and export), e.g. the best under 5,000: --max-params 4999")
    p.add_argument("--hp", action="store_true", help="also show every hyperparameter column (hp.*)")
    p.add_argument("--columns", action="append", metavar="COL[,COL...]",
                   help="also show these columns (names or globs, e.g. hp.model.*,host,error)")
    p.add_argument("--status", action="append", metavar="STATUS[,STATUS...]",
                   help=f"show only rows with these statuses ({', '.join(STATUS_ORDER)})")
    p.add_argument("--sort", metavar="COLUMN[:asc|:desc]",
                   help="order the printed rows by this column (default: rank); accuracies high first, "
                   "anything else low first unless :asc/:desc says otherwise")
    p.add_argument("--out", help="also write the whole (merged) table to this CSV (every row, whatever "
                   "--status/--max-params/--sort/--columns)")
    args, outputs = p.parse_args(argv), Outputs()  # Ctrl-C: whether --out was written, as it is then
    return exit_code_of(lambda: _run(args, outputs), p.prog, outputs.interrupted_line)


if __name__ == "__main__":
    sys.exit(main())
