"""export's output names: the shipped experiments are never replaced (--force neither), and a name that
is no file's (-, /dev/stdout, -x) gets a suggestion that makes sense. No training: a one-row
leaderboard over a run dir made here (test_predict.made_run) with an untrained model; the project's
conf/experiment is stood in for by a copy in tmp_path, so a failing check never touches the real one."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mnist_sweep import PROJECT_ROOT, experiments, export
from test_export_inputs import board


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A stand-in for the project's conf/experiment, holding copies of the shipped experiments."""
    exp = tmp_path / "conf" / "experiment"
    exp.mkdir(parents=True)
    for name in experiments.SHIPPED:
        shutil.copy(PROJECT_ROOT / "conf" / "experiment" / f"{name}.yaml", exp)
    monkeypatch.setattr(experiments, "PROJECT", exp)
    return exp


def one_error(capsys, argv: list[str]) -> str:
    assert export.main(argv) == 2, argv
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and captured.out == "", captured
    return err[0]


def test_the_shipped_names_are_the_experiments_the_repo_ships():
    """SHIPPED is how export knows them: a tier added to conf/experiment without it would be replaceable."""
    got = subprocess.run(["git", "ls-files", "conf/experiment"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    if got.returncode or not got.stdout.strip():
        pytest.skip("not a git checkout")
    assert sorted(Path(f).stem for f in got.stdout.split()) == sorted(experiments.SHIPPED)


def test_a_shipped_experiment_is_never_replaced_even_with_force(tmp_path, capsys, monkeypatch, project):
    """export ... --out conf/experiment/tiny.yaml --force replaced the shipped tiny.yaml, the config
    README -> Results reproduces; without --force the line said to add --force."""
    sweep = board(tmp_path / "sw")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cfg").symlink_to(project.parent)  # the same dir under another name
    (project / "tiny_2.yaml").write_text("# mine\n")  # taken: the next free name is suggested
    before = {p.name: p.read_bytes() for p in project.iterdir()}
    for out, force in [("conf/experiment/tiny.yaml", ["--force"]), ("conf/experiment/tiny.yaml", []),
                       (str(project / "best_20k.yaml"), ["--force"]), ("cfg/experiment/small_8k.yaml", ["--force"])]:
        line = one_error(capsys, [str(sweep), "--out", out, *force, "--onnx", str(tmp_path / "m.onnx")])
        name = Path(out).name
        assert line.startswith(f"error: --out {out}: conf/experiment/{name} is a shipped experiment"), line
        assert "never replaces it, with --force neither" in line and "--force to replace" not in line, line
        assert line.endswith(f"; give another name, e.g. --out {Path(out).with_name(Path(out).stem + ('_3' if Path(out).stem == 'tiny' else '_2'))}.yaml"), line
    assert {p.name: p.read_bytes() for p in project.iterdir()} == before and not (tmp_path / "m.onnx").exists()
    link = project / "TINY.yaml"  # tiny.yaml under another case, as a case-insensitive disk (macOS) reads it
    os.link(project / "tiny.yaml", link)
    assert "is a shipped experiment" in one_error(capsys, [str(sweep), "--out", str(link), "--force"])
    assert {p.name: p.read_bytes() for p in project.iterdir() if p != link} == before


def test_a_users_own_experiment_there_is_written_and_replaced(tmp_path, capsys, monkeypatch, project):
    """The guard is for the shipped names alone: a user's own experiment in conf/experiment is replaced with --force."""
    sweep = board(tmp_path / "sw")
    monkeypatch.chdir(tmp_path)
    mine = project / "mine.yaml"
    assert export.main([str(sweep), "--out", str(mine)]) == 0
    first, _ = mine.read_text(), capsys.readouterr()
    mine.write_text("# edited\n")
    assert "already exists; pick another name or add --force" in one_error(capsys, [str(sweep), "--out", str(mine)])
    assert export.main([str(sweep), "--out", str(mine), "--force"]) == 0 and mine.read_text() == first


def test_a_name_suggested_for_out_is_one_export_takes(tmp_path, capsys, monkeypatch, project):
    """--out tiny.yml suggested conf/experiment/tiny.yaml, the shipped one; --out -x.txt suggested -x.yaml,
    whose printed 'confirm --experiment -x' argparse reads as a flag; --out - suggested -.yaml."""
    monkeypatch.chdir(tmp_path)
    for out, says, fixed in [
        ("conf/experiment/tiny.yml", "use .yaml, not .yml", "conf/experiment/tiny_2.yaml"),
        ("tiny", "must end in .yaml", "conf/experiment/tiny_2.yaml"),
        ("-x.txt", "NAME (-x) may not start with -: confirm --experiment -x would read it as a flag",
         "conf/experiment/x.yaml"),
        ("conf/experiment/-x.yaml", "NAME (-x) may not start with -", "conf/experiment/x.yaml"),
        ("-", "names standard output; export writes a file", "conf/experiment/my_best.yaml"),
        ("/dev/null", "names /dev/null, a device, pipe or socket; export writes a file", "conf/experiment/my_best.yaml"),
    ]:
        line = one_error(capsys, [str(tmp_path / "nowhere"), f"--out={out}"])
        assert line == f"error: --out {out}: {line.split(': ', 2)[2]}" and says in line, line
        assert line.endswith(f"; e.g. --out {fixed}"), line
        export.check_out(Path(fixed), force=False)  # the suggestion passes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conf"]


def test_an_onnx_name_that_is_no_file_name_gets_a_sensible_suggestion(tmp_path, capsys, monkeypatch):
    """--onnx=- suggested '-.onnx' (and - is no file: standard output), --onnx + '+.onnx', --onnx -x.txt
    '-x.onnx', which argparse reads as a flag; the good cases are as they were."""
    monkeypatch.chdir(tmp_path)
    for given, says, fixed in [
        ("-", "names standard output; export writes a file", "model.onnx"),
        ("/dev/null", "names /dev/null, a device, pipe or socket; export writes a file", "model.onnx"),
        ("+", "must end in .onnx (an ONNX model file)", "model.onnx"),
        ("out/-.txt", "must end in .onnx (an ONNX model file)", "out/model.onnx"),
        ("-x.txt", "must end in .onnx (an ONNX model file)", "./-x.onnx"),
        ("x.txt", "must end in .onnx (an ONNX model file)", "x.onnx"),  # as before
        ("out/.onnx", "has no name before .onnx", "out/model.onnx"),  # as before
    ]:
        for argv in [[f"--onnx={given}"], *([["--onnx", given]] if given in ("-", "+") else [])]:  # -x.txt: a flag
            line = one_error(capsys, [str(tmp_path / "nowhere"), *argv])
            assert line == f"error: --onnx {given}: {says}; e.g. --onnx {fixed}", (argv, line)
    assert list(tmp_path.iterdir()) == []


def test_a_suggested_path_with_a_space_is_quoted_as_one_argument(tmp_path):
    """--onnx "my model.txt" said 'e.g. --onnx my model.onnx', which the shell splits in two: every path export
    and predict suggest is one shell argument (shell.argument: quoted, a leading - as ./-x)."""
    from conftest import assert_one_line_error, run_inproc

    spaced = tmp_path / "my dir"
    (spaced / "trial_0000").mkdir(parents=True)
    (spaced / "trial_0000" / "model.pt").write_bytes(b"")
    (spaced / "leaderboard.csv").write_text(f"rank,trial,status,trial_dir\n1,0,complete,{spaced / 'trial_0000'}\n")
    cases = [(["mnist_sweep.export", str(spaced), "--onnx", "my model.txt"], "e.g. --onnx 'my model.onnx'"),
             (["mnist_sweep.export", str(spaced), "--onnx", str(spaced)], f"e.g. --onnx '{spaced}/model.onnx'"),
             (["mnist_sweep.export", str(spaced), "--out", f"{spaced}/experiment/x.yml"],
              f"e.g. --out '{spaced}/experiment/x.yaml'"),
             (["mnist_sweep.export", str(spaced), "--onnx=-x.txt"], "e.g. --onnx ./-x.onnx"),
             (["mnist_sweep.predict", str(spaced), "--test"], f"e.g. its rank 1: '{spaced}/trial_0000'"),
             (["mnist_sweep.leaderboard", str(spaced), "--out", f"{spaced}/t.xlsx"], f"e.g. '{spaced}/t.csv'")]
    for argv, suggestion in cases:
        assert_one_line_error(run_inproc(argv, cwd=tmp_path), suggestion)
