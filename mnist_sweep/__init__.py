"""mnist_sweep: Hydra + Optuna sweeps of small CNNs for MNIST under a parameter budget."""
from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"

#: Repository root (the package is installed in editable/compat mode).
PROJECT_ROOT = Path(__file__).resolve().parents[1]

import os as _os

# optuna 2.10's RDB models trip SQLAlchemy 1.4's "2.0 migration" warning; we pin sqlalchemy<2.
_os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

# The config schemas (schema/<section>/<name> in Hydra's ConfigStore), named by conf/*.yaml's defaults.
from mnist_sweep import schema as _schema  # noqa: E402,F401
