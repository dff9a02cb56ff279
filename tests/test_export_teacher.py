"""export of a distilled run (trainer.teacher): the experiment held the path as the run was given it, so a relative
teacher broke where the experiment was trained from another dir (export prints the command with --config-dir for
use outside the repo). It now holds the absolute path of the teacher the run read (a relative one from the dir the
run started in, as reproduce reads it), and notes a teacher whose model.pt changed since. No training."""
from __future__ import annotations

import hashlib
import json

import torch
import yaml
from omegaconf import OmegaConf

from conftest import TINY, make_cfg
from mnist_sweep import export
from mnist_sweep import model as mmodel
from mnist_sweep.config.settings import validate
from test_distill import make_teacher
from test_predict import made_run


def distilled_run(start):
    """A run dir start/run trained from start with trainer.teacher=teacher (relative), as train writes it."""
    teacher = make_teacher(start / "teacher")
    run = start / "run"
    made_run(run)
    OmegaConf.save(make_cfg(*TINY, "trainer.teacher=teacher"), run / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create({"hydra": {"runtime": {"cwd": str(start), "choices": {}}}}), run / ".hydra" / "hydra.yaml")
    result = json.loads((run / "result.json").read_text())
    sha = hashlib.sha256((teacher / "model.pt").read_bytes()).hexdigest()
    result["teacher"] = {"path": "teacher", "sha256": sha, "params": 900, "alpha": 0.5, "temperature": 4.0}
    (run / "result.json").write_text(json.dumps(result))
    return run, teacher


def test_the_experiment_holds_the_teachers_absolute_path_from_another_dir(tmp_path, monkeypatch, capsys):
    start, elsewhere = tmp_path / "start", tmp_path / "elsewhere"
    elsewhere.mkdir()
    run, teacher = distilled_run(start)
    monkeypatch.chdir(elsewhere)  # export run from another dir than the run started in
    out = tmp_path / "cfg" / "experiment" / "kd.yaml"
    assert export.main([str(run), "--out", str(out)]) == 0, capsys.readouterr()
    assert yaml.safe_load(out.read_text())["trainer"]["teacher"] == str(teacher)
    assert "note:" not in capsys.readouterr().out


def test_a_teacher_changed_since_the_run_is_noted(tmp_path, monkeypatch, capsys):
    run, teacher = distilled_run(tmp_path)
    torch.manual_seed(1)
    torch.save(mmodel.build(validate(make_cfg(*TINY)).model).state_dict(), teacher / "model.pt")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "cfg" / "experiment" / "kd.yaml"
    assert export.main([str(run), "--out", str(out)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith(f"note: trainer.teacher: {teacher}/model.pt has changed since the run was distilled from it")
    assert yaml.safe_load(out.read_text())["trainer"]["teacher"] == str(teacher)
