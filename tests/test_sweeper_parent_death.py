"""A helper worker stops when its sweep process dies (``_workers.stop_with_parent``): a sweep
SIGKILLed mid-sweep left its helper training the study alone to n_trials. Real processes, no
sweep: a stand-in sweep process starts its helper with ``Helpers.start``; the helper is a
stand-in too, whose SIGTERM handler (the sweep's stop path, as ``Helpers.stop`` sends it) writes
a file."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hydra_plugins.mnist_sweep_sweeper import _liveness, _workers

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")

HELPER = """
import os, signal, sys, time
from pathlib import Path
out = Path(sys.argv[1])
def stopped(signum, frame):
    out.with_suffix(".stopped").write_text(str(os.getpid()))
    os._exit(130)
signal.signal(signal.SIGTERM, stopped)
from hydra_plugins.mnist_sweep_sweeper._workers import stop_with_parent
stop_with_parent()
out.with_suffix(".ready").write_text(str(os.getpid()))
time.sleep(60)
"""

SWEEP = """
import sys, time
from pathlib import Path
from hydra_plugins.mnist_sweep_sweeper import _workers
d = Path(sys.argv[1])
_workers.helper_command = lambda: [sys.executable, "-c", sys.argv[2], str(d / "helper")]
_workers.Helpers(2, d).start()
time.sleep(60)
"""


def _wait_for(path: Path, timeout: float = 30.0) -> str:
    for _ in range(int(timeout / 0.05)):
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path.name} never written")


def test_a_helper_stops_when_its_sweep_is_sigkilled_and_not_before(tmp_path):
    sweep = subprocess.Popen([sys.executable, "-c", SWEEP, str(tmp_path), HELPER])
    helper = 0
    try:
        helper = int(_wait_for(tmp_path / "helper.ready"))
        time.sleep(0.5)  # its sweep alive: the helper runs on
        assert _liveness.pid_alive(helper) and not (tmp_path / "helper.stopped").exists()
        sweep.kill()
        sweep.wait()
        assert int(_wait_for(tmp_path / "helper.stopped", 10.0)) == helper  # by SIGTERM: its stop path
    finally:
        sweep.kill()
        sweep.wait()
        if helper and _liveness.pid_alive(helper):
            os.kill(helper, signal.SIGKILL)


def test_a_helper_whose_sweep_died_before_it_started_stops_at_once(tmp_path):
    """The sweep gone while the helper imported: PR_SET_PDEATHSIG is set too late to fire."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    env = {**os.environ, _workers.PARENT_ENV: str(gone.pid)}
    proc = subprocess.run([sys.executable, "-c", HELPER, str(tmp_path / "helper")], env=env, timeout=30)
    assert proc.returncode == 130 and (tmp_path / "helper.stopped").exists()
    assert not (tmp_path / "helper.ready").exists()
