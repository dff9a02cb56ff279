"""mnist_sweep: Hydra + Optuna sweeps of small CNNs for MNIST under a parameter budget."""
from __future__ import annotations

import os
import sys
from pathlib import Path

__version__ = "0.1.0"

#: Repository root (the package is installed in editable/compat mode).
PROJECT_ROOT = Path(__file__).resolve().parents[1]



def _refuse_a_deleted_cwd() -> None:
    """One line, exit 2, when the current directory was deleted (or its file system unmounted) after the
    shell entered it: importing torch there killed the process ('Intel oneMKL FATAL ERROR: Cannot load
    libtorch_cpu.so', exit 2: export, predict, report, data verify, ...), and train was Hydra's
    FileNotFoundError traceback from os.getcwd(). Every command resolves its relative paths (outputs/,
    a run's data.root) against this dir, so none is run without it."""
    try:
        os.getcwd()
    except FileNotFoundError:
        shell = os.environ.get("PWD")  # the shell's name for it, where it kept one that is gone now
        named = f" {shell}" if shell and not os.path.isdir(shell) else ""
        print(f"error: the current directory{named} no longer exists (deleted or unmounted after the shell entered it); "
              "cd to an existing directory and run the command again", file=sys.stderr)
        raise SystemExit(2) from None


_refuse_a_deleted_cwd()

# The config schemas (schema/<section>/<name> in Hydra's ConfigStore), named by conf/*.yaml's defaults.
from mnist_sweep.config.sections import register as _register  # noqa: E402

_register()
