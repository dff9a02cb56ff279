"""mnist_sweep/config/config_files.py: a config file's defaults-list mistakes as one line naming the
file, with a fix that composes (Hydra named no file, and its advice for a group chosen twice,
'override model: x', failed in turn). Nothing here trains: the command line's check composes only."""
from __future__ import annotations

import re

import pytest

from conftest import TINY
from mnist_sweep.overrides import check_command_line

CASES = {  # file, entry -> the line's fix ('' where the line names the entry to write)
    ("hparams_search", "- /model: eva8_seed"):
        "hparams_search/mine.yaml, defaults list: /model: eva8_seed: model already has an option (cnn); a defaults "
        "list replaces it with an override: write '- override /model: eva8_seed'",
    ("hparams_search", "- override model: eva8_seed"):
        "hparams_search/mine.yaml, defaults list: override model: eva8_seed: a group there is read under the file's "
        "own group (hparams_search/model, which the config lacks); name it from the top: '- override /model: eva8_seed'",
    ("experiment", "- model: eva8_seed"):
        "experiment/mine.yaml, defaults list: model: eva8_seed: a group there is read under the file's own group "
        "(experiment/model, which has no options); name it from the top: '- override /model: eva8_seed'",
    ("hparams_search", "- defualt"):
        "hparams_search/mine.yaml, defaults list: defualt: no config hparams_search/defualt.yaml; did you mean default?",
    ("experiment", "- /model/cnnn"):
        "experiment/mine.yaml, defaults list: /model/cnnn: no config model/cnnn.yaml; did you mean /model/cnn? "
        "(model's options: cnn, eva8_seed)",
}


def _line(tmp_path, group: str, entry: str) -> str | None:
    (tmp_path / group).mkdir(exist_ok=True)
    (tmp_path / group / "mine.yaml").write_text(f"# @package _global_\ndefaults:\n  {entry}\n")
    pick = "+experiment=mine" if group == "experiment" else "hparams_search=mine"
    return check_command_line(["-m", "--config-dir", str(tmp_path), pick, *TINY]).error


@pytest.mark.parametrize("group, entry", list(CASES), ids=[e for _, e in CASES])
def test_a_defaults_list_mistake_names_the_file_and_a_fix_that_composes(tmp_path, group, entry):
    """Before: 'Multiple values for model. To override a value use 'override model: eva8_seed'' (no file;
    that advice fails with 'Could not override 'hparams_search/model@model''), 'In 'hparams_search/mine':
    Could not load 'hparams_search/defualt'' (no fix), 'experiment/model=eva8_seed: no such option'."""
    line = _line(tmp_path, group, entry)
    assert line is not None and line.startswith(CASES[group, entry]), line
    fix = re.search(r"'(- [^']+)'$", line) or re.search(r"did you mean (\S+)\?", line)
    fixed = fix[1] if fix[1].startswith("- ") else f"- {fix[1]}"
    assert _line(tmp_path, group, fixed) is None


def test_a_group_added_with_plus_that_the_config_has_says_to_drop_the_plus(tmp_path):
    """It was Hydra's defaults-list advice on the command line: 'To override a value use 'override hparams_search: mine''."""
    (tmp_path / "hparams_search").mkdir()
    (tmp_path / "hparams_search" / "mine.yaml").write_text("# @package _global_\nhydra:\n  sweeper:\n    n_trials: 2\n")
    line = check_command_line(["-m", "--config-dir", str(tmp_path), "+hparams_search=mine", *TINY]).error
    assert line == ("+hparams_search=mine: hparams_search already has an option (default); + adds a group the config "
                    "lacks: pick the option with hparams_search=mine"), line
    assert check_command_line(["-m", "--config-dir", str(tmp_path), "hparams_search=mine", *TINY]).error is None


EMPTY = {"0 bytes": "", "a comment alone": "# my experiment, to be written\n", "an empty mapping": "{}\n"}


@pytest.mark.parametrize("text", list(EMPTY.values()), ids=list(EMPTY))
def test_an_empty_experiment_file_is_accepted_by_train_and_confirm(tmp_path, text):
    """A file with no keys sets nothing, with or without '# @package _global_': it trains the defaults. A 0-byte
    DIR/experiment/empty.yaml was refused as lacking the header, 'so its keys land under experiment:' (it has none)."""
    from mnist_sweep import confirm

    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "empty.yaml").write_text(text)
    select = ["--config-dir", str(tmp_path), "+experiment=empty"]
    assert check_command_line([*select, *TINY]).error is None
    if not text:  # confirm checks it as train does: once is enough
        assert confirm.checked_overrides("empty", select, 1, [])[:len(confirm.FULL_TRAIN)] == confirm.FULL_TRAIN


def test_a_type_errors_example_comes_from_the_primary_config_the_user_runs(tmp_path):
    """hydra.sweeper.n_trials=abc under --config-path DIR --config-name mine (whose n_trials is 5) gave
    conf/config.yaml's 'e.g. hydra.sweeper.n_trials=14': the example is the config's own that the user runs."""
    from mnist_sweep import PROJECT_ROOT

    (tmp_path / "mine.yaml").write_text("defaults:\n  - config\n  - _self_\nhydra:\n  sweeper:\n    n_trials: 5\n")
    line = check_command_line(["-m", "--config-path", str(tmp_path), "--config-name", "mine", "--config-dir",
                               str(PROJECT_ROOT / "conf"), *TINY, "hydra.sweeper.n_trials=abc"]).error
    assert line is not None and line.endswith("write an integer, e.g. hydra.sweeper.n_trials=5"), line
