"""Which finished trial is the best: the one order behind every "best" the project prints or
writes (the sweep's progress line, optimization_results.yaml, the leaderboard's rank 1 and so the
closing line, the report and every --rank 1), so they always name the same trial.

The objective in its direction, then fewer parameters (a tie in accuracy goes to the smaller net),
then the earlier trial. A missing value or parameter count sorts last."""
from __future__ import annotations

import math
from typing import Any


def missing_last(x: Any) -> float:
    """``x`` as a float for an ascending sort, +inf where missing or not a number (sorted last)."""
    try:
        f = float(x)
    except (TypeError, ValueError):
        return math.inf
    return math.inf if math.isnan(f) else f


def key(score: Any, params: Any, trial: Any) -> tuple[float, float, float]:
    """Sort key, best first: ``score`` is the objective signed so that higher is better (sign *
    value), ``params`` the trial's parameter count, ``trial`` its number."""
    s = missing_last(score)
    return (math.inf if math.isinf(s) and s > 0 else -s, missing_last(params), missing_last(trial))


def trial_params(t: Any) -> Any:
    """An Optuna trial's parameter count as the leaderboard reads it from the storage: its stored
    result's, else the sweep's count before launch (None: unknown)."""
    attrs = t.user_attrs
    stored = attrs.get("result") if isinstance(attrs.get("result"), dict) else {}
    return stored.get("params", attrs.get("params"))
