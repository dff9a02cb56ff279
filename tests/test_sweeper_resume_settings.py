"""A resume with other plain settings than the study's trials (data.train_limit=400 on a study that
trained on 300, trainer.max_epochs=5 on one of 3 epochs) says so in one warning naming the keys and
both values; the new trials were ranked beside the earlier ones without a word."""
from __future__ import annotations

import optuna
from optuna.distributions import CategoricalDistribution, IntDistribution

from conftest import TINY, run, sweep_args
from hydra_plugins.mnist_sweep_sweeper._new_keys import newly_searched
from hydra_plugins.mnist_sweep_sweeper._resume import changed_settings, resume_warnings
from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace


def _study(*overrides: str, trial_dir: object = None) -> optuna.Study:
    study = optuna.create_study(study_name="s")
    for o in overrides:
        t = study.ask({"model.c1": IntDistribution(4, 12)})
        t.set_user_attr("overrides", o)
        t.set_user_attr("trial_dir", None if trial_dir is None else str(trial_dir))
        study.tell(t, 0.5)
    return study


def _space(**fixed: str) -> SearchSpace:
    return SearchSpace(values={"model.c1": IntDistribution(4, 12)}, fixed=dict(fixed))


def test_the_same_settings_say_nothing():
    study = _study("model.c1=8 data.train_limit=300 trainer.progress=false")
    assert changed_settings(study, _space(**{"data.train_limit": "300", "trainer.progress": "true"})) is None
    assert changed_settings(optuna.create_study(), _space(**{"data.train_limit": "400"})) is None  # a new study


def test_a_changed_added_or_dropped_setting_is_named_with_both_values():
    study = _study("model.c1=8 data.train_limit=200", "model.c1=9 data.train_limit=300 trainer.max_epochs=3")
    line = changed_settings(study, _space(**{"data.train_limit": "400", "data.val_size": "500"}))
    assert line == (
        "study s: this run gives data.train_limit=400, data.val_size=500, no trainer.max_epochs (its default) where its "
        "trial 1 had data.train_limit=300, no data.val_size, trainer.max_epochs=3; the new trials are ranked beside the "
        "earlier ones in one leaderboard: give this run its own hydra.sweeper.study_name to keep them apart (or the "
        "study's settings to resume it as it was)")


def test_a_key_searched_now_or_then_is_no_change_of_settings():
    study = _study("model.c1=8 data.batch_size=64")  # model.c1 searched then, fixed now; batch_size fixed then, searched now
    space = SearchSpace(values={"data.batch_size": IntDistribution(32, 128)}, fixed={"model.c1": "10"})
    assert changed_settings(study, space) is None


def test_a_resumed_sweep_warns_once_where_its_settings_changed(tmp_path):
    args = [a for a in sweep_args(tmp_path, "mixed", 1, "optimizer.lr=interval(0.01,0.1)") if a not in TINY] + TINY
    first = run(args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    same = run([a.replace("n_trials=1", "n_trials=2") for a in args], cwd=tmp_path)
    assert same.returncode == 0 and "ranked beside" not in same.stdout + same.stderr
    other = [a.replace("n_trials=1", "n_trials=3").replace("data.train_limit=512", "data.train_limit=300") for a in args]
    out = run(other, cwd=tmp_path)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-2000:]
    assert text.count("this run gives data.train_limit=300 where its trial 1 had data.train_limit=512") == 1, text[-2000:]


def test_a_key_the_study_never_searched_is_named_with_the_value_its_trials_had(tmp_path):
    """model.c2=choice(8,10) added on resume was accepted without a word, though the earlier trials all ran with
    one c2 (their override's, else the config's default, read from the trial's saved config)."""
    study = _study("model.c1=8 model.c2=12", "model.c1=9")
    assert newly_searched(study, _space()) is None  # the same searched keys
    new = SearchSpace(values={"model.c1": IntDistribution(4, 12), "model.c2": CategoricalDistribution([8, 10]),
                              "model.c3": IntDistribution(8, 16)})
    line = newly_searched(study, new)
    assert line == (
        "study s: this run searches model.c2=choice(8,10), model.c3=int(interval(8,16)), which its earlier trials did not: "
        "its trial 1 had model.c2 as its config had it, model.c3 as its config had it; the new trials are ranked beside "
        "the earlier ones in one leaderboard: give this run its own hydra.sweeper.study_name to keep them apart (or leave "
        "model.c2, model.c3 out of the search to resume it as it was)"), line
    trial = tmp_path / "trial_0001"  # the last trial's saved config gives the values it ran with
    (trial / ".hydra").mkdir(parents=True)
    (trial / ".hydra" / "config.yaml").write_text("model:\n  c2: 16\n  c3: 24\n")
    study = _study("model.c1=8 model.c2=12", "model.c1=9", trial_dir=trial)
    assert "its trial 1 had model.c2=16, model.c3=24; " in newly_searched(study, new)
    study = _study("model.c1=8 model.c2=12")  # the last trial's own override
    assert "its trial 0 had model.c2=12, model.c3 as its config had it; " in newly_searched(study, new)
    assert resume_warnings(study, new) == [newly_searched(study, new)]  # the sweep's start logs each
    assert len(resume_warnings(study, SearchSpace(values=new.values, fixed={"data.train_limit": "400"}))) == 2


def test_a_resumed_sweep_that_searches_a_new_key_warns_once_with_its_earlier_value(tmp_path):
    args = [a for a in sweep_args(tmp_path, "grown", 1, "optimizer.lr=interval(0.01,0.1)") if a not in TINY] + TINY
    first = run(args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    out = run([*(a.replace("n_trials=1", "n_trials=2") for a in args), "model.c2=choice(8,10)"], cwd=tmp_path)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-2000:]
    assert text.count("study grown: this run searches model.c2=choice(8,10), which its earlier trials did not: its trial 0 "
                      "had model.c2=16; ") == 1, text[-3000:]


def test_a_teacher_trained_again_under_the_same_path_is_named_on_resume(tmp_path, monkeypatch):
    """The same trainer.teacher path with other weights (the teacher trained again) resumed without a word: the new
    trials, distilled from the new weights, were ranked beside those of the old (a duplicate showing the old's value)."""
    import hashlib
    import json

    from hydra_plugins.mnist_sweep_sweeper._teacher import retrained

    monkeypatch.chdir(tmp_path)
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "model.pt").write_bytes(b"old weights")
    trial = tmp_path / "sw" / "trial_0000"
    trial.mkdir(parents=True)
    sha = hashlib.sha256(b"old weights").hexdigest()
    (trial / "result.json").write_text(json.dumps({"status": "complete", "val_acc": 0.5, "teacher": {
        "path": "t", "sha256": sha, "params": 900, "alpha": 0.5, "temperature": 4.0}}))
    study, space = _study("model.c1=8 trainer.teacher=t", trial_dir=trial), _space(**{"trainer.teacher": "t"})
    assert retrained(study, space) is None and resume_warnings(study, space) == []
    (tmp_path / "t" / "model.pt").write_bytes(b"new weights")
    [line] = resume_warnings(study, space)
    assert line.startswith(f"study s: trainer.teacher: t/model.pt has changed since its trial 0 was distilled from it "
                           f"(sha256 {hashlib.sha256(b'new weights').hexdigest()[:12]}... now, {sha[:12]}... recorded); "
                           "the new trials are ranked beside the earlier ones in one leaderboard"), line
    (tmp_path / "t" / "model.pt").unlink()  # gone: the start's teacher check refuses it, no warning here
    assert retrained(study, space) is None
