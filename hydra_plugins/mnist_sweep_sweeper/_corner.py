"""The search space's smallest model, found before the first trial: a budget that no candidate
can meet is one line at once, not ``max_rejected`` rejections (minutes of them) later."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from optuna.distributions import BaseDistribution, CategoricalDistribution

from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace
from mnist_sweep.config.tiers import narrower_searches
from mnist_sweep.errors import SweepError

BUDGET = "model.max_params"
Count = Callable[[dict[str, Any]], "int | None"]  # the base config's parameters with these values; None: no valid model
ModelOf = Callable[[dict[str, Any]], Any]  # the base config's model section with these group options


def ends(dist: BaseDistribution) -> tuple[Any, ...]:
    """Where a key's parameter count can be smallest: each value of a choice, the two ends of a
    range (a count grows or shrinks along a width, a kernel, a ratio; it has no dip inside)."""
    return tuple(dist.choices) if isinstance(dist, CategoricalDistribution) else (dist.low, dist.high)


def low(dist: BaseDistribution) -> Any:
    """A key's value where its count is likely smallest, to try one candidate first: a range's low end, a
    choice's smallest number (its first value where they are not all numbers: ``plain``, ``se``)."""
    if not isinstance(dist, CategoricalDistribution):
        return dist.low
    numbers = [c for c in dist.choices if isinstance(c, (int, float)) and not isinstance(c, bool)]
    return min(numbers) if len(numbers) == len(dist.choices) else dist.choices[0]


class _Untold(Exception):
    """A candidate tried is not a valid model: the smallest cannot be told by single-key moves."""


def smallest(space: SearchSpace, count: Count) -> tuple[int, dict[str, Any]] | None:
    """The fewest parameters the space's model keys allow and the values that give it: each key at
    its smallest end, then single-key moves while one shrinks the model; the values name only the
    keys whose other values change the count there (not ``model.dropout``). None where this cannot
    be told: the model group or the budget is searched, a group is added per candidate
    (``+experiment=choice(...)``), a custom space samples more, or a candidate tried is not a valid
    model (its validity may hang on two keys at once, ``model.c3=model.c4`` for a residual block,
    which single-key moves cannot reach: a refusal would be wrong)."""
    keys = {k: ends(d) for k, d in space.values.items() if k.lstrip("+").startswith("model.")}
    if (not keys or space.custom is not None or BUDGET in keys
            or any("." not in k.lstrip("+") for k in space.values)
            or any(g == "model" or g.startswith("model/") for g in space.groups)):
        return None

    counted: dict[tuple, int] = {}  # the moves below revisit points: each counted once

    def sure(values: dict[str, Any]) -> int:
        if (point := tuple(sorted(values.items()))) not in counted:
            if (n := count(values)) is None:
                raise _Untold
            counted[point] = n
        return counted[point]

    try:
        point = {key: min(values, key=lambda v: sure({key: v})) for key, values in keys.items()}
        best, moved = sure(point), True
        while moved:  # each move strictly shrinks an integer count: it ends
            moved = False
            for key, values in keys.items():
                for value in values:
                    if (n := sure({**point, key: value})) < best:
                        best, point, moved = n, {**point, key: value}, True
        matters = {key for key, values in keys.items() if any(sure({**point, key: v}) != best for v in values)}
    except _Untold:
        return None
    return best, {key: v for key, v in point.items() if key in matters}


MODELS = 16  # the most combinations of the swept groups' options counted apart (``per_model``)


def per_model(space: SearchSpace, count: Count, model_of: ModelOf,
              budget: int | None) -> list[tuple[int, dict[str, Any], int | None]] | None:
    """``smallest`` with its budget for each model the space composes: one where every option of the swept
    groups composes the model of their first options; else one per combination of their options
    (``model=choice(cnn,eva8_seed)``, ``+experiment=choice(tiny,small_8k)``: each counted with its own keys
    and its own ``model.max_params``; one that does not compose has no model). None where one cannot be told."""
    swept = {**space.groups, **{k: d for k, d in space.values.items() if "." not in k.lstrip("+")}}
    if not swept:
        found = smallest(space, count)
        return None if found is None else [(*found, budget)]
    if not all(isinstance(d, CategoricalDistribution) for d in swept.values()):
        return None
    firsts = {g: d.choices[0] for g, d in swept.items()}  # type: ignore[attr-defined]
    first = model_of(firsts)
    combinations: list[dict[str, Any]] = [firsts]
    if any(model_of({**firsts, g: o}) != first for g, d in swept.items() for o in d.choices[1:]):  # type: ignore[attr-defined]
        combinations = [{}]
        for g, d in swept.items():
            combinations = [{**c, g: o} for c in combinations for o in d.choices]  # type: ignore[attr-defined]
    if len(combinations) > MODELS:
        return None
    models = []
    for groups in combinations:
        if (model := first if groups == firsts else model_of(groups)) is None:
            continue  # its options do not compose together
        keys = {k: d for k, d in space.values.items() if k not in swept and (not isinstance(model, dict) or not
                k.lstrip("+").startswith("model.") or k.lstrip("+").split(".")[1] in model)}  # no c3 in eva8_seed
        sub = SearchSpace(values=keys, fixed=space.fixed, custom=space.custom)
        if (found := smallest(sub, lambda values, groups=groups: count({**groups, **values}))) is None:
            return None
        point = {**(groups if len(combinations) > 1 else {}), **found[1]}
        models.append((found[0], point, model.get(BUDGET.split(".")[1], budget) if isinstance(model, dict) else budget))
    return models or None


def smallest_model(space: SearchSpace, count: Count, model_of: ModelOf) -> tuple[int, dict[str, Any]] | None:
    """``smallest`` over every model the space composes (``per_model``), None where it cannot be told."""
    found = per_model(space, count, model_of, None)
    return None if found is None else min(((n, point) for n, point, _ in found), key=lambda f: f[0])


def check(space: SearchSpace, count: Count, budget: int | None, model_of: ModelOf) -> None:
    """One SweepError line when even the space's smallest model is over ``budget`` (each model over its own)."""
    if budget is None:
        return
    found = per_model(space, count, model_of, budget)
    if found is None or any(b is None or n <= b for n, _, b in found):
        return
    n, point, _ = min(found, key=lambda f: f[0])
    budgets = " or ".join(f"{b:,}" for b in sorted({b for _, _, b in found}))
    raise SweepError(f"{BUDGET}: every candidate of the search space is over the budget of {budgets} parameters: "
                     f"the smallest it allows has {n:,} {named(point)}; raise {BUDGET} to at least {n:,} or search "
                     f"smaller widths (hydra.sweeper.params){narrower_searches(max(b for _, _, b in found))}")


def named(point: dict[str, Any]) -> str:
    """``(model.c1=4 model.c2=8)``: the values that give the smallest; where no searched key changes
    the count, says so (the base config's model, whatever the search picks)."""
    if not point:
        return "(no searched key changes the model's size)"
    return "(" + " ".join(f"{k.lstrip('+')}={v}" for k, v in point.items()) + ")"
