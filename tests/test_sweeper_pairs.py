"""Two swept config groups some of whose option pairs do not compose together (a --config-dir's
scheduler=mysched sets optimizer.momentum, which optimizer=adam lacks): the draw that composes the
group choices rejects such a candidate in one line, as any candidate that does not compose; the
sweep went on from none of them (Hydra's composition error ended it at the first such draw)."""
from __future__ import annotations

from types import SimpleNamespace

import optuna
import pytest
from hydra import compose as hydra_compose
from hydra import initialize_config_dir

from conftest import CONF
from hydra_plugins.mnist_sweep_sweeper._compose import Composer
from hydra_plugins.mnist_sweep_sweeper._loop import Hooks, Limits, Loop
from hydra_plugins.mnist_sweep_sweeper._precheck import Precheck
from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace
from mnist_sweep.errors import SweepError

CLASH = "scheduler/mysched.yaml sets optimizer.momentum, which optimizer=adam does not have"
choice = optuna.distributions.CategoricalDistribution


@pytest.fixture(scope="module")
def compose(tmp_path_factory):
    """Hydra's composition of conf/ with a --config-dir holding two schedulers that set optimizer.momentum."""
    d = tmp_path_factory.mktemp("pairs")
    (d / "scheduler").mkdir()
    for name in ("mysched", "mysched2"):
        (d / "scheduler" / f"{name}.yaml").write_text("# @package _global_\ndefaults:\n  - /scheduler/onecycle@scheduler\n"
                                                      "  - _self_\noptimizer:\n  momentum: 0.8\n")

    def load(overrides: list[str]):
        with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
            return hydra_compose("config", overrides=[f"hydra.searchpath=[file://{d}]", *overrides])
    return Composer(load)


def space(optimizers: tuple[str, ...], schedulers: tuple[str, ...]) -> SearchSpace:
    return SearchSpace(groups={"optimizer": choice(optimizers), "scheduler": choice(schedulers)},
                       values={"optimizer.lr": optuna.distributions.FloatDistribution(0.01, 0.1)})


def loop_of(tmp_path, sp: SearchSpace, compose) -> Loop:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    loop = Loop(study, sp, tmp_path, "trial_{number:04d}", Limits(100, 1, 1000, 50, 1.0, None),
                Hooks(compose, None, lambda cfg: {}, None, lambda number: None))
    loop.rejected = loop.duplicates = loop.passed = 0  # as run() starts
    loop.uncomposed, loop.first_number, loop.held = [], None, []
    return loop


def test_a_drawn_pair_that_does_not_compose_is_rejected_in_one_line_and_the_sweep_goes_on(tmp_path, compose):
    loop = loop_of(tmp_path, space(("sgd", "adam"), ("onecycle", "mysched")), compose)
    batch = loop._candidates(8, [], SimpleNamespace(beat=lambda trial: None))
    assert len(batch) == 8 and loop.rejected >= 1, loop.rejected
    rejected = [t for t in loop.study.trials if t.user_attrs.get("status") == "rejected"]
    assert {(t.params["optimizer"], t.params["scheduler"]) for t in rejected} == {("adam", "mysched")}
    assert {t.user_attrs["error"] for t in rejected} == {CLASH}  # a --config-dir's file: not conf/'s


def test_a_space_none_of_whose_pairs_compose_stops_at_the_20th_candidate(tmp_path, compose):
    loop = loop_of(tmp_path, space(("adam", "adamw"), ("mysched", "mysched2")), compose)
    with pytest.raises(SweepError, match=r"^hydra\.sweeper\.params: the first 20 candidates did not compose: "
                                         r"scheduler/mysched2?\.yaml sets optimizer\.momentum, which optimizer=adamw? "):
        loop._candidates(1, [], SimpleNamespace(beat=lambda trial: None))
    assert len(loop.study.trials) == 20


def test_a_base_config_whose_first_options_do_not_compose_is_refused_only_where_no_draw_does(compose):
    """The base config (each swept group at its first option) was composed before the study, and
    its error ended the sweep though other pairs compose."""
    check = Precheck(compose, lambda cfg: {}, "mnist_sweep.training.precheck")
    check.base(space(("adam", "sgd"), ("mysched", "onecycle")))
    with pytest.raises(SweepError) as e:
        check.base(space(("adam", "adamw"), ("mysched", "mysched2")))
    assert str(e.value).startswith("hydra.sweeper.params: no candidate composes (optimizer=adam scheduler=mysched, "
                                   f"nor any of 50 random draws): {CLASH}; take one of the groups out"), str(e.value)
