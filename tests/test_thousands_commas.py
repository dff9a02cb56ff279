"""A number written with thousands commas, as the docs write budgets (model.max_params=10,000): Hydra
reads the commas as a sweep's separators, and the line said only "choice value '000' is not an
integer ...; e.g. model.max_params=choice(10,20000)". The line now says how it was read and gives the
number without commas, with -m or without, in a search file's space too; a real sweep is untouched."""
from __future__ import annotations

import pytest

from conftest import TINY


@pytest.mark.parametrize("arg, fix", [
    ("model.max_params=10,000", "model.max_params=10000"),
    ("model.max_params=choice(5,000)", "model.max_params=5000"),
    ("data.train_limit=1,000,2,500", "data.train_limit=1000,2500"),
])
def test_a_number_with_thousands_commas_is_named_with_the_number_to_write(arg, fix):
    from mnist_sweep.overrides import check_command_line

    line = check_command_line([*TINY, arg]).error
    assert line is not None and line == check_command_line(["-m", *TINY, arg]).error, line
    assert "is read as a sweep over" in line and line.endswith(f"write numbers without thousands commas: {fix}"), line
    assert check_command_line(["-m", *TINY, fix]).error is None  # the number it offers is taken


def test_the_sweepers_own_space_names_it_and_a_real_sweep_is_untouched():
    from hydra_plugins.mnist_sweep_sweeper._space import parse
    from mnist_sweep.errors import SweepError
    from mnist_sweep.overrides import check_command_line

    with pytest.raises(SweepError, match=r"model\.max_params: 10,000 is read as a sweep over 10 and 000 .*"
                                         r"model\.max_params=10000$"):
        parse("model.max_params=10,000")  # a search file's `model.max_params: 10,000`
    assert check_command_line(["-m", *TINY, "data.batch_size=64,128"]).error is None
    assert "a sweep expression needs -m" in check_command_line([*TINY, "data.batch_size=64,128"]).error
    assert "lists 8 twice" in check_command_line(["-m", *TINY, "model.c1=choice(8,8)"]).error
