"""The leaderboard CLI: hyperparameter columns, pareto, --status, --sort, --refresh; rejected rows
point at no dir; the study is found through the storage the sweep recorded, never created."""
from __future__ import annotations

import contextlib
import json
import sqlite3

import optuna
import pandas as pd
import pytest

from conftest import assert_one_line_error, run, run_inproc, snapshot
from mnist_sweep import leaderboard


def table_rows(out: str) -> list[list[str]]:
    """The printed table's data rows, split on whitespace (before the blank line and the counts)."""
    body = out.split("\n\n")[0].splitlines()
    return [line.split() for line in body[1:]]


@pytest.mark.slow  # needs the tiny sweep (built once per session)
def test_rejected_rows_have_no_trial_dir(tiny_sweep):
    board = tiny_sweep.board
    rejected = board[board.status == "rejected"]
    assert len(rejected) >= 1  # c3=256 is over budget; the sampler tries it
    assert rejected.trial_dir.isna().all()
    done = board[board.status == "complete"]
    assert len(done) == 5 and all((tiny_sweep.dir / f"trial_{t:04d}").is_dir() for t in done.trial)


def test_read_blanks_a_rejected_rows_missing_dir(tmp_path):
    csv = tmp_path / "leaderboard.csv"
    pd.DataFrame([
        {"rank": 1, "trial": 0, "status": "complete", "trial_dir": str(tmp_path)},
        {"rank": 2, "trial": 1, "status": "rejected", "trial_dir": str(tmp_path / "trial_0001")},  # never created
    ]).to_csv(csv, index=False)
    board = leaderboard.read(csv)
    assert board.trial_dir.iloc[0] == str(tmp_path) and pd.isna(board.trial_dir.iloc[1])


