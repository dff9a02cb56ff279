"""Image statistics for checking that a plot has drawn data (axes frames, coloured pixels)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


# ------------------------------------------------------------------ image statistics
def rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def _longest_runs(mask: np.ndarray) -> np.ndarray:
    """For each column of ``mask``, the longest run of consecutive True pixels."""
    padded = np.vstack([np.zeros((1, mask.shape[1]), int), mask.astype(int), np.zeros((1, mask.shape[1]), int)])
    d = np.diff(padded, axis=0)
    out = np.zeros(mask.shape[1], int)
    for j in range(mask.shape[1]):
        starts, ends = np.flatnonzero(d[:, j] == 1), np.flatnonzero(d[:, j] == -1)
        if len(starts):
            out[j] = int((ends - starts).max())
    return out


def _clusters(idx: np.ndarray) -> list[int]:
    """Runs of adjacent indices, each as its middle index."""
    groups: list[list[int]] = []
    for i in idx:
        if groups and i - groups[-1][-1] <= 3:
            groups[-1].append(int(i))
        else:
            groups.append([int(i)])
    return [g[len(g) // 2] for g in groups]


def axes_boxes(a: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(top, bottom, left, right) of each axes frame (black spines: long unbroken dark lines), left to right."""
    dark = a.max(axis=2) < 90
    h, w = dark.shape
    cols = _clusters(np.flatnonzero(_longest_runs(dark) > 0.3 * h))
    rows = _clusters(np.flatnonzero(_longest_runs(dark.T) > 0.15 * w))
    assert len(rows) >= 2 and len(cols) >= 2 and len(cols) % 2 == 0, (rows, cols)
    return [(rows[0], rows[-1], cols[i], cols[i + 1]) for i in range(0, len(cols), 2)]


def colored(a: np.ndarray, color: str | None = None, tol: int = 45) -> np.ndarray:
    """Mask of saturated pixels, or of pixels near ``color`` ('#rrggbb')."""
    if color is None:
        return (a.max(axis=2) - a.min(axis=2)) > 80
    target = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)])
    return (np.abs(a - target) <= tol).all(axis=2)


def inside(a: np.ndarray, box: tuple[int, int, int, int], mask: np.ndarray) -> int:
    """Pixels of ``mask`` strictly inside the axes box (spines excluded)."""
    top, bottom, left, right = box
    return int(mask[top + 3:bottom - 2, left + 3:right - 2].sum())
