"""model.max_params=10000 (or 5000) on the default space, whose smallest model has 9,450 parameters: the
dry run, the start's refusal, the crowded-space warning and max_rejected's stop said only to narrow the
space or raise the budget, leaving a user to choose seven widths, while searches made for smaller
budgets ship (small_8k, tiny). Each line now names those made for a budget at most the one asked for,
with the budget and a study of the user's own kept (a shipped search's study is its tier's)."""
from __future__ import annotations

from conftest import assert_one_line_error, run_inproc
from hydra_plugins.mnist_sweep_sweeper import _failures, _preview
from mnist_sweep.config.tiers import narrower_searches
from mnist_sweep.errors import ParamBudgetExceeded
from test_sweeper_failures import rejected_study

TAIL = "whose widths are narrower, keeping model.max_params={} and a hydra.sweeper.study_name of your own"


def test_the_searches_made_for_a_smaller_budget_are_named():
    ten = narrower_searches(10000)
    assert ten.startswith("; or start from hparams_search=small_8k (made for 8,000 parameters) or hparams_search=tiny "
                          "(made for 4,000 parameters), ") and TAIL.format(10000) in ten, ten
    assert narrower_searches(5000).startswith("; or start from hparams_search=tiny (made for 4,000 parameters), ")
    assert narrower_searches(3000) == narrower_searches(None) == ""  # none made for it: nothing named


def test_each_budget_line_names_them():
    over = "model has 11,252 parameters, over the budget model.max_params=10,000; shrink model widths or raise model.max_params"
    study = rejected_study(over, over, params=11_252)
    assert TAIL.format(10000) in _failures.narrower(study.trials)  # the crowded-space warning's
    assert TAIL.format(10000) in _failures.why_rejected(study.trials)[1]  # max_rejected's and no-trial-trained's
    line, fits = _preview._none_fit([ParamBudgetExceeded(11_252, 10_000)], [], lambda: (9_450, {"model.c1": 8}))
    assert fits and "so few candidates fit" in line and TAIL.format(10000) in line, line  # the dry run's


def test_a_budget_the_space_cannot_meet_names_them(tmp_path):
    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "model.max_params=5000",
                       f"hydra.sweep.dir={tmp_path}/d"], cwd=tmp_path)
    line = assert_one_line_error(proc, "every candidate of the search space is over the budget of 5,000 parameters",
                                 "or start from hparams_search=tiny (made for 4,000 parameters), ", TAIL.format(5000))
    assert "small_8k" not in line and not (tmp_path / "d").exists()
