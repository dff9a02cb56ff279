"""confirm with a teacher (``--set trainer.teacher=RUN``): a finished distilled run in --out (or a sweep's own) was
reused as 'a finished run of this exact config' whatever the teacher's model.pt held now, so after the teacher
was trained again confirm reported the stale runs' results. The teacher's sha256 (result.json's ``teacher``) is
now part of 'the same config': a changed teacher's run in --out is refused in one line before any training,
naming it (remove that run dir and confirm trains it again), and a sweep's own run of it is not reused."""
from __future__ import annotations

import argparse
import hashlib
import json

import pandas as pd
import torch
from omegaconf import OmegaConf

from conftest import TINY, assert_one_line_error, make_cfg, run_inproc, snapshot
from mnist_sweep import confirm
from mnist_sweep import model as mmodel
from mnist_sweep.config.settings import validate
from mnist_sweep.reuse import finished_diff
from test_confirm import SMALL
from test_distill import make_teacher
from test_reproduce import fake_sweep

KD = [*SMALL, "--set", "trainer.teacher=teacher"]


def finished_distilled(sw, out, teacher):
    """The run ``confirm SW --trial 0 --seeds 1 *KD --out OUT`` trains, finished in OUT without training, its
    result.json recording the teacher's sha256 as a run distilled from it does."""
    from types import SimpleNamespace

    named = SimpleNamespace(experiment=None, leaderboard=str(sw), trial=[0], top=1, config_dir=None)
    [(name, (select, _))] = confirm.candidates(named).items()
    wanted = confirm.resolved(select, confirm.checked_overrides(name, select, 1, KD[1::2]))
    seed = out / name / "seed_1"
    (seed / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create(wanted), seed / ".hydra" / "config.yaml")
    sha = hashlib.sha256((teacher / "model.pt").read_bytes()).hexdigest()
    (seed / "result.json").write_text(json.dumps({
        "status": "complete", "test_acc_final": 0.5, "params": 900, "epochs": 1, "reached_target": False,
        "target_acc": 0.994, "wall_s": 1.0, "precision": "fp32",
        "teacher": {"path": "teacher", "sha256": sha, "params": 900, "alpha": 0.5, "temperature": 4.0}}))
    return seed, wanted


def _retrain(teacher):
    torch.manual_seed(1)  # other weights of the same model: the teacher trained again
    torch.save(mmodel.build(validate(make_cfg(*TINY)).model).state_dict(), teacher / "model.pt")


def test_a_finished_distilled_run_is_reused_only_while_its_teacher_is_unchanged(tmp_path):
    sw, out, teacher = fake_sweep(tmp_path), tmp_path / "out", make_teacher(tmp_path / "teacher")
    finished_distilled(sw, out, teacher)
    argv = ["mnist_sweep.confirm", str(sw), "--trial", "0", "--seeds", "1", "--out", str(out), *KD]
    proc = run_inproc(argv, cwd=tmp_path)
    assert proc.returncode == 0 and "reused 1 of 1 run" in proc.stdout, proc.stdout + proc.stderr
    params = validate(make_cfg(*TINY)).n_params  # the teacher's: a run dir without result.json counted from its config
    assert f"; distilled from teacher teacher ({params:,} params; alpha 0.5, temperature 4)\n" in proc.stdout
    assert pd.read_csv(out / "robustness.csv")["teacher"].tolist() == ["teacher"]
    _retrain(teacher)
    before = snapshot(tmp_path)
    proc = run_inproc(argv, cwd=tmp_path)
    assert_one_line_error(proc, f"error: {out}/trial_0000/seed_1: holds a finished run of another config "
                          "(trainer.teacher: teacher/model.pt has changed since the run was distilled from it (sha256 ",
                          "give another --out or remove that run")
    assert snapshot(tmp_path) == before  # nothing trained, robustness.csv not rewritten with the stale result


def test_a_sweeps_own_run_of_a_changed_or_gone_teacher_is_another_config(tmp_path, monkeypatch):
    sw, teacher = fake_sweep(tmp_path), make_teacher(tmp_path / "teacher")
    run, wanted = finished_distilled(sw, tmp_path / "own", teacher)
    monkeypatch.chdir(tmp_path)
    assert finished_diff(run, wanted) is None
    _retrain(teacher)
    assert finished_diff(run, wanted).startswith("trainer.teacher: teacher/model.pt has changed since the run")
    (teacher / "model.pt").unlink()
    assert finished_diff(run, wanted).startswith("trainer.teacher: teacher/model.pt: gone, and the run was distilled from it")


def test_a_table_without_a_teacher_keeps_its_columns_and_a_distilled_config_gets_one():
    """confirm's output said nothing of a teacher: a distilled confirmation's table looked like a plain one."""
    from mnist_sweep.robustness import printed, table

    run = {"test_acc_final": 0.99, "params": 900, "epochs": 1, "reached_target": False, "target_acc": 0.994,
           "wall_s": 1.0, "precision": "fp32"}
    plain = table({"a": {1: run}})
    assert list(plain.columns) == ["config", "params", "epochs", "seed_1", "mean", "std", "min", "reached", "target",
                                   "precision", "s_per_epoch"]
    kd = {**run, "teacher": {"path": "runs/t", "sha256": "0" * 64, "params": 15064, "alpha": 0.5, "temperature": 4.0}}
    both = table({"a": {1: run}, "b": {1: kd}})
    assert list(both.columns) == [*plain.columns, "teacher"]
    assert both.set_index("config")["teacher"].fillna("").to_dict() == {"a": "", "b": "runs/t"}
    assert printed(both).splitlines()[0].split()[-1] == "teacher" and "NaN" not in printed(both)


