"""A dry run whose every draw would be refused ends as the sweep would: one error line, exit 2."""
from __future__ import annotations


def test_a_dry_run_whose_draws_are_all_over_the_budget_exits_non_zero(tmp_path):
    """-m +experiment=tiny under the default space: 'all 50 random draws are over the budget' and exit 0,
    while the sweep itself trains nothing and ends with an error line, exit 2. Its base (tiny's model)
    fits, so the start counts one candidate, finds it over, and names the space's smallest model."""
    from conftest import assert_one_line_error, run_inproc

    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "+experiment=tiny",
                       f"hydra.sweep.dir={tmp_path}/d"], cwd=tmp_path)
    assert_one_line_error(proc, "error: model.max_params: every candidate of the search space is over the budget of "
                          "4,000 parameters: the smallest it allows has ", "raise model.max_params to at least ")
    assert proc.returncode == 2 and not (tmp_path / "d").exists()
