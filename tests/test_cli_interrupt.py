"""Ctrl-C in one run (not a sweep): the line says what was kept and that a run starts over; it said
'finished runs and trials are kept; run the same command again to resume', a sweep's line, and a
run does not resume."""
from __future__ import annotations

from conftest import TINY, run_inproc

import mnist_sweep.cli


def _interrupt_after(epochs: int):
    def train(st, out_dir, **kwargs):  # noqa: ANN001, ANN202, ARG001
        if epochs:
            (out_dir / "metrics.csv").write_text("epoch,val_acc\n1,0.5\n")
        raise KeyboardInterrupt
    return train


def test_an_interrupted_run_says_it_starts_over_and_names_its_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_sweep.cli, "train", _interrupt_after(1))
    proc = run_inproc(["mnist_sweep.train", *TINY, f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert proc.returncode == 130
    (line,) = [l for l in proc.stderr.splitlines() if l.startswith("interrupted")]
    assert f"the run in {tmp_path / 'run'} did not finish" in line and "trains it again from its first epoch" in line
    assert "resume" not in line.replace("does not resume", "")
    assert (tmp_path / "run" / "metrics.csv").exists()  # its epochs so far are kept


def test_a_run_interrupted_before_its_first_epoch_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_sweep.cli, "train", _interrupt_after(0))
    proc = run_inproc(["mnist_sweep.train", *TINY, f"hydra.run.dir={tmp_path}/out/run"], cwd=tmp_path)
    assert proc.returncode == 130
    assert "interrupted before the first epoch ended: nothing kept" in proc.stderr
    assert not (tmp_path / "out").exists()  # the run dir and the dir made above it


def _others_write_then_interrupt(st, out_dir, **kwargs):  # noqa: ANN001, ANN003, ANN202, ARG001
    """While the run trains, the user (an editor, another program) writes in its dir; then Ctrl-C."""
    (out_dir / "notes.txt").write_text("written while the run trained")
    (out_dir / "project").mkdir()
    (out_dir / "project" / "main.py").write_text("code")
    raise KeyboardInterrupt


def test_an_interrupt_in_the_users_own_dir_removes_only_the_runs_files(tmp_path, monkeypatch):
    """hydra.run.dir=. (the dir the user works in): Ctrl-C before the first epoch ended removed
    every file that appeared anywhere under it while the run trained, the user's and other programs'."""
    (tmp_path / "existing.txt").write_text("kept")
    monkeypatch.setattr(mnist_sweep.cli, "train", _others_write_then_interrupt)
    proc = run_inproc(["mnist_sweep.train", *TINY, "hydra.run.dir=."], cwd=tmp_path)
    assert proc.returncode == 130 and "nothing kept" in proc.stderr
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "existing.txt", "notes.txt", "project", "project/main.py"]  # .hydra/ and train.log: the run's, gone


def test_an_interrupt_keeps_a_new_run_dir_that_others_wrote_in(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_sweep.cli, "train", _others_write_then_interrupt)
    proc = run_inproc(["mnist_sweep.train", *TINY, f"hydra.run.dir={tmp_path}/out/run"], cwd=tmp_path)
    assert proc.returncode == 130
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "out", "out/run", "out/run/notes.txt", "out/run/project", "out/run/project/main.py"]


def test_an_interrupt_in_the_checks_before_the_run_is_one_line(tmp_path, monkeypatch, capsys):
    """Ctrl-C in the first seconds (composing and checking, importing torch) was a 50-line traceback."""
    import pytest

    def interrupted(args):  # noqa: ANN001, ANN202, ARG001
        raise KeyboardInterrupt

    monkeypatch.setattr(mnist_sweep.cli, "check_command_line", interrupted)
    monkeypatch.chdir(tmp_path)
    try:
        code = mnist_sweep.cli.main(["-m", "hydra.sweeper.n_trials=1"])
    except KeyboardInterrupt:
        pytest.fail("the interrupt escaped main")
    assert code == 130 and capsys.readouterr().err == "interrupted before anything started: nothing written\n"
    assert list(tmp_path.iterdir()) == []


