"""Figures (matplotlib, Agg): a run's curves and a sweep's report images, each saved as PNG."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def curves(metrics: pd.DataFrame, path: Path, title: str = "") -> Path:
    """Per-epoch losses and accuracies of one run (its metrics.csv)."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for col in ("train_loss", "val_loss", "test_loss"):
        if metrics[col].notna().any():
            ax1.plot(metrics.epoch, metrics[col], marker=".", label=col.replace("_loss", ""))
    ax1.set(xlabel="epoch", ylabel="cross-entropy", title="loss", yscale="log")
    for col in ("train_acc", "val_acc", "test_acc"):
        if metrics[col].notna().any():
            ax2.plot(metrics.epoch, 100 * metrics[col], marker=".", label=col.replace("_acc", ""))
    ax2.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    lo = 100 * metrics[["val_acc", "test_acc"]].min().min()
    ax2.set_ylim(max(lo - 0.5, 90) if lo == lo else 90, 100)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return _save(fig, path)


def accuracy_vs_params(board: pd.DataFrame, path: Path, budget: int, target: float) -> Path:
    """Test accuracy against parameter count for every trained trial; Pareto front, budget and target lines."""
    fig, ax = plt.subplots(figsize=(8, 5))
    trained = board[board.test_acc_final.notna()]
    for status, marker in (("complete", "o"), ("pruned", "x"), ("failed", "s")):
        part = trained[trained.status == status]
        if len(part):
            ax.scatter(part.params, 100 * part.test_acc_final, marker=marker, alpha=0.6, label=f"{status} ({len(part)})")
    rejected = board[board.status == "rejected"]
    if len(rejected):
        ax.scatter(rejected.params, [ax.get_ylim()[0]] * len(rejected), marker="|", color="grey", label=f"rejected ({len(rejected)})")
    front = board[board.get("pareto", pd.Series(False, index=board.index)).fillna(False).astype(bool)].sort_values("params")
    if len(front):
        ax.plot(front.params, 100 * front.test_acc_final, "-D", color="crimson", label="Pareto front (val acc vs params)")
    ax.axvline(budget, color="black", ls="--", lw=1, label=f"budget {budget:,}")
    ax.axhline(100 * target, color="green", ls=":", lw=1, label=f"target {100 * target:.1f}%")
    ax.set(xlabel="parameters", ylabel="final-epoch test accuracy (%)", title="accuracy vs parameters")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def top_curves(metrics: dict[str, pd.DataFrame], path: Path) -> Path:
    """Validation (solid) and test (dashed) accuracy per epoch of the top trials."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for i, (name, m) in enumerate(metrics.items()):
        color = f"C{i}"
        if m.val_acc.notna().any():
            ax.plot(m.epoch, 100 * m.val_acc, color=color, label=f"{name} val")
        ax.plot(m.epoch, 100 * m.test_acc, color=color, ls="--", label=f"{name} test")
    ax.set(xlabel="epoch", ylabel="accuracy (%)", title="top trials: validation (solid) and test (dashed)")
    ax.set_ylim(97, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def importances(values: dict[str, float], path: Path) -> Path:
    """Horizontal bars, most important on top."""
    names = list(values)[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(names) + 1.5))
    ax.barh(names, [values[n] for n in names], color="C0")
    ax.set(xlabel="importance (sums to 1)", title="hyperparameter importances for validation accuracy")
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def optuna_axes(ax, path: Path) -> Path:
    """Save a figure made by ``optuna.visualization.matplotlib``."""
    fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
    fig.set_size_inches(8, 5)
    return _save(fig, path)
