"""The sweeper plugin's shape: a thin front that a single run never looks behind, its keys taken
from one dataclass, and the stock sampler names registered for Optuna 5 (ours win)."""
from __future__ import annotations

import importlib
import json
import subprocess
import sys
import warnings

import pytest
from hydra.utils import instantiate

from conftest import TINY, _env, make_cfg_hydra

SAMPLERS = ["tpe", "random", "cmaes", "nsgaii", "grid", "motpe", "mnist_tpe", "gp"]


@pytest.mark.slow
def test_a_single_run_imports_only_the_front(tmp_path):
    """Hydra imports the public plugin modules in every process: a single run (not -m) must load
    no private module of the sweeper (nor its torch-using preview) and leave Optuna's log level."""
    code = (
        "import json, sys, optuna\n"
        "from mnist_sweep.cli import main\n"
        f"rc = main({[*TINY, 'data.augment.strength=0', f'hydra.run.dir={tmp_path}/run']!r})\n"
        "print(json.dumps({'rc': rc, 'verbosity': optuna.logging.get_verbosity(),"
        " 'plugin': sorted(m for m in sys.modules if m.startswith('hydra_plugins.mnist_sweep_sweeper'))}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env=_env(None))
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["rc"] == 0
    assert seen["plugin"] == ["hydra_plugins.mnist_sweep_sweeper", "hydra_plugins.mnist_sweep_sweeper.config",
                              "hydra_plugins.mnist_sweep_sweeper.sweeper"]
    assert seen["verbosity"] == 20  # optuna.logging.INFO, its default: the sweep sets WARNING, a run does not


def test_the_front_takes_every_key_from_the_dataclass():
    from hydra_plugins.mnist_sweep_sweeper._impl import sweeper_conf
    from mnist_sweep.config.sweeper import MnistOptunaSweeperConf
    from mnist_sweep.errors import SweepError

    conf = sweeper_conf({"n_trials": 3, "sampler": None})
    assert conf.n_trials == 3 and conf.max_duplicates == MnistOptunaSweeperConf.max_duplicates
    assert conf.trial_dir == MnistOptunaSweeperConf.trial_dir
    with pytest.raises(SweepError, match="hydra.sweeper.n_trails: not a key"):
        sweeper_conf({"n_trails": 3})


@pytest.mark.parametrize("name", SAMPLERS)
def test_each_sampler_composes_and_builds_without_a_warning(name):
    """The stock names pass nothing Optuna 5 deprecated or removed (under -Werror a sweep would fail)."""
    cfg = make_cfg_hydra(f"hydra/sweeper/sampler={name}")
    assert cfg.hydra.sweeper.sampler._target_.startswith("optuna.samplers.")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sampler = instantiate(cfg.hydra.sweeper.sampler)
        if name == "grid":  # a partial until the sweeper knows the grid
            sampler = sampler({"model.c3": [8, 16]})
    import optuna

    assert isinstance(sampler, optuna.samplers.BaseSampler)
    if name == "motpe":
        assert isinstance(sampler, optuna.samplers.TPESampler)  # Optuna 5 has no MOTPESampler


def test_our_sampler_configs_win_over_the_stock_ones_whatever_the_order():
    """ConfigStore keeps the last store of a name; the stock plugin's module may run after ours
    (Hydra's scan follows sys.path, and re-executes modules): ours stay."""
    from hydra.core.config_store import ConfigStore

    import hydra_plugins.hydra_optuna_sweeper.config as stock
    import hydra_plugins.mnist_sweep_sweeper.config as ours

    group = ConfigStore.instance().repo["hydra"]["sweeper"]["sampler"]
    for first, second in ((ours, stock), (stock, ours), (ours, stock)):
        importlib.reload(first)
        importlib.reload(second)
        assert {group[f"{n}.yaml"].provider for n in ("tpe", "cmaes", "random", "nsgaii", "grid", "motpe")} == {"mnist_sweep"}
    assert "consider_prior" not in make_cfg_hydra("hydra/sweeper/sampler=tpe").hydra.sweeper.sampler
    # another provider's new name is stored as usual
    ConfigStore.instance().store(group="hydra/sweeper/sampler", name="someone_elses", node={"_target_": "x"}, provider="x")
    assert group["someone_elses.yaml"].provider == "x"
    del group["someone_elses.yaml"]
