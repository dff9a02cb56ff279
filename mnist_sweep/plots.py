"""Figures (matplotlib, Agg): a run's curves and a sweep's report images, each saved as PNG.

Every axis is scaled to the data it shows (a sweep at 11% accuracy is drawn as clearly as one at
99.5%); legends sit below the axes, never over the data; epochs are integer ticks.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from mnist_sweep.results import atomic_write, pareto_mask  # noqa: E402
from mnist_sweep.text import percent  # noqa: E402

METRIC_LABEL = {"val_acc": "validation accuracy", "test_acc": "test accuracy"}
# A run's train, validation and test series (drawn in that order) stay visible where they coincide
# (validation == test accuracy in a 1-epoch run is common): each is drawn smaller than the one under
# it, hollow markers over hollow markers over a filled dot, solid under dashed under dotted.
SERIES_STYLE = {
    "train": {"marker": "s", "ms": 10, "mfc": "none", "mew": 1.5, "ls": "-", "lw": 2.6},
    "val": {"marker": "o", "ms": 7, "mfc": "none", "mew": 1.5, "ls": "--", "lw": 1.8},
    "test": {"marker": "o", "ms": 3.5, "ls": ":", "lw": 1.5},
}


def _save(fig: plt.Figure, path: Path) -> Path:
    """The figure as ``path``, whole or not at all (results.atomic_write: a temporary name in its
    dir, then a rename): a kill mid-write never leaves a cut-off image under the real name."""
    fig.tight_layout()
    path = Path(path)
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, bbox_inches="tight", format=path.suffix[1:] or "png"))
    finally:
        plt.close(fig)
    return path


def _finite(values: Iterable[float]) -> list[float]:
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def percent_limits(values: Iterable[float]) -> tuple[float, float]:
    """y-limits (in %) for accuracies in [0, 1]: the data's range plus a margin, within [0, 100.5]."""
    v = [100 * x for x in _finite(values)]
    if not v:
        return 0.0, 100.0
    lo, hi = min(v), max(v)
    pad = max(0.08 * (hi - lo), 0.15)
    return max(lo - pad, 0.0), min(hi + pad, 100.5)


def _epochs(ax: plt.Axes, epochs: pd.Series) -> None:
    """Integer epoch ticks and half an epoch of room either side (epoch 1 is never on the edge)."""
    if not len(epochs):
        return
    first, last = int(epochs.min()), int(epochs.max())
    if last - first <= 12:
        ax.set_xticks(range(first, last + 1))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(first - 0.5, last + 0.5)


def _legend_below(ax: plt.Axes, ncol: int = 3, fontsize: int = 8) -> None:
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=ncol, fontsize=fontsize, frameon=False)


def _target(ax: plt.Axes, target: float) -> None:
    """The target line where it falls inside the data's range; else a note saying where it is."""
    lo, hi = ax.get_ylim()
    if lo <= 100 * target <= hi:
        ax.axhline(100 * target, color="green", ls=":", lw=1, label=f"target {percent(target, 1)}")
    else:
        where = "above" if 100 * target > hi else "below"
        ax.text(0.99, 0.98, f"target {percent(target, 1)} is {where} this range", transform=ax.transAxes,
                ha="right", va="top", fontsize=8, color="green")


