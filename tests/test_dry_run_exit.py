"""A dry run whose every draw would be refused ends as the sweep would: one error line, exit 2."""
from __future__ import annotations


def test_a_dry_run_whose_draws_are_all_over_the_budget_exits_non_zero(tmp_path):
    """-m +experiment=tiny under the default space: 'all 50 random draws are over the budget' and exit 0,
    while the sweep itself trains nothing and ends with an error line, exit 2."""
    from conftest import assert_one_line_error, run_inproc

    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "+experiment=tiny",
                       f"hydra.sweep.dir={tmp_path}/d"], cwd=tmp_path)
    assert_one_line_error(proc, "error: model.max_params: all 50 random draws are over the budget of "
                          "model.max_params=4,000 parameters", "narrow the search space to smaller widths or raise model.max_params")
    assert proc.returncode == 2 and not (tmp_path / "d").exists()
