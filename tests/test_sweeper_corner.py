"""hydra_plugins.mnist_sweep_sweeper._corner: the space's smallest model, against brute force."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from hydra_plugins.mnist_sweep_sweeper._corner import check, smallest
from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace
from mnist_sweep.errors import SweepError

BASE = {"model.c1": 16, "model.c2": 16, "model.c3": 16, "model.se_ratio": 4, "model.dropout": 0.1}


def chain(values: dict) -> int | None:
    """A conv chain's count: 3x3 convs 1->c1->c2->c3, an SE gate that shrinks as its ratio grows,
    a 10-way head; c1=5 is not a valid model (None), as a config error would be, and neither is
    c2=7 unless c1=7 (a residual block needs c_in == c_out: two keys at once)."""
    v = {**BASE, **values}
    if v["model.c1"] == 5 or (v["model.c2"] == 7 and v["model.c1"] != 7):
        return None
    widths = [1, v["model.c1"], v["model.c2"], v["model.c3"]]
    convs = sum(9 * a * b + 2 * b for a, b in zip(widths, widths[1:]))
    return convs + 2 * v["model.c3"] * max(1, v["model.c3"] // v["model.se_ratio"]) + 10 * v["model.c3"] + 10


widths = st.lists(st.integers(2, 40), min_size=1, max_size=4, unique=True)
SAME = lambda groups: "cnn"  # noqa: E731 - every swept group's option composes the same model section


@settings(max_examples=60, deadline=None)
@given(c1=widths, c2=widths, c3=st.tuples(st.integers(2, 20), st.integers(21, 60)), ratio=widths)
def test_smallest_is_the_brute_force_minimum(c1, c2, c3, ratio):
    space = SearchSpace(values={"model.c1": CategoricalDistribution(c1), "model.c2": CategoricalDistribution(c2),
                                "model.c3": IntDistribution(*c3), "model.se_ratio": CategoricalDistribution(ratio),
                                "model.dropout": FloatDistribution(0.0, 0.2), "optimizer.lr": FloatDistribution(0.01, 0.1)})
    grid = [dict(zip(("model.c1", "model.c2", "model.c3", "model.se_ratio"), p))
            for p in itertools.product(c1, c2, range(c3[0], c3[1] + 1), ratio)]
    counts = [n for p in grid if (n := chain(p)) is not None]
    found = smallest(space, chain)
    if counts:
        check(space, chain, min(counts), SAME)  # never a refusal of a budget some candidate meets
    if 5 in c1 or 7 in c2 or not counts:  # an invalid candidate on the way: the smallest cannot be told
        assert found is None
        return
    assert found is not None and found[0] == min(counts)
    named = [dict(zip(("model.c1", "model.c2", "model.c3", "model.se_ratio"), p)) for p in
             itertools.product(c1, c2, c3, ratio)]  # a range's ends: its count has no dip inside
    named = [{**p, **found[1]} for p in named]
    assert all(chain(p) == found[0] for p in named)  # the values it names give the smallest, whatever the rest
    assert "optimizer.lr" not in found[1] and "model.dropout" not in found[1]


def test_not_told_where_validity_hangs_on_two_keys():
    """c2=7 is valid only with c1=7 (a residual block's c_in == c_out): from c1=8, c2=9 no single
    move reaches (7, 7), the smallest; a refusal of its count would refuse a space that fits."""
    space = SearchSpace(values={"model.c1": CategoricalDistribution((8, 7)), "model.c2": CategoricalDistribution((9, 7))})
    assert smallest(space, lambda v: chain({"model.c1": 8, "model.c2": 9, **v})) is None
    check(space, chain, chain({"model.c1": 7, "model.c2": 7}), SAME)


def test_not_told_where_the_model_group_the_budget_or_a_custom_space_is_searched():
    c1 = {"model.c1": CategoricalDistribution((8, 16))}
    assert smallest(SearchSpace(values=c1, groups={"model": CategoricalDistribution(("cnn",))}), chain) is None
    assert smallest(SearchSpace(values={**c1, "model.max_params": IntDistribution(1, 9)}), chain) is None
    assert smallest(SearchSpace(values=c1, custom=lambda trial: None), chain) is None
    assert smallest(SearchSpace(values={"optimizer.lr": FloatDistribution(0.01, 0.1)}), chain) is None
    experiments = CategoricalDistribution(("best_20k", "tiny"))  # +experiment=choice(...): a group per candidate
    assert smallest(SearchSpace(values={**c1, "+experiment": experiments}), chain) is None


@pytest.mark.parametrize("key", ["experiment", "+experiment"])  # a group swept, or added per candidate
def test_check_counts_each_model_a_swept_groups_options_compose_against_its_own_budget(key):
    """experiment=choice(best_20k,tiny): the smallest was counted with best_20k's model only (tiny's may fit),
    so nothing was refused up front and a space whose every model is over ran to max_rejected (1,000). Each
    option's model is counted apart now, with its own model.max_params; one that does not compose has none."""
    space = SearchSpace(values={"model.c1": CategoricalDistribution((8, 16)), **({key: CategoricalDistribution(
        ("best_20k", "tiny", "broken"))} if key.startswith("+") else {})},
                        groups={} if key.startswith("+") else {key: CategoricalDistribution(("best_20k", "tiny", "broken"))})
    n = chain({"model.c1": 8})
    budgets = {"best_20k": n - 1, "tiny": n // 10}  # tiny's smallest fits its budget, best_20k's does not
    model_of = lambda g: None if g.get(key) == "broken" else {"c1": 8, "max_params": budgets[g.get(key, "best_20k")]}  # noqa: E731
    count = lambda v: chain(v) // (10 if v.get(key) == "tiny" else 1)  # noqa: E731 - tiny's model: smaller
    check(space, count, 1, model_of)
    with pytest.raises(SweepError, match=rf"over the budget of {n // 10 - 1:,} or {n - 1:,} parameters: the smallest it "
                                         rf"allows has {n // 10:,} \(experiment=tiny model\.c1=8\); raise"):
        budgets.update(tiny=n // 10 - 1)
        check(space, count, 1, model_of)


def test_check_refuses_only_a_budget_below_the_smallest():
    space = SearchSpace(values={"model.c1": CategoricalDistribution((16, 8))})
    n = chain({"model.c1": 8})
    check(space, chain, n, SAME)  # the smallest fits exactly
    check(space, chain, None, SAME)  # no budget
    with pytest.raises(SweepError, match=rf"^model\.max_params: .* the smallest it allows has {n:,} \(model\.c1=8\)"):
        check(space, chain, n - 1, SAME)


def test_check_names_no_values_where_no_searched_key_changes_the_size():
    """model=eva8_seed with only model.dropout searched: the line said 'has 17,290 ()'."""
    space = SearchSpace(values={"model.dropout": FloatDistribution(0.0, 0.2)})
    n = chain({})
    with pytest.raises(SweepError, match=rf"the smallest it allows has {n:,} \(no searched key changes the model's "
                                         r"size\); raise model\.max_params"):
        check(space, chain, n - 1, SAME)
