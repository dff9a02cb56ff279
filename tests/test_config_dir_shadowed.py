"""A --config-dir option with the name of a shipped one (DIR/experiment/tiny.yaml, DIR/hparams_search/default.yaml,
an edited copy) is never read: Hydra searches the project's conf/ first, so the run or sweep ran the shipped file
without a word. One line names both files and the way out; an identical copy (a whole conf/ copied) runs."""
from __future__ import annotations

import shutil

from conftest import CONF, assert_one_line_error, run_inproc


def test_an_edited_copy_of_a_shipped_experiment_is_refused_naming_both(tmp_path):
    (tmp_path / "mine" / "experiment").mkdir(parents=True)
    (tmp_path / "mine" / "experiment" / "tiny.yaml").write_text("# @package _global_\nmodel:\n  c1: 5\n")
    proc = run_inproc(["mnist_sweep.train", "--config-dir", str(tmp_path / "mine"), "+experiment=tiny",
                       "--cfg", "job"], cwd=tmp_path)
    assert_one_line_error(proc, f"--config-dir {tmp_path / 'mine'}: {tmp_path / 'mine' / 'experiment' / 'tiny.yaml'} "
                          "is not read: conf/experiment/tiny.yaml has its name, and Hydra searches the primary config "
                          "dir before --config-dir; give yours another name (experiment/NAME.yaml, picked with "
                          "+experiment=NAME)")


def test_a_sweep_whose_default_search_is_shadowed_is_refused_and_a_run_is_not(tmp_path):
    (tmp_path / "mine" / "hparams_search").mkdir(parents=True)
    (tmp_path / "mine" / "hparams_search" / "default.yaml").write_text(
        "# @package _global_\nhydra:\n  sweeper:\n    study_name: mine\n")
    mine = ["--config-dir", str(tmp_path / "mine")]
    proc = run_inproc(["mnist_sweep.train", "-m", *mine, "hydra.sweeper.dry_run=true"], cwd=tmp_path)
    assert_one_line_error(proc, "hparams_search/default.yaml is not read: conf/hparams_search/default.yaml has its name",
                          "picked with hparams_search=NAME")
    assert not (tmp_path / "outputs").exists()
    proc = run_inproc(["mnist_sweep.train", *mine, "--cfg", "job", "-p", "model.c1"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr  # a run reads no search


def test_an_identical_copy_of_the_shipped_conf_is_not_refused(tmp_path):
    shutil.copytree(CONF, tmp_path / "copy")
    proc = run_inproc(["mnist_sweep.train", "--config-dir", str(tmp_path / "copy"), "+experiment=tiny",
                       "--cfg", "job", "-p", "model.c1"], cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == "8", proc.stdout + proc.stderr
