"""trainer.teacher (mnist_sweep/distill.py): the distillation loss, the teacher's refusals (one line naming
trainer.teacher, before any training), the honest-validation rule, what result.json records and reproduce's
refusal of a teacher that changed or is gone. A teacher needs no training here: a TINY model's initial
weights saved as a run dir."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from conftest import TINY, assert_one_line_error, make_cfg, run_inproc, snapshot
from mnist_sweep import distill
from mnist_sweep import model as mmodel
from mnist_sweep.config.settings import validate
from mnist_sweep.errors import ConfigError


def make_teacher(d: Path, *overrides: str) -> Path:
    """A run dir (.hydra/config.yaml, model.pt) holding a TINY model's seeded initial weights."""
    cfg = make_cfg(*TINY, *overrides)
    (d / ".hydra").mkdir(parents=True)
    OmegaConf.save(cfg, d / ".hydra" / "config.yaml")
    torch.manual_seed(0)
    torch.save(mmodel.build(validate(cfg).model).state_dict(), d / "model.pt")
    return d


# ---------------------------------------------------------------- the loss on fixed tensors
S = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.3, -0.2], [-1.0, 1.5, 0.0], [0.7, 0.7, 0.7]])
T_ = torch.tensor([[1.0, 0.0, 2.0], [-0.5, 0.5, 1.0], [0.0, 3.0, -1.0], [2.0, -2.0, 0.0]])
Y = torch.tensor([0, 2, 1, 1])


def test_a_teacher_that_agrees_with_the_student_leaves_the_weighted_cross_entropy():
    for alpha, smoothing in ((0.5, 0.0), (0.3, 0.1), (1.0, 0.0)):
        ce = F.cross_entropy(S, Y, label_smoothing=smoothing)
        assert torch.allclose(distill.kd_loss(S, S.clone(), Y, alpha, 4.0, smoothing), (1 - alpha) * ce, atol=1e-7)


def test_alpha_weighs_the_two_terms_linearly():
    ce, kd = F.cross_entropy(S, Y), distill.kd_loss(S, T_, Y, 1.0, 3.0)
    for alpha in (0.1, 0.5, 0.9):
        assert torch.allclose(distill.kd_loss(S, T_, Y, alpha, 3.0), (1 - alpha) * ce + alpha * kd, atol=1e-6)


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.0, 10.0])
def test_the_distillation_term_is_t_squared_times_the_kl_of_the_softened_distributions(temperature):
    p_t, p_s = (T_ / temperature).softmax(1), (S / temperature).softmax(1)
    kl = (p_t * (p_t.log() - p_s.log())).sum(1).mean()  # KL(teacher || student), averaged over the batch
    assert torch.allclose(distill.kd_loss(S, T_, Y, 1.0, temperature), temperature**2 * kl, atol=1e-6)


def test_without_a_teacher_the_loss_is_the_plain_cross_entropy_bit_for_bit():
    loss = distill.criterion(0.1)
    assert torch.equal(loss(S, torch.zeros(4, 1, 28, 28), Y), F.cross_entropy(S, Y, label_smoothing=0.1))


# ---------------------------------------------------------------- the honest-validation rule
LEAKS = {  # the teacher's split -> how many of TINY's 256 validation images (split_seed 0) it trained on
    "same split": ([], 0),
    "a larger val_size, same seed": (["data.val_size=1000"], 0),
    "no val split": (["data.val_size=0", "trainer.select_on=test"], 256),
    "a smaller val_size": (["data.val_size=128"], 128),
}


@pytest.mark.parametrize("case", LEAKS)
def test_the_teachers_training_images_against_the_students_validation_images(case):
    overrides, n = LEAKS[case]
    student, teacher = validate(make_cfg(*TINY)).data, validate(make_cfg(*TINY, *overrides)).data
    assert distill.leaked(student, teacher) == n
    other_seed = validate(make_cfg(*TINY, *overrides, "data.split_seed=7", "data.train_limit=null")).data
    assert distill.leaked(student, other_seed) > 0  # another permutation: its ~59,000 images overlap


def test_a_student_without_validation_images_takes_any_teacher(tmp_path):
    teacher = make_teacher(tmp_path / "t", "data.val_size=0", "trainer.select_on=test")
    st = validate(make_cfg(*TINY, "data.val_size=0", "trainer.select_on=test", f"trainer.teacher={teacher}"))
    assert distill.load(st, torch.device("cpu"), torch.contiguous_format).record()["params"] == st.n_params
    with pytest.raises(ConfigError, match="trainer.teacher: .* trained on 256 of this run's 256 validation images"):
        distill.load(validate(make_cfg(*TINY, f"trainer.teacher={teacher}")), torch.device("cpu"), torch.contiguous_format)


