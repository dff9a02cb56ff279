"""The search space's smallest model, found before the first trial: a budget that no candidate
can meet is one line at once, not ``max_rejected`` rejections (minutes of them) later."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from optuna.distributions import BaseDistribution, CategoricalDistribution

from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace
from mnist_sweep.errors import SweepError

BUDGET = "model.max_params"
Count = Callable[[dict[str, Any]], "int | None"]  # the base config's parameters with these values; None: no valid model


def ends(dist: BaseDistribution) -> tuple[Any, ...]:
    """Where a key's parameter count can be smallest: each value of a choice, the two ends of a
    range (a count grows or shrinks along a width, a kernel, a ratio; it has no dip inside)."""
    return tuple(dist.choices) if isinstance(dist, CategoricalDistribution) else (dist.low, dist.high)


def smallest(space: SearchSpace, count: Count) -> tuple[int, dict[str, Any]] | None:
    """The fewest parameters the space's model keys allow and the values that give it: each key at
    its smallest end, then single-key moves while one shrinks the model. None where this cannot
    be told: the model group or the budget is searched, a custom space samples more, or a key has
    no valid value."""
    keys = {k: ends(d) for k, d in space.values.items() if k.lstrip("+").startswith("model.")}
    if (not keys or space.custom is not None or BUDGET in keys
            or any(g == "model" or g.startswith("model/") for g in space.groups)):
        return None
    point: dict[str, Any] = {}
    for key, values in keys.items():
        counted = [(n, v) for v in values if (n := count({key: v})) is not None]
        if not counted:
            return None
        point[key] = min(counted, key=lambda c: c[0])[1]
    best = count(point)
    if best is None:
        return None
    moved = True
    while moved:  # each move strictly shrinks an integer count: it ends
        moved = False
        for key, values in keys.items():
            for value in values:
                n = count({**point, key: value})
                if n is not None and n < best:
                    best, point, moved = n, {**point, key: value}, True
    return best, point


def check(space: SearchSpace, count: Count, budget: int | None) -> None:
    """One SweepError line when even the space's smallest model is over ``budget``."""
    found = smallest(space, count) if budget is not None else None
    if found is None or found[0] <= budget:
        return
    n, point = found
    values = " ".join(f"{k.lstrip('+')}={v}" for k, v in point.items())
    raise SweepError(f"{BUDGET}: every candidate of the search space is over the budget of {budget:,} parameters: "
                     f"the smallest it allows has {n:,} ({values}); raise {BUDGET} to at least {n:,} or search "
                     "smaller widths (hydra.sweeper.params)")
