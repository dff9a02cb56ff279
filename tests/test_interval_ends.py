"""An interval's ends as written: int(interval(...)) searches the integers inside them (Hydra's int()
truncated 3.5 to 3); an interval that searches one value or none is one line naming its key."""
from __future__ import annotations

import pytest
from optuna import distributions as od


@pytest.mark.parametrize("entry, dist", [
    ("model.c2=int(interval(3.5,8.5))", od.IntDistribution(4, 8)),
    ("model.c2=int(interval(-3.5,-1.5))", od.IntDistribution(-3, -2)),
    ("model.c2=tag(log,int(interval(3.5,8.5)))", od.IntDistribution(4, 8, log=True)),
    ("model.c2=int(interval(3,8))", od.IntDistribution(3, 8)),
    ("model.dropout=interval(0.05,0.1)", od.FloatDistribution(0.05, 0.1)),
])
def test_an_int_interval_searches_the_integers_inside_its_written_ends(entry, dist):
    """int(interval(3.5,8.5)) searched IntDistribution(3,8): 3 is below what the user wrote."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from hydra_plugins.mnist_sweep_sweeper._space import parse
    from mnist_sweep.config.sweep_values import distribution

    assert parse(entry)[1] == dist
    assert distribution(OverridesParser.create().parse_override(entry)) == dist


@pytest.mark.parametrize("entry, needle", [
    ("model.c2=int(interval(3.2,3.8))", "hydra.sweeper.params.model.c2: int(interval(3.2,3.8)) has no integer inside"),
    ("model.c2=int(interval(3.5,4.2))", "hydra.sweeper.params.model.c2: int(interval(3.5,4.2)) has one integer inside, "
     "so it searches 4 alone; write model.c2=4 to set it, or widen it (e.g. int(interval(3,5)))"),
    ("model.c2=tag(log,int(interval(4,4.9)))", "hydra.sweeper.params.model.c2: int(interval(4,4.9)) has one integer "
     "inside, so it searches 4 alone"),
    ("model.dropout=interval(0.05,0.05)", "hydra.sweeper.params.model.dropout: interval(0.05,0.05) has zero width, so it "
     "searches 0.05 alone; write model.dropout=0.05 to set it, or a wider interval"),
])
def test_an_interval_that_searches_one_value_or_none_is_refused(tmp_path, entry, needle):
    """interval(0.05,0.05) was searched as one value, silently; int(interval(3.2,3.8)) as 3 alone; and
    int(interval(3.5,4.2)) as 4 alone, though a range drawing one value alone (range(0.0,0.1)) was refused."""
    from conftest import assert_one_line_error, run_inproc
    from hydra_plugins.mnist_sweep_sweeper._space import parse
    from mnist_sweep.errors import SweepError

    with pytest.raises(SweepError, match="^" + needle.replace("(", r"\(").replace(")", r"\)")):
        parse(entry)
    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.params=null", entry,
                       f"hydra.sweep.dir={tmp_path}/s", "hydra.sweeper.dry_run=true"], cwd=tmp_path)
    assert_one_line_error(proc, needle)
    assert list(tmp_path.iterdir()) == []
