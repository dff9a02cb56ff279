"""mnist_sweep.text: how printed lines read durations, counts and metrics."""
from __future__ import annotations

import pytest

from mnist_sweep.text import duration, plural


@pytest.mark.parametrize("seconds, shown", [(0.2, "1 s"), (40, "40 s"), (89, "89 s"), (90, "2 min"), (2520, "42 min"),
                                            (5400, "1.5 h"), (36000, "10.0 h")])
def test_a_duration_reads_in_its_best_unit_never_zero(seconds, shown):
    """The dry run's estimate said 'about 0 minutes' for a sweep under a minute."""
    assert duration(seconds) == shown


def test_a_count_of_one_is_singular():
    """'1 epochs', '1 configs', '1 trials' were printed by the dry run, confirm, reproduce, the sweep's start line."""
    assert [plural(n, "trial") for n in (0, 1, 2, 12000)] == ["0 trials", "1 trial", "2 trials", "12,000 trials"]
    assert plural(1, "entry", "entries") == "1 entry" and plural(3, "entry", "entries") == "3 entries"


@pytest.mark.parametrize("v, gap, sem", [(0.0012, "0.12 points", "0.12%"), (0.00003, "0.003 points", "0.003%"),
                                         (-0.00003, "0.003 points", "0.003%"), (0.000004, "<0.001 points", "<0.001%"),
                                         (0.0, "0.00 points", "0.00%"), (0.896, "89.60 points", "89.60%")])
def test_a_gap_or_a_spread_that_is_not_none_never_reads_zero(v, gap, sem):
    """A constrained sweep's trial line said 'below the target by 0.00 points' for a 0.003-point
    shortfall, and a mean over seeds '± 0.00% (sem)' for a sem of 0.003 points: two decimals rounded
    them to none. Where two round a nonzero value to 0.00, a third shows it (under 0.001: '<0.001')."""
    from mnist_sweep.text import points, spread

    assert (points(v), spread(v)) == (gap, sem)
