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
    assert ten.startswith("; or start from hparams_search=small_10k (made for 10,000 parameters) or hparams_search=small_8k "
                          "(made for 8,000 parameters) or hparams_search=tiny (made for 4,000 parameters), ") \
        and TAIL.format(10000) in ten, ten
    assert narrower_searches(9999).startswith("; or start from hparams_search=small_8k (made for 8,000 parameters) or ")
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


def test_a_10k_budget_has_a_search_whose_widths_reach_it():
    """model.max_params=10000 had small_8k to start from, whose widths top out at 8,558 parameters (its dry run's
    draws at 7,446), while the default space starts at 9,450: small_10k is small_8k's family one width step wider,
    its combinations mostly within 10,000 and reaching past the default space's smallest."""
    import itertools
    import re

    from omegaconf import OmegaConf

    from conftest import make_cfg_hydra
    from mnist_sweep.spec import spec_from_config, spec_params

    cfg = make_cfg_hydra("hparams_search=small_10k")
    assert cfg.model.max_params == 10_000 and cfg.hydra.sweeper.study_name == "small_10k"
    params = cfg.hydra.sweeper.params
    keys = ["c1", "c2", "t1", "c3", "c4", "c5", "c6", "bias"]
    choices = [[v.strip() == "true" if k == "bias" else int(v) for v in re.fullmatch(r"choice\((.*)\)", params[f"model.{k}"])[1].split(",")]
               for k in keys]
    model = OmegaConf.to_container(cfg.model, resolve=True)
    counts = [spec_params(spec_from_config({**model, "widths": list(w[:7]), "bias": w[7]})) for w in itertools.product(*choices)]
    fit = [n for n in counts if n <= 10_000]
    assert len(fit) >= 0.9 * len(counts), (len(fit), len(counts))
    assert min(counts) < 8_000 and 9_450 < max(fit) <= 10_000, (min(counts), max(fit))
