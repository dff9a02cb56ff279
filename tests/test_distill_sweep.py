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
