"""``hydra/sweeper=mnist_optuna``: registers the sweeper's config and its pruner and sampler options
in Hydra's ConfigStore (mnist_sweep.config.sweeper holds the dataclasses). Hydra imports this
module in every process, so it imports nothing heavy.

The stock sampler names (tpe, random, cmaes, nsgaii, grid, motpe) are registered again, for
Optuna 5. ConfigStore keeps the last ``store`` of a name, and Hydra's plugin scan imports (and
re-executes) plugin modules in ``hydra_plugins.__path__`` order, which puts the stock plugin
before or after this one depending on sys.path; so the sampler group keeps an option stored by
this plugin when another provider stores the same name later (``_KeepOurs``).
"""
# No `from __future__ import annotations`: Hydra execs plugin modules outside sys.modules.
from typing import Any, Dict

from hydra.core.config_store import ConfigStore

from mnist_sweep.config.sweeper import (
    CmaEsSamplerConf, GPSamplerConf, GridSamplerConf, HyperbandPrunerConf, MedianPrunerConf, MnistOptunaSweeperConf,
    MnistTPESamplerConf, MOTPESamplerConf, NopPrunerConf, NSGAIISamplerConf, ProjectionPrunerConf, RandomSamplerConf,
    SuccessiveHalvingPrunerConf, TargetPrunerConf, ThresholdPrunerConf, TPESamplerConf, WilcoxonPrunerConf,
)

PROVIDER = "mnist_sweep"
PRUNERS = {"median": MedianPrunerConf, "halving": SuccessiveHalvingPrunerConf, "hyperband": HyperbandPrunerConf,
           "threshold": ThresholdPrunerConf, "wilcoxon": WilcoxonPrunerConf, "none": NopPrunerConf,
           "projection": ProjectionPrunerConf, "target": TargetPrunerConf}
SAMPLERS = {"mnist_tpe": MnistTPESamplerConf, "gp": GPSamplerConf,
            # the stock names, for Optuna 5 (motpe: TPE, Optuna 5 has no MOTPESampler)
            "tpe": TPESamplerConf, "random": RandomSamplerConf, "cmaes": CmaEsSamplerConf,
            "nsgaii": NSGAIISamplerConf, "grid": GridSamplerConf, "motpe": MOTPESamplerConf}


class _KeepOurs(dict):
    """A ConfigStore group: an option stored by this plugin is not replaced by a later store of the
    same name from another provider (the stock plugin's config module, run after this one)."""

    keeps_provider = PROVIDER

    def __setitem__(self, name: str, node: Any) -> None:
        old = self.get(name)
        if getattr(old, "provider", None) == PROVIDER and getattr(node, "provider", None) != PROVIDER:
            return
        super().__setitem__(name, node)


def _kept_group(path: str) -> Dict[str, Any]:
    """The ConfigStore's dict for group ``path``, made a _KeepOurs (once per ConfigStore)."""
    parent: Dict[str, Any] = ConfigStore.instance().repo
    *parents, last = path.split("/")
    for name in parents:
        parent = parent.setdefault(name, {})
    if getattr(parent.get(last), "keeps_provider", None) != PROVIDER:  # the class of an earlier exec counts too
        parent[last] = _KeepOurs(parent.get(last, {}))
    return parent[last]


def register() -> None:
    store = ConfigStore.instance().store
    store(group="hydra/sweeper", name="mnist_optuna", node=MnistOptunaSweeperConf, provider=PROVIDER)
    for name, node in PRUNERS.items():
        store(group="hydra/sweeper/pruner", name=name, node=node, provider=PROVIDER)
    _kept_group("hydra/sweeper/sampler")
    for name, node in SAMPLERS.items():
        store(group="hydra/sweeper/sampler", name=name, node=node, provider=PROVIDER)


register()
