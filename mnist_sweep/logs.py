"""A quiet sweep console: in a sweep, each trial's model table and epoch lines and the launcher's
banners go to the trial's ``train.log`` only; the console keeps one line per trial (from every
worker) and the warnings. ``hydra.verbose=true`` (or ``hydra.verbose=[mnist_sweep]``) shows all.

Attached to the console handlers of Hydra's logging configs in conf/config.yaml.
"""
from __future__ import annotations

import logging

LAUNCHER_BANNERS = ("Joblib.Parallel(", "Launching jobs, sweep output dir", "\t#")


def _sweeping() -> bool:
    """In a sweep process or a sweep job (before the first job, Hydra has not set its config yet)."""
    import sys

    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if "-m" in sys.argv or "--multirun" in sys.argv:
        return True
    try:
        return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
    except Exception:  # noqa: BLE001 - no Hydra config: not a sweep
        return False


class SweepConsoleFilter(logging.Filter):
    """Drops per-trial detail (INFO and below) from the console of a sweep."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO or logging.getLogger("mnist_sweep").isEnabledFor(logging.DEBUG):
            return True
        detail = record.name.startswith("mnist_sweep.train")
        banner = record.name.startswith("hydra_plugins.hydra_") and str(record.msg).startswith(LAUNCHER_BANNERS)
        return not ((detail or banner) and _sweeping())
