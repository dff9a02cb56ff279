"""trainer.teacher at a sweep's start (hydra_plugins/mnist_sweep_sweeper/_teacher.py): a teacher that cannot
teach is one line naming trainer.teacher before the study or the sweep dir exists, the dry run's too, as a bad
model value is; a searched trainer.teacher has each choice checked. Before, each trial failed with that line and
the sweep stopped after trial 0, its sweep dir left behind."""
from __future__ import annotations

import pytest

from conftest import assert_one_line_error, run_inproc, snapshot, sweep_args
from test_distill import make_teacher


def _start(tmp_path, *extra: str, dry: bool):
    args = sweep_args(tmp_path, "kd", 2, *extra, *(["hydra.sweeper.dry_run=true"] if dry else []))
    return run_inproc(args, cwd=tmp_path)


@pytest.mark.parametrize("dry", [False, True])
def test_a_sweep_with_no_such_teacher_is_one_line_before_anything_is_written(tmp_path, dry):
    before = snapshot(tmp_path)
    proc = _start(tmp_path, "trainer.teacher=does/not/exist", dry=dry)
    assert_one_line_error(proc, "error: trainer.teacher: does/not/exist: no such run dir")
    assert proc.returncode == 2 and snapshot(tmp_path) == before


@pytest.mark.parametrize("dry", [False, True])
def test_a_sweep_with_a_teacher_that_saw_its_validation_images_is_refused_at_the_start(tmp_path, dry):
    make_teacher(tmp_path / "teacher", "data.val_size=0", "trainer.select_on=test")
    before = snapshot(tmp_path)
    proc = _start(tmp_path, "trainer.teacher=teacher", dry=dry)
    assert_one_line_error(proc, "error: trainer.teacher: ", "trained on 256 of this run's 256 validation images")
    assert snapshot(tmp_path) == before


def test_a_searched_teacher_has_each_choice_checked(tmp_path):
    make_teacher(tmp_path / "good")
    before = snapshot(tmp_path)
    proc = _start(tmp_path, "trainer.teacher=choice(good,gone)", dry=False)
    assert_one_line_error(proc, "error: trainer.teacher: gone: no such run dir")
    assert snapshot(tmp_path) == before


