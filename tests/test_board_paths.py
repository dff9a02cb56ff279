"""mnist_sweep.board_paths: cheap to import, so the dashboard takes its sweep dir lines from it
(the lines themselves are tested with the leaderboard, tests/test_leaderboard.py)."""
from __future__ import annotations

import importlib
import sys

import mnist_sweep


def test_importing_it_imports_no_pandas_torch_or_optuna():
    """It imported pandas (through results, moved and sweeps), so the dashboard kept its own
    narrower copy of sweep_holding. Imported afresh here with those three unimportable."""
    modules, package = dict(sys.modules), dict(vars(mnist_sweep))  # both put back afterwards
    for name in [n for n in modules if n.startswith("mnist_sweep.") and not n.startswith("mnist_sweep.config")]:
        del sys.modules[name]
    sys.modules.update(dict.fromkeys(("pandas", "torch", "optuna")))  # None: importing one raises ImportError
    try:
        board_paths = importlib.import_module("mnist_sweep.board_paths")
        assert board_paths.sweep_holding(board_paths.Path("no-such-dir/x")) is None  # callable without them too
    finally:
        for name in set(sys.modules) - set(modules):
            del sys.modules[name]
        sys.modules.update(modules)
        vars(mnist_sweep).clear()  # the fresh submodules were bound on the package too
        vars(mnist_sweep).update(package)
