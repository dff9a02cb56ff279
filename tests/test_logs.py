"""mnist_sweep/logs.py: the console's log handler, as conf/config.yaml configures it."""
from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from mnist_sweep import PROJECT_ROOT

LOG_LINES = """\
import logging, sys
from hydra import compose, initialize_config_dir
from hydra.core.utils import configure_log
with initialize_config_dir(config_dir={conf!r}, version_base=None):
    cfg = compose("config", return_hydra_config=True)
cfg.hydra.runtime.output_dir = "."  # train.log (the file handler) in the test's dir
configure_log(cfg.hydra.{which})
for i in range(3):
    logging.getLogger("mnist_sweep.cli").info("line %d", i)
print("went on", file=sys.stderr)
"""


@pytest.mark.parametrize("which", ["job_logging", "hydra_logging"])
def test_the_console_is_quiet_once_its_reader_has_gone(tmp_path, which):
    """``python -m mnist_sweep.train -m hydra.sweeper.dry_run=true | head -2`` (a run's too): every log
    line after head had gone printed '--- Logging error ---' and a traceback of 40 lines on stderr.
    Now the console's lines are dropped quietly and the command goes on to its end."""
    script = LOG_LINES.format(conf=str(PROJECT_ROOT / "conf"), which=which)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    proc.stdout.close()  # before the child has started: its first log line meets a closed pipe
    _, err = proc.communicate(timeout=120)
    assert (proc.returncode, err.decode()) == (0, "went on\n")


def test_the_console_still_reports_another_failure_to_write(tmp_path):
    """Only stdout's reader gone is quiet: a console whose stream cannot be written for another reason
    (here a closed file) is logging's own report on stderr, as before."""
    script = ("import io, logging, sys\nfrom mnist_sweep.logs import ConsoleHandler\n"
              "stream = io.StringIO(); stream.close()\nlog = logging.getLogger('x'); log.propagate = False\n"
              "log.addHandler(ConsoleHandler(stream)); log.warning('lost')\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert proc.returncode == 0 and "--- Logging error ---" in proc.stderr, proc


def test_info_to_a_reader_that_stops_early_is_quiet(tmp_path):
    """``python -m mnist_sweep.train --info | head`` printed '--- Logging error ---' and a traceback for every
    line after head had gone: Hydra logs --info through a StreamHandler of its own, not conf/config.yaml's
    console. That one is a ConsoleHandler now too."""
    proc = subprocess.Popen([sys.executable, "-m", "mnist_sweep.train", "--info"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    proc.stdout.close()  # before the child has started: its first line meets a closed pipe
    _, err = proc.communicate(timeout=120)
    assert (proc.returncode, err.decode()) == (0, "")
    assert list(tmp_path.iterdir()) == []


def test_a_sweeps_console_leaves_a_trials_precision_timing_to_its_log(monkeypatch):
    """'precision auto: timing this model's training steps ...' (INFO, mnist_sweep.precision) reached the sweep's
    console for each new model the sweep's own process trained, between the one-line-per-trial lines (a helper
    worker's went to its log); it is a trial's detail, as its epoch lines are. A run's console keeps it."""
    from mnist_sweep import logs

    def shown(level: int, sweeping: bool) -> bool:
        monkeypatch.setattr(logs, "_sweeping", lambda: sweeping)
        record = logging.LogRecord("mnist_sweep.precision", level, __file__, 1, "precision auto: timing ...", None, None)
        return logs.SweepConsoleFilter().filter(record)

    assert not shown(logging.INFO, sweeping=True)
    assert shown(logging.WARNING, sweeping=True) and shown(logging.INFO, sweeping=False)


ASCII_LOCALE = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}  # Python's own UTF-8 mode off: stdout and files ASCII


def test_a_locale_without_the_model_tables_characters_writes_them(tmp_path):
    """In a non-UTF-8 locale (ASCII here; Latin-1 lacks them too) a run's model table ('├─Sequential', torchinfo's
    box lines) was '--- Logging error ---' and a 40-line traceback twice, the console's and train.log's, and
    the table was in neither. train.log is UTF-8 whatever the locale; the console writes it escaped (\\u251c)."""
    script = LOG_LINES.format(conf=str(PROJECT_ROOT / "conf"), which="job_logging").replace(
        '"line %d", i', '"\\u251c\\u2500Sequential: 1-%d", i')
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, timeout=120,
                          env={**os.environ, **ASCII_LOCALE, "PYTHONPATH": str(PROJECT_ROOT)})
    assert (proc.returncode, proc.stderr.decode()) == (0, "went on\n")
    assert proc.stdout.decode("ascii").count("\\u251c\\u2500Sequential: 1-") == 3
    assert (tmp_path / "train.log").read_text(encoding="utf-8").count("├─Sequential: 1-") == 3