def test_good_teachers_pass_the_start(tmp_path, monkeypatch):
    """Each teacher is loaded once at the start, not once per candidate of the dry run's draws."""
    from mnist_sweep import distill

    make_teacher(tmp_path / "a")
    make_teacher(tmp_path / "b")
    calls, real = [], distill.opened
    monkeypatch.setattr(distill, "opened", lambda given, data: calls.append(given) or real(given, data))
    proc = _start(tmp_path, "trainer.teacher=choice(a,b)", "model.c3=choice(8,16)", dry=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "search space (" in proc.stdout + proc.stderr and sorted(calls) == ["a", "b"]


@pytest.mark.parametrize("knob", ["trainer.distill_alpha=interval(0.3,0.9)", "trainer.distill_temperature=choice(2,4)"])
def test_a_searched_distillation_setting_without_a_teacher_is_refused_at_the_start(tmp_path, knob):
    """No candidate had a teacher, so no trial read the searched value: the sweep trained the same config under
    different names (and the sampler modelled a value that changed nothing). With a teacher it is searched."""
    key = knob.split("=")[0]
    before = snapshot(tmp_path)
    proc = _start(tmp_path, knob, dry=True)
    assert_one_line_error(proc, f"error: hydra.sweeper.params.{key}: searched, but trainer.teacher is null, so no "
                          f"trial reads it", "trainer.teacher=RUN_DIR", f"or drop {key} from the search")
    assert snapshot(tmp_path) == before
    make_teacher(tmp_path / "t")
    proc = _start(tmp_path, knob, "trainer.teacher=t,null", dry=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_a_custom_space_may_give_the_teacher_so_its_searched_settings_are_not_refused():
    from optuna.distributions import FloatDistribution

    from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace
    from hydra_plugins.mnist_sweep_sweeper._teacher import unread_knobs
    from mnist_sweep.errors import ConfigError

    values = {"trainer.distill_alpha": FloatDistribution(0.3, 0.9)}
    unread_knobs(SearchSpace(values=values, custom=lambda trial: {"trainer.teacher": "runs/t"}))
    with pytest.raises(ConfigError, match=r"^hydra\.sweeper\.params\.trainer\.distill_alpha: searched, but"):
        unread_knobs(SearchSpace(values=values))


def test_a_sweep_given_a_distillation_setting_without_a_teacher_warns_once_at_its_start(tmp_path):
    """A plain trainer.distill_alpha=0.7 with no teacher: every trial trained without a word (a single run warned).
    One warning at the start, in the single run's words; none where a trial can have a teacher."""
    from mnist_sweep.overrides import check_command_line

    proc = _start(tmp_path, "trainer.distill_alpha=0.7", dry=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [line for line in proc.stderr.splitlines() if line.startswith("warning: ")] == [
        "warning: trainer.distill_alpha=0.7: given, but trainer.teacher is null, so no trial reads it (a distillation "
        "setting, read with a teacher alone); give one, trainer.teacher=RUN_DIR (a finished run dir), to distil with it"]
    warning = lambda *argv: check_command_line(["-m", *sweep_args(tmp_path, "kd", 2, *argv)[2:]]).warning  # noqa: E731
    assert warning() is None and warning("trainer.distill_alpha=0.7", "--cfg", "job") is None
    assert warning("trainer={distill_alpha:0.7}").startswith("trainer.distill_alpha=0.7: given, but")  # a dict's too
    for teacher in ("trainer.teacher=runs/t", "trainer.teacher=runs/t,null", "hydra.sweeper.params.trainer.teacher=choice(a,b)"):
        assert warning("trainer.distill_alpha=0.7", teacher) is None, teacher


def _conf(tmp_path, **files: str) -> str:
    """A --config-dir holding these options ('experiment/kd': its body; a trainer option extends trainer/default)."""
    for name, body in files.items():
        f = tmp_path / "cfg" / f"{name}.yaml"
        f.parent.mkdir(parents=True, exist_ok=True)
        head = "# @package _global_\n" if name.startswith("experiment/") else "defaults:\n  - default\n  - _self_\n"
        f.write_text(head + body + "\n")
    return str(tmp_path / "cfg")


OPTIONS = {"experiment/plain": "trainer: {teacher: null}", "experiment/kd": "trainer: {teacher: TEACHER}",
           "trainer/kd": "teacher: TEACHER"}
SWEPT = [("+experiment=choice(plain,kd)", "+experiment=kd"), ("trainer=choice(default,kd)", "trainer=kd")]


@pytest.mark.parametrize("swept, named", SWEPT)
def test_a_teacher_a_swept_option_brings_is_checked_at_the_start(tmp_path, swept, named):
    """The start composed the swept groups at their first options (and no +experiment), so a later choice's teacher
    was never checked: each trial that drew it failed alike. Now each choice's, named with the choice."""
    cfg = _conf(tmp_path, **{k: v.replace("TEACHER", "gone") for k, v in OPTIONS.items()})
    before = snapshot(tmp_path)
    proc = _start(tmp_path, "--config-dir", cfg, swept, dry=True)
    assert_one_line_error(proc, f"error: trainer.teacher (from {named}): gone: no such run dir")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("swept", [s for s, _ in SWEPT])
def test_a_searched_distillation_setting_is_read_where_a_swept_option_brings_a_teacher(tmp_path, swept):
    """Refused as 'no trial reads it' where the base config's teacher is null, though the trials drawing kd read it."""
    make_teacher(tmp_path / "t")
    cfg = _conf(tmp_path, **{k: v.replace("TEACHER", "t") for k, v in OPTIONS.items()})
    proc = _start(tmp_path, "--config-dir", cfg, swept, "trainer.distill_alpha=interval(0.3,0.9)", dry=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_a_swept_options_teacher_is_checked_against_that_options_split(tmp_path):
    """A teacher trained on all its images is fine for an experiment with no validation images (val_size 0) and
    refused, naming the experiment, for one that keeps the base config's 10,000."""
    make_teacher(tmp_path / "all", "data.val_size=0", "trainer.select_on=test")
    cfg = _conf(tmp_path, **{"experiment/test_only": "data: {val_size: 0}\ntrainer: {select_on: test, teacher: all}",
                             "experiment/val": "trainer: {teacher: all}"})
    args = [a for a in sweep_args(tmp_path, "kd", 2, "--config-dir", cfg, "hydra.sweeper.dry_run=true") if a != "data.val_size=256"]
    proc = run_inproc([*args, "+experiment=choice(test_only)"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = run_inproc([*args, "+experiment=choice(test_only,val)"], cwd=tmp_path)
    assert_one_line_error(proc, "error: trainer.teacher (from +experiment=val): ", "trained on 512 of this run's 10,000 validation")


def test_a_swept_added_option_is_composed_at_a_choice_not_left_out(tmp_path):
    """Every trial of +experiment=choice(a,b) runs one of them, but the start composed the base config without any
    (each swept group at its first option, no +experiment) and checked the teacher given on the command line
    against that config's 10,000 validation images, which no trial holds: a sweep whose every trial selects on the
    test set (data.val_size=0) was refused for a teacher that saw all the training images."""
    make_teacher(tmp_path / "all", "data.val_size=0", "trainer.select_on=test")
    body = "data: {val_size: 0}\ntrainer: {select_on: test}"
    cfg = _conf(tmp_path, **{"experiment/test_only": body, "experiment/test_only2": body})
    args = [a for a in sweep_args(tmp_path, "kd", 2, "--config-dir", cfg, "hydra.sweeper.dry_run=true") if a != "data.val_size=256"]
    proc = run_inproc([*args, "trainer.teacher=all", "+experiment=choice(test_only,test_only2)"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_a_teacher_refused_for_one_options_split_names_that_option(tmp_path):
    """A teacher given on the command line, fine for +experiment=test_only's split (val_size 0) and not for
    +experiment=val's (10,000 validation images), was refused as 'trainer.teacher: ... this run has
    data.val_size=10000': no word of which choice's trials would fail. Now named as the option that brings a
    teacher is ('from'), with 'with'."""
    make_teacher(tmp_path / "all", "data.val_size=0", "trainer.select_on=test")
    cfg = _conf(tmp_path, **{"experiment/test_only": "data: {val_size: 0}\ntrainer: {select_on: test}",
                             "experiment/val": "data: {val_size: 10000}"})
    args = [a for a in sweep_args(tmp_path, "kd", 2, "--config-dir", cfg, "hydra.sweeper.dry_run=true") if a != "data.val_size=256"]
    proc = run_inproc([*args, "trainer.teacher=all", "+experiment=choice(test_only,val)"], cwd=tmp_path)
    assert_one_line_error(proc, "error: trainer.teacher (with +experiment=val): all trained on ")


def test_options_that_each_bring_a_teacher_are_composed_together_too():
    """Two swept options whose choices each change the teacher: their combinations may bring another (a teacher
    path that interpolates both), so each combination is composed as well, and named."""
    from optuna.distributions import CategoricalDistribution as C

    from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace
    from hydra_plugins.mnist_sweep_sweeper._teacher import teachers
    from omegaconf import OmegaConf

    def compose(overrides):
        parts = [o.split("=")[1] for o in overrides if o in ("trainer=kd", "+experiment=x")]
        return OmegaConf.create({"trainer": {"teacher": "+".join(parts) or None}})

    space = SearchSpace(groups={"trainer": C(["default", "kd"])}, values={"+experiment": C(["a", "x"])})
    found = teachers(space, compose, lambda values: [f"{k}={v}" for k, v in {"trainer": "default", **values}.items()])
    named = lambda chosen: (f"from {chosen}", f"with {chosen}")  # noqa: E731 - (brings it, its split)
    assert found == {("kd", None): named("trainer=kd"), ("x", None): named("+experiment=x"),
                     ("kd+x", None): named("trainer=kd +experiment=x")}