# ---------------------------------------------------------------- refusals, through train's main(argv)
def _no_model(d: Path) -> None:
    (d / "model.pt").unlink()


def _other_model(d: Path) -> None:
    torch.save(mmodel.build(validate(make_cfg(*TINY, "model.c1=4")).model).state_dict(), d / "model.pt")


BAD_TEACHERS = {  # (what is done to a good teacher dir, the override's value, what the line says)
    "no such dir": (None, "nowhere", "trainer.teacher: nowhere: no such run dir"),
    "no model.pt": (_no_model, "teacher", "trainer.teacher: teacher: no model.pt"),
    "another model's weights": (_other_model, "teacher", "trainer.teacher: teacher/model.pt: weights of another model"),
    "its model.pt given": (None, "teacher/model.pt", "trainer.teacher: teacher/model.pt: is a file in a run dir"),
    "empty": (None, "''", "trainer.teacher: must be a run dir's path (or null), got ''"),
}


@pytest.mark.parametrize("case", BAD_TEACHERS)
def test_a_teacher_that_cannot_teach_is_one_line_naming_trainer_teacher(tmp_path, case):
    change, value, says = BAD_TEACHERS[case]
    teacher = make_teacher(tmp_path / "teacher")
    if change:
        change(teacher)
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.train", *TINY, f"trainer.teacher={value}", f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert_one_line_error(proc, "error: " + says)
    assert proc.returncode == 2 and snapshot(tmp_path) == before  # nothing trained, nothing left behind


