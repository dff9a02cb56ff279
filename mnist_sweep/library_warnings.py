"""Two warnings of other libraries that tell a user of this project nothing to act on, each silenced by its
category and its words, nothing else of theirs: Hydra's deprecation of automatic schema matching, said of a
``--config-dir`` file named as one of the sweeper's sampler or pruner options (DIR/hydra/sweeper/sampler/tpe.yaml:
its keys are checked against that option's schema, which this project relies on), and Optuna's ExperimentalWarning
for WilcoxonPruner (``hydra/sweeper/pruner=wilcoxon``, an option this project ships, tested with its pinned Optuna).
"""
from __future__ import annotations

import warnings

SCHEMA_MATCHING = r"\s*'hydra/sweeper/(sampler|pruner)/[^']*' is validated against ConfigStore schema with the same name"
EXPERIMENTAL_PRUNER = r"WilcoxonPruner is experimental"


def quiet(sweep: bool = False) -> None:
    """Hydra's warning (a UserWarning, four times a command: train's checks compose before Hydra starts); with
    ``sweep``, Optuna's too, before a pruner is built (a sweep, before Hydra builds its sweeper; a trial's job in a
    process of its own): Optuna is imported there all the same, a single run's start never imports it."""
    warnings.filterwarnings("ignore", SCHEMA_MATCHING, UserWarning)
    if sweep:
        from optuna.exceptions import ExperimentalWarning

        warnings.filterwarnings("ignore", EXPERIMENTAL_PRUNER, ExperimentalWarning)
