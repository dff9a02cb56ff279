"""The current directory, checked on import, before anything else of the package runs (its ``__init__`` imports this)."""
from __future__ import annotations

import os
import sys


def refuse_a_deleted_cwd() -> None:
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


refuse_a_deleted_cwd()