@pytest.mark.parametrize("override, says", [
    ("trainer.distill_alpha=0", "trainer.distill_alpha: must be in (0, 1], got 0"),
    ("trainer.distill_alpha=1.5", "trainer.distill_alpha: must be in (0, 1], got 1.5"),
    ("trainer.distill_temperature=0", "trainer.distill_temperature: must be > 0, got 0"),
])
def test_distillation_settings_out_of_range_are_one_line(tmp_path, override, says):
    proc = run_inproc(["mnist_sweep.train", *TINY, override, f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert_one_line_error(proc, "error: " + says)


UNREAD = ("trainer.distill_alpha=0.7: given, but trainer.teacher is null, so this run does not read it (a distillation "
          "setting, read with a teacher alone); give one, trainer.teacher=RUN_DIR (a finished run dir), to distil with it")


def test_a_distillation_setting_given_without_a_teacher_warns_and_trains(tmp_path):
    """trainer.distill_alpha=0.7 with trainer.teacher null trained without a word: the value was read by nothing.
    A warning, not a refusal (an experiment's teacher overridden by trainer.teacher=null must still train)."""
    proc = run_inproc(["mnist_sweep.train", *TINY, "trainer.distill_alpha=0.7", f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [line for line in proc.stderr.splitlines() if line.startswith("warning: ")] == [f"warning: {UNREAD}"]
    assert (tmp_path / "run" / "result.json").exists()
    assert f"[WARNING] - {UNREAD}\n" in (tmp_path / "run" / "train.log").read_text()  # the run's record holds it too
    assert UNREAD not in proc.stdout  # the console said it once, on stderr


def test_the_unread_distillation_warning_names_only_the_command_lines_values():
    from mnist_sweep.overrides import check_command_line

    warning = lambda *argv: check_command_line([*TINY, *argv]).warning  # noqa: E731
    assert warning("trainer.teacher=null", "trainer.distill_alpha=0.7") == UNREAD
    assert warning("++trainer.distill_temperature=2", "trainer.distill_alpha=0.7").startswith(
        "trainer.distill_temperature=2, trainer.distill_alpha=0.7: given, but trainer.teacher is null, so this run "
        "does not read them (distillation settings, read with a teacher alone)")
    assert warning() is None  # conf/trainer/default.yaml's values: no one's to drop
    assert warning("trainer.teacher=runs/t", "trainer.distill_alpha=0.7") is None
    assert warning("trainer.distill_alpha=0.7", "--cfg", "job") is None  # prints the config, trains nothing
    assert warning("trainer.distill_alpha=0.7", "hparams_search=smallest").splitlines() == [
        warning("hparams_search=smallest"), UNREAD]  # one line each


def test_every_override_form_that_sets_a_distillation_setting_is_warned_about():
    """The warning looked only at overrides whose key was literally trainer.distill_alpha (or _temperature): the
    dict form trainer={distill_alpha:0.7} set it as surely, without a word. Hydra's override parser now finds each
    setting, a dict's keys flattened, named KEY=VALUE."""
    from mnist_sweep.overrides import check_command_line

    warning = lambda *argv: check_command_line([*TINY, *argv]).warning  # noqa: E731
    assert warning("trainer={distill_alpha:0.7}") == UNREAD
    assert warning("+trainer={distill_alpha:0.7}") == UNREAD
    assert warning("trainer={teacher:null,distill_temperature:2}", "++trainer.distill_alpha=0.7").startswith(
        "trainer.distill_temperature=2, trainer.distill_alpha=0.7: given, but trainer.teacher is null, so this run "
        "does not read them")
    assert warning("trainer={teacher:runs/t,distill_alpha:0.7}") is None
    assert warning("trainer={max_epochs:1}") is None


def test_a_teacher_that_trained_on_the_validation_images_is_refused_before_training(tmp_path):
    make_teacher(tmp_path / "teacher", "data.val_size=0", "trainer.select_on=test")
    proc = run_inproc(["mnist_sweep.train", *TINY, "trainer.teacher=teacher", f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert_one_line_error(proc, "error: trainer.teacher: ", "trained on 256 of this run's 256 validation images",
                          "give a teacher trained with data.split_seed=0 and data.val_size>=256")
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------- a distilled run
@pytest.fixture(scope="module")
def distilled(tmp_path_factory) -> Path:
    """A start dir with a teacher and a 1-epoch TINY run distilled from it (relative trainer.teacher), the
    distillation loss counted (the teacher's logits of each batch, without gradients)."""
    start = tmp_path_factory.mktemp("distilled")
    make_teacher(start / "teacher")
    calls, real = [], distill.kd_loss

    def counted(student, teacher, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        calls.append((student.requires_grad, teacher.requires_grad, teacher.shape))
        return real(student, teacher, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(distill, "kd_loss", counted)
        proc = run_inproc(["mnist_sweep.train", *TINY, "trainer.teacher=teacher", "trainer.distill_alpha=0.7",
                           "trainer.distill_temperature=2", "hydra.run.dir=run"], cwd=start)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (start / "calls.json").write_text(json.dumps([[a, b, list(s)] for a, b, s in calls]))
    return start


def test_a_distilled_run_records_its_teacher_and_learns_from_it_each_batch(distilled):
    result = json.loads((distilled / "run" / "result.json").read_text())
    sha = hashlib.sha256((distilled / "teacher" / "model.pt").read_bytes()).hexdigest()
    params = validate(make_cfg(*TINY)).n_params
    assert result["teacher"] == {"path": "teacher", "sha256": sha, "params": params, "alpha": 0.7, "temperature": 2.0}
    assert result["params"] == params  # the student's alone: the teacher's are not counted
    calls = json.loads((distilled / "calls.json").read_text())
    assert calls == [[True, False, [64, 10]]] * 8  # 512 images in batches of 64
    assert "distilling from teacher" in (distilled / "run" / "train.log").read_text()


def test_a_run_without_a_teacher_records_none(tmp_path):
    from mnist_sweep.training import train

    assert "teacher" not in train(make_cfg(*TINY), tmp_path)


def test_selection_reads_a_relative_teacher_from_where_the_run_started(distilled, monkeypatch, tmp_path):
    from mnist_sweep.reproduce import selection

    monkeypatch.chdir(tmp_path)
    assert f"trainer.teacher={distilled}/teacher" in selection(distilled / "run" / ".hydra")
    monkeypatch.chdir(distilled)
    assert f"trainer.teacher={distilled}/teacher" not in selection(distilled / "run" / ".hydra")  # read from here


@pytest.mark.parametrize("change, says", [
    (lambda w: w.write_bytes(w.read_bytes() + b"\0"), "has changed since the run was distilled from it"),
    (lambda w: w.unlink(), "model.pt: gone, and the run was distilled from it"),
    (lambda w: shutil.rmtree(w.parent), "model.pt: gone, and the run was distilled from it"),
])
def test_reproduce_refuses_a_teacher_that_changed_or_is_gone(distilled, tmp_path, change, says):
    run, teacher = tmp_path / "run", tmp_path / "teacher"
    shutil.copytree(distilled / "run", run)
    shutil.copytree(distilled / "teacher", teacher)
    result = json.loads((run / "result.json").read_text())
    result["teacher"]["path"] = str(teacher)  # the copy's, as given
    (run / "result.json").write_text(json.dumps(result))
    change(teacher / "model.pt")
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.reproduce", str(run), "--out", str(tmp_path / "out")], cwd=tmp_path)
    assert_one_line_error(proc, f"error: {run}: trainer.teacher: {teacher / 'model.pt'}", says, "cannot be reproduced")
    assert snapshot(tmp_path) == before  # refused before --out was made
