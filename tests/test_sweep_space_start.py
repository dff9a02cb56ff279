"""The sweep's start refuses a search space none of whose candidates is a valid model (``_buildable``) or
fits its budget, each model its swept groups compose counted apart (``_corner.per_model``): one line,
nothing written, where it rejected candidates up to max_rejected (1,000, minutes of them)."""
from __future__ import annotations

import pytest

from conftest import assert_one_line_error, run_inproc, sweep_args



@pytest.mark.parametrize("space", [["model.block=choice(residual)", "model.c3=int(interval(8,64))"],  # no padding anywhere
                                   ["model=choice(cnn,eva8_seed)", "model.block=choice(residual)"]])  # two models, neither
def test_a_space_with_no_valid_model_is_refused_at_the_start(tmp_path, space):
    """Every candidate an invalid model while the base config (conf/'s plain block) builds: the sweep rejected
    candidates up to max_rejected (1,000). One line at the start now, naming the searched keys and the
    commonest reason, nothing written; the dry run says the same."""
    for dry in (False, True):
        args = sweep_args(tmp_path, "none", 2, *space, *(["hydra.sweeper.dry_run=true"] if dry else []))
        line = assert_one_line_error(run_inproc(args, cwd=tmp_path), "error: hydra.sweeper.params: no candidate of the "
                                     f"search space is a valid model ({', '.join(s.split('=')[0] for s in space)} searched; all ",
                                     "model.block: residual fits none of the ", "change the searched values")
        assert list(tmp_path.iterdir()) == [], line


@pytest.mark.parametrize("space", [["model.block=choice(residual,plain)"],  # its low end (residual) invalid, plain not
                                   ["model.block=[plain,plain,plain,plain,residual,plain,plain]", "model.p4=1",
                                    "model.c3=int(interval(8,64))", "model.c4=int(interval(8,64))"]])  # valid at c3 == c4
def test_a_space_where_only_some_candidates_are_invalid_is_not_refused(tmp_path, space):
    """The start tries candidates where it finds one invalid; one that builds lets the sweep run (the second
    space's valid candidates are 1 in 57, which 50 random draws may all miss: the widths set equal find one)."""
    proc = run_inproc(sweep_args(tmp_path, "some", 1, *space, "hydra.sweeper.dry_run=true"), cwd=tmp_path)
    assert "no candidate of the search space is a valid model" not in proc.stdout + proc.stderr, proc.stderr[-2000:]
    assert "search space (" in proc.stdout + proc.stderr  # past the start's checks, into the preview


@pytest.mark.parametrize("space, smallest", [
    (["model=choice(cnn,eva8_seed)", "model.c3=choice(8,16)", "model.dropout=interval(0.0,0.1)", "model.max_params=1000"],
     "over the budget of 1,000 parameters: the smallest it allows has 8,034 (model=cnn model.c3=8)"),
    (["+experiment=choice(tiny,small_8k)", "model.c3=choice(64,80)"],
     "over the budget of 4,000 or 8,000 parameters: the smallest it allows has 9,698 (experiment=tiny model.c3=64)"),
])
def test_a_space_of_several_models_every_one_over_its_budget_is_refused_at_the_start(tmp_path, space, smallest):
    """The swept groups' options compose other models: the smallest was not told, and the sweep rejected
    candidates up to max_rejected. Each model is counted now, against its own model.max_params."""
    for dry in (False, True):
        args = sweep_args(tmp_path, "over", 2, *space, *(["hydra.sweeper.dry_run=true"] if dry else []))
        assert_one_line_error(run_inproc(args, cwd=tmp_path), "error: model.max_params: every candidate of the search "
                              f"space is {smallest}; raise model.max_params to at least ")
        assert list(tmp_path.iterdir()) == []
