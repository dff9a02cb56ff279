"""A key written by what it means: the docs call model.max_params "the budget", yet budget=10000 and
hydra.sweeper.budget=10000 were refused naming no key, model.budget=10000 with a list of 24 keys, and
data.train_size=2000 (a training subset) with "did you mean data.val_size?"; each now names the key
it means first, in a run and a sweep alike, and a mistyped key keeps its nearest spellings."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("arg, meant", [
    ("budget=10000", "model.max_params"),
    ("model.budget=10000", "model.max_params"),
    ("hydra.sweeper.budget=10000", "model.max_params"),
    ("model.param_limit=10000", "model.max_params"),
    ("model.size=10000", "model.max_params"),
    ("data.train_size=2000", "data.train_limit"),
    ("data.subset=2000", "data.train_limit"),
])
def test_a_key_written_by_its_meaning_names_the_key_it_means(arg, meant):
    from mnist_sweep.overrides import check_command_line

    for argv in ([arg], ["-m", arg]):
        line = check_command_line(argv).error
        assert line is not None and "no such key; " in line and f"did you mean {meant}" in line, line


def test_near_spellings_are_kept_and_a_valid_key_is_never_offered_for_itself():
    from mnist_sweep.config.keys import nearest
    from mnist_sweep.config.meanings import meant

    assert nearest("trainer.epochs") == ["trainer.max_epochs"]
    assert nearest("hydra.sweeper.param")[0] == "hydra.sweeper.params"  # a typo, not a budget
    assert nearest("model.c7")[0] == "model.c6"
    assert meant("model.max_params") == [] and meant("data.train_limit") == []
