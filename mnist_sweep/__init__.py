"""mnist_sweep: Hydra + Optuna sweeps of small CNNs for MNIST under a parameter budget."""
from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"

#: Repository root (the package is installed in editable/compat mode).
PROJECT_ROOT = Path(__file__).resolve().parents[1]

from mnist_sweep import cwd as _cwd  # noqa: E402, F401 - a deleted current dir refused before torch is imported
# The config schemas (schema/<section>/<name> in Hydra's ConfigStore), named by conf/*.yaml's defaults.
from mnist_sweep.config.sections import register as _register  # noqa: E402

_register()