def test_the_protocol_line_names_no_teacher_without_one(tmp_path):
    from types import SimpleNamespace

    named = SimpleNamespace(experiment=None, leaderboard=str(fake_sweep(tmp_path)), trial=[0], top=1, config_dir=None)
    line = confirm.protocol_line(confirm.candidates(named), [])
    assert line.startswith("protocol: ") and "teacher" not in line



def test_a_teacher_that_cannot_teach_is_refused_before_anything_is_printed_or_written(tmp_path):
    """A --set trainer.teacher that is no run dir printed 'confirming ...' and the protocol line ('? params'), then
    started the first run, which failed as 'OUT/CONFIG/seed_1: training failed (exit 2): trainer.teacher: ...'; a
    config's own teacher gone likewise. Now each is one line before anything, naming the --set or the config."""
    sw, out = fake_sweep(tmp_path), tmp_path / "out"
    (tmp_path / "sweeps").mkdir()
    (tmp_path / "sweeps" / "leaderboard.csv").write_text("rank,trial,status\n")  # a sweep dir given as the teacher
    for teacher, words in (("nosuch", "nosuch: no such run dir"), ("sweeps", "sweeps: a sweep dir, not a run")):
        argv = ["mnist_sweep.confirm", str(sw), "--trial", "0", "--seeds", "2", "--out", str(out), *SMALL,
                "--set", f"trainer.teacher={teacher}"]
        before = snapshot(tmp_path)
        proc = run_inproc(argv, cwd=tmp_path)
        assert_one_line_error(proc, f"error: --set trainer.teacher={teacher}: trainer.teacher: {words}")
        assert proc.stdout == "" and snapshot(tmp_path) == before
    trial_config = sw / "trial_0000" / ".hydra" / "config.yaml"
    OmegaConf.save(make_cfg(*TINY, f"trainer.teacher={tmp_path / 'gone'}"), trial_config)
    proc = run_inproc(["mnist_sweep.confirm", str(sw), "--trial", "0", "--seeds", "1", "--out", str(out), *SMALL],
                      cwd=tmp_path)
    assert_one_line_error(proc, f"error: trial_0000: trainer.teacher: {tmp_path / 'gone'}: no such run dir")
    assert proc.stdout == "" and not out.exists()


def test_a_set_distillation_setting_without_a_teacher_warns_once_before_training(tmp_path, monkeypatch, capsys):
    """--set trainer.distill_alpha=0.7 with no teacher: train's check warned, but confirm read only its error, so
    every run trained without a word. Now train's warning, in confirm's words, once (not per seed) before training."""
    from mnist_sweep.errors import MnistSweepError

    def stop(*args, **kwargs):
        raise MnistSweepError("stopped before training")
    monkeypatch.setattr(confirm, "run_one", stop)
    argv = ["--experiment", "tiny", "--seeds", "2", "--parallel", "1", "--out", str(tmp_path / "out"), *SMALL]
    assert confirm.main([*argv, "--set", "trainer.distill_alpha=0.7"]) != 0
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if line.startswith("warning: ")] == [
        "warning: --set trainer.distill_alpha=0.7: given, but trainer.teacher is null, so no run of this confirmation "
        "reads it (a distillation setting, read with a teacher alone); give one, --set trainer.teacher=RUN_DIR (a "
        "finished run dir), to distil with it"], err  # in confirm's words, not the single run's 'this run does not read
    assert "stopped before training" in err.splitlines()[-1]
    [select] = [sel for sel, _ in confirm.candidates(argparse.Namespace(experiment=["tiny"], config_dir=None)).values()]
    warned = {}  # a dict's setting: named KEY=VALUE, as its --set
    confirm.checked_overrides("tiny", select, 1, ["trainer={distill_alpha:0.7}"], warned)
    assert [w.split(": ")[0] for w in warned] == ["--set trainer.distill_alpha=0.7"]
    make_teacher(tmp_path / "t")
    assert confirm.main([*argv, "--set", "trainer.distill_alpha=0.7", "--set", f"trainer.teacher={tmp_path / 't'}"]) != 0
    assert "warning: " not in capsys.readouterr().err


def test_the_protocol_line_names_the_teacher_the_runs_load(tmp_path, monkeypatch, capsys):
    """The protocol line resolved each config's teacher again without the runs' overrides (the protocol's
    data.val_size=0 ... trainer.progress=false, the seed) and looked its size up by that path among those
    check_teachers loaded with them: a path that interpolates one of them was a KeyError traceback. It now names
    the teacher, alpha and temperature check_teachers found in the runs' own configs."""
    from mnist_sweep.errors import MnistSweepError

    def stop(*args, **kwargs):
        raise MnistSweepError("stopped before training")
    monkeypatch.setattr(confirm, "run_one", stop)
    make_teacher(tmp_path / "t_False")
    argv = ["--experiment", "tiny", "--seeds", "1", "--parallel", "1", "--out", str(tmp_path / "out"), *SMALL,
            "--set", f"trainer.teacher={tmp_path}/t_${{trainer.progress}}"]  # the runs' progress=false
    assert confirm.main(argv) != 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "stopped before training" in err.splitlines()[-1], err
    assert f"; distilled from teacher {tmp_path}/t_False (" in out, out
