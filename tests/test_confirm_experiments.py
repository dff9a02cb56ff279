"""confirm --experiment NAME of an experiment export wrote outside the repo: found with --config-dir
DIR, as train finds it (DIR/experiment/NAME.yaml, after the project's conf/experiment/), with the
command export prints. No training: a finished run in --out is reused."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import assert_one_line_error, run_inproc, snapshot
from mnist_sweep import PROJECT_ROOT, confirm
from mnist_sweep.reproduce import resolved
from test_export_precision import auto_trial

RESULT = {"status": "complete", "test_acc_final": 0.5, "params": 900, "epochs": 1, "reached_target": False,
          "target_acc": 0.994, "wall_s": 2.0}


def exported(tmp_path: Path) -> list[str]:
    """The README's export run in a scratch dir (--out conf/experiment/quick_best.yaml): the confirm
    command it printed, as argv after the module."""
    sw = auto_trial(tmp_path / "sweep", precision="fp32")
    proc = run_inproc(["mnist_sweep.export", str(sw), "--rank", "1", "--out", "conf/experiment/quick_best.yaml"],
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [line] = [t for t in proc.stdout.splitlines() if "mnist_sweep.confirm" in t]
    words = shlex.split(line)
    assert words[words.index("mnist_sweep.confirm") + 1:] == [
        "--config-dir", str(tmp_path / "conf"), "--experiment", "quick_best", "--seeds", "3"]
    return words[words.index("mnist_sweep.confirm") + 1:]


def test_an_experiment_exported_outside_the_repo_is_confirmed_with_the_printed_command(tmp_path):
    """'confirm --experiment quick_best' said 'no conf/experiment/quick_best.yaml' beside
    ./conf/experiment/quick_best.yaml, refused the path too, and had no --config-dir; export printed
    only the train command."""
    printed = exported(tmp_path)
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.confirm", "--experiment", "quick_best", "--seeds", "1"], cwd=tmp_path)
    assert_one_line_error(proc, f"no quick_best.yaml in {PROJECT_ROOT / 'conf' / 'experiment'}",
                          "./conf/experiment/quick_best.yaml is here: add --config-dir conf")
    proc = run_inproc(["mnist_sweep.train", "+experiment=quick_best"], cwd=tmp_path)  # said 'pick one of best_20k, ...'
    assert_one_line_error(proc, "+experiment=quick_best: no such option", "./conf/experiment/quick_best.yaml is here: "
                          "add --config-dir conf (as export printed)")
    proc = run_inproc(["mnist_sweep.confirm", "--experiment", "conf/experiment/quick_best.yaml"], cwd=tmp_path)
    assert_one_line_error(proc, "a name, not a path; give --config-dir conf --experiment quick_best")
    proc = run_inproc(["mnist_sweep.confirm", "--config-dir", "nowhere", "--experiment", "quick_best"], cwd=tmp_path)
    assert_one_line_error(proc, "--config-dir nowhere: no such directory", "experiment/NAME.yaml")
    assert snapshot(tmp_path) == before

    # the printed command, with a finished run of exactly its config in --out: reused, nothing trained
    select = ["--config-dir", str(tmp_path / "conf"), "+experiment=quick_best"]
    run = tmp_path / "out" / "quick_best" / "seed_1"
    (run / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create(resolved(select, confirm.run_overrides(select, 1, []))), run / ".hydra" / "config.yaml")
    (run / "result.json").write_text(json.dumps(RESULT))
    proc = run_inproc(["mnist_sweep.confirm", *printed, "--seeds", "1", "--out", str(tmp_path / "out")], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "quick_best seed 1: test 50.00% after 1 epoch (reused:" in proc.stdout, proc.stdout
    assert (tmp_path / "out" / "robustness.csv").is_file()


def test_an_experiment_found_in_both_places_or_in_neither_says_where_it_looked(tmp_path):
    """train reads the project's conf/experiment/NAME.yaml before --config-dir's: another file of
    that name in DIR would be confirmed as the project's, so it is refused; a name found nowhere
    names both places."""
    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    (tmp_path / "conf" / "experiment" / "tiny.yaml").write_text("# @package _global_\ntrainer:\n  max_epochs: 2\n")
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.confirm", "--config-dir", "conf", "--experiment", "tiny"], cwd=tmp_path)
    assert_one_line_error(proc, f"{tmp_path}/conf/experiment/tiny.yaml and the project's", "rename")
    proc = run_inproc(["mnist_sweep.confirm", "--config-dir", "conf", "--experiment", "nope"], cwd=tmp_path)
    assert_one_line_error(proc, f"or in {tmp_path}/conf/experiment", "tiny", "--config-dir DIR")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_a_path_to_a_project_experiment_names_it_alone(where, monkeypatch):
    """confirm --experiment conf/experiment/best_20k.yaml, the project's own file, said 'give --config-dir
    conf --experiment best_20k': the project's conf/experiment needs no --config-dir."""
    from mnist_sweep.errors import MnistSweepError
    from mnist_sweep.experiments import lookup

    monkeypatch.chdir(PROJECT_ROOT)
    path = "conf/experiment/best_20k.yaml" if where == "relative" else str(PROJECT_ROOT / "conf/experiment/best_20k.yaml")
    with pytest.raises(MnistSweepError, match=r"a name, not a path; give --experiment best_20k$"):
        lookup([path], None)


@pytest.mark.parametrize(("value", "example"), [
    ("data.batch_size=abc", "e.g. --set data.batch_size=128"),
    ("trainer.precision=BF16", "did you mean --set trainer.precision=bf16?"),
    ("optimizer=SGD", "did you mean --set optimizer=sgd?"),
    ("model.c1=4,8", "a sweep searches them: python -m mnist_sweep.train -m model.c1=4,8; a list value is written "
                     "in brackets: --set 'model.c1=[4,8]'"),
    ("hydra.sweeper.n_trials=3", "confirm runs no sweep: leave it out (a sweep takes it: python -m mnist_sweep.train -m "),
    ("model=[cnn,eva8_seed]", "e.g. --set model=cnn, or search them in a sweep: python -m mnist_sweep.train -m model=cnn,"),
    ("+experiment=null", "leave this --set out (or pick one of "),
])
def test_a_bad_set_value_offers_a_set_to_paste(tmp_path, value, example):
    """confirm --set data.batch_size=abc said 'e.g. data.batch_size=128', a train override: pasted into
    confirm it is a leaderboard path. Each example is a --set (a whole train command stays one), and no
    'add -m' (confirm has no -m)."""
    proc = run_inproc(["mnist_sweep.confirm", "--experiment", "tiny", "--set", value, "--out", str(tmp_path / "o")],
                      cwd=tmp_path)
    line = assert_one_line_error(proc, f"error: --set {value}: ", example)
    assert "add -m" not in line and "give -m" not in line and not (tmp_path / "o").exists()


def test_set_hydra_mode_is_refused_before_anything_runs(tmp_path):
    """confirm --set hydra.mode=MULTIRUN passed every check and ran each seed as train hydra.mode=MULTIRUN: a sweep
    (train takes it as -m) in each seed's run dir. Refused as --set trainer.seed is, before anything is written."""
    proc = run_inproc(["mnist_sweep.confirm", "--experiment", "tiny", "--set", "hydra.mode=MULTIRUN",
                       "--out", str(tmp_path / "o")], cwd=tmp_path)
    assert_one_line_error(proc, "error: --set hydra.mode=MULTIRUN: confirm trains each seed as one run", "leave it out")
    assert not (tmp_path / "o").exists()
