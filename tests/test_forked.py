"""conftest.Forked, the tests' stand-in for a new interpreter: it must end and report like one."""
from __future__ import annotations

import signal
import textwrap

from conftest import Forked

ENTRY = '''
import atexit, threading, time, warnings

class Unraisable:
    def __del__(self):
        raise RuntimeError("unraisable-boom")

def fail():
    raise ValueError("thread-boom")

def main(argv):
    warnings.warn("a-user-warning")
    t = threading.Thread(target=fail)
    t.start()
    t.join()
    Unraisable()
    threading.Thread(target=lambda: (time.sleep(0.3), print("late-thread-done", flush=True))).start()
    atexit.register(lambda: print("atexit-ran", flush=True))
    if argv == ["wait"]:
        time.sleep(60)
    return int(argv[0]) if argv else 0
'''


def test_forked_child_ends_and_reports_like_an_interpreter(tmp_path, monkeypatch):
    (tmp_path / "fake_entry.py").write_text(textwrap.dedent(ENTRY))
    monkeypatch.syspath_prepend(str(tmp_path))
    child = Forked(["fake_entry", "3"], tmp_path)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 3
    for seen in ("UserWarning: a-user-warning", "thread-boom", "unraisable-boom", "atexit-ran"):
        assert seen in out, (seen, out)  # not swallowed by pytest's warning and exception capture
    assert out.index("late-thread-done") < out.index("atexit-ran")  # non-daemon threads joined first

    waiting = Forked(["fake_entry", "wait"], tmp_path)
    waiting.send_signal(signal.SIGTERM)
    assert waiting.wait(timeout=60) == -signal.SIGTERM  # a signal's death, as subprocess.Popen reports it


def test_an_in_process_run_sees_this_process_environment_like_a_subprocess(tmp_path, monkeypatch):
    """``run`` in-process once built the run's environment after clearing os.environ: the entry point
    saw none of it (a GPU machine's $MNIST_SWEEP_DATA was ignored and <repo>/data read instead)."""
    from conftest import run

    monkeypatch.setenv("MNIST_SWEEP_DATA", str(tmp_path / "elsewhere"))
    proc = run(["mnist_sweep.data", "verify"], cwd=tmp_path)
    assert proc.returncode != 0 and str(tmp_path / "elsewhere") in proc.stderr, proc.stderr
    proc = run(["mnist_sweep.data", "verify"], cwd=tmp_path, env={"MNIST_SWEEP_DATA": str(tmp_path / "given")})
    assert proc.returncode != 0 and str(tmp_path / "given") in proc.stderr, proc.stderr
