"""``python -m mnist_sweep`` lists every entry point, one line each."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

from conftest import assert_one_line_error, run, run_inproc
from mnist_sweep.__main__ import ENTRY_POINTS, main

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["train", "train -m", "leaderboard", "reproduce", "confirm", "report", "export", "predict", "data", "dashboard"]


def test_lists_every_entry_point(tmp_path):
    proc = run(["mnist_sweep"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [l for l in proc.stdout.splitlines() if l.startswith("  ")]
    assert [l.split("  ")[1].strip() for l in lines] == NAMES
    for line, (_, _, cmd) in zip(lines, ENTRY_POINTS):
        assert line.rstrip().endswith(cmd)
    assert_one_line_error(run(["mnist_sweep", "bogus"], cwd=tmp_path), "bogus")


def test_an_entry_point_given_as_a_subcommand_names_its_module(tmp_path):
    """``python -m mnist_sweep leaderboard DIR`` (each listed name, arguments kept): one line with the
    module's own command to paste, nothing run; it said 'unrecognized arguments: leaderboard DIR'."""
    for name in sorted({n.split()[0] for n, _, _ in ENTRY_POINTS}):
        proc = run_inproc(["mnist_sweep.__main__", name, "some dir", "-m"], tmp_path)
        last = assert_one_line_error(proc, f"error: {name}: not a subcommand", f"-m mnist_sweep.{name} 'some dir' -m")
        assert proc.returncode == 2 and proc.stdout == "", last
    assert list(tmp_path.iterdir()) == []


def test_a_path_the_shell_split_is_quoted_in_the_command_given_back(tmp_path):
    """``python -m mnist_sweep leaderboard my sweeps/a b`` gave back the command as split, without the
    quoted-path hint the entry point itself gives; now the path is one quoted argument in both, for every
    entry point (train's KEY=VALUE with a space too)."""
    (tmp_path / "my sweeps" / "a b").mkdir(parents=True)
    for name in sorted({n.split()[0] for n, _, _ in ENTRY_POINTS}):
        proc = run_inproc(["mnist_sweep.__main__", name, "my", "sweeps/a", "b", "--out", "x"], tmp_path)
        last = assert_one_line_error(proc, f"-m mnist_sweep.{name} 'my sweeps/a b' --out x; a path with a space "
                                     "is one argument, quoted: 'my sweeps/a b'")
        assert proc.returncode == 2, last
    proc = run_inproc(["mnist_sweep.__main__", "train", f"hydra.run.dir={tmp_path}/my", "runs", "-m"], tmp_path)
    assert_one_line_error(proc, f"-m mnist_sweep.train 'hydra.run.dir={tmp_path}/my runs' -m; a value with a space "
                          f"is one argument, quoted: 'hydra.run.dir={tmp_path}/my runs'")
    words = ["mnist_sweep.__main__", "predict", "run", "a.png", "b.png", "~trainer"]  # nothing split: as given
    assert assert_one_line_error(run_inproc(words, tmp_path)).endswith("-m mnist_sweep.predict run a.png b.png '~trainer'")


def test_every_listed_module_exists_and_has_main():
    for _, _, cmd in ENTRY_POINTS:
        if cmd.startswith("python -m "):
            module = importlib.import_module(cmd.split()[2])
            assert callable(getattr(module, "main", None)) or callable(getattr(module, "cli", None)), cmd
    assert main([]) == 0


