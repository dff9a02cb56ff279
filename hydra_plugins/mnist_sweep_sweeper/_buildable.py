"""A search space none of whose candidates is a valid model (``model.block=choice(residual)`` on a
model with no padding, a swept group whose every option composes a model the searched keys break)
rejected candidates up to ``max_rejected`` (1,000, minutes of them): where the start finds a candidate
invalid, it tries some before the study is touched and refuses the space in one line if none builds.

The tries: each model key at its low end (``_corner.low``), single-key moves from there to each of a
key's ends, the integer keys set equal wherever their values allow it (a residual block needs c_in ==
c_out), then random draws (seeded). One that builds, or is only over the budget (a valid model: the
budget is ``_corner``'s), lets the sweep run; a valid region that none of them reaches is refused
(the dry run draws the same way)."""
from __future__ import annotations

import collections
from typing import Any

from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution

from hydra_plugins.mnist_sweep_sweeper import _corner
from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace

DRAWS = 50  # random candidates after the structured ones (the dry run's sample)


def _ints(dist: BaseDistribution) -> tuple[int, ...]:
    """A key's integer ends (a choice's values, a range's two ends); none where it holds other values."""
    if isinstance(dist, IntDistribution):
        return dist.low, dist.high
    if isinstance(dist, CategoricalDistribution) and all(type(c) is int for c in dist.choices):
        return tuple(dist.choices)
    return ()


def _admits(dist: BaseDistribution, v: int) -> bool:
    if isinstance(dist, IntDistribution):
        return dist.low <= v <= dist.high and (v - dist.low) % dist.step == 0
    return isinstance(dist, CategoricalDistribution) and v in dist.choices


def probes(space: SearchSpace) -> list[dict[str, Any]]:
    """The structured candidates' model values (the swept groups at their first options, the rest the
    base config's), each once, the low end first."""
    keys = {k: d for k, d in space.values.items() if k.lstrip("+").startswith("model.")}
    low = {k: _corner.low(d) for k, d in keys.items()}
    tries = [low]
    tries += [{**low, k: v} for k, d in keys.items() for v in _corner.ends(d)]
    ints = {k: d for k, d in keys.items() if _ints(d)}
    tries += [{**low, **{k: v for k, d in ints.items() if _admits(d, v)}} for e in ints.values() for v in _ints(e)]
    unique = {tuple(sorted(t.items(), key=str)): t for t in tries if t}
    return list(unique.values())


def line(space: SearchSpace, errors: list[str]) -> str:
    """The refusal: the searched keys, how many candidates were tried and the commonest reason."""
    top, n = collections.Counter(errors).most_common(1)[0]
    keys = ", ".join(k.lstrip("+") for k in space.distributions)
    return (f"hydra.sweeper.params: no candidate of the search space is a valid model ({keys} searched; all "
            f"{len(errors)} tried are refused, {n} of them: {top}): change the searched values so that some "
            "candidate builds")
