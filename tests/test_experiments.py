"""Every shipped config runs (lightning-hydra-template's test_experiments): each conf/experiment/*
trains one epoch on tiny data, and each conf/hparams_search/* runs a one-trial sweep over its own
search space. Only properties that hold on any CPU are asserted."""
from __future__ import annotations

import json

import pytest

from conftest import CONF, TINY, make_cfg, run

EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
SEARCHES = sorted(p.stem for p in (CONF / "hparams_search").glob("*.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_trains_one_epoch(name, tmp_path):
    out = tmp_path / "run"
    proc = run(["mnist_sweep.train", f"+experiment={name}", *TINY, f"hydra.run.dir={out}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "complete" and result["epochs"] == 1
    assert 0 < result["params"] <= 20_000 and 0.0 <= result["test_acc_final"] <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("name", SEARCHES)
def test_every_search_runs_one_trial_of_its_own_space(name, tmp_path):
    d = tmp_path / name
    proc = run(["mnist_sweep.train", "-m", f"hparams_search={name}", f"hydra.sweep.dir={d}",
                f"hydra.sweeper.storage=sqlite:///{d}/optuna.db", "hydra.sweeper.n_trials=1",
                "hydra.sweeper.workers=1", "hydra.sweeper.on_sweep_end=null", *TINY], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    board = (d / "leaderboard.csv").read_text().splitlines()
    assert len(board) >= 2 and "complete" in "\n".join(board[1:])


# The configs that ran the confirmation a shipped tier quotes (README -> Results), where they were
# runs of a sweep's trial rather than of the experiment itself.
CONFIRMED = {"small_8k": "bench/results/confirm_smallest_8k_t19", "smallest_994": "bench/results/confirm_smallest_6k_t102"}
SWEEP_ONLY = {"trainer.objectives"}  # what a sweep reports; nothing a run trains with


@pytest.mark.parametrize("name, runs", CONFIRMED.items())
def test_a_shipped_experiment_is_the_config_its_confirmation_ran(name, runs):
    from omegaconf import OmegaConf

    from mnist_sweep.reuse import default_config, first_difference

    root = CONF.parent / runs
    seed_dirs = sorted(root.glob("seed_*"))
    assert len(seed_dirs) == 5, root  # the five seeds the README quotes: a moved dir would pass with none
    for seed_dir in seed_dirs:
        ran = OmegaConf.to_container(OmegaConf.load(seed_dir / "config.yaml"), resolve=True)
        cfg = make_cfg(f"+experiment={name}", f"trainer.seed={ran['trainer']['seed']}", "trainer.precision=fp32",
                       "trainer.progress=false")
        shipped = OmegaConf.to_container(cfg, resolve=True)
        for key in SWEEP_ONLY:
            section, leaf = key.split(".")
            ran[section].pop(leaf), shipped[section].pop(leaf)
        ran["trainer"].setdefault("fast_dropout", False)  # saved before the key: the schema's default, torch's
        # a key added since (trainer.save_curves), at its default, is no difference: confirm's reuse rule
        assert first_difference(ran, shipped, defaults=default_config()) is None, seed_dir


@pytest.mark.parametrize("override", ["+experiment=null", "experiment=null", "+experiment="])
def test_no_experiment_given_as_null_says_to_leave_the_override_out(tmp_path, override):
    """+experiment=null said 'experiment needs one of its options', while no experiment is what the user meant
    and what a run without the override trains: the line says to leave it out (the options after)."""
    from conftest import assert_one_line_error, run_inproc

    proc = run_inproc(["mnist_sweep.train", override, f"hydra.run.dir={tmp_path}/r"], cwd=tmp_path)
    assert_one_line_error(proc, f"error: {override}: no experiment is what a run without one trains; leave the "
                          "override out (or pick one of best_20k, ")
    assert "needs one of its options" not in proc.stderr and not (tmp_path / "r").exists()


def test_deleting_the_experiment_no_run_has_says_there_is_none(tmp_path):
    """~experiment said only Hydra's 'Could not delete 'experiment'. No match in the defaults list': no experiment
    is in a run's config unless +experiment=NAME adds one, so there is nothing to delete."""
    from conftest import assert_one_line_error, run_inproc

    proc = run_inproc(["mnist_sweep.train", "~experiment", f"hydra.run.dir={tmp_path}/r"], cwd=tmp_path)
    assert_one_line_error(proc, "error: ~experiment: nothing to delete: no experiment option is in the config (none is, "
                          "unless added with +experiment=NAME); leave ~experiment out")
    assert not (tmp_path / "r").exists()