def curves(metrics: pd.DataFrame, path: Path, title: str = "") -> Path:
    """Per-epoch losses and accuracies of one run (its metrics.csv): train, validation, test."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
    for col in ("train_loss", "val_loss", "test_loss"):
        if col in metrics and metrics[col].notna().any():
            ax1.plot(metrics.epoch, metrics[col], **SERIES_STYLE[col.replace("_loss", "")], label=col.replace("_loss", ""))
    losses = _finite(metrics[[c for c in ("train_loss", "val_loss", "test_loss") if c in metrics]].to_numpy().ravel())
    wide = bool(losses) and min(losses) > 0 and max(losses) / min(losses) > 5  # log scale only when it helps
    ax1.set(xlabel="epoch", ylabel="cross-entropy", title="loss" + (" (log scale)" if wide else ""),
            yscale="log" if wide else "linear")
    shown = []
    for col in ("train_acc", "val_acc", "test_acc"):
        if col in metrics and metrics[col].notna().any():
            ax2.plot(metrics.epoch, 100 * metrics[col], **SERIES_STYLE[col.replace("_acc", "")], label=col.replace("_acc", ""))
            shown.extend(metrics[col])
    ax2.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy (train: augmented batches, in training mode)")
    ax2.set_ylim(*percent_limits(shown))
    for ax in (ax1, ax2):
        _epochs(ax, metrics.epoch)
        ax.grid(alpha=0.3)
        _legend_below(ax)
    fig.suptitle(title)
    return _save(fig, path)


def _rejected(ax: plt.Axes, rejected: pd.DataFrame) -> None:
    if len(rejected):
        y = ax.get_ylim()[0]
        ax.scatter(rejected.params, [y] * len(rejected), marker="|", s=200, color="grey", clip_on=False,
                   label=f"rejected, over budget ({len(rejected)})")


def accuracy_vs_params(board: pd.DataFrame, path: Path, budget: int, target: float,
                       selection: str = "val_acc") -> Path:
    """Two panels against parameter count: the validation accuracy (what the sweep selects on) with
    the Pareto front of (validation accuracy, parameters) over complete trials, and the
    final-epoch test accuracy (reported, never selected on) with the target line. Budget lines
    on both; rejected candidates as ticks on the x axis."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    rejected = board[board.status == "rejected"] if "status" in board else board.iloc[:0]
    for ax, col, name in ((left, "val_acc", "validation"), (right, "test_acc_final", "final-epoch test")):
        trained = board[pd.to_numeric(board[col], errors="coerce").notna()] if col in board else board.iloc[:0]
        for status, marker in (("complete", "o"), ("pruned", "x"), ("failed", "s")):
            part = trained[trained.status == status]
            if len(part):
                ax.scatter(part.params, 100 * part[col].astype(float), marker=marker, alpha=0.7,
                           label=f"{status} ({len(part)})")
        if col == "val_acc":
            _spread(ax, trained)
        ax.set_ylim(*percent_limits(trained[col] if len(trained) else []))
        if not len(trained):
            ax.text(0.5, 0.5, f"no trial has a {name} accuracy" + (" (data.val_size=0)" if col == "val_acc" else ""),
                    transform=ax.transAxes, ha="center", va="center", color="grey")
        if col == "val_acc":
            _front(ax, trained[trained.status == "complete"], col, constrained="feasible" in board)
            if "feasible" in board:  # the constrained modes: the target is on the selection metric
                _target(ax, target)
        else:
            _target(ax, target)
        _rejected(ax, rejected)
        ax.axvline(budget, color="black", ls="--", lw=1, label=f"budget {budget:,}")
        kind = " (selection split)" if selection == col else " (reported only)" if col == "test_acc_final" else ""
        ax.set(xlabel="parameters", ylabel=f"{name} accuracy (%)", title=f"{name} accuracy{kind} vs parameters")
        ax.grid(alpha=0.3)
        _legend_below(ax, ncol=2)
    return _save(fig, path)


def _spread(ax: plt.Axes, trained: pd.DataFrame) -> None:
    """Configs judged over several seeds (hydra.sweeper.repeats): their mean, with +-2 standard
    errors, beside the first seed's point."""
    if "val_mean" not in trained:
        return
    rep = trained[pd.to_numeric(trained.val_mean, errors="coerce").notna()]
    if len(rep):
        sem = 2 * 100 * pd.to_numeric(rep.val_sem, errors="coerce").fillna(0.0)
        ax.errorbar(rep.params, 100 * rep.val_mean.astype(float), yerr=sem, fmt="D", ms=4, color="black", mfc="none",
                    capsize=3, lw=1, label=f"mean over seeds ± 2 sem ({len(rep)})")


def _front(ax: plt.Axes, done: pd.DataFrame, col: str, constrained: bool) -> None:
    """The Pareto front of (accuracy, parameters): over the feasible trials in a constrained study
    (the feasible front: the smallest net at each accuracy that reaches the target)."""
    if constrained:
        done = done[done.feasible == True]  # noqa: E712 - True/False/NaN column
    if not len(done):
        return
    front = done[pareto_mask(done[col].astype(float), pd.to_numeric(done.params)).to_numpy()].sort_values("params")
    what = "feasible front" if constrained else "Pareto front of (validation acc, params)"
    ax.plot(front.params, 100 * front[col].astype(float), "-D", color="crimson", ms=5, label=f"{what} ({len(front)})")


def top_curves(metrics: dict[str, pd.DataFrame], path: Path) -> Path:
    """Validation (solid) and test (dashed) accuracy per epoch of the top trials."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    shown: list[float] = []
    epochs = pd.Series(dtype=float)
    for i, (name, m) in enumerate(metrics.items()):
        color = f"C{i}"
        if m.val_acc.notna().any():
            ax.plot(m.epoch, 100 * m.val_acc, color=color, marker="o", ms=4, label=f"{name} val")
            shown.extend(m.val_acc)
        ax.plot(m.epoch, 100 * m.test_acc, color=color, ls="--", marker="^", ms=4, label=f"{name} test")
        shown.extend(m.test_acc)
        epochs = pd.concat([epochs, m.epoch.astype(float)])
    ax.set(xlabel="epoch", ylabel="accuracy (%)", title="top trials: validation (solid) and test (dashed)")
    ax.set_ylim(*percent_limits(shown))
    _epochs(ax, epochs)
    ax.grid(alpha=0.3)
    _legend_below(ax, ncol=2, fontsize=7)
    return _save(fig, path)


def optuna_axes(ax, path: Path) -> Path:
    """Save a figure made by ``optuna.visualization.matplotlib``."""
    fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
    fig.set_size_inches(8, 5)
    return _save(fig, path)
