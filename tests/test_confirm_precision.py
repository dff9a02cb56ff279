"""confirm retrains a trial in the precision it trained in (result.json's precision), as export and
reproduce pin it: its config's ``trainer.precision=auto`` decides per machine, so a trial trained in
fp32 was confirmed in bf16 where auto picks bf16 (or the reverse). No training here."""
from __future__ import annotations

import argparse
import json

import pandas as pd
import pytest
from omegaconf import OmegaConf

from conftest import assert_one_line_error, run_inproc
from mnist_sweep import confirm
from mnist_sweep.reproduce import resolved
from test_export_precision import auto_trial

RESULT = {"status": "complete", "test_acc_final": 0.5, "params": 900, "epochs": 1, "reached_target": False,
          "target_acc": 0.994, "wall_s": 2.0}


def chosen(sw) -> tuple[list[str], object]:  # noqa: ANN001
    args = argparse.Namespace(experiment=None, config_dir=None, leaderboard=str(sw), trial=None, top=1)
    [(select, trial_dir)] = confirm.candidates(args).values()
    return select, trial_dir


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_trials_auto_is_confirmed_in_the_precision_it_trained_in(tmp_path, precision):
    """Every run's config said trainer.precision=auto, whatever the trial had trained in."""
    select, _ = chosen(auto_trial(tmp_path, precision=precision))
    overrides = confirm.checked_overrides("trial_0000", select, 1, [])
    assert resolved(select, overrides)["trainer"]["precision"] == precision
    other = "bf16" if precision == "fp32" else "fp32"  # the user's own --set still wins
    overrides = confirm.checked_overrides("trial_0000", select, 1, [f"trainer.precision={other}"])
    assert resolved(select, overrides)["trainer"]["precision"] == other


def test_an_unrecorded_precision_keeps_the_configs(tmp_path):
    """A trial from before result.json recorded it: its config's value, as export and reproduce keep it."""
    select, _ = chosen(auto_trial(tmp_path))
    assert not any(s.startswith("trainer.precision=") for s in select)
    assert resolved(select, confirm.run_overrides(select, 1, []))["trainer"]["precision"] == "auto"


def earlier_run(tmp_path, recorded: str):  # noqa: ANN001, ANN201
    """A sweep trial trained in fp32 and an earlier confirm's finished seed run in --out whose
    config said auto, which resolved to ``recorded``."""
    sw = auto_trial(tmp_path, precision="fp32")
    select, _ = chosen(sw)
    run = tmp_path / "out" / "trial_0000" / "seed_1"
    (run / ".hydra").mkdir(parents=True)
    config = resolved(select, [*confirm.run_overrides(select, 1, []), "trainer.precision=auto"])
    OmegaConf.save(OmegaConf.create(config), run / ".hydra" / "config.yaml")
    (run / "result.json").write_text(json.dumps({**RESULT, "precision": recorded}))
    return ["mnist_sweep.confirm", str(sw), "--top", "1", "--seeds", "1", "--out", str(tmp_path / "out")]


def test_a_run_whose_auto_resolved_to_the_trials_precision_is_reused_and_shown(tmp_path):
    proc = run_inproc(earlier_run(tmp_path, "fp32"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "trial_0000 seed 1: test 50.00% after 1 epoch (reused:" in proc.stdout
    header, row = [t for t in proc.stdout.splitlines() if t.split()[:2] in (["config", "params"], ["trial_0000", "900"])]
    assert " precision " in header and " fp32 " in row, proc.stdout  # the table says what it trained in
    assert list(pd.read_csv(tmp_path / "out" / "robustness.csv").precision) == ["fp32"]


def test_a_run_whose_auto_resolved_to_another_precision_is_in_the_way(tmp_path):
    proc = run_inproc(earlier_run(tmp_path, "bf16"), cwd=tmp_path)
    assert_one_line_error(proc, "holds a finished run of another config", "trainer.precision: 'bf16' there, 'fp32' asked for")
