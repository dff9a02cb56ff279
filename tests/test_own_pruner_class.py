"""A pruner (or sampler) class of one's own given inline: 'hydra.sweeper.pruner={_target_:...PercentilePruner,
percentile:30.0}' said 'hydra.sweeper.pruner: no such key; did you mean hydra.sweeper.pruner.lower, ...upper,
...sigmas?' (other options' keys), and a search file's pruner with its own _target_ and keys
('wrapped_pruner') 'no such key': such keys merge into the picked option's schema. The line now says where a
class of one's own goes, an option of one's own, and that way composes."""
from __future__ import annotations

from mnist_sweep.overrides import check_command_line

HOW = ("a pruner of your own (another _target_, with its keys) is an option of your own: write "
       "DIR/hydra/sweeper/pruner/NAME.yaml and pick it with --config-dir DIR hydra/sweeper/pruner=NAME (in a search "
       "file: '- override /hydra/sweeper/pruner: NAME' in its defaults list)")


def test_an_inline_pruner_dict_says_where_a_class_of_ones_own_goes():
    line = check_command_line(["-m", "hydra.sweeper.pruner={_target_:optuna.pruners.PercentilePruner,percentile:30.0}"]).error
    assert line == f"hydra.sweeper.pruner: sets keys that hydra/sweeper/pruner=projection lacks; {HOW}", line


def test_a_search_files_own_pruner_class_is_named_with_the_file_and_the_way_that_works(tmp_path):
    (tmp_path / "hparams_search").mkdir()
    (tmp_path / "hparams_search" / "pat.yaml").write_text(
        "# @package _global_\nhydra:\n  sweeper:\n    pruner:\n      _target_: optuna.pruners.PatientPruner\n"
        "      wrapped_pruner: null\n      patience: 1\n")
    line = check_command_line(["-m", "--config-dir", str(tmp_path), "hparams_search=pat"]).error
    assert line == ("hparams_search/pat.yaml: hydra.sweeper.pruner.wrapped_pruner: no such key (`python -m "
                    f"mnist_sweep.train --cfg hydra -p hydra.sweeper.pruner` lists the keys; {HOW})"), line
    (tmp_path / "hydra" / "sweeper" / "pruner").mkdir(parents=True)  # the way the line gives
    (tmp_path / "hydra" / "sweeper" / "pruner" / "pat.yaml").write_text(
        "_target_: optuna.pruners.PatientPruner\nwrapped_pruner: null\npatience: 1\n")
    (tmp_path / "hparams_search" / "pat.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /hydra/sweeper/pruner: pat\n")
    assert check_command_line(["-m", "--config-dir", str(tmp_path), "hparams_search=pat"]).error is None


def test_a_typo_of_a_key_the_pruner_has_keeps_its_did_you_mean():
    line = check_command_line(["-m", "hydra/sweeper/pruner=wilcoxon", "hydra.sweeper.pruner.n_startup_step=2"]).error
    assert "did you mean hydra.sweeper.pruner.n_startup_steps" in line and "of your own" not in line, line