def test_a_reader_that_stops_early_gets_no_error_line(tmp_path):
    """``python -m mnist_sweep | head -1``: the closed pipe ends the command quietly (141, as SIGPIPE
    would), not with an 'error: [Errno 32] Broken pipe' line about permissions."""
    proc = subprocess.Popen([sys.executable, "-m", "mnist_sweep"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    proc.stdout.close()  # before the child has started: its first write meets a closed pipe
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141 and err.decode() == ""


def test_a_mistyped_entry_point_or_a_sweeps_m_names_the_module_to_run(tmp_path):
    """``python -m mnist_sweep leaderbord DIR`` and ``python -m mnist_sweep -m ...`` said 'unrecognized
    arguments: leaderbord DIR' (or '-m ...'): now the nearest entry point's command to paste, train's for -m;
    a word near none lists the entry points."""
    for argv, line in (
            (["leaderbord", "some dir"], "error: leaderbord: no entry point of that name; did you mean leaderboard? (a "
                                         "module of its own); run {} -m mnist_sweep.leaderboard 'some dir'"),
            (["Train", "model.c1=8"], "error: Train: no entry point of that name; did you mean train? (a module of its "
                                      "own); run {} -m mnist_sweep.train model.c1=8"),
            (["-m", "hparams_search=smallest"], "error: -m: not a flag of python -m mnist_sweep (it only lists the entry "
                                                "points); the sweep is train's; run {} -m mnist_sweep.train -m "
                                                "hparams_search=smallest"),
            (["bogus"], "error: bogus: no entry point of that name; python -m mnist_sweep lists them: train, leaderboard, "
                        "reproduce, confirm, report, export, predict, data, dashboard (each a module: python -m "
                        "mnist_sweep.NAME)")):
        proc = run_inproc(["mnist_sweep.__main__", *argv], tmp_path)
        assert assert_one_line_error(proc) == line.format(sys.executable), argv
        assert proc.returncode == 2 and proc.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_a_command_given_no_sweep_dir_names_those_here(tmp_path):
    """reproduce --rank 1 (export, report, dashboard) said only 'the following arguments are required: path', where
    the leaderboard and confirm name the sweep dirs in outputs/sweeps; predict, a sweep's rank 1 trial dir to give."""
    sweep = tmp_path / "outputs" / "sweeps" / "quick"
    (sweep / "trial_0001").mkdir(parents=True)
    (sweep / "trial_0001" / "model.pt").write_bytes(b"")
    (sweep / "leaderboard.csv").write_text(f"rank,trial,status,trial_dir\n1,1,complete,{sweep / 'trial_0001'}\n")
    for argv, name in ((["mnist_sweep.reproduce", "--rank", "1"], "path"), (["mnist_sweep.export", "--onnx", "m.onnx"],
                       "source"), (["mnist_sweep.report"], "path"), (["mnist_sweep.dashboard"], "target")):
        proc = run_inproc(argv, tmp_path)
        assert assert_one_line_error(proc) == (f"error: the following arguments are required: {name}; sweep dirs here: "
                                               f"outputs/sweeps/quick (see python -m {argv[0]} --help)")
    proc = run_inproc(["mnist_sweep.predict", "--test"], tmp_path)
    assert assert_one_line_error(proc) == ("error: the following arguments are required: run_dir; e.g. each sweep's rank 1 "
                                           "here: outputs/sweeps/quick/trial_0001 (see python -m mnist_sweep.predict --help)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs"]


def test_each_help_names_what_the_docs_say_the_command_takes(capsys):
    """report --help named only a sweep dir for its path ('sweep dir (holding leaderboard.csv)'), while the docs
    (after-the-sweep.md) say its leaderboard.csv may be given for the dir; predict's --test without images (only the
    check) and confirm's --set refusals (trainer.seed, hydra.run.dir) were in the docs alone too."""
    import re

    wanted = {"mnist_sweep.report": ["a sweep dir (outputs/sweeps/NAME) or its leaderboard.csv"],
              "mnist_sweep.predict": ["(without images: only this check)"],
              "mnist_sweep.confirm": ["not trainer.seed, hydra.run.dir, hydra.mode"],
              "mnist_sweep.reproduce": ["a sweep dir or its leaderboard.csv", "or one run dir"],
              "mnist_sweep.export": ["a sweep dir or its leaderboard.csv", "or one run dir"],
              "mnist_sweep.dashboard": ["a sweep dir (outputs/sweeps/NAME) or its leaderboard.csv, or an Optuna storage URL"]}
    for module, phrases in wanted.items():
        try:
            importlib.import_module(module).main(["--help"])
        except SystemExit as e:
            assert e.code == 0, module
        text = re.sub(r"\s+", " ", capsys.readouterr().out)  # argparse wraps the help at any space
        for phrase in phrases:
            assert phrase in text, (module, phrase, text)


def test_a_deleted_current_directory_is_one_line(tmp_path):
    """A shell left in a dir that was then deleted: export (any command that imports torch) died in
    'Intel oneMKL FATAL ERROR: Cannot load libtorch_cpu.so' (exit 2), train in Hydra's os.getcwd()
    FileNotFoundError traceback. Each is one line naming the dir, before anything is written."""
    gone = tmp_path / "gone"
    for command in (["mnist_sweep.export", str(tmp_path / "sw"), "--rank", "1"], ["mnist_sweep.train", "--help"]):
        gone.mkdir()
        script = 'cd "$1" && rmdir "$1" && shift && exec "$@"'
        proc = subprocess.run(["sh", "-c", script, "sh", str(gone), sys.executable, "-m", *command],
                              capture_output=True, text=True, env={**os.environ, "PWD": str(gone)}, timeout=120)
        assert_one_line_error(proc, f"the current directory {gone} no longer exists", "cd to an existing directory")
        assert proc.returncode == 2 and proc.stdout == "" and list(tmp_path.iterdir()) == []
