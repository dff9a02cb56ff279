"""SIGTERM, a hang-up or Ctrl-C to reproduce stops its re-run: killed with SIGTERM (or its terminal
closed), it left the re-run training on its own in --out after it had gone, and Ctrl-C killed it
(SIGKILL) a quarter second after. No training here: the re-run is a sleeper that records its pid and
the SIGTERM it gets (a fork of this process runs reproduce)."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from conftest import spawn
from mnist_sweep import reproduce
from mnist_sweep.differences import COMPARED
from test_confirm_signals import alive, wait_for
from test_export_precision import auto_trial

SLEEPER = "import os, signal, sys, time; p = sys.argv[1]; " \
          "signal.signal(signal.SIGTERM, lambda *a: (open(p + '.term', 'w').close(), sys.exit(130))); " \
          "open(p + '.tmp', 'w').write(str(os.getpid())); os.replace(p + '.tmp', p); time.sleep(120)"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads a process's state in /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_stops_the_rerun_with_one_sigterm_and_exits_130(tmp_path, monkeypatch, sig):
    pid_file = tmp_path / "rerun"
    monkeypatch.setattr(reproduce, "train_command", lambda *args: [sys.executable, "-c", SLEEPER, str(pid_file)])
    sw = auto_trial(tmp_path, precision="fp32")
    (sw / "trial_0000" / "metrics.csv").write_text(f"epoch,{','.join(COMPARED)}\n1,{','.join(['0.5'] * len(COMPARED))}\n")
    out = tmp_path / "out"
    proc = spawn(["mnist_sweep.reproduce", str(sw), "--out", str(out)], cwd=tmp_path)
    pid = None
    try:
        wait_for(pid_file.exists, "re-run started")
        pid = int(pid_file.read_text())
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 130, proc.communicate()[0]
        said = proc.communicate()[0].rstrip()  # a bare 'interrupted' said nothing of what was left or how to go on
        assert said.endswith("interrupted: nothing compared; run it again (with a new --out if the re-run left its "
                             "epochs in yours)"), said
        assert not alive(pid)  # stopped with it, and waited for
        assert pid_file.with_suffix(".term").exists()  # stopped as train is on Ctrl-C, not killed
        assert not out.exists()  # nothing written by reproduce itself
    finally:
        if pid is not None and alive(pid):
            os.kill(pid, signal.SIGKILL)
