"""How counts, metrics and durations read in printed lines, in one place: ``plural(1, "trial")`` is
``1 trial``; an accuracy (a fraction) reads as a percentage, and so does a spread of accuracies, so that no line shows ``0.9941``
where another shows ``99.41%``; a gap between accuracies reads in percentage points; neither a gap nor a spread
that is not none reads ``0.00``; a duration in seconds, minutes or hours, whichever reads best."""
from __future__ import annotations

ACCURACIES = ("val_acc", "val_mean", "val_sem", "test_acc_final", "test_acc_best")  # fractions in [0, 1]


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` and ``word``, in the plural unless ``n`` is 1 (``many``: an irregular plural, ``studies``)."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def percent(v: float, digits: int = 2) -> str:
    """An accuracy, or a spread or difference of accuracies, as a percentage: ``99.41%``."""
    return f"{100 * v:.{digits}f}%"


def _nonzero(x: float) -> str:
    """``x`` (in percent units) with two decimals, a third where two round a nonzero value to ``0.00``,
    ``<0.001`` where three do: a real shortfall or spread never reads as none."""
    for digits in (2, 3):
        if float(shown := f"{x:.{digits}f}") or not x:
            return shown
    return "<0.001"


def points(v: float) -> str:
    """A gap between accuracies (fractions), its size in percentage points: ``0.12 points``, ``0.003
    points`` (``0.00 points`` read as no gap at all), never ``0.12%`` (read as a share of the target)."""
    return f"{_nonzero(abs(100 * v))} points"


def spread(v: float) -> str:
    """A spread of accuracies (a standard error over seeds) as a percentage that is never ``0.00%`` when
    it is not none: ``0.05%``, ``0.003%``."""
    return f"{_nonzero(abs(100 * v))}%"


def number(v: float) -> str:
    """A value of no known unit: ``0.9941``, a count as ``4,696``, else ``512.3``."""
    return f"{v:.4f}" if abs(v) <= 1 else (f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}")


def metric(name: str, v: float) -> str:
    """A metric by its name: an accuracy as ``99.41%``, ``train_s`` as ``512.3 s``, ``params`` as
    ``4,696``; any other (another app's objective) as ``number`` gives it."""
    if name in ACCURACIES:
        return percent(v)
    if name == "train_s":
        return f"{v:,.1f} s"
    if name == "params":
        return f"{v:,.0f}"
    return number(v)


def duration(seconds: float) -> str:
    """A duration in the unit that reads best: ``40 s`` (at least ``1 s``: never ``0 minutes``),
    ``12 min`` from 90 s on, ``2.5 h`` from 90 minutes on."""
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 90 * 60 else f"{seconds / 3600:.1f} h"
