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


def test_a_commands_training_run_is_a_fork_that_reports_as_its_subprocess_would(monkeypatch):
    """conftest._ForkingSubprocess: confirm's and reproduce's runs (Children.run of python -m mnist_sweep.*)
    are forks with Popen's stdout and stderr apart, their own process group and this process's
    environment as it is; any other command is still a new interpreter."""
    import os
    import sys
    import types

    from conftest import Forked
    from mnist_sweep import children

    def main(argv):  # noqa: ANN001, ANN202
        print(os.getpgid(0), os.getpid(), os.environ.get("FORKED_SEES"), *argv)
        print("to stderr", file=sys.stderr)
        return 3

    monkeypatch.setitem(sys.modules, "mnist_sweep.fake_entry", types.SimpleNamespace(main=main))
    monkeypatch.setenv("FORKED_SEES", "this-env")
    started = []
    popen = children.subprocess.Popen
    monkeypatch.setattr(children.subprocess, "Popen", lambda cmd, **kw: started.append(popen(cmd, **kw)) or started[-1])
    proc = children.Children().run([sys.executable, "-m", "mnist_sweep.fake_entry", "a b"])
    assert isinstance(started[0], Forked) and proc.returncode == 3 and proc.stderr == "to stderr\n", proc
    pgid, pid, env, *argv = proc.stdout.split()
    assert pgid == pid != str(os.getpid()) and env == "this-env" and argv == ["a", "b"], proc.stdout
    other = children.Children().run([sys.executable, "-c", "print('a new interpreter')"])
    assert not isinstance(started[1], Forked) and other.stdout == "a new interpreter\n"


BACKWARD = '''
import torch

def main(argv):
    torch.nn.Linear(4, 2)(torch.randn(3, 4)).sum().backward()
    print("backward-ran", flush=True)
    return 0
'''


def test_a_fork_after_a_fake_tensor_and_a_backward_here_can_still_backward(tmp_path, monkeypatch):
    """export --onnx (torch.export's FakeTensorMode) in a test, then a test's in-process training: the
    forked re-run of a later reproduce failed in backward ('autograd's threading in combination with
    fork-based multiprocessing'; conftest._autograd_forkable). Fails without it when run alone."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        torch.randn(2)
    torch.nn.Linear(4, 2)(torch.randn(3, 4)).sum().backward()
    (tmp_path / "backward_entry.py").write_text(textwrap.dedent(BACKWARD))
    monkeypatch.syspath_prepend(str(tmp_path))
    child = Forked(["backward_entry"], tmp_path)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0 and "backward-ran" in out, out[-2000:]
