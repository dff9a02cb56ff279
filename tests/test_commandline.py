"""mnist_sweep.commandline: every entry point's flags against their schema."""
from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from conftest import assert_one_line_error, run

from mnist_sweep import PROJECT_ROOT
from mnist_sweep.commandline import check_cli


def test_cli_flags_are_checked_against_their_schema(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").write_text("epoch\n1\n")
    ns = SimpleNamespace
    assert "--top" in check_cli("python -m mnist_sweep.leaderboard", ns(top=0))
    assert "holds a run" in check_cli("python -m mnist_sweep.reproduce", ns(out=str(run)))
    assert "holds a run" in check_cli("python -m mnist_sweep.confirm", ns(out=str(run)))
    assert check_cli("python -m mnist_sweep.confirm", ns(out=str(tmp_path / "new"))) is None
    (tmp_path / "afile").write_text("")  # a dir under a file: refused as --out (reproduce named its config dir)
    assert "afile/x: Not a directory" in check_cli("python -m mnist_sweep.reproduce", ns(out=str(tmp_path / "afile/x")))
    missing = f"sqlite:///{tmp_path}/none.db"
    assert "no such SQLite file" in check_cli("python -m mnist_sweep.report", ns(storage=missing))
    assert not (tmp_path / "none.db").exists()
    assert "clear text" in check_cli("python -m mnist_sweep.leaderboard", ns(storage="postgresql://u:pw@h/d"))


def test_leaderboard_from_the_environment_never_creates_a_database(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_SWEEP_STORAGE", f"sqlite:///{tmp_path}/env.db")
    line = check_cli("python -m mnist_sweep.leaderboard", SimpleNamespace(storage=None, study="s"))
    assert line.startswith("--storage (default $MNIST_SWEEP_STORAGE): ") and "no such SQLite file" in line
    monkeypatch.setenv("MNIST_SWEEP_STORAGE", "postgresql://u:pw@h/d")  # a password in the environment is fine
    assert check_cli("python -m mnist_sweep.leaderboard", SimpleNamespace(storage=None, study="s")) is None
    assert list(tmp_path.iterdir()) == []


def test_a_readers_clear_text_password_names_the_url_to_give_instead():
    """leaderboard/report --storage with a password: 'which would be saved in every trial's config', a sweep's
    words (a reader saves none), and no word of the URL to give instead."""
    line = check_cli("python -m mnist_sweep.report", SimpleNamespace(storage="postgresql://u:pw@h/d?sslmode=require"))
    assert line == ("--storage: 'postgresql://u:***@h/d?sslmode=require' has its password in clear text, which ps and the "
                    "shell's history show; export MNIST_SWEEP_STORAGE='<the full URL>' and give --storage "
                    "'postgresql://u@h/d?sslmode=require' (its password is read there)")


def test_a_positional_of_any_count_is_not_named_as_required(tmp_path):
    """predict's usage shows ``run_dir [images ...]``; with nothing given the line names run_dir
    alone (argparse named ``images`` among the required arguments too)."""
    proc = run(["mnist_sweep.predict"], cwd=tmp_path)
    line = assert_one_line_error(proc, "required: run_dir (see python -m mnist_sweep.predict --help)")
    assert "images" not in line and proc.returncode == 2


@pytest.mark.parametrize("module", ["leaderboard", "reproduce", "confirm", "report", "export", "predict", "data",
                                    "dashboard"])
def test_help_prints_no_rest_quotes(tmp_path, module):
    """Each --help's description is its module docstring's first line: ``report.html`` printed
    with its double backquotes (report, export, dashboard)."""
    proc = run([f"mnist_sweep.{module}", "--help"], cwd=tmp_path)
    assert proc.returncode == 0 and "usage: python -m mnist_sweep." in proc.stdout
    assert "``" not in proc.stdout, proc.stdout


USAGE_ERRORS = [  # every entry point with nothing it needs: its line ends as the parser's own do
    (["mnist_sweep.leaderboard"], "give a sweep dir, a leaderboard CSV, or --storage URL --study NAME"),
    (["mnist_sweep.leaderboard", "--study", "x"], "--study x: needs --storage URL or $MNIST_SWEEP_STORAGE"),
    (["mnist_sweep.export", "."], "give --out conf/experiment/NAME.yaml, --onnx FILE.onnx, or both"),
    (["mnist_sweep.report"], "required: path"),
    (["mnist_sweep.reproduce"], "required: path"),
    (["mnist_sweep.confirm"], "give a leaderboard (or sweep dir) or --experiment NAME"),
    (["mnist_sweep.dashboard"], "required: target"),
    (["mnist_sweep.data"], "required: {fetch,verify}"),
]


@pytest.mark.parametrize("argv, needle", USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_a_usage_error_ends_pointing_at_help(tmp_path, argv, needle):
    """leaderboard with no arguments, predict without images or --test and export without --out or
    --onnx said what to give but not '(see ... --help)', as every parser's usage error does."""
    from conftest import run_inproc

    line = assert_one_line_error(run_inproc(argv, cwd=tmp_path, env={"MNIST_SWEEP_STORAGE": ""}), needle)
    assert line.endswith(f"(see python -m {argv[0]} --help)"), line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["mnist_sweep.leaderboard"], ["mnist_sweep.confirm"]], ids=["leaderboard", "confirm"])
def test_a_command_given_no_sweep_names_the_sweep_dirs_here(tmp_path, argv):
    """After the README's quick sweep, 'leaderboard' (or 'confirm') alone said only 'give a sweep dir, ...': the
    newcomer had to know where sweeps go. The line now names the sweep dirs in outputs/sweeps (as a path that
    does not exist does), and stays as it was where there are none."""
    from conftest import run_inproc

    env = {"MNIST_SWEEP_STORAGE": ""}
    bare = assert_one_line_error(run_inproc(argv, cwd=tmp_path, env=env))
    assert "sweep dirs here" not in bare
    for name in ("quick", "mnist_sweep"):
        (tmp_path / "outputs" / "sweeps" / name).mkdir(parents=True)
        (tmp_path / "outputs" / "sweeps" / name / "leaderboard.csv").write_text("rank,trial,status,trial_dir\n")
    line = assert_one_line_error(run_inproc(argv, cwd=tmp_path, env=env))
    assert line == bare.replace(" (see", "; sweep dirs here: outputs/sweeps/mnist_sweep, outputs/sweeps/quick (see"), line


def test_a_mistyped_flag_names_the_nearest_one(capsys):
    """'--tset' was 'unrecognized arguments: --tset' alone; a flag of another command (--top) or
    nothing alike (--hp, never --help) still names none."""
    from mnist_sweep.commandline import CliParser

    p = CliParser(prog="python -m mnist_sweep.x")
    for flag in ("--test", "--columns", "--out"):
        p.add_argument(flag)
    for argv, said in [(["--tset", "1"], "--tset 1; did you mean --test? (see"), (["--colums=a"], "did you mean --columns?"),
                       (["--hp"], "--hp (see"), (["--top", "1"], "--top 1 (see")]:
        with pytest.raises(SystemExit):
            p.parse_args(argv)
        assert said in capsys.readouterr().err


@pytest.mark.parametrize("argv, meant", [(["s", "--seed", "3"], "--seeds"), (["s", "--seed=3"], "--seeds"),
                                         (["s", "--tri", "2"], "--trial"), (["s", "--par", "2"], "--parallel")])
def test_an_abbreviated_flag_is_refused_not_read_as_the_flag_it_begins(capsys, argv, meant):
    """confirm --seed 3 (meaning one seed, 3) confirmed three seeds: argparse read it as --seeds 3."""
    from mnist_sweep import confirm

    with pytest.raises(SystemExit) as e:
        confirm.main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and f"unrecognized arguments: {argv[1]}" in err, err
    assert f"did you mean {meant}?" in err, err


@pytest.mark.parametrize("argv", [["s", "--top", "5", "--trial", "3"], ["s", "--trial", "3", "--top=5"],
                                  ["s", "--top", "4", "--trial", "3"]])
def test_two_flags_of_one_exclusive_group_are_refused_whatever_their_values(capsys, argv):
    """confirm --top 5 --trial 3 confirmed trial 3 alone: argparse saw --top's 5 as its default, not given."""
    from mnist_sweep import confirm

    with pytest.raises(SystemExit) as e:
        confirm.main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and "not allowed with argument --t" in err, err


def test_predicts_usage_error_ends_pointing_at_help(tiny_sweep, tmp_path):
    """predict checks its run dir first (an image given first is named as such), so its usage
    error needs a real run: a trial dir with neither images nor --test."""
    from conftest import run_inproc

    trial = tiny_sweep.dir / f"trial_{int(tiny_sweep.board.trial.iloc[0]):04d}"
    line = assert_one_line_error(run_inproc(["mnist_sweep.predict", str(trial)], cwd=tmp_path),
                                 "give IMAGE files to classify, --test, or both")
    assert line.endswith("(see python -m mnist_sweep.predict --help)"), line
    assert list(tmp_path.iterdir()) == []


OUT_OF_RANGE = [  # (entry point, flag, value, the line): a number outside its range names a valid one to give
    ("leaderboard", "top", 0, "--top: must be in [1, 1,000,000], got 0; give a whole number from 1 to 1,000,000, e.g. --top 10"),
    ("confirm", "seeds", 0, "--seeds: must be in [1, 100], got 0; give a whole number from 1 to 100, e.g. --seeds 5"),
    ("dashboard", "port", 70000, "--port: must be in [1, 65535], got 70000; give a whole number from 1 to 65535, "
                                 "e.g. --port 8080"),
    ("reproduce", "trial", -1, "--trial: must be in [0, 1,000,000,000], got -1; give a whole number from 0 to "
                               "1,000,000,000, e.g. --trial 0"),
    ("confirm", "override", "a b", "--set: must be KEY=VALUE, got 'a b'"),  # its text says it
]


@pytest.mark.parametrize("prog, dest, value, line", OUT_OF_RANGE, ids=[f"{p} {d}={v}" for p, d, v, _ in OUT_OF_RANGE])
def test_a_flag_out_of_its_range_says_what_to_give(prog, dest, value, line):
    """--top 0 said 'must be in [1, 1,000,000], got 0' and no value to give instead."""
    assert check_cli(f"python -m mnist_sweep.{prog}", SimpleNamespace(**{dest: value})) == line


EMPTY_PATHS = [  # (argv, what the line says to give): each kind of path flag given ""
    (["mnist_sweep.leaderboard", ".", "--storage", ""], "--storage: expected a storage URL, got ''; e.g. sqlite:///"),
    (["mnist_sweep.report", ".", "--storage", ""], "--storage: expected a storage URL, got ''; e.g. sqlite:///"),
    (["mnist_sweep.leaderboard", ".", "--out", ""], "--out: expected a path, got ''; give a .csv file name"),
    (["mnist_sweep.confirm", "x.csv", "--out", ""], "--out: expected a path, got ''; give a new or empty directory"),
]
LONG = "/".join(["x" * 250] * 17)  # each name fits, the path is over PATH_MAX (4,096 bytes): is_dir() raised
EMPTY_PATHS += [(argv, f"--out: {LONG}{tail}: File name too long; the path is ")  # was 'at most 255 bytes a name', of names of 250
                for argv, tail in ((["mnist_sweep.confirm", "x.csv", "--out", LONG], ""),
                                   (["mnist_sweep.reproduce", "x.csv", "--out", LONG], ""),
                                   (["mnist_sweep.leaderboard", ".", "--out", f"{LONG}/a.csv"], "/a.csv"))]
EMPTY_PATHS += [([f"mnist_sweep.{c}", "x.csv", "--out", "c\udce9"], "--out: c\\udce9: not a UTF-8 path (byte \\xe9)")
                for c in ("confirm", "reproduce")]  # a Latin-1 name: 'the re-run failed with exit code 2: hydra.run.dir: ...'


@pytest.mark.parametrize("argv, needle", EMPTY_PATHS, ids=[" ".join(a)[:80] for a, _ in EMPTY_PATHS])
def test_an_empty_path_flag_says_what_kind_of_value_it_takes(tmp_path, argv, needle):
    """--storage "" said 'expected a path': a storage flag takes a URL, and says so with an example."""
    assert_one_line_error(run(argv, cwd=tmp_path, env={"MNIST_SWEEP_STORAGE": ""}), needle)
    assert list(tmp_path.iterdir()) == []


BROKEN = {  # a pipe the command itself writes to, whose other end is gone
    "socket": "a, b = socket.socketpair(); b.close(); a.sendall(b'x' * 1_000_000)",
    "subprocess": "p = subprocess.Popen(['true'], stdin=subprocess.PIPE); p.wait(); p.stdin.write(b'x' * 1_000_000); "
                  "p.stdin.flush()",
}


@pytest.mark.parametrize("pipe", sorted(BROKEN))
def test_a_broken_pipe_other_than_stdout_is_an_error(tmp_path, pipe):
    """Any BrokenPipeError ended the command quietly with 141, as if `| head` had stopped reading:
    a subprocess or connection that died left no word; only stdout's reader gone is quiet."""
    script = ("import socket, subprocess, sys\nfrom mnist_sweep.commandline import exit_code_of\n"
              f"def body():\n    print('working', flush=True)\n    {BROKEN[pipe]}\n"
              "sys.exit(exit_code_of(body, 'prog'))\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert proc.returncode == 2 and proc.stdout == "working\n", proc
    assert proc.stderr.startswith("error: [Errno 32] Broken pipe; the process or connection it wrote to closed"), proc
    assert len(proc.stderr.splitlines()) == 1


def test_a_quoted_tilde_in_a_path_flag_is_the_home_dir_not_a_dir_named_tilde(tmp_path, monkeypatch):
    """leaderboard --out '~/lb.csv' (export --onnx, reproduce --out: quoted, the shell left the ~) wrote
    ./~/lb.csv, making a dir named ~ (one rm -r away from the home dir); an input '~/x' was 'no such file'.
    Every path flag is expanded as data.root is; a storage URL is not (its own check names a ~)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    ns = SimpleNamespace(out="~/lb.csv", paths=["~/sw"], storage=None)
    assert check_cli("python -m mnist_sweep.leaderboard", ns) is None
    assert (ns.out, ns.paths) == (f"{tmp_path}/home/lb.csv", [f"{tmp_path}/home/sw"])
    ns = SimpleNamespace(source="~/sw", out="~/cfg/experiment/a.yaml", onnx="~/m.onnx")
    assert check_cli("python -m mnist_sweep.export", ns) is None
    home = f"{tmp_path}/home"
    assert (ns.source, ns.out, ns.onnx) == (f"{home}/sw", f"{home}/cfg/experiment/a.yaml", f"{home}/m.onnx")
    ns = SimpleNamespace(out="~/rx", path="a~b", images=["~/d.png"], run_dir="~")
    assert check_cli("python -m mnist_sweep.reproduce", ns) is None and (ns.out, ns.path) == (f"{tmp_path}/home/rx", "a~b")
    assert check_cli("python -m mnist_sweep.predict", ns) is None and ns.images == [f"{tmp_path}/home/d.png"]
    assert ns.run_dir == f"{tmp_path}/home" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("module", ["reproduce", "export", "confirm", "report", "leaderboard", "predict"])
def test_a_path_the_shell_split_at_a_space_is_named_quoted(tmp_path, module):
    """``reproduce /tmp/my sweeps/a b`` (unquoted) is named quoted, as one argument: it said 'unrecognized
    arguments: sweeps/a b' (reproduce, export, confirm, report) or '/tmp/my: no such file' (leaderboard, predict)."""
    (tmp_path / "my sweeps" / "a b").mkdir(parents=True)
    proc = run([f"mnist_sweep.{module}", "my", "sweeps/a", "b"], cwd=tmp_path)
    assert_one_line_error(proc, "my: no such file or directory; a path with a space is one argument, "
                          "quoted: 'my sweeps/a b'")
    assert proc.returncode == 2


def test_a_split_path_is_named_only_where_it_names_a_path(tmp_path):
    """An --out in a dir with a space is named quoted (it does not exist yet); words that join into
    nothing there keep their own error, without the hint."""
    (tmp_path / "my outs").mkdir()
    (tmp_path / "sw").mkdir()
    proc = run(["mnist_sweep.export", "sw", "--out", "my", "outs/x.yaml"], cwd=tmp_path)
    assert_one_line_error(proc, "unrecognized arguments: outs/x.yaml; a path with a space is one argument, "
                          "quoted: 'my outs/x.yaml'")
    for argv in (["mnist_sweep.reproduce", "sw", "3"], ["mnist_sweep.export", "sw", "--out", "new", "x.yaml"],
                 ["mnist_sweep.leaderboard", "nope", "extra"]):
        assert "quoted" not in assert_one_line_error(run(argv, cwd=tmp_path))


def test_a_set_value_the_shell_split_at_a_space_is_named_quoted(tmp_path):
    """confirm --experiment tiny --set data.root=/tmp/my data said only 'data and --experiment: confirm takes
    a sweep's trials or experiments, not both', the value's end read as a leaderboard: now the pair is
    named quoted, as train names it; a flag's own value (--out=/x y) is not taken for one."""
    from conftest import run_inproc

    proc = run_inproc(["mnist_sweep.confirm", "--experiment", "tiny", "--set", f"data.root={tmp_path}/my", "data"], tmp_path)
    assert_one_line_error(proc, f"; a value with a space is one argument, quoted: 'data.root={tmp_path}/my data' (see")
    proc = run_inproc(["mnist_sweep.leaderboard", f"--out={tmp_path}/x.csv", "nosuch"], tmp_path)
    assert "quoted" not in assert_one_line_error(proc, "nosuch")


def test_a_file_named_like_a_flag_is_said_to_be_one(tmp_path, monkeypatch, capsys):
    """predict RUN -x.png said only 'unrecognized arguments: -x.png': argparse reads a name starting
    with - as a flag; the line now says the file is there and how to give it."""
    from mnist_sweep import leaderboard, predict

    monkeypatch.chdir(tmp_path)
    (tmp_path / "-x.png").write_bytes(b"")
    for main, argv in ((predict.main, ["run", "-x.png"]), (leaderboard.main, ["-x.png"])):
        with pytest.raises(SystemExit) as e:
            main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert e.value.code == 2 and len(err) == 1, err
        assert "unrecognized arguments: -x.png; -x.png is a file, read as a flag (its name starts with -): " \
               "give it as ./-x.png (see python -m mnist_sweep." in err[0], err


@pytest.mark.parametrize("argv, hint", [
    # a trial dir's name, a comma list, a float: 'invalid int value: ...' alone
    (["mnist_sweep.reproduce", "sw", "--trial", "trial_0004"], "invalid int value: 'trial_0004'; give the number alone: "
                                                               "--trial 4 (see python -m mnist_sweep.reproduce --help)"),
    (["mnist_sweep.confirm", "sw", "--trial", "1,2"], "invalid int value: '1,2'; give the numbers apart, without commas: "
                                                      "--trial 1 2 (see python -m mnist_sweep.confirm --help)"),
    (["mnist_sweep.confirm", "sw", "--trial", "1,", "2"], "invalid int value: '1,'; give the numbers apart, without "
                                                          "commas: --trial 1 ... (see"),
    (["mnist_sweep.export", "sw", "--trial", "1,2"], "invalid int value: '1,2'; --trial takes one number (see"),
    (["mnist_sweep.leaderboard", "sw", "--top", "1e3"], "invalid int value: '1e3'; give a whole number: --top 1000 (see"),
    (["mnist_sweep.reproduce", "sw", "--rank", "one"], "invalid int value: 'one' (see"),  # no number to give
])
def test_a_number_written_otherwise_is_given_back_as_the_flag_takes_it(tmp_path, argv, hint):
    from conftest import run_inproc

    proc = run_inproc(argv, cwd=tmp_path)
    assert assert_one_line_error(proc).endswith(hint if hint.endswith("help)") else hint.removesuffix(" (see")
                                                + f" (see python -m {argv[0]} --help)"), proc.stderr
    assert proc.returncode == 2 and list(tmp_path.iterdir()) == []
