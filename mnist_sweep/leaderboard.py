"""The leaderboard: one row per trial, built from the Optuna storage and each trial's result.json.

``python -m mnist_sweep.leaderboard PATH [PATH ...]`` prints the top N of a sweep dir, a
leaderboard CSV, or ``--storage URL --study NAME``; several paths are merged into one table.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from mnist_sweep import results
from mnist_sweep.errors import CliParser, LeaderboardError, exit_code_of
from mnist_sweep.storage import STORAGE_ENV, default_storage, mask_url, status_of

FILENAME = "leaderboard.csv"
CORE = [
    "rank", "trial", "status", "params", "val_acc", "test_acc_final", "test_acc_best",
    "epoch_reached_target", "reached_target", "epochs", "wall_s", "seed", "pareto",
]
INT_COLUMNS = ["trial", "params", "epoch_reached_target", "epochs", "seed"]
TAIL = ["error", "trial_dir", "overrides"]
STATUS_ORDER = {"complete": 0, "pruned": 1, "running": 2, "failed": 3, "rejected": 4}


def rows_from_study(study: Any) -> list[dict[str, Any]]:
    """One dict per trial: storage state and user attrs, then the trial's result.json."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        status = status_of(t)
        error = attrs.get("error") or ("its worker stopped (no heartbeat) while it ran" if status == "lost" else None)
        status = {"lost": "failed", "fail": "failed"}.get(status, status)
        res = results.read(attrs.get("trial_dir")) or attrs.get("result", {})  # the storage's copy if the dir is gone
        row: dict[str, Any] = {
            "trial": t.number,
            "status": status,
            "params": res.get("params", attrs.get("params")),
            "value": t.value if t.values and len(t.values) == 1 else None,
            "seed": res.get("seed"),
            "host": attrs.get("host"),
        }
        for key in results.RESULT_KEYS:
            row.setdefault(key, res.get(key))
        row.update({f"hp.{k}": v for k, v in t.params.items()})
        row.update(error=error, trial_dir=attrs.get("trial_dir"), overrides=attrs.get("overrides"))
        rows.append(row)
    return rows


def pareto_mask(acc: pd.Series, params: pd.Series) -> pd.Series:
    """True where no other point has at least the accuracy with at most the parameters (and beats it in one)."""
    return pd.Series(
        [not ((acc >= a) & (params <= p) & ((acc > a) | (params < p))).any() for a, p in zip(acc, params)],
        index=acc.index, dtype=bool,
    )


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows sorted best first (status, then the selection metric, then fewer parameters); ranked."""
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=CORE + TAIL)
    df["_order"] = df["status"].map(STATUS_ORDER).fillna(9)
    df["_metric"] = pd.to_numeric(df["value"], errors="coerce").fillna(pd.to_numeric(df["val_acc"], errors="coerce"))
    df = df.sort_values(["_order", "_metric", "params", "trial"], ascending=[True, False, True, True], na_position="last")
    done = df.status == "complete"
    df["pareto"] = False
    df.loc[done, "pareto"] = pareto_mask(df.loc[done, "_metric"], pd.to_numeric(df.loc[done, "params"]))
    df = df.drop(columns=["_order", "_metric"]).reset_index(drop=True)
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
    """The sweeper's on_trial_end hook: rebuild ``<sweep_dir>/leaderboard.csv``."""
    path = Path(sweep_dir) / FILENAME
    write_csv(frame(rows_from_study(study)), path)
    return path


def load_study(storage: str, study_name: str) -> Any:
    import optuna

    try:
        return optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        raise LeaderboardError(f"--study {study_name}: no such study in the storage") from None
    except Exception as e:  # noqa: BLE001
        raise LeaderboardError(f"--storage {mask_url(storage)}: cannot open ({type(e).__name__})") from None


def read(path: str | Path) -> pd.DataFrame:
    """A leaderboard from a CSV file or a sweep dir (its leaderboard.csv)."""
    p = Path(path)
    if p.is_dir():
        if not (p / FILENAME).exists():
            raise LeaderboardError(f"{p}: no {FILENAME} in this directory; give a sweep dir (outputs/sweeps/NAME) or a CSV")
        p = p / FILENAME
    if not p.exists():
        raise LeaderboardError(f"{p}: no such file; give a sweep dir or its {FILENAME}")
    try:
        df = pd.read_csv(p)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise LeaderboardError(f"{p}: not a readable CSV ({type(e).__name__}); give a {FILENAME}") from None
    missing = [c for c in ("rank", "trial", "status", "trial_dir") if c not in df.columns]
    if missing:
        raise LeaderboardError(f"{p}: not a leaderboard (no column {', '.join(missing)}); give a {FILENAME}")
    return _ints(df)


def merge(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Several leaderboards as one, re-ranked, with a ``sweep`` column."""
    rows = []
    for name, df in frames.items():
        df = df.drop(columns="rank").copy()
        df.insert(0, "sweep", name)
        rows.extend(df.to_dict("records"))
    if "value" not in pd.DataFrame(rows).columns:
        for r in rows:
            r["value"] = r.get("val_acc")
    return frame(rows)


def show(df: pd.DataFrame, top: int) -> str:
    cols = [c for c in ["rank", "sweep", "trial", "status", "params", "val_acc", "test_acc_final", "test_acc_best",
                        "epoch_reached_target", "epochs", "wall_s"] if c in df.columns]
    out = df.head(top)[cols].copy()
    for c in ("val_acc", "test_acc_final", "test_acc_best"):
        if c in out:
            out[c] = out[c].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.2f}%")
    return out.astype(object).where(out.notna(), "").to_string(index=False)


def _run(args: argparse.Namespace) -> None:
    storage = args.storage or (default_storage() if args.study else None)
    if args.study and not storage:
        raise LeaderboardError(f"--study {args.study}: needs --storage URL or ${STORAGE_ENV}")
    if storage:
        if not args.study:
            raise LeaderboardError("--study: required with --storage")
        df = frame(rows_from_study(load_study(storage, args.study)))
    elif args.paths:
        frames = {str(path): read(path) for path in args.paths}
        df = next(iter(frames.values())) if len(frames) == 1 else merge(frames)
    else:
        raise LeaderboardError("give a sweep dir, a leaderboard CSV, or --storage URL --study NAME")
    print(show(df, args.top))
    counts = df["status"].value_counts().to_dict()
    print(f"\n{len(df)} trials: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    if args.out:
        write_csv(df, Path(args.out))


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="python -m mnist_sweep.leaderboard", description=__doc__.splitlines()[0])
    p.add_argument("paths", nargs="*", help="sweep dirs or leaderboard CSVs (several are merged)")
    p.add_argument("--storage", help=f"Optuna storage URL, instead of paths (e.g. sqlite:///outputs/sweeps/NAME/optuna.db); "
                   f"default ${STORAGE_ENV}, which keeps a password off the command line")
    p.add_argument("--study", help="study name, with --storage")
    p.add_argument("--top", type=int, default=10, help="rows to print (default 10)")
    p.add_argument("--out", help="also write the (merged) table to this CSV")
    args = p.parse_args(argv)
    return exit_code_of(lambda: _run(args))


if __name__ == "__main__":
    sys.exit(main())
