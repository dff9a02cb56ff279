"""``python -m mnist_sweep.train [overrides]`` trains one config; ``-m`` runs the Optuna sweep.

The entry point is mnist_sweep.cli (this module only starts it, so that it runs once); the
training loop is mnist_sweep.training, whose ``train`` is importable from here too.
"""
from __future__ import annotations

import sys

from mnist_sweep.cli import main
from mnist_sweep.training import precheck, train

__all__ = ["main", "precheck", "train"]

if __name__ == "__main__":
    sys.exit(main())
