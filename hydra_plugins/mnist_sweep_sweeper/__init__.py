"""The project's Optuna sweeper: hydra-optuna-sweeper, subclassed (not forked).

``config`` (the ConfigStore entries) and ``sweeper`` (the thin front class) are the only public
modules, because Hydra imports every public module of a plugin package in every process; all
the rest is private (``_impl`` and what it uses) and imported when a sweep starts. Imports point
down: these modules import mnist_sweep, never the reverse.
"""