@pytest.mark.slow  # needs the tiny sweep (built once per session)
def test_default_columns_show_pareto_and_hp_on_request(tiny_sweep, capsys):
    assert leaderboard.main([str(tiny_sweep.dir)]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert "pareto" in header and not any(h.startswith("hp.") for h in header)
    assert leaderboard.main([str(tiny_sweep.dir), "--hp"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert {"hp.model.c3", "hp.model.dropout", "hp.optimizer.lr"} <= set(header)
    assert leaderboard.main([str(tiny_sweep.dir), "--columns", "hp.model.*,host"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header[-3:] == ["hp.model.c3", "hp.model.dropout", "host"]


@pytest.mark.slow  # needs the tiny sweep (built once per session)
def test_status_filter_and_sort(tiny_sweep, capsys):
    assert leaderboard.main([str(tiny_sweep.dir), "--status", "rejected"]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert rows and all(r[2] == "rejected" for r in rows)
    assert leaderboard.main([str(tiny_sweep.dir), "--status", "complete,pruned", "--sort", "params"]) == 0
    out = capsys.readouterr().out
    rows = table_rows(out)
    assert len(rows) == 5 and all(r[2] == "complete" for r in rows)
    params = [int(r[3]) for r in rows]
    assert params == sorted(params)  # low first by default for non-accuracy columns
    assert "5 shown by --status" in out
    assert leaderboard.main([str(tiny_sweep.dir), "--status", "complete", "--sort", "test_acc_final"]) == 0
    by_test = table_rows(capsys.readouterr().out)
    tests = [float(r[5].rstrip("%")) for r in by_test]
    assert tests == sorted(tests, reverse=True)  # high first for accuracies (which order that is: the CPU's numbers)
    assert sorted(r[1] for r in by_test) == sorted(r[1] for r in rows)


def test_sort_orders_the_printed_rows(tmp_path, capsys):
    """--sort on a leaderboard whose numbers are known: accuracies high first, other columns low
    first, :asc/:desc override, missing values last, ties keep the leaderboard's order."""
    csv = tmp_path / "leaderboard.csv"
    pd.DataFrame({
        "rank": [1, 2, 3, 4], "trial": [7, 3, 5, 9], "status": ["complete"] * 3 + ["rejected"],
        "params": [9000, 5000, 9000, 30000], "val_acc": [0.95, 0.93, 0.90, None],
        "test_acc_final": [0.91, 0.97, 0.91, None], "trial_dir": [None] * 4,
    }).to_csv(csv, index=False)
    order = {}
    for spec in ("test_acc_final", "params", "params:desc", "val_acc:asc", "trial"):
        assert leaderboard.main([str(csv), "--sort", spec]) == 0
        order[spec] = [int(r[1]) for r in table_rows(capsys.readouterr().out)]
    assert order == {"test_acc_final": [3, 7, 5, 9], "params": [3, 7, 5, 9], "params:desc": [9, 7, 5, 3],
                     "val_acc:asc": [5, 3, 7, 9], "trial": [3, 5, 7, 9]}


def test_the_column_sorted_by_is_shown_and_one_column_is_asked_for(tmp_path, capsys):
    """--sort hp.model.c1 ordered the rows by a column the table did not show; --sort params:desc,val_acc (two
    keys) said 'order must be asc or desc, as in --sort params:desc', which it had given."""
    csv = tmp_path / "leaderboard.csv"
    pd.DataFrame({"rank": [1, 2], "trial": [0, 1], "status": ["complete"] * 2, "val_acc": [0.9, 0.8],
                  "hp.model.c1": [12, 8], "trial_dir": [None] * 2}).to_csv(csv, index=False)
    assert leaderboard.main([str(csv), "--sort", "hp.model.c1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[-1] == "hp.model.c1" and [r[1] for r in table_rows(out)] == ["1", "0"]
    assert call(leaderboard.main, [str(csv), "--sort", "val_acc:desc,hp.model.c1"]) == 2
    assert capsys.readouterr().err.strip() == ("error: --sort val_acc:desc,hp.model.c1: sorts by one column; give one, "
                                               "e.g. --sort val_acc:desc")


def test_a_failed_rows_cause_is_pointed_to_when_its_column_is_hidden(tmp_path, capsys):
    """A failed row (a sweep stopped by Ctrl-C in it) showed only 'failed', its cause in the hidden error
    column with no word of it; the counts line now names --columns error, where a row has one to show."""
    csv = tmp_path / "leaderboard.csv"
    pd.DataFrame({"rank": [1, 2], "trial": [1, 0], "status": ["complete", "failed"], "val_acc": [0.9, None],
                  "error": [None, "sweep stopped while the trial was open: interrupted (Ctrl-C or SIGINT)"],
                  "trial_dir": [None] * 2}).to_csv(csv, index=False)
    hint = "2 trials: 1 complete, 1 failed; --columns error says why a trial did not complete"
    assert leaderboard.main([str(csv)]) == 0 and hint in capsys.readouterr().out
    for argv in (["--columns", "error"], ["--status", "complete"]):  # shown, or no row with a cause shown
        assert leaderboard.main([str(csv), *argv]) == 0 and "--columns error says" not in capsys.readouterr().out


@pytest.mark.slow  # needs the tiny sweep (built once per session)
def test_refresh_finds_the_recorded_storage_from_anywhere(tiny_sweep, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # not where the sweep ran: its sqlite:///db/optuna.db is relative there
    assert leaderboard.main([str(tiny_sweep.dir), "--refresh", "--hp"]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert [int(r[1]) for r in rows] == list(tiny_sweep.board.trial)[:10]  # the top 10 (rejections vary)
    assert list(tmp_path.iterdir()) == []  # nothing created here


def call(main, argv: list[str]) -> int:
    """A CLI's exit code in-process (flag errors exit through argparse)."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


BAD = [
    (["--sort", "nope"], ["--sort nope", "no column nope", "available"]),
    (["--sort", "params:up"], ["--sort params:up", "asc or desc"]),
    (["--status", "done"], ["--status done", "complete, pruned"]),
    (["--columns", "hp.nothing*"], ["--columns hp.nothing*", "no such column"]),
    (["--top", "0"], ["--top", "0"]),
]


@pytest.mark.slow  # needs the tiny sweep (built once per session)
@pytest.mark.parametrize("args, needles", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_flags_one_line(tiny_sweep, capsys, args, needles):
    assert call(leaderboard.main, [str(tiny_sweep.dir), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    for needle in needles:
        assert needle in err[0], err[0]


@pytest.mark.parametrize("argv", [["--refresh", "outputs/sweeps/quik"], ["outputs/sweeps/quik"], ["gone/leaderboard.csv"]])
def test_a_sweep_dir_that_does_not_exist_is_named_with_the_sweep_dirs_there(tmp_path, monkeypatch, argv):
    """--refresh said 'not a sweep dir' for a path that is not there, the plain form 'no such file'
    for a dir: now both say it does not exist and list the sweep dirs in outputs/sweeps."""
    monkeypatch.chdir(tmp_path)
    for name in ("quick", "best_8k"):
        (tmp_path / "outputs" / "sweeps" / name).mkdir(parents=True)
        (tmp_path / "outputs" / "sweeps" / name / "leaderboard.csv").write_text("")
    assert_one_line_error(run_inproc(["mnist_sweep.leaderboard", *argv], cwd=tmp_path),
                          f"{argv[-1]}: no such file or directory; give a sweep dir",
                          "(sweep dirs: outputs/sweeps/best_8k, outputs/sweeps/quick)")
    for d in (tmp_path / "outputs" / "sweeps").iterdir():
        for f in d.iterdir():
            f.unlink()
    assert_one_line_error(run_inproc(["mnist_sweep.leaderboard", *argv], cwd=tmp_path),
                          "no such file or directory", "none in outputs/sweeps", "give its hydra.sweep.dir")


def test_missing_sqlite_file_is_refused_not_created(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert call(leaderboard.main, ["--storage", "sqlite:///missing.db", "--study", "x"]) == 2
    err = capsys.readouterr().err
    assert "no such SQLite file missing.db" in err and str(tmp_path) in err
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "leaderboard.csv").write_text("rank,trial,status,trial_dir\n")
    (tmp_path / "sweep" / "storage.json").write_text(json.dumps(
        {"study_name": "x", "storage": f"sqlite:///{tmp_path}/gone/optuna.db", "cwd": str(tmp_path)}))
    assert call(leaderboard.main, ["sweep", "--refresh"]) == 2
    assert "storage.json" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["leaderboard.csv", "storage.json", "sweep"]


@pytest.mark.slow  # needs the tiny sweep (built once per session)
def test_cli_subprocess(tiny_sweep, tmp_path):
    proc = run(["mnist_sweep.leaderboard", str(tiny_sweep.dir), "--hp", "--status", "complete", "--sort", "params"],
               cwd=tmp_path, process=True)
    assert proc.returncode == 0, proc.stderr
    assert "hp.model.c3" in proc.stdout and "pareto" in proc.stdout and "rejected" not in proc.stdout.split("\n\n")[0]
    assert_one_line_error(run(["mnist_sweep.leaderboard", str(tiny_sweep.dir), "--status", "done"], cwd=tmp_path),
                          "--status done")


def test_a_finished_sweep_says_where_everything_is_and_what_comes_next(tiny_sweep):
    import shlex

    from mnist_sweep.next_steps import closing_lines

    lines = closing_lines(tiny_sweep.dir)
    best = tiny_sweep.board[tiny_sweep.board.status == "complete"].iloc[0]
    assert lines[0].startswith(f"best: trial {int(best.trial)}: val_acc ") and f"{int(best.params):,} params" in lines[0]
    assert f"leaderboard: {tiny_sweep.dir / 'leaderboard.csv'}" in lines
    commands = [shlex.split(line) for line in lines if line.startswith("  ")]
    assert [c[2] for c in commands] == ["mnist_sweep.leaderboard", "mnist_sweep.reproduce", "mnist_sweep.export",
                                        "mnist_sweep.predict"]
    assert all(c[1] == "-m" and c[0].endswith("python") for c in commands)  # an interpreter, never "$ -m ..."


def test_the_next_commands_skip_a_best_trial_whose_dir_was_deleted(tmp_path):
    """The best trial's dir deleted by hand: the closing lines still suggested reproduce/export
    --rank 1 and predict on that dir, each of which failed. Now the best trial whose dir is there."""
    import shutil

    from mnist_sweep.next_steps import closing_lines

    rows = [{"rank": r, "trial": r - 1, "status": "complete", "trial_dir": str(tmp_path / f"trial_{r - 1:04d}"),
             "val_acc": 0.9 - r / 100, "params": 9778} for r in (1, 2)]
    pd.DataFrame(rows).to_csv(tmp_path / "leaderboard.csv", index=False)
    for row in rows:
        (tmp_path / row["trial_dir"] / ".hydra").mkdir(parents=True)
        (tmp_path / row["trial_dir"] / ".hydra" / "config.yaml").write_text("{}")
        (tmp_path / row["trial_dir"] / "model.pt").write_bytes(b"")
    assert "--rank 1" in closing_lines(tmp_path)[-2]  # export, then predict
    shutil.rmtree(tmp_path / "trial_0000")
    lines = closing_lines(tmp_path)
    assert lines[0].startswith("best: trial 0: ") and ("trial 0's dir is not here (deleted, or another machine's?); the "
                                                       "commands below are for trial 1 (rank 2), the best whose dir is") in lines
    commands = "\n".join(lines[lines.index("next:"):])
    assert "--rank 2" in commands and "trial_0001" in commands and "--rank 1" not in commands and "trial_0000" not in commands
    shutil.rmtree(tmp_path / "trial_0001")
    lines = closing_lines(tmp_path)
    assert lines[-3:] == ["no finished trial's dir is here (deleted, or another machine's?): reproduce, export and "
                          "predict need one", "next:", f"  {lines[-1].strip()}"] and "mnist_sweep.leaderboard" in lines[-1]


def test_infeasible_rows_rank_nearest_the_target_first():
    """smallest: with nothing feasible, the trial closest to the target leads, not the smallest one
    (Optuna's constrained samplers rank infeasible trials by violation too); feasible ones lead."""
    import optuna

    study = optuna.create_study(direction="minimize")  # smallest: parameters, at a target accuracy
    for params, shortfall in ((5700, 0.0028), (7376, 0.0002), (6376, 0.0010), (9000, -0.0001)):
        study.add_trial(optuna.trial.create_trial(value=params, user_attrs={"params": params},
                                                  constraints={"target": shortfall}))
    board = leaderboard.frame(leaderboard.rows_from_study(study))
    assert board.params.tolist() == [9000, 7376, 6376, 5700]
    assert board.feasible.tolist() == [True, False, False, False] and "_violation" not in board


def _no_storage_file(path, kind: str) -> None:
    """An existing file that holds no Optuna storage."""
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not a database at all\n" * 20)
    else:  # a SQLite database of something else
        with contextlib.closing(sqlite3.connect(path)) as con:
            con.execute("CREATE TABLE t (x)")
            con.commit()


@pytest.mark.parametrize("kind", ["empty", "text", "other_db"])
def test_a_file_that_holds_no_storage_is_refused_and_left_as_it_is(tmp_path, kind):
    """leaderboard --refresh, --storage, report and dashboard read only: an empty or foreign file is
    one line saying so, never given Optuna's schema (opening it through Optuna would write it)."""
    sweep = tmp_path / "sw"
    sweep.mkdir()
    (sweep / "leaderboard.csv").write_text("rank,trial,status,trial_dir\n")
    db = sweep / "optuna.db"
    _no_storage_file(db, kind)
    (sweep / "storage.json").write_text(json.dumps({"study_name": "probe", "storage": f"sqlite:///{db}", "cwd": "/"}))
    before = snapshot(tmp_path)
    for args in (["mnist_sweep.leaderboard", str(sweep), "--refresh"], ["mnist_sweep.report", str(sweep)],
                 ["mnist_sweep.dashboard", str(sweep)],
                 ["mnist_sweep.leaderboard", "--storage", f"sqlite:///{db}", "--study", "probe"]):
        line = assert_one_line_error(run_inproc(args, cwd=tmp_path), str(db), "not an Optuna storage")
        assert "no such study" not in line and "database server" not in line, line
        assert snapshot(tmp_path) == before
    journal = tmp_path / "journal.log"
    journal.write_bytes(b"")
    assert_one_line_error(run_inproc(["mnist_sweep.leaderboard", "--storage", f"journal:///{journal}", "--study", "x"],
                                     cwd=tmp_path), "journal.log", "empty file (0 bytes, cut off while copied?), not an Optuna storage")
    assert journal.stat().st_size == 0
    journal.write_text('{"x": 1}\n')  # JSON, but no journal of Optuna's: a file, so no database server to ask about
    line = assert_one_line_error(run_inproc(["mnist_sweep.leaderboard", "--storage", f"journal:///{journal}", "--study",
                                             "x"], cwd=tmp_path), "journal.log", "is it an Optuna storage")
    assert "database server" not in line


def test_a_recorded_study_name_is_named_by_its_record_not_study(tmp_path):
    """A study storage.json names that the storage does not hold: the record is named, with the studies there."""
    sweep = tmp_path / "sw"
    sweep.mkdir()
    (sweep / "leaderboard.csv").write_text("rank,trial,status,trial_dir\n")
    optuna.create_study(storage=f"sqlite:///{sweep}/optuna.db", study_name="real")
    (sweep / "storage.json").write_text(json.dumps(
        {"study_name": "probe", "storage": f"sqlite:///{sweep}/optuna.db", "cwd": "/"}))
    line = assert_one_line_error(run_inproc(["mnist_sweep.leaderboard", str(sweep), "--refresh"], cwd=tmp_path),
                                 "storage.json: study_name probe: no such study", "its studies: real")
    assert "--study probe" not in line
    assert_one_line_error(run_inproc(["mnist_sweep.report", str(sweep), "--study", "nope"], cwd=tmp_path),
                          "--study nope: no such study", "its studies: real")
    assert_one_line_error(run_inproc(["mnist_sweep.report", str(sweep), "--study", "REAL"], cwd=tmp_path),
                          "--study REAL: no such study", "did you mean --study real?")  # difflib offered none: case


def test_a_mistyped_recorded_study_name_gets_the_nearest_as_the_study_to_give(tmp_path):
    """storage.json naming study 'mnist_swep' listed the storage's studies and offered no 'did you mean'."""
    sweep = tmp_path / "sw"
    sweep.mkdir()
    (sweep / "leaderboard.csv").write_text("rank,trial,status,trial_dir\n")
    for name in ("mnist_sweep", "other"):
        optuna.create_study(storage=f"sqlite:///{sweep}/optuna.db", study_name=name)
    (sweep / "storage.json").write_text(json.dumps(
        {"study_name": "mnist_swep", "storage": f"sqlite:///{sweep}/optuna.db", "cwd": "/"}))
    for command in ("mnist_sweep.leaderboard", "mnist_sweep.report"):
        args = [command, str(sweep), *(["--refresh"] if command.endswith("leaderboard") else [])]
        assert_one_line_error(run_inproc(args, cwd=tmp_path), "storage.json: study_name mnist_swep: no such study",
                              "(its studies: mnist_sweep, other); did you mean mnist_sweep? give --study mnist_sweep")


@pytest.mark.parametrize("args, needles", [
    (["--out", "afile/x.csv"], ["--out", "afile/x.csv: Not a directory", "is a file"]),
    (["--out", "x.xlsx"], ["--out: x.xlsx: the table is written as CSV", "e.g. x.csv"]),  # CSV text in x.xlsx
    (["--out", "x.json"], ["--out: x.json: the table is written as CSV"]), (["--out", "merged"], ["e.g. merged.csv"]),
    (["--status", ""], ["--status ''", "names no statuses"]), (["--status", " , "], ["--status ' , '", "names no"]),
    (["--columns", ""], ["--columns ''", "names no columns"]),
    (["--sort", ""], ["--sort ''", "names no column"]), (["--sort", ":desc"], ["--sort ':desc'", "names no column"]),
])
def test_flags_that_name_nothing_or_an_unwritable_out_are_refused_before_printing(tmp_path, args, needles):
    pd.DataFrame({"rank": [1], "trial": [0], "status": ["complete"], "trial_dir": [None]}).to_csv(
        tmp_path / "leaderboard.csv", index=False)
    (tmp_path / "afile").write_text("")
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.leaderboard", "leaderboard.csv", *args], cwd=tmp_path)
    assert_one_line_error(proc, *needles)
    assert proc.stdout == "" and snapshot(tmp_path) == before


def test_out_does_not_replace_another_sweeps_leaderboard(tmp_path):
    """--out SWEEP/leaderboard.csv replaced that sweep's table with another (a merge, another
    sweep's rows), and reproduce SWEEP --rank 1 then re-ran a trial of the other sweep."""
    for name in ("a", "b"):
        (tmp_path / name / "trial_0000").mkdir(parents=True)
        pd.DataFrame({"rank": [1], "trial": [0], "status": ["complete"], "params": [900],
                      "val_acc": [0.9 if name == "a" else 0.95], "test_acc_final": [0.9],
                      "trial_dir": [str(tmp_path / name / "trial_0000")]}).to_csv(tmp_path / name / "leaderboard.csv",
                                                                                  index=False)
    before = snapshot(tmp_path)
    for sources in (["a", "b"], ["b"]):
        proc = run_inproc(["mnist_sweep.leaderboard", *sources, "--out", "a/leaderboard.csv"], cwd=tmp_path)
        assert_one_line_error(proc, "--out a/leaderboard.csv: is the leaderboard of the sweep in", "another file name")
        assert proc.stdout == "" and snapshot(tmp_path) == before
    for own in ("a", "a/leaderboard.csv"):  # its own table, rewritten: allowed
        assert run_inproc(["mnist_sweep.leaderboard", own, "--out", "a/leaderboard.csv"], cwd=tmp_path).returncode == 0
    proc = run_inproc(["mnist_sweep.leaderboard", "a", "b", "--out", "merged/leaderboard.csv"], cwd=tmp_path)
    assert proc.returncode == 0 and len(pd.read_csv(tmp_path / "merged" / "leaderboard.csv")) == 2


def test_out_does_not_replace_the_leaderboard_of_a_sweep_with_its_own_trial_dir_names(tmp_path):
    """A sweep run with hydra.sweeper.trial_dir='run-{number:04d}' holds no trial_* dir: its table
    was not taken for a sweep's, and --out replaced it with another sweep's rows."""
    hydra_dir = tmp_path / "a" / "run-0000" / ".hydra"
    hydra_dir.mkdir(parents=True)
    (hydra_dir / "hydra.yaml").write_text("hydra:\n  mode: MULTIRUN\n  sweeper:\n    trial_dir: run-{number:04d}\n")
    (tmp_path / "b").mkdir()
    for name in ("a", "b"):
        pd.DataFrame({"rank": [1], "trial": [0], "status": ["complete"], "trial_dir": [None]}).to_csv(
            tmp_path / name / "leaderboard.csv", index=False)
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.leaderboard", "b", "--out", "a/leaderboard.csv"], cwd=tmp_path)
    assert_one_line_error(proc, "--out a/leaderboard.csv: is the leaderboard of the sweep in", "another file name")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("args, hint", [
    (["--sort", "val"], "--sort val: no column val; did you mean --sort val_acc? (available: rank, trial, "),
    (["--sort", "val:desc"], "did you mean --sort val_acc:desc?"), (["--sort", "param"], "did you mean --sort params?"),
    (["--columns", "hp.x,paramz", "--status", "complete"], "--columns hp.x: no such column; available: "),
    (["--status", "fail"], "--status fail: not a status; did you mean --status failed?"),
    # plain difflib offered c6 for a mistyped c1, t1 for C1, nothing for VAL_ACC, and a column for a glob
    (["--sort", "VAL_ACC"], "did you mean --sort val_acc?"), (["--sort", "hp.model.cl"], "did you mean --sort hp.model.c1?"),
    (["--columns", "hp.model.C1"], "did you mean --columns hp.model.c1?"),
    (["--columns", "hp.mdl.*"], "did you mean --columns hp.model.*?"),
    (["--columns", "hp.modle.c*"], "did you mean --columns hp.model.c*?"),
    # a word spelled out where the column abbreviates it: difflib's ratio (0.40) offered nothing
    (["--sort", "accuracy"], "--sort accuracy: no column accuracy; did you mean --sort val_acc? (available: "),
    (["--sort", "Accuracy:desc"], "did you mean --sort val_acc:desc?"), (["--columns", "c6"], "did you mean --columns hp.model.c6?"),
    # a word for a column's unit: difflib offered val_mean for time (the folded t1me, va1_mean) and n_seeds for seconds
    (["--sort", "time"], "--sort time: no column time; did you mean --sort train_s? (available: "),
    (["--columns", "seconds"], "did you mean --columns train_s?"),
])
def test_a_mistyped_column_or_status_gets_the_nearest_one(tmp_path, args, hint):
    """--sort val listed every column and left the user to find val_acc among them; a mistyped
    glob (--columns hp.mdl.*) was offered one column (hp.model.t1) instead of the glob it meant."""
    pd.DataFrame({"rank": [1], "trial": [0], "status": ["complete"], "params": [900], "val_acc": [0.9],
                  "n_seeds": [3], "val_mean": [0.9], "train_s": [12.5],
                  "hp.model.c1": [8], "hp.model.c6": [16], "hp.model.t1": [8],
                  "trial_dir": [None]}).to_csv(tmp_path / "leaderboard.csv", index=False)
    proc = run_inproc(["mnist_sweep.leaderboard", "leaderboard.csv", *args], cwd=tmp_path)
    assert_one_line_error(proc, hint)


def test_merging_leaderboards_with_only_the_required_columns(tmp_path):
    """read() asks only for rank, trial, status and trial_dir, but merging two such CSVs was a
    KeyError: 'val_acc' traceback."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "leaderboard.csv").write_text("rank,trial,status,trial_dir\n1,0,complete,\n")
    proc = run_inproc(["mnist_sweep.leaderboard", "a", "b"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [r[1] for r in table_rows(proc.stdout)] == ["a", "b"]


@pytest.mark.parametrize("again", ["a/", "a/leaderboard.csv", "link", "{tmp_path}/a"])
def test_one_sweep_given_twice_under_two_names_is_read_once(tmp_path, again):
    """a and a/ (its leaderboard.csv, a link to it, its absolute path) were merged as two sweeps:
    every trial listed twice, ranked 1-4, and counted as 4 trials."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "leaderboard.csv").write_text("rank,trial,status,trial_dir\n1,0,complete,\n2,1,complete,\n")
    (tmp_path / "link").symlink_to(tmp_path / "a")
    again = again.format(tmp_path=tmp_path)
    proc = run_inproc(["mnist_sweep.leaderboard", "a", again], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [r[:2] for r in table_rows(proc.stdout)] == [["1", "0"], ["2", "1"]] and "\n2 trials: 2 complete" in proc.stdout
    assert proc.stderr == f"note: {again} is the table of a, given before; read once\n"


@pytest.mark.parametrize("command", ["leaderboard", "reproduce", "export"])
@pytest.mark.parametrize("last, words", [
    ("2,1,complete,800,abc,\n", "val_acc 'abc' in row 2 is not a finite number"),
    # cut off in a number: printed as a trial of 8 params with no val_acc or trial_dir, exit 0
    ("2,1,complete,8", "row 2 has 4 of the 6 columns (cut off while copied, or edited by hand?); rebuild it from"),
    # cut off in its last field (the trial_dir, as head -c cuts a table in its overrides): read as whole, the
    # rows after it as gone and their trial dirs 'still training'
    ("2,1,complete,800,0.8,/x/tri", "the file ends in row 2, with no line break (cut off while copied, or edited"),
])
def test_a_damaged_leaderboard_csv_is_one_line(tmp_path, command, last, words):
    """val_acc 'abc' in a hand-edited leaderboard.csv was a ValueError traceback ('Unknown format
    code f') when printed; params 'x' was shown as empty, a row cut off as a trial of 8 params."""
    (tmp_path / "sw").mkdir()
    (tmp_path / "sw" / "leaderboard.csv").write_text(
        "rank,trial,status,params,val_acc,trial_dir\n1,0,complete,900,0.9,\n" + last)
    before = snapshot(tmp_path)
    extra = {"leaderboard": [], "reproduce": [], "export": ["--out", "experiment/a.yaml"]}[command]
    proc = run_inproc([f"mnist_sweep.{command}", "sw", *extra], cwd=tmp_path)
    assert_one_line_error(proc, f"sw/leaderboard.csv: {words}", "--refresh")
    assert snapshot(tmp_path) == before


def test_merging_minimizing_sweeps_keeps_their_direction(tmp_path):
    """Two hparams_search=smallest sweeps (value = params, minimized) merged: the largest model was
    ranked first, and each sweep's own order was reversed (a CSV does not record its direction)."""
    head = "rank,trial,status,feasible,params,val_acc,value,trial_dir\n"
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "leaderboard.csv").write_text(head + "1,0,complete,True,2000,0.99,2000,\n"
                                                    "2,1,complete,True,3000,0.995,3000,\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "leaderboard.csv").write_text(head + "1,0,complete,True,2500,0.99,2500,\n")  # one row: a's direction
    proc = run_inproc(["mnist_sweep.leaderboard", "a", "b"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [(r[1], r[5]) for r in table_rows(proc.stdout)] == [("a", "2000"), ("b", "2500"), ("a", "3000")]
    for name in ("a", "b"):  # maximized, as accuracies are: the highest first, as before
        text = (tmp_path / name / "leaderboard.csv").read_text().replace(",2000,\n", ",0.99,\n")
        (tmp_path / name / "leaderboard.csv").write_text(text.replace(",3000,\n", ",0.5,\n").replace(",2500,\n", ",0.7,\n"))
    proc = run_inproc(["mnist_sweep.leaderboard", "a", "b"], cwd=tmp_path)
    assert [(r[1], r[5]) for r in table_rows(proc.stdout)] == [("a", "2000"), ("b", "2500"), ("a", "3000")]


def test_a_revived_trials_lost_parent_shows_no_numbers_of_the_run_it_handed_over(tmp_path):
    """After a revive the lost parent and the trial that took it over point at the same dir: the
    failed row showed the first seed's val_acc (and its seeds' mean) as if it had finished them."""
    from optuna.trial import TrialState, create_trial

    d = tmp_path / "trial_0000"
    d.mkdir()
    first = {"val_acc": 0.9, "test_acc_final": 0.89, "epochs": 1, "seed": 1, "params": 1000}
    (d / "result.json").write_text(json.dumps({"status": "complete", **first}))
    seed_runs = {"2": {"values": [0.92], "val": 0.92, "state": "complete"}}
    attrs = {"trial_dir": str(d), "result": first, "repeat_seeds": [2, 3], "seed_runs": seed_runs, "params": 1000}
    study = optuna.create_study(direction="maximize")
    study.add_trial(create_trial(state=TrialState.FAIL, user_attrs={**attrs, "status": "lost"}))
    study.add_trial(create_trial(value=0.91, user_attrs={**attrs, "revive_of": 0, "n_seeds": 3, "val_mean": 0.91,
                                                         "val_sem": 0.01}))
    board = leaderboard.frame(leaderboard.rows_from_study(study)).set_index("trial")
    lost, took_over = board.loc[0], board.loc[1]
    assert lost.status == "failed" and lost.error.endswith("continued as trial 1") and lost.params == 1000
    assert all(pd.isna(lost[c]) for c in ("val_acc", "test_acc_final", "epochs", "seed", "n_seeds", "val_mean")), lost
    assert (took_over.status, took_over.val_acc, took_over.n_seeds) == ("complete", 0.9, 3)


def test_a_damaged_result_json_is_warned_about_once_and_the_storages_copy_shown(tmp_path, caplog):
    from optuna.trial import create_trial

    d = tmp_path / "trial_0000"
    d.mkdir()
    (d / "result.json").write_text('{"val_acc": 0.')
    study = optuna.create_study(direction="maximize")
    study.add_trial(create_trial(value=0.8, user_attrs={"trial_dir": str(d), "result": {"val_acc": 0.8, "epochs": 2}}))
    for _ in range(2):  # the sweeper rewrites the leaderboard after every trial
        board = leaderboard.frame(leaderboard.rows_from_study(study))
        assert (board.val_acc[0], board.epochs[0]) == (0.8, 2)
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert line.startswith(f"{d}/result.json: not valid JSON") and "storage's copy" in line, line


def test_a_key_deleted_from_a_result_json_is_the_storages_copy_with_one_warning(tmp_path, caplog):
    """val_acc deleted from a trial's result.json by hand: --refresh showed it empty, without a word
    (and the trial on the Pareto front); the storage holds its copy."""
    from optuna.trial import create_trial

    d = tmp_path / "trial_0000"
    d.mkdir()
    (d / "result.json").write_text('{"status": "complete", "epochs": 2, "params": 900, "test_acc_final": 0.7}')
    study = optuna.create_study(direction="maximize")
    stored = {"val_acc": 0.8, "epochs": 2, "params": 900, "test_acc_final": 0.7, "train_s": None}
    study.add_trial(create_trial(value=0.8, user_attrs={"trial_dir": str(d), "result": stored}))
    for _ in range(2):  # the sweeper rewrites the leaderboard after every trial: one warning
        board = leaderboard.frame(leaderboard.rows_from_study(study))
        assert (board.val_acc[0], board.epochs[0], board.params[0]) == (0.8, 2, 900)
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert line == (f"{d}/result.json: no val_acc in it (edited by hand?); the storage's copy of its numbers is shown "
                    "(restore it from a copy of the trial dir)")


def test_a_trials_error_that_quotes_a_storage_url_shows_no_password(tmp_path):
    """A trial's error (its exception's words, kept in the storage) quoting a URL with its password was
    printed and written into leaderboard.csv as it was: the one column the redaction did not cover."""
    from optuna.trial import TrialState, create_trial

    study = optuna.create_study(direction="maximize")
    study.add_trial(create_trial(state=TrialState.FAIL, user_attrs={
        "status": "failed", "error": "OperationalError: cannot connect to postgresql://me:hunter2@db/x"}))
    board = leaderboard.frame(leaderboard.rows_from_study(study))
    assert board.error[0] == "OperationalError: cannot connect to postgresql://me:***@db/x"


@pytest.mark.parametrize("bad", ['"epochs": Infinity', '"val_acc": NaN', '"params": "lots"', '"epochs": 1e400',
                                 '"wall_s": true', '"seed": 100000000000000000000'])
def test_a_result_json_with_no_finite_number_where_one_belongs_is_damaged(tmp_path, caplog, bad):
    """epochs Infinity was an OverflowError traceback (cannot convert float infinity to integer),
    params 'lots' a ValueError from the pareto column; NaN and inf accuracies were ranked as numbers."""
    from optuna.trial import create_trial

    d = tmp_path / "trial_0000"
    d.mkdir()
    (d / "result.json").write_text('{"status": "complete", "val_acc": 0.9, "epochs": 2, "params": 900, ' + bad + "}")
    study = optuna.create_study(direction="maximize")
    study.add_trial(create_trial(value=0.8, user_attrs={"trial_dir": str(d), "result": {"val_acc": 0.8, "epochs": 2}}))
    board = leaderboard.frame(leaderboard.rows_from_study(study))
    assert (board.val_acc[0], board.epochs[0]) == (0.8, 2)  # the storage's copy
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert line.startswith(f"{d}/result.json: {bad.split(':')[0][1:-1]} ") and "is not a finite number" in line, line


def test_a_complete_row_without_an_accuracy_or_a_parameter_count_is_not_on_the_pareto_front():
    """A complete trial whose numbers are gone (result.json damaged, no stored copy) was marked pareto:
    no other row compares as beating NaN."""
    rows = [{"trial": 0, "status": "complete", "params": 900, "val_acc": 0.9},
            {"trial": 1, "status": "complete", "params": 500, "val_acc": None},
            {"trial": 2, "status": "complete", "params": None, "val_acc": 0.95},
            {"trial": 3, "status": "complete", "params": 1000, "val_acc": 0.8}]
    board = leaderboard.frame(rows).set_index("trial")
    assert board.pareto.to_dict() == {0: True, 1: False, 2: False, 3: False}


def test_an_out_in_a_directory_that_takes_no_files_is_one_line_naming_it_before_printing(tmp_path, monkeypatch):
    """A directory that refuses new files (read-only, /proc) was met after the table was printed, in
    a line naming the temporary file tried there (.x.csv.e2vw5tgp.tmp), not --out."""
    import tempfile

    def refuse(dir: str, prefix: str, suffix: str) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied", f"{dir}/{prefix}e2vw5tgp{suffix}")

    pd.DataFrame({"rank": [1], "trial": [0], "status": ["complete"], "trial_dir": [None]}).to_csv(
        tmp_path / "leaderboard.csv", index=False)
    (tmp_path / "ro").mkdir()
    before = snapshot(tmp_path)
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    proc = run_inproc(["mnist_sweep.leaderboard", "leaderboard.csv", "--out", "ro/x.csv"], cwd=tmp_path)
    assert_one_line_error(proc, "ro/x.csv: Permission denied")
    assert ".tmp" not in proc.stderr and proc.stdout == "" and snapshot(tmp_path) == before


@pytest.mark.parametrize("given, says", [
    ("sw/trial_0000", "sw/trial_0000: one run dir, not a sweep; give its sweep dir, {tmp}/sw"),
    ("run", "run: one run dir, not a sweep, and no leaderboard.csv above it"),
    # in its first trial (or killed in it): a plain --refresh reads the storage and writes nothing
    ("killed", "killed: no leaderboard.csv yet: no trial has ended (the first still training, or the sweep stopped "
               "in it); see its trials in the sweep's storage: python -m mnist_sweep.leaderboard killed --refresh"),
    ("deleted", "deleted: no leaderboard.csv (not written yet, or deleted); rebuild it from the sweep's storage: "
                "python -m mnist_sweep.leaderboard deleted --refresh --out deleted/leaderboard.csv"),
    (".", ".: holds the sweep dirs sw; give one or more of them"),
    ("empty", "empty: no leaderboard.csv in this directory; give a sweep dir"),
])
def test_a_dir_without_a_leaderboard_says_what_it_is(tmp_path, given, says):
    """A trial dir, a sweep stopped before its first trial ended, or outputs/sweeps itself all got
    'no leaderboard.csv in this directory; give a sweep dir', naming none; a sweep in its first trial
    was told to rebuild a table that is not written yet (--refresh --out), not to see it (--refresh)."""
    for d in ("sw/trial_0000/.hydra", "run/.hydra", "killed", "empty"):
        (tmp_path / d).mkdir(parents=True)
    pd.DataFrame({"rank": [1], "trial": [0], "status": ["complete"], "trial_dir": [None]}).to_csv(
        tmp_path / "sw" / "leaderboard.csv", index=False)
    (tmp_path / "killed" / "storage.json").write_text("{}")
    (tmp_path / "deleted" / "trial_0000").mkdir(parents=True)  # a trial ended: its table was written, then deleted
    (tmp_path / "deleted" / "trial_0000" / "result.json").write_text("{}")
    (tmp_path / "deleted" / "storage.json").write_text("{}")
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.leaderboard", given], cwd=tmp_path)
    assert_one_line_error(proc, "error: " + says.format(tmp=tmp_path))
    assert snapshot(tmp_path) == before


def test_a_trial_dir_with_no_row_is_named_with_refresh(tmp_path):
    """A worker kill -9'ed mid-trial: its trial_0001/ is in the sweep dir, its row only in the storage; the
    table read from leaderboard.csv said nothing of it (--refresh showed it running)."""
    for d in ("sw/trial_0000/.hydra", "sw/trial_0001/.hydra"):
        (tmp_path / d).mkdir(parents=True)
    rows = {"rank": [1], "trial": [0], "status": ["complete"], "trial_dir": [str(tmp_path / "sw" / "trial_0000")]}
    pd.DataFrame(rows).to_csv(tmp_path / "sw" / "leaderboard.csv", index=False)
    pd.DataFrame(rows).to_csv(tmp_path / "saved.csv", index=False)  # a table kept elsewhere: no sweep dir beside it
    line = ("sw: trial_0001/ has no row yet: still training, or its sweep stopped in it "
            "(python -m mnist_sweep.leaderboard sw --refresh says which)")
    for given in (["sw"], ["sw/leaderboard.csv"], ["sw", "saved.csv"]):
        proc = run_inproc(["mnist_sweep.leaderboard", *given], cwd=tmp_path)
        assert proc.returncode == 0 and proc.stdout.splitlines()[-1] == line, proc.stdout
    proc = run_inproc(["mnist_sweep.leaderboard", "saved.csv"], cwd=tmp_path)
    assert proc.returncode == 0 and "no row" not in proc.stdout, proc.stdout
    pd.DataFrame({"rank": [1, 2], "trial": [0, 1], "status": ["complete", "running"], "trial_dir": [
        str(tmp_path / "sw" / f"trial_000{t}") for t in (0, 1)]}).to_csv(tmp_path / "sw" / "leaderboard.csv", index=False)
    proc = run_inproc(["mnist_sweep.leaderboard", "sw"], cwd=tmp_path)  # the trial's row written: no line
    assert proc.returncode == 0 and "no row" not in proc.stdout and "running" in proc.stdout, proc.stdout


@pytest.mark.parametrize("command", ["leaderboard", "reproduce"])
def test_the_sweeps_optuna_storage_given_for_its_table_names_the_sweep_dir(tmp_path, command):
    """SWEEP_DIR/optuna.db read 'not a readable CSV (UnicodeDecodeError)'; now it is named as the
    sweep's storage (by its bytes, so a journal too), with the dir holding it to give instead."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    (tmp_path / "sw").mkdir()
    (tmp_path / "sw" / "leaderboard.csv").write_text("rank,trial,status,trial_dir\n")
    optuna.create_study(study_name="s", storage=f"sqlite:///{tmp_path}/sw/optuna.db")
    (tmp_path / "sw" / "journal.log").write_text('{"op_code":0,"worker_id":"w","study_name":"s","directions":[1]}\n')
    (tmp_path / "other.db").write_bytes((tmp_path / "sw" / "optuna.db").read_bytes())
    before = snapshot(tmp_path)
    for given, kind in (("sw/optuna.db", "SQLite"), ("sw/journal.log", "journal")):
        assert_one_line_error(run_inproc([f"mnist_sweep.{command}", given], cwd=tmp_path),
                              f"error: {given}: is the sweep's Optuna storage ({kind}), not a leaderboard.csv; "
                              "give the sweep dir holding it, sw")
    assert_one_line_error(run_inproc([f"mnist_sweep.{command}", "other.db"], cwd=tmp_path),
                          "other.db: is an Optuna storage (SQLite)", "give the dir of the sweep that wrote it")
    assert snapshot(tmp_path) == before


def test_the_status_counts_read_as_the_total_does(tmp_path):
    """'2,000 trials: 2000 complete': the total had its thousands separated, the counts not."""
    pd.DataFrame({"rank": range(1, 1201), "trial": range(1200), "status": ["complete"] * 1000 + ["pruned"] * 200,
                  "trial_dir": [None] * 1200}).to_csv(tmp_path / "leaderboard.csv", index=False)
    proc = run_inproc(["mnist_sweep.leaderboard", "leaderboard.csv", "--top", "1"], cwd=tmp_path)
    assert proc.stdout.rstrip().endswith("1,200 trials: 1,000 complete, 200 pruned"), proc.stdout


def test_refresh_picks_a_study_of_a_sweep_storage_that_holds_several(tmp_path):
    """The error said 'holds 2 studies (a, b); pick one with --study', and --refresh --study then said
    '--study a: needs --storage URL or $MNIST_SWEEP_STORAGE'."""
    from optuna.trial import create_trial

    url = f"sqlite:///{tmp_path / 'sw' / 'optuna.db'}"
    (tmp_path / "sw").mkdir()
    for name, value in (("a", 0.5), ("b", 0.7)):
        optuna.create_study(study_name=name, storage=url, direction="maximize").add_trial(create_trial(value=value))
    proc = run_inproc(["mnist_sweep.leaderboard", "sw", "--refresh"], cwd=tmp_path)
    assert_one_line_error(proc, "holds 2 studies (a, b)", "--study")
    for name, value in (("a", "0.5"), ("b", "0.7")):
        proc = run_inproc(["mnist_sweep.leaderboard", "sw", "--refresh", "--study", name, "--columns", "value"], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert table_rows(proc.stdout)[0][-1] == value
    proc = run_inproc(["mnist_sweep.leaderboard", "sw", "--study", "a"], cwd=tmp_path)
    assert_one_line_error(proc, "--study a: needs --storage URL", "or --refresh with sweep dirs")
    # $MNIST_SWEEP_STORAGE is --storage's default (its --help says so): with no path too, not only with --study;
    # leaderboard alone said 'give a sweep dir, a leaderboard CSV, or --storage URL --study NAME'
    proc = run_inproc(["mnist_sweep.leaderboard"], cwd=tmp_path, env={"MNIST_SWEEP_STORAGE": url})
    assert_one_line_error(proc, "holds 2 studies (a, b)", "--study")
    proc = run_inproc(["mnist_sweep.leaderboard", "--study", "b", "--columns", "value"], cwd=tmp_path,
                      env={"MNIST_SWEEP_STORAGE": url})
    assert proc.returncode == 0 and table_rows(proc.stdout)[0][-1] == "0.7", proc.stderr


def test_out_is_not_one_of_the_tables_merged(tmp_path):
    """leaderboard a.csv b.csv --out a.csv replaced a.csv with the merge: a's own table was gone."""
    for name in ("a.csv", "b.csv"):
        pd.DataFrame({"rank": [1], "trial": [0], "status": ["complete"], "trial_dir": [None]}).to_csv(
            tmp_path / name, index=False)
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.leaderboard", "a.csv", "b.csv", "--out", "a.csv"], cwd=tmp_path)
    assert_one_line_error(proc, "--out a.csv: is one of the tables merged")
    assert proc.stdout == "" and snapshot(tmp_path) == before
    assert run_inproc(["mnist_sweep.leaderboard", "a.csv", "--out", "a.csv"], cwd=tmp_path).returncode == 0  # itself


def test_out_says_where_the_table_was_written_and_which_folder_it_made(tmp_path, monkeypatch):
    """--out missing/dir/x.csv made the folders without a word, and no line said where the table
    went. Folders are made as export and confirm make theirs, and removed again if the write fails."""
    pd.DataFrame({"rank": [1, 2], "trial": [0, 1], "status": ["complete", "pruned"], "trial_dir": [None, None]}).to_csv(
        tmp_path / "a.csv", index=False)
    proc = run_inproc(["mnist_sweep.leaderboard", "a.csv", "--status", "complete", "--out", "missing/dir/x.csv"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "written missing/dir/x.csv (the whole table, 2 trials; made the folder missing/dir)"
    assert len(pd.read_csv(tmp_path / "missing" / "dir" / "x.csv")) == 2
    proc = run_inproc(["mnist_sweep.leaderboard", "a.csv", "--out", "missing/dir/x.csv"], cwd=tmp_path)
    assert proc.stdout.splitlines()[-1] == "written missing/dir/x.csv (the whole table, 2 trials)"

    def full(path, write):  # noqa: ANN001 - a disk that fills while the table is written (its folder made)
        path.parent.mkdir(parents=True)
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(leaderboard.results, "atomic_write", full)
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.leaderboard", "a.csv", "--out", "new/dir/x.csv"], cwd=tmp_path)
    assert_one_line_error(proc, "new/dir/x.csv: No space left on device")
    assert snapshot(tmp_path) == before


def test_a_study_with_no_trials_says_so(tmp_path):
    """A study made but not yet run printed '(no rows match)' and a bare '0 trials: '."""
    optuna.create_study(storage=f"sqlite:///{tmp_path / 'x.db'}", study_name="s")
    proc = run_inproc(["mnist_sweep.leaderboard", "--storage", f"sqlite:///{tmp_path / 'x.db'}", "--study", "s"],
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["(no", "trials", "yet)", "0", "trials"], proc.stdout


@pytest.mark.parametrize("name", ["report.html", "storage.json", "optimization_results.yaml"])
def test_any_other_file_of_a_sweep_dir_given_for_its_table_names_the_sweep_dir(tmp_path, name):
    """SWEEP/report.html read 'not a readable CSV (...); give a leaderboard.csv', naming no dir."""
    (tmp_path / "sw").mkdir()
    (tmp_path / "sw" / "leaderboard.csv").write_text("rank,trial,status,trial_dir\n")
    (tmp_path / "sw" / name).write_text({"report.html": '<html><p>"a,"b\n\x00</html>',
                                         "storage.json": '{"url": "sqlite:///optuna.db"}',
                                         "optimization_results.yaml": "name: s\nbest: 1\n"}[name])
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.leaderboard", f"sw/{name}"], cwd=tmp_path)
    assert_one_line_error(proc, f"error: sw/{name}: not a ", "; give the sweep dir holding it, sw")
    assert snapshot(tmp_path) == before


def test_export_given_a_path_to_nothing_names_the_run_dir_it_takes_too(tmp_path):
    """export gone/run said 'give a sweep dir or its leaderboard.csv', as the leaderboard does, while export takes
    a run dir too (reproduce's line names it); a dir that is neither names all three."""
    (tmp_path / "outputs" / "sweeps" / "quick").mkdir(parents=True)
    (tmp_path / "outputs" / "sweeps" / "quick" / "leaderboard.csv").write_text("")
    (tmp_path / "empty").mkdir()
    for given, line in (("gone/run", "gone/run: no such file or directory; give a sweep dir, its leaderboard.csv, or a "
                                     "run dir (with .hydra/config.yaml) (sweep dirs: outputs/sweeps/quick)"),
                        ("empty", "empty: no leaderboard.csv in this directory; give a sweep dir, its leaderboard.csv, "
                                  "or a run dir (with .hydra/config.yaml)")):
        proc = run_inproc(["mnist_sweep.export", given, "--onnx", "m.onnx"], cwd=tmp_path)
        assert assert_one_line_error(proc) == f"error: {line}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "outputs"]
