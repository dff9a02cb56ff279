"""``hydra.sweeper.custom_search_space`` (the stock key): a function ``(cfg, trial) -> None | dict``
samples conditional parameters in Python; its dict adds plain overrides; ``optuna.TrialPruned``
from it rejects the candidate before launch; launched trials are pruned as any other."""
from __future__ import annotations

import optuna
import pytest
from omegaconf import OmegaConf

from conftest import assert_one_line_error, load, run, sweep_args
from hydra_plugins.mnist_sweep_sweeper import _space
from mnist_sweep.errors import SweepError

CONDITIONAL = "test_sweeper_custom.conditional"  # tests/ is on sys.path: pytest's rootdir conftest


def conditional(cfg, trial: optuna.Trial) -> dict:
    """scheduler.gamma for the step schedule, pct_start for OneCycle; c3=8 with step is refused."""
    if trial.params["scheduler"] == "step":
        trial.suggest_float("scheduler.gamma", 0.1, 0.5)
        if trial.params["model.c3"] == 8:
            raise optuna.TrialPruned("c3=8 with the step schedule is not worth training")
    else:
        trial.suggest_float("scheduler.pct_start", 0.2, 0.3)
    return {"trainer.label_smoothing": 0.05}


def fake_compose(overrides: list[str]):
    step = "scheduler=step" in overrides
    return OmegaConf.create({"scheduler": {"gamma": 0.1} if step else {"pct_start": 0.3},
                             "model": {"c3": 16}, "trainer": {"label_smoothing": 0.0}})


def space(custom, **fixed) -> _space.SearchSpace:
    return _space.SearchSpace(
        groups={"scheduler": optuna.distributions.CategoricalDistribution(("step", "onecycle"))},
        values={"model.c3": optuna.distributions.CategoricalDistribution((8, 16))},
        fixed=fixed, custom=lambda trial: custom(None, trial),
    )


def test_custom_parameters_follow_the_sampled_ones():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    sp, kinds = space(conditional), set()
    for _ in range(30):
        trial = study.ask()
        try:
            overrides = _space.suggest(trial, sp, fake_compose)
        except optuna.TrialPruned:
            assert trial.params["scheduler"] == "step" and trial.params["model.c3"] == 8
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            kinds.add("rejected")
            continue
        step = trial.params["scheduler"] == "step"
        assert ("scheduler.gamma" in trial.params) == step and ("scheduler.pct_start" in trial.params) != step
        assert "trainer.label_smoothing=0.05" in overrides and f"model.c3={trial.params['model.c3']}" in overrides
        kinds.add(trial.params["scheduler"])
        study.tell(trial, 0.5)
    assert kinds == {"step", "onecycle", "rejected"}


@pytest.mark.parametrize("custom, needle", [
    (lambda cfg, trial: 1 / 0, "ZeroDivisionError"),
    (lambda cfg, trial: ["model.c3=8"], "None or a dict"),
    (lambda cfg, trial: trial.suggest_int("model.nope", 1, 2) and None, "model.nope: no such key"),
    (lambda cfg, trial: {"model.c3": 8}, "model.c3, which the sweep fixes"),
])
def test_custom_space_errors_are_one_line(custom, needle):
    sp = space(custom, **{"model.c3": "16"})
    sp.values.pop("model.c3")
    with pytest.raises(SweepError) as e:
        _space.suggest(optuna.create_study().ask(), sp, fake_compose)
    assert str(e.value).startswith("hydra.sweeper.custom_search_space: ") and needle in str(e.value), str(e.value)


def test_a_function_that_cannot_be_imported_is_one_line(tmp_path):
    proc = run(sweep_args(tmp_path, "c", 1, "model.c3=choice(8,16)", "hydra.sweeper.custom_search_space=nope.fn"),
               cwd=tmp_path)
    assert_one_line_error(proc, "hydra.sweeper.custom_search_space", "nope.fn")
    assert not (tmp_path / "c" / "optuna.db").exists()


def typo(cfg, trial: optuna.Trial) -> dict:
    """A custom space with a bug: it reads a key the config lacks."""
    return {"model.c3": cfg.model.c33}


@pytest.mark.parametrize("function, needle", [
    ("test_sweeper_custom.typo", "the function raised ConfigAttributeError: Key 'c33' not in 'CnnModelSchema'; fix it"),
    ("os.path.join", "the function raised TypeError"),
])
def test_a_custom_space_that_fails_its_first_draw_leaves_nothing_behind(tmp_path, function, needle):
    """Its error stopped the sweep at the first candidate in one line, but after the study was made:
    optuna.db, storage.json and an empty leaderboard.csv stayed in the new sweep dir."""
    proc = run(sweep_args(tmp_path, "c", 1, "model.c1=choice(8,16)", f"hydra.sweeper.custom_search_space={function}"),
               cwd=tmp_path)
    assert_one_line_error(proc, "hydra.sweeper.custom_search_space: ", needle, "fix it", "or give null")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_tiny_sweep_with_a_custom_space_rejects_and_prunes(tmp_path):
    """Trial 0 (queued: step, c3=8) is refused by the function; the launched trials carry the
    conditional parameter and the dict's override, and the pruner stops them after epoch 1."""
    args = sweep_args(
        tmp_path, "custom", 2, "scheduler=choice(onecycle,step)", "model.c3=choice(8,16)", "trainer.max_epochs=2",
        f"hydra.sweeper.custom_search_space={CONDITIONAL}", "hydra.sweeper.pruner.lower=1.0",
        "hydra.sweeper.enqueue=[{scheduler:step,model.c3:8},{scheduler:onecycle,model.c3:16}]", pruner="threshold",
    )
    proc = run(args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    trials = load(tmp_path, "custom").trials
    first = trials[0]
    assert first.user_attrs["status"] == "rejected" and first.state == optuna.trial.TrialState.PRUNED
    assert "not worth training" in first.user_attrs["error"] and not first.intermediate_values
    assert "trial 0 rejected before launch: hydra.sweeper.custom_search_space: c3=8" in proc.stdout + proc.stderr
    launched = [t for t in trials if t.user_attrs["status"] != "rejected"]
    assert len(launched) == 2 and trials[1].params["scheduler"] == "onecycle"
    for t in launched:
        step = t.params["scheduler"] == "step"
        assert ("scheduler.gamma" in t.params) == step and ("scheduler.pct_start" in t.params) != step
        assert t.user_attrs["status"] == "pruned" and list(t.intermediate_values) == [1]
        assert "trainer.label_smoothing=0.05" in t.user_attrs["overrides"]
        saved = OmegaConf.load(tmp_path / "custom" / f"trial_{t.number:04d}" / ".hydra" / "config.yaml")
        assert saved.trainer.label_smoothing == 0.05
        key = "scheduler.gamma" if step else "scheduler.pct_start"
        assert OmegaConf.select(saved, key) == pytest.approx(t.params[key])
