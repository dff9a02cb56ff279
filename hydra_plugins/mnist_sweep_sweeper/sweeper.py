"""``hydra/sweeper=mnist_optuna``: the stock hydra-optuna-sweeper, extended (a subclass).

Hydra imports every module of a plugin package whose name has no leading underscore, in every
process (a single run too). So this module is a thin front, as the stock plugin's is: it imports
only light things, and the sweeper itself (``_impl``) is imported when Hydra instantiates it,
that is in a sweep. What the sweeper adds to the stock loop, each concern in its own module:

- ``_space``: group choices sampled first, keys that don't exist in the chosen config not
  sampled (a conditional space), every key and option checked against conf/ before any trial;
  the stock ``custom_search_space`` for conditional parameters sampled in Python.
- ``_loop``: each candidate is composed and passed to ``precheck`` before launch (an over-budget
  model is recorded as ``rejected``, never trained); a candidate equal to a trial already in the
  study is recorded as ``duplicate`` and not trained again; ``n_trials`` is the study's total,
  so re-running the command resumes.
- ``_study``: storage opened with retries while workers race to create it (SQLite, PostgreSQL,
  journal files), old schemas upgraded, a sampler seed of its own for every process, warm-start
  trials (``enqueue``), results told to Optuna and kept in the storage.
- ``_liveness``: trials of dead workers failed as ``lost`` (pid on this host, heartbeats anywhere).
- ``_workers``: ``workers - 1`` helper processes on the same study; ``_log``: every worker's
  per-trial lines on the main console.
- ``_progress``: one line per finished trial with an ETA; ``_preview``: ``dry_run``; ``_pruner``: the
  pruner, and why a sweep prunes nothing (a multi-objective study's pruner named in a warning).
- ``_precheck``: the base config checked before the study is touched; ``_corner``: the space's
  smallest model (a budget nothing fits is one line at once); ``_groups``: swept config groups
  (``glob(...)``, options the fixed groups cannot run with).
- ``_compose``: candidates composed fast for the checks; ``_optuna``: the private APIs used.
"""
# No `from __future__ import annotations`: Hydra execs plugin modules outside sys.modules.
from typing import Any

from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper


class MnistOptunaSweeper(OptunaSweeper):
    """The thin front: the stock sweeper's keys plus ours, as ``hydra.sweeper`` holds them
    (mnist_sweep.config.sweeper.MnistOptunaSweeperConf: their defaults live there only).
    ``setup`` and ``sweep`` are the stock front's: they call ``self.sweeper``."""

    def __init__(self, **config: Any) -> None:  # noqa: D107 - not the stock signature: every key by name
        from hydra_plugins.mnist_sweep_sweeper._impl import MnistOptunaSweeperImpl

        self.sweeper = MnistOptunaSweeperImpl(config)
