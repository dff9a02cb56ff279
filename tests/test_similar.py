"""mnist_sweep/similar.py: the names nearest a mistyped one, as a reader ranks them."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_sweep.similar import close_matches, part_matches, unit_matches

KEYS = ["model.c1", "model.c2", "model.c3", "model.c4", "model.c5", "model.c6", "model.t1", "optimizer.lr"]
STUDIES = ["search_smallest_4k", "search_smallest_6k", "search_smallest_8k", "search_best_8k"]


@pytest.mark.parametrize("word, names, first", [
    ("model.cl", KEYS, "model.c1"),  # l read as 1
    ("model.C1", KEYS, "model.c1"),  # case
    ("optimizer.Ir", KEYS, "optimizer.lr"),  # I read as l
    ("model.c7", KEYS, "model.c6"),  # equally near: the nearest number
    ("search_smallest_9k", STUDIES, "search_smallest_8k"),  # a number inside the name, not at its end (was _4k)
    ("search_smallest_5k", STUDIES, "search_smallest_4k"),  # a tie of numbers: the order given
])
def test_the_nearest_name_comes_first(word, names, first):
    assert close_matches(word, names)[0] == first


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.lists(st.text("abc_0123456789.", min_size=1, max_size=12), min_size=1, max_size=8, unique=True), st.data())
def test_a_name_given_as_it_is_is_its_own_nearest(names, data):
    word = data.draw(st.sampled_from(names))
    assert close_matches(word, names)[0] == word


@pytest.mark.parametrize("word, found", [
    ("accuracy", ["val_acc", "test_acc_final", "test_acc_best"]),  # spelled out: difflib's ratio found none
    ("test_accuracy", ["test_acc_final", "test_acc_best"]),  # each part of the word in one name
    ("LR", ["hp.optimizer.lr"]),  # a whole part, case-folded
    ("ac", []), ("epoch", []),  # an abbreviation of two letters is none; no part alike
    ("time", ["train_s"]), ("Train_Time", ["train_s"]),  # a unit's word: the columns in it (difflib: val_mean)
])
def test_a_word_a_name_abbreviates_finds_it(word, found):
    names = ["rank", "params", "val_acc", "n_seeds", "test_acc_final", "test_acc_best", "train_s", "hp.optimizer.lr"]
    assert part_matches(word, names) == found
    assert not close_matches("accuracy", names, cutoff=0.5)  # why the leaderboard's lines ask part_matches next


@pytest.mark.parametrize("word, names, found", [
    ("time", ["rank", "val_mean", "train_s", "wall_s", "s_per_epoch"], ["train_s", "wall_s", "s_per_epoch"]),
    ("seconds", ["n_seeds", "train_s"], ["train_s"]), ("duration", ["rank", "train_s"], ["train_s"]),
    ("Time", ["time", "train_s"], []),  # the name itself but for case: close_matches's to find
    ("val", ["val_acc", "train_s"], []),  # no unit's word: close_matches, then part_matches
])
def test_a_word_for_a_columns_unit_finds_the_columns_in_it(word, names, found):
    """--sort time offered val_mean (difflib's ratio of the folded t1me and va1_mean is 0.5), --sort seconds
    n_seeds: a word for what a column measures finds the columns named by its unit."""
    assert unit_matches(word, names) == found
