"""errors.unusable_path: the one line for a path the file system refuses."""
from __future__ import annotations

import errno
import os

import pytest

from mnist_sweep.errors import unusable_path


def refusal(action) -> OSError:
    with pytest.raises(OSError) as e:
        action()
    return e.value


@pytest.mark.parametrize("make", [lambda p: os.mkdir(p), lambda p: os.makedirs(p / "sub", exist_ok=True),
                                  lambda p: open(p / "x.csv", "w")], ids=["mkdir", "makedirs below", "open below"])
def test_a_dangling_link_in_the_way_is_named_a_link_to_its_target(tmp_path, make):
    """A link to a directory that is gone (an unmounted scratch disk) was called 'a file, not a
    directory' (FileExistsError) or had its permissions blamed (ENOENT below it)."""
    link, target = tmp_path / "out", tmp_path / "scratch" / "gone"
    link.symlink_to(target)
    line = unusable_path(refusal(lambda: make(link)), "hydra.sweep.dir")
    assert line.startswith(f"hydra.sweep.dir: {link}"), line
    assert f"({link} is a link to {target}, which does not exist); create {target}, point the link elsewhere " \
           f"(ln -sfn DIR {link}) or remove it (rm {link})" in line, line
    assert "is a file" not in line and "permissions" not in line


def test_a_file_in_the_way_is_still_named_a_file(tmp_path):
    (tmp_path / "a").write_text("")
    line = unusable_path(refusal(lambda: os.makedirs(tmp_path / "a" / "b")))
    assert f"({tmp_path / 'a'} is a file, not a directory); move the file" in line, line


def test_a_broken_pipe_blames_no_path_or_permission():
    line = unusable_path(BrokenPipeError(errno.EPIPE, "Broken pipe"))
    assert line.startswith("[Errno 32] Broken pipe; the process or connection it wrote to closed") and "permission" not in line


def test_a_link_to_nothing_is_worded_in_one_place_each_line_as_before(tmp_path):
    """errors.unusable_path, export.check_writable, checkpoint._regular and predict._check_regular each
    wrote 'a link to T, which does not exist' themselves; errors.dangling_link words it, each keeps its fix."""
    from mnist_sweep import PROJECT_ROOT, checkpoint, export, predict
    from mnist_sweep.errors import MnistSweepError, dangling_link

    assert dangling_link(tmp_path / "l", "t") == f"{tmp_path / 'l'} is a link to t, which does not exist"
    assert dangling_link(None, "t") == "a link to t, which does not exist"
    gone = tmp_path / "gone"
    (link := tmp_path / "model.pt").symlink_to(gone)
    lines = {}
    for name, call in (("checkpoint", lambda: checkpoint._regular(link)), ("predict", lambda: predict._check_regular(link)),
                       ("export", lambda: export.check_writable("--out", link / "mine.yaml", False))):
        with pytest.raises(MnistSweepError) as e:
            call()
        lines[name] = str(e.value)
    assert lines == {
        "checkpoint": f"{link}: a link to {gone}, which does not exist; restore the file the run wrote (copy the run "
                      "dir again), or train the run again",
        "predict": f"{link}: a link to {gone}, which does not exist; fix the link or give the image file itself",
        "export": f"--out {link / 'mine.yaml'}: {link} is a link to {gone}, which does not exist; create it or choose "
                  "another path"}
    spelled = [p.name for p in (PROJECT_ROOT / "mnist_sweep").rglob("*.py") if p.name != "errors.py"
               and "which does not exist" in p.read_text()]
    assert spelled == [], spelled
