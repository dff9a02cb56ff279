"""Every shipped config composes: each experiment trains within its budget, each search's space
parses and names keys that exist (the real conf/, through Hydra's compose API)."""
from __future__ import annotations

import copy

import pytest
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution

from conftest import CONF, make_cfg, make_cfg_hydra
from hydra_plugins.mnist_sweep_sweeper import _space as sspace
from hydra_plugins.mnist_sweep_sweeper._compose import Composer
from mnist_sweep.errors import MnistSweepError, ParamBudgetExceeded
from mnist_sweep.training import precheck

EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
SEARCHES = sorted(p.stem for p in (CONF / "hparams_search").glob("*.yaml"))
ABSENT = object()


def test_there_are_configs_to_check():
    assert {"best_20k", "tiny", "eva8_seed"} <= set(EXPERIMENTS)
    assert {"default", "best_20k", "tiny", "pareto"} <= set(SEARCHES)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes_and_fits_its_budget(name):
    cfg = make_cfg(f"+experiment={name}")
    params = precheck(cfg)["params"]
    assert 0 < params <= cfg.model.max_params
    assert cfg.data.val_size == 0 and cfg.trainer.select_on == "test"  # the confirmation protocol
    assert cfg.trainer.max_epochs <= 20


@pytest.mark.parametrize("name", SEARCHES)
def test_search_space_parses_and_every_key_exists(name):
    cfg = make_cfg_hydra(f"hparams_search={name}")
    sweeper = cfg.hydra.sweeper
    assert sweeper.n_trials >= 1 and sweeper.study_name

    # as the sweeper composes: once per group choice, values applied by Hydra's own override step
    compose = Composer(lambda overrides: make_cfg_hydra(f"hparams_search={name}", *overrides))

    entries = [f"{k}={v}" for k, v in sweeper.params.items()]
    space = sspace.build(entries, set(cfg.hydra.runtime.choices), compose)
    assert space.distributions, name
    try:  # the base config is valid; only its size may be over the budget (widths are searched)
        precheck(make_cfg(f"hparams_search={name}"))
    except ParamBudgetExceeded:
        assert any(k.startswith("model.") for k in space.distributions)


@pytest.mark.parametrize("name", SEARCHES)
def test_every_bound_and_choice_of_a_search_is_a_valid_value(name):
    """A searched value that the config checks reject is rejected before launch in every trial
    that draws it: set alone on the base config, each choice and each bound of a range or interval
    must pass them (only the parameter budget may fail: widths are searched). ``fastest`` searched
    range(6, 21), and the Optuna sweeper's range includes its stop: 21, over the 20-epoch cap."""
    cfg = make_cfg_hydra(f"hparams_search={name}")
    compose = Composer(lambda overrides: make_cfg_hydra(f"hparams_search={name}", *overrides))
    space = sspace.build([f"{k}={v}" for k, v in cfg.hydra.sweeper.params.items()],
                         set(cfg.hydra.runtime.choices), compose)
    base, bad = make_cfg(f"hparams_search={name}"), []
    for key, dist in space.values.items():
        if OmegaConf.select(base, key, default=ABSENT) is ABSENT:
            continue  # the key exists under another group choice only (a null default is checked)
        for value in dist.choices if isinstance(dist, CategoricalDistribution) else (dist.low, dist.high):
            trial_cfg = copy.deepcopy(base)
            OmegaConf.update(trial_cfg, key, value)
            try:
                precheck(trial_cfg)
            except ParamBudgetExceeded:
                pass
            except MnistSweepError as e:
                bad.append(f"{key}={value}: {e}")
    assert not bad, bad