HELD = '''
import pathlib, runpy, sys, time
marker, where = sys.argv[1], sys.argv[2]
def hold(*args, **kwargs):
    pathlib.Path(marker + ".tmp").write_text(where)
    pathlib.Path(marker + ".tmp").replace(marker)  # whole when seen
    for _ in range(1200):  # short sleeps: a SIGTERM the kernel gave another thread is handled within 0.1 s
        time.sleep(0.1)
if where == "import":  # held while mnist_sweep.cli is imported (hydra, omegaconf, the config layer)
    class Hold:
        def find_spec(self, name, path=None, target=None):
            return hold() if name == "mnist_sweep.cli" else None
    sys.meta_path.insert(0, Hold())
else:  # held in main's checks of the command line (composing, importing torch: seconds)
    import mnist_sweep.overrides
    mnist_sweep.overrides.check_command_line = hold
sys.argv = ["train", "-m", "hydra.sweeper.dry_run=true", "hydra.sweep.dir=" + str(pathlib.Path(marker).parent / "sw")]
runpy.run_module("mnist_sweep.train", run_name="__main__", alter_sys=True)
'''


def test_a_sigterm_before_the_handler_main_installs_prints_its_line(tmp_path):
    """A SIGTERM in a command's first seconds (its imports, main's checks: before main installed its
    handler) killed it silently, exit -15, nothing printed. The handler is installed as the command
    starts now: one line, exit 130, nothing written. Held at each point, so no timing is assumed."""
    for where in ("import", "checks"):
        rc, err = _sigterm_once_held(tmp_path, tmp_path / f"held-{where}", HELD, where)
        assert (rc, err) == (130, "interrupted before anything started: nothing written\n"), (where, err)
        assert not (tmp_path / "sw").exists()


def _sigterm_once_held(cwd, marker, script: str, *args: str) -> tuple[int, str]:
    """Run ``script`` until it writes ``marker`` (held at the point under test), SIGTERM it: its exit
    code and stderr. Polls for the marker, so no timing is assumed."""
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-c", script, str(marker), *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), proc.communicate(timeout=60)
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # how it held the signal: blocked, ignored or pending, and its threads
        status = [line for line in open(f"/proc/{proc.pid}/status") if line.startswith(("Sig", "Shd", "Threads"))]
        proc.kill()
        raise AssertionError(f"no exit 60 s after SIGTERM; {''.join(status)}{proc.communicate()}") from None
    return proc.returncode, err


HELD_COMMAND = '''
import pathlib, runpy, sys, time
marker, where, module = sys.argv[1], sys.argv[2], sys.argv[3]
def hold(*args, **kwargs):
    pathlib.Path(marker + ".tmp").write_text(where)
    pathlib.Path(marker + ".tmp").replace(marker)  # whole when seen
    for _ in range(1200):  # short sleeps: a SIGTERM the kernel gave another thread is handled within 0.1 s
        time.sleep(0.1)
if where == "import":  # held while the command imports its modules (pandas, the leaderboard, the config layer)
    class Hold:
        def find_spec(self, name, path=None, target=None):
            return hold() if name == "mnist_sweep.leaderboard" else None
    sys.meta_path.insert(0, Hold())
else:  # held in main, reading its flags, before its own interrupt handling
    import mnist_sweep.commandline
    mnist_sweep.commandline.CliParser.parse_args = hold
out = str(pathlib.Path(marker).parent / "out")
sys.argv = [module, *(["--experiment", "tiny"] if module.endswith("confirm") else ["some_run"]), "--out", out]
runpy.run_module(module, run_name="__main__", alter_sys=True)
'''


def test_a_sigterm_before_confirm_or_reproduce_starts_prints_trains_line(tmp_path):
    """confirm and reproduce, SIGTERM'd in their imports or flags (before any run started), exited -15
    silently; now train's line, exit 130, nothing written."""
    for module, where in [(m, w) for m in ("mnist_sweep.confirm", "mnist_sweep.reproduce") for w in ("import", "checks")]:
        rc, err = _sigterm_once_held(tmp_path, tmp_path / f"held-{module}-{where}", HELD_COMMAND, where, module)
        assert (rc, err) == (130, "interrupted before anything started: nothing written\n"), (module, where, err)
        assert not (tmp_path / "out").exists()
