"""``python -m mnist_sweep.train [overrides]`` trains one config; ``-m`` runs the Optuna sweep.

The entry point is mnist_sweep.cli (this module only starts it, so that it runs once); the
training loop is mnist_sweep.training, whose ``train`` is importable from here too.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from mnist_sweep import children

if __name__ == "__main__":  # SIGTERM as Ctrl-C before the imports below and main's checks (seconds)
    children.from_the_start()
try:
    from mnist_sweep.cli import main
except KeyboardInterrupt:  # Ctrl-C or SIGTERM while importing: one line, not a traceback or a silent exit -15
    if __name__ != "__main__":
        raise
    print(children.BEFORE_START, file=sys.stderr)
    sys.exit(130)

if TYPE_CHECKING:  # for type checkers; at run time __getattr__ below imports them on first use
    from mnist_sweep.training import precheck, train

__all__ = ["main", "precheck", "train"]


def __getattr__(name: str) -> Any:
    """``train`` and ``precheck``, imported on first use: torch and matplotlib cost about 2 s that a
    command line refused in one line never pays."""
    if name in ("precheck", "train"):
        from mnist_sweep import training

        return getattr(training, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    sys.exit(main())
