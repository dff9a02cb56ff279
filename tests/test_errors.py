"""errors: the one line for a path the file system refuses (unusable_path), and the one wording of an empty
or binary file, whichever command reads it (empty_or_binary, not_of_kind)."""
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


BINARY = b"\x00\xff\xfegarbage\x89\x01\x80\x02"
# (what is damaged under the case's dir, its kind, the command line given that dir): every command that reads
# a file a user gives, or one in a dir a user gives, and each kind of file it reads.
BAD_FILES = [
    ("f.csv", "a CSV", lambda d: ["leaderboard", f"{d}/f.csv"]),
    ("f.csv", "a CSV", lambda d: ["reproduce", f"{d}/f.csv", "--rank", "1"]),
    ("f.csv", "a CSV", lambda d: ["confirm", f"{d}/f.csv", "--top", "1"]),
    ("f.csv", "a CSV", lambda d: ["export", f"{d}/f.csv", "--rank", "1", "--onnx", f"{d}/x.onnx"]),
    ("sw/leaderboard.csv", "a CSV", lambda d: ["report", f"{d}/sw"]),
    ("sw/storage.json", "JSON", lambda d: ["dashboard", f"{d}/sw"]),
    ("sw/optuna.db", "an Optuna storage", lambda d: ["dashboard", f"{d}/sw"]),
    ("run/metrics.csv", "a CSV", lambda d: ["reproduce", f"{d}/run", "--out", f"{d}/again"]),
    ("run/.hydra/config.yaml", "YAML", lambda d: ["reproduce", f"{d}/run", "--out", f"{d}/again"]),
    ("run/result.json", "JSON", lambda d: ["predict", f"{d}/run", "--test"]),
    ("run/model.pt", "a PyTorch checkpoint", lambda d: ["predict", f"{d}/run", "--test"]),
    ("digit.png", "an image", lambda d: ["predict", f"{d}/run", f"{d}/digit.png"]),
]


@pytest.mark.parametrize("content", [b"", BINARY], ids=["empty", "binary"])
@pytest.mark.parametrize("name, kind, argv", BAD_FILES, ids=[f"{c(':')[0]} {n}" for n, _, c in BAD_FILES])
def test_an_empty_or_binary_file_reads_alike_in_every_command(tmp_path, name, kind, argv, content):
    """An empty file was 'not a readable CSV (EmptyDataError)' to the leaderboard, reproduce, confirm and
    export, 'unreadable or damaged (No columns to parse from file)' as a metrics.csv, 'not valid JSON
    (JSONDecodeError: ...)' as result.json, 'no model, optimizer, ... section' as a saved config, 'the file is
    empty (0 bytes)' as a storage, 'an empty file, 0 bytes' as model.pt and 'empty file (0 bytes; ...)' as
    an image; a binary one as many ways. Now one line each, errors.EMPTY_FILE or 'not KIND (it begins ...)'."""
    from test_predict import made_run

    from conftest import run_inproc
    from mnist_sweep.errors import EMPTY_FILE

    made_run(tmp_path / "run")
    (tmp_path / "run" / "metrics.csv").write_text("epoch,val_acc,test_acc,train_loss,lr\n1,0.1,0.1,2.3,0.1\n")
    (tmp_path / "sw").mkdir()
    (tmp_path / "sw" / "storage.json").write_text('{"study_name": "x", "storage": "sqlite:///%s/sw/optuna.db"}' % tmp_path)
    (tmp_path / name).write_bytes(content)
    proc = run_inproc([f"mnist_sweep.{argv(tmp_path)[0]}", *argv(tmp_path)[1:]], cwd=tmp_path)
    what = EMPTY_FILE.format(kind=kind) if not content else f"not {kind} (it begins {BINARY!r})"
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and f"{tmp_path / name}: {what}; " in lines[0], proc.stderr


@pytest.mark.parametrize("content", [b"", BINARY], ids=["empty", "binary"])
def test_an_earlier_confirm_table_in_out_reads_alike(tmp_path, content):
    """confirm --out DIR reads DIR/robustness.csv before training: it was 'not a readable CSV (EmptyDataError)'."""
    from mnist_sweep.confirm import earlier_rows
    from mnist_sweep.errors import EMPTY_FILE, MnistSweepError

    (tmp_path / "robustness.csv").write_bytes(content)
    with pytest.raises(MnistSweepError) as e:
        earlier_rows(tmp_path / "robustness.csv", [])
    what = EMPTY_FILE.format(kind="a CSV") if not content else f"not a CSV (it begins {BINARY!r})"
    assert str(e.value) == f"{tmp_path / 'robustness.csv'}: {what}; remove it or give another --out"


@pytest.mark.parametrize("cut, why", [("a,0.99", "row 2 has 2 of the 3 columns"), ("a,0.99,0.", "the file ends in row 2")])
def test_an_earlier_confirm_table_cut_off_is_one_line(tmp_path, cut, why):
    """A robustness.csv cut off in its last row was read with the missing fields empty and written again
    whole with the new rows: the cut hidden for good. Now it is refused before any training."""
    from mnist_sweep.confirm import earlier_rows
    from mnist_sweep.errors import MnistSweepError

    (tmp_path / "robustness.csv").write_text("config,mean,std\nb,0.98,0.001\n" + cut)
    with pytest.raises(MnistSweepError) as e:
        earlier_rows(tmp_path / "robustness.csv", [])
    assert str(e.value).startswith(f"{tmp_path / 'robustness.csv'}: {why}") and str(e.value).endswith("give another --out")


@pytest.mark.parametrize("command", ["reproduce", "confirm", "export"])
def test_a_tagged_value_in_a_saved_config_names_its_key(tmp_path, command):
    """seed: !!timestamp 2020-01-01 in a trial's .hydra/config.yaml read 'PATH: not a config
    (UnsupportedValueType: Value 'date' is not a supported primitive type)': no key, no tag; the
    config file's line (file_errors.value_line) names both."""
    import re

    from conftest import assert_one_line_error, run_inproc, snapshot
    from test_reproduce import COMMANDS, fake_sweep

    sw = fake_sweep(tmp_path)
    saved = sw / "trial_0000" / ".hydra" / "config.yaml"
    saved.write_text(re.sub(r"(?m)^  seed: .*$", "  seed: !!timestamp 2020-01-01", saved.read_text(), count=1))
    before = snapshot(tmp_path)
    proc = run_inproc([*COMMANDS[command](sw, tmp_path / "out"), "--trial", "0"], cwd=tmp_path)
    assert_one_line_error(proc, f"error: {saved}: trainer.seed: YAML's explicit tag !!timestamp made its value a date, "
                          "which no config key takes; drop the tag, or train the config again or pick another run")
    assert proc.returncode == 2 and snapshot(tmp_path) == before
