"""``hydra/sweeper=mnist_optuna``: registers the sweeper's config (mnist_sweep.config.sweeper holds
the dataclasses) and its pruner and sampler options in Hydra's ConfigStore."""
from hydra.core.config_store import ConfigStore

from mnist_sweep.config.sweeper import (
    GPSamplerConf, HyperbandPrunerConf, MedianPrunerConf, MnistOptunaSweeperConf, MnistTPESamplerConf, NopPrunerConf,
    SuccessiveHalvingPrunerConf, ThresholdPrunerConf, WilcoxonPrunerConf,
)

ConfigStore.instance().store(
    group="hydra/sweeper", name="mnist_optuna", node=MnistOptunaSweeperConf, provider="mnist_sweep"
)

for _name, _node in [
    ("median", MedianPrunerConf),
    ("halving", SuccessiveHalvingPrunerConf),
    ("hyperband", HyperbandPrunerConf),
    ("threshold", ThresholdPrunerConf),
    ("wilcoxon", WilcoxonPrunerConf),
    ("none", NopPrunerConf),
]:
    ConfigStore.instance().store(group="hydra/sweeper/pruner", name=_name, node=_node, provider="mnist_sweep")

for _name, _node in [("mnist_tpe", MnistTPESamplerConf), ("gp", GPSamplerConf)]:
    ConfigStore.instance().store(group="hydra/sweeper/sampler", name=_name, node=_node, provider="mnist_sweep")
