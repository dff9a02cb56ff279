"""A locale that is not UTF-8 (Python's UTF-8 mode off, PYTHONUTF8=0 in C) reads a non-ASCII name as escapes
(os.fsdecode's \\udcXX) that no UTF-8 text can hold: every output path flag (--out, --onnx) is refused naming it
(commandline.check_cli, shell.locale_escaped); text that holds such a name all the same is one line
(commandline.exit_code_of); export writes its experiment as UTF-8, as Hydra reads it. Real processes: the
locale is the interpreter's, set when it starts."""
from __future__ import annotations

from conftest import assert_one_line_error, run
from test_export_inputs import board

C_LOCALE = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}
FIX = "set PYTHONUTF8=1 (or a UTF-8 locale, e.g. LC_ALL=C.UTF-8) and run the same command again"


def test_an_out_path_the_locale_cannot_hold_is_one_line_naming_the_flag(tmp_path):
    """export --out DIR/ü/experiment/x.yaml was a UnicodeEncodeError traceback ('surrogates not allowed'), its
    experiment's lines holding the path; the leaderboard's --out and reproduce's were refused, or not, by chance."""
    sweep = board(tmp_path / "sw")
    (tmp_path / "sw" / "leaderboard.csv").write_text(
        f"rank,trial,status,trial_dir\n1,0,complete,{sweep / 'trial_0000'}\n")
    cases = [(["mnist_sweep.export", str(sweep), "--out", f"{tmp_path}/ü/experiment/x.yaml"], "--out"),
             (["mnist_sweep.export", str(sweep), "--onnx", f"{tmp_path}/ü/m.onnx"], "--onnx"),
             (["mnist_sweep.leaderboard", str(sweep), "--out", f"{tmp_path}/ü/board.csv"], "--out")]
    for argv, flag in cases:
        proc = run(argv, cwd=tmp_path, env=C_LOCALE, process=True)
        line = assert_one_line_error(proc, f"error: {flag}: {tmp_path}/\\udcc3\\udcbc/", "a non-ASCII name", FIX)
        assert proc.returncode == 2 and "or choose an ASCII path" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sw"]


def test_text_that_holds_such_a_name_is_one_line_and_nothing_is_left(tmp_path):
    """A sweep dir under a non-ASCII name, its table (trial_dir: the name, in UTF-8) read in the locale's ASCII and
    written to --out: a UnicodeEncodeError traceback, where the name was looked up or written again."""
    sweep = board(tmp_path / "ü")
    out = tmp_path / "new" / "board.csv"
    proc = run(["mnist_sweep.leaderboard", str(sweep), "--out", str(out)], cwd=tmp_path, env=C_LOCALE, process=True)
    assert_one_line_error(proc, "error: '\\xfc' has no ascii form: this locale is not UTF-8", FIX)  # the table's 'ü'
    assert proc.returncode == 2 and not (tmp_path / "new").exists()


def test_export_writes_its_experiment_as_utf8_in_any_locale(tmp_path):
    """A trial judged over seeds: its header's '99.39% ± 0.01%' was a UnicodeEncodeError traceback in the C locale
    (the file written in the locale's ASCII), with an ASCII --out."""
    sweep = board(tmp_path / "sw")
    (sweep / "leaderboard.csv").write_text("rank,trial,status,trial_dir,n_seeds,val_mean,val_sem\n"
                                           f"1,0,complete,{sweep / 'trial_0000'},3,0.9939,0.0001\n")
    out = tmp_path / "mine" / "experiment" / "x.yaml"
    proc = run(["mnist_sweep.export", str(sweep), "--out", str(out)], cwd=tmp_path, env=C_LOCALE, process=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "judged over 3 seeds: validation mean 99.39% ± 0.01% (sem)" in out.read_text(encoding="utf-8")


def test_a_run_dir_the_locale_cannot_hold_says_so_not_that_it_is_no_utf8(tmp_path):
    """hydra.run.dir='DIR/ü' said 'not a UTF-8 path (byte \\xc3) ...; choose a UTF-8 path': it is one, the locale is not."""
    proc = run(["mnist_sweep.train", f"hydra.run.dir='{tmp_path}/ü'", "trainer.max_epochs=1"], cwd=tmp_path,
               env=C_LOCALE, process=True)
    line = assert_one_line_error(proc, f"error: hydra.run.dir: {tmp_path}/\\udcc3\\udcbc: a non-ASCII name", FIX)
    assert "not a UTF-8 path" not in line and list(tmp_path.iterdir()) == []


def test_a_teacher_the_locale_cannot_hold_is_one_line_before_any_training(tmp_path):
    """trainer.teacher='DIR/tü' trained, with a '--- Logging error --- ... UnicodeEncodeError' traceback for the
    'distilling from' line, and result.json and the saved config recorded the escapes ('t\\udcc3\\udcbc'), no name."""
    from conftest import TINY
    from test_distill import make_teacher

    make_teacher(tmp_path / "tü")
    proc = run(["mnist_sweep.train", *TINY, f"trainer.teacher='{tmp_path}/tü'", f"hydra.run.dir={tmp_path}/run"],
               cwd=tmp_path, env=C_LOCALE, process=True)
    line = assert_one_line_error(proc, f"error: trainer.teacher: {tmp_path}/t\\udcc3\\udcbc: a non-ASCII name", FIX)
    assert proc.returncode == 2 and "or choose an ASCII path" in line and not (tmp_path / "run").exists()


def test_an_out_path_that_is_no_utf8_is_one_line_naming_the_flag(tmp_path):
    """export --out DIR/<Latin-1 é>/experiment/x.yaml in a UTF-8 locale said 'a path holds bytes that are no
    UTF-8 (b'\\xe9'), ...; rename it' from its general handler, naming neither --out nor the path; nothing written."""
    sweep = board(tmp_path / "sw")
    (tmp_path / "sw" / "leaderboard.csv").write_text(
        f"rank,trial,status,trial_dir\n1,0,complete,{sweep / 'trial_0000'}\n")
    latin1 = f"{tmp_path}/d\udce9"  # os.fsdecode(b'd\xe9'): the name as argv gives it
    for argv, flag in [(["--out", f"{latin1}/experiment/x.yaml"], "--out"), (["--onnx", f"{latin1}.onnx"], "--onnx")]:
        proc = run(["mnist_sweep.export", str(sweep), *argv], cwd=tmp_path)
        line = assert_one_line_error(proc, f"error: {flag}: {tmp_path}/d\\udce9", ": not a UTF-8 path (byte \\xe9); "
                                     "the lines this command prints hold its path as text", "choose a UTF-8 path")
        assert proc.returncode == 2, line  # confirm's --out's and a run dir's words (errors.not_utf8), not words of its own
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sw"]
