"""SIGTERM or Ctrl-C to confirm stops its training runs: killed with SIGTERM, it left them training on
their own (two at a time), writing into --out after it had gone. No training here: each run is a
sleeper that records its pid (a fork of this process runs confirm)."""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from conftest import spawn
from mnist_sweep import confirm
from test_export_precision import auto_trial

SLEEPER = "import os, sys, time; open(sys.argv[1] + '.tmp', 'w').write(str(os.getpid())); " \
          "os.replace(sys.argv[1] + '.tmp', sys.argv[1]); time.sleep(120)"


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie no parent reaped yet does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_for(check, what: str, timeout: float = 60.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"no {what} after {timeout:.0f} s"
        time.sleep(0.05)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads a process's state in /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_runs_in_flight_and_starts_no_more(tmp_path, monkeypatch, sig):
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setattr(confirm, "train_command", lambda *args: [sys.executable, "-c", SLEEPER,
                                                                 str(pids / args[-1].strip("'").rsplit("/", 1)[-1])])
    out = tmp_path / "out"
    proc = spawn(["mnist_sweep.confirm", str(auto_trial(tmp_path, precision="fp32")), "--top", "1", "--seeds", "3",
                  "--parallel", "2", "--out", str(out)], cwd=tmp_path)
    running: list[int] = []
    try:
        wait_for(lambda: len(list(pids.glob("seed_?"))) == 2, "two runs started")
        running = [int(p.read_text()) for p in pids.glob("seed_?")]
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 130, proc.communicate()[0]
        said = proc.communicate()[0]  # a bare 'interrupted' said nothing of what was kept or how to go on
        assert f"interrupted: no robustness.csv written; runs finished so far stay in {out} and the same command " \
               "reuses them" in said, said
        assert not [pid for pid in running if alive(pid)]  # stopped with it, and reaped
        assert sorted(p.name for p in pids.iterdir()) == ["seed_1", "seed_2"]  # seed 3 never started
        assert not out.exists()  # no robustness.csv; the dirs made for the runs removed while empty
    finally:
        for pid in running:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
