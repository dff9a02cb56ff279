"""A quiet sweep console: in a sweep, each trial's model table, epoch lines and precision timing
(``precision auto: timing ...``) and the launcher's banners go to the trial's ``train.log`` only; the
console keeps one line per trial (from every worker) and the warnings. ``hydra.verbose=true`` (or ``hydra.verbose=[mnist_sweep]``) shows all.

Attached to the console handlers of Hydra's logging configs in conf/config.yaml, which are
ConsoleHandler: once stdout's reader has gone (``train ... | head``), the console's lines are dropped
quietly (each one printed a traceback, ``--- Logging error ---``), and the command goes on to its end.
"""
from __future__ import annotations

import logging
import sys

from mnist_sweep.pipes import stdout_gone

LAUNCHER_BANNERS = ("Joblib.Parallel(", "Launching jobs, sweep output dir", "\t#")
LOG_ONLY = {"log_only": True}  # a record's extra: said on stderr already (a run's warnings, cli.main), for train.log alone


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
    """Drops per-trial detail (INFO and below) from the console of a sweep, and a record said on stderr already
    (``LOG_ONLY``: a run's warnings, printed before its dir existed) from any console."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "log_only", False):
            return False
        if record.levelno > logging.INFO or logging.getLogger("mnist_sweep").isEnabledFor(logging.DEBUG):
            return True
        detail = record.name.startswith(("mnist_sweep.train", "mnist_sweep.precision"))  # a trial's, as its epochs
        banner = record.name.startswith("hydra_plugins.hydra_") and str(record.msg).startswith(LAUNCHER_BANNERS)
        return not ((detail or banner) and _sweeping())


class ConsoleHandler(logging.StreamHandler):
    """logging's StreamHandler, quiet once stdout's reader has gone (``| head`` stopped reading): stdout
    then writes to /dev/null (pipes.stdout_gone), so the run goes on with its lines in train.log alone.
    A character the stream's encoding lacks is written escaped; any other failure is logging's own report."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        gone = isinstance(sys.exc_info()[1], BrokenPipeError) and self.stream in (sys.stdout, sys.__stdout__)
        if isinstance(sys.exc_info()[1], UnicodeEncodeError):  # a locale's stdout (ASCII, Latin-1) without the model
            encoding = getattr(self.stream, "encoding", None) or "ascii"  # table's box lines: written as \u251c escapes
            try:
                self.stream.write(self.format(record).encode(encoding, "backslashreplace").decode(encoding) + self.terminator)
                return self.flush()
            except Exception:  # noqa: BLE001 - logging's own report, as for any other failure
                pass
        if not (gone and stdout_gone()):
            super().handleError(record)


def quiet_info_console() -> None:
    """``train --info``: Hydra logs what it prints through a plain StreamHandler on stdout of its own
    (``simple_stdout_log_config``), not the console of conf/config.yaml; it becomes a ConsoleHandler too,
    so ``--info | head`` is quiet (each line after head had gone printed a traceback)."""
    from hydra._internal import hydra as hydra_internal

    def stdout_log_config(level: int = logging.INFO) -> None:
        root = logging.getLogger()
        root.setLevel(level)
        handler = ConsoleHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)

    hydra_internal.simple_stdout_log_config = stdout_log_config
