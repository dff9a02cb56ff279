"""robustness.csv, confirm's table: one row per config (its seeds' final-epoch test accuracies, mean, std, min,
how many reached the target, the precision trained in, seconds per epoch; a ``teacher`` column, its path, only
where a config's runs were distilled), the rows of an earlier confirm into the
same --out kept, and the table as printed."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from mnist_sweep.csv_rows import read_csv_once, short_row
from mnist_sweep.errors import MnistSweepError, empty_or_binary


def table(results: dict[str, dict[int, dict]]) -> pd.DataFrame:
    rows = []
    for name, by_seed in results.items():
        first = next(iter(by_seed.values()))
        accs = pd.Series({s: r["test_acc_final"] for s, r in by_seed.items()})
        row = {"config": name, "params": first["params"], "epochs": first["epochs"]}
        row.update({f"seed_{s}": a for s, a in accs.items()})
        row.update(
            mean=accs.mean(), std=accs.std(ddof=1) if len(accs) > 1 else None, min=accs.min(),  # 1 seed: no spread
            reached=f"{sum(r['reached_target'] for r in by_seed.values())}/{len(by_seed)}",
            target=first["target_acc"],
            precision="/".join(sorted({r["precision"] for r in by_seed.values() if r.get("precision")})),  # as trained
            s_per_epoch=sum(r["wall_s"] for r in by_seed.values()) / sum(r["epochs"] for r in by_seed.values()),
        )
        if taught := sorted({str(r["teacher"].get("path")) for r in by_seed.values() if isinstance(r.get("teacher"), dict)}):
            row["teacher"] = "/".join(taught)  # a distilled config's alone: a table without one keeps its columns
        rows.append(row)
    return pd.DataFrame(rows).sort_values("mean", ascending=False)


def earlier_rows(path: Path, names: list[str]) -> pd.DataFrame:
    """The rows of ``path``, an earlier confirm's robustness.csv in --out, for configs not confirmed
    now: written again with this table's, not lost (a damaged file is one line, before any training)."""
    if not path.exists():
        return pd.DataFrame()
    try:
        old, data = read_csv_once(path)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        what = empty_or_binary(path, "a CSV") or f"not a readable CSV ({type(e).__name__})"
        raise MnistSweepError(f"{path}: {what}; remove it or give another --out") from None
    if why := short_row(data):  # a row cut off: written again whole, its missing fields as empty
        raise MnistSweepError(f"{path}: {why}; remove it or give another --out")
    if not {"config", "mean"} <= set(old.columns):
        raise MnistSweepError(f"{path}: not a confirm's table (no config or mean column); remove it or give another --out")
    return old[~old["config"].isin(names)]


def with_earlier(df: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """This table and the earlier rows kept, best mean first, the seed columns in order after epochs."""
    if kept.empty:
        return df
    both = pd.concat([df, kept], ignore_index=True).sort_values("mean", ascending=False)
    seeds = sorted((c for c in both.columns if c.startswith("seed_")), key=lambda c: int(c[5:]) if c[5:].isdigit() else 0)
    head = [c for c in ("config", "params", "epochs") if c in both.columns]
    return both[head + seeds + [c for c in both.columns if c not in head + seeds]]


def printed(df: pd.DataFrame) -> str:
    """The table as printed: accuracies in percent, the std too (a spread of them: '0.058%', not '0.058')."""
    shown = df.copy()
    for c in [c for c in df.columns if c.startswith("seed_")] + ["mean", "min"]:
        shown[c] = shown[c].map(lambda v: f"{100 * v:.2f}%")
    shown["std"] = shown["std"].map(lambda v: "" if pd.isna(v) else f"{100 * v:.3f}%")
    shown["s_per_epoch"] = shown["s_per_epoch"].map(lambda v: f"{v:.1f}")
    if "teacher" in shown:
        shown["teacher"] = shown["teacher"].fillna("")  # a config trained without one beside a distilled one
    return shown.to_string(index=False)
