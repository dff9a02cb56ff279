"""--max-params N in leaderboard, export and confirm: the best trials of at most N parameters out of a
wide study (the best under 5,000: --max-params 4999). The leaderboard keeps the sweep's ranks (what
--rank takes everywhere); export takes the best trained one, confirm the top complete ones; none that
small is one line naming the smallest; a bad count is one error line naming the flag and the number to
give, nothing written. No training: hand-written tables, run dirs made with an untrained model."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from conftest import assert_one_line_error, run_inproc, snapshot
from mnist_sweep import confirm, leaderboard

ROWS = [  # rank, trial, status, params: a wide study whose best is over 5,000
    (1, 4, "complete", 9000), (2, 2, "complete", 4800), (3, 7, "complete", 4999), (4, 0, "pruned", 3000),
    (5, 5, "rejected", 25000), (6, 6, "failed", None),
]


def sweep(d: Path, runs: bool = False) -> Path:
    """A sweep dir with ROWS as its leaderboard.csv; ``runs``: each trained row's trial dir made (untrained)."""
    lines = ["rank,trial,status,params,val_acc,trial_dir"]
    for rank, trial, status, params in ROWS:
        trial_dir = d / f"trial_{trial:04d}"
        if runs and status in ("complete", "pruned"):
            from test_predict import made_run

            made_run(trial_dir)
        lines.append(f"{rank},{trial},{status},{'' if params is None else params},{0.99 - rank / 100},{trial_dir}")
    d.mkdir(exist_ok=True)
    (d / "leaderboard.csv").write_text("\n".join(lines) + "\n")
    return d


def printed_rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.split("\n\n")[0].splitlines()[1:]]


def test_the_leaderboard_shows_the_trials_within_the_budget_with_the_sweeps_ranks(tmp_path, capsys):
    d = sweep(tmp_path / "sw")
    assert leaderboard.main([str(d), "--max-params", "4999"]) == 0
    out = capsys.readouterr().out
    assert [(r[0], r[1], r[3]) for r in printed_rows(out)] == [("2", "2", "4800"), ("3", "7", "4999"), ("4", "0", "3000")]
    assert out.rstrip().endswith("(3 shown by --max-params)"), out  # a row without params (failed) is left out
    assert leaderboard.main([str(d), "--max-params", "4999", "--status", "complete"]) == 0
    out = capsys.readouterr().out
    assert [r[:2] for r in printed_rows(out)] == [["2", "2"], ["3", "7"]] and "(2 shown by --status and --max-params)" in out


def test_no_trial_that_small_is_one_line_naming_the_smallest(tmp_path, capsys):
    assert leaderboard.main([str(sweep(tmp_path / "sw")), "--max-params", "2999"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == ("(no trial has at most 2,999 parameters; the smallest, trial 0, has 3,000: give --max-params 3000 "
                     "or more)"), first


@pytest.mark.parametrize("statuses, says", [
    (["complete"], "no complete trial has at most 4,000 parameters; the smallest, trial 2, has 4,800: give "
                   "--max-params 4800 or more"),  # not the pruned trial 0's 3,000, which --status complete leaves out
    (["complete,rejected"], "no complete or rejected trial has at most 4,000 parameters; the smallest, trial 2, has "
                            "4,800: give --max-params 4800 or more"),
    (["running"], "no running trial has at most 4,000 parameters: there is no running trial"),
])
def test_no_trial_that_small_names_the_smallest_of_the_statuses_asked_for(tmp_path, capsys, statuses, says):
    """--status complete --max-params 4000 said 'give --max-params 3000 or more', the pruned trial's count, which
    --status complete leaves out: at 3000 it showed nothing again."""
    assert leaderboard.main([str(sweep(tmp_path / "sw")), "--max-params", "4000", "--status", *statuses]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"({says})"


@pytest.mark.parametrize("command", ["mnist_sweep.leaderboard", "mnist_sweep.export", "mnist_sweep.confirm"])
@pytest.mark.parametrize("value, says", [
    ("0", "--max-params: must be in [1, 1,000,000,000], got 0; give a whole number from 1 to 1,000,000,000, e.g. "
          "--max-params 5000"),
    ("-5", "--max-params: must be in [1, 1,000,000,000], got -5;"),
    ("5k", "argument --max-params: invalid int value: '5k'; give a whole number: --max-params 5000"),
    ("10,000", "argument --max-params: invalid int value: '10,000'; write it without commas: --max-params 10000"),
])
def test_a_bad_count_is_one_line_naming_the_flag_and_the_number_to_give(tmp_path, command, value, says):
    d = sweep(tmp_path / "sw")
    before = snapshot(tmp_path)
    out = {"mnist_sweep.leaderboard": ["--out", str(tmp_path / "x.csv")], "mnist_sweep.confirm": ["--out", str(tmp_path / "c")],
           "mnist_sweep.export": ["--out", str(tmp_path / "experiment" / "x.yaml")]}[command]
    proc = run_inproc([command, str(d), f"--max-params={value}", *out], cwd=tmp_path)
    assert proc.returncode == 2 and assert_one_line_error(proc, says)
    assert snapshot(tmp_path) == before


def test_export_takes_the_best_trained_trial_within_the_budget(tmp_path, capsys):
    from mnist_sweep import export

    d = sweep(tmp_path / "sw", runs=True)
    out = tmp_path / "experiment" / "small.yaml"
    assert export.main([str(d), "--max-params", "4999", "--out", str(out)]) == 0
    assert ": trial 2 as an experiment" in capsys.readouterr().out and out.is_file()
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.export", str(d), "--max-params", "2999", "--out", str(tmp_path / "experiment" / "t.yaml")],
                      cwd=tmp_path)
    assert_one_line_error(proc, f"--max-params 2999: {d}: no trained trial has at most 2,999 parameters; the smallest, "
                                "trial 0, has 3,000: give --max-params 3000 or more")
    assert snapshot(tmp_path) == before
    from test_predict import made_run

    made_run(tmp_path / "run")  # one run dir of train's, in no sweep: nothing to pick from
    proc = run_inproc(["mnist_sweep.export", str(tmp_path / "run"), "--max-params", "4999", "--out", str(out), "--force"],
                      cwd=tmp_path)
    assert_one_line_error(proc, f"--max-params: picks a row of a leaderboard, and {tmp_path / 'run'} is one run dir in no "
                                "sweep; leave --max-params out")


def test_confirm_takes_the_top_complete_trials_within_the_budget(tmp_path, monkeypatch):
    d = sweep(tmp_path / "sw")
    monkeypatch.setattr(confirm, "trial_config_dir", lambda row, board, verb: Path(row.trial_dir) / ".hydra")
    monkeypatch.setattr(confirm, "selection", lambda config_dir: [])
    monkeypatch.setattr(confirm, "precision_pin", lambda trial_dir: [])
    args = argparse.Namespace(experiment=None, leaderboard=str(d), trial=None, top=5, max_params=4999)
    assert list(confirm.candidates(args)) == ["trial_0002", "trial_0007"]  # not the pruned one: complete only
    args.top, args.max_params = 1, 5000
    assert list(confirm.candidates(args)) == ["trial_0002"]
    args.max_params = 3000
    with pytest.raises(Exception, match="no complete trial has at most 3,000 parameters; the smallest, trial 2, has 4,800"):
        confirm.candidates(args)


@pytest.mark.parametrize("other, says", [
    (["--trial", "2"], "--max-params picks among a sweep's best trials; --trial names the trials itself: drop one"),
    (["--experiment", "tiny"], "--max-params picks a sweep's best trials; --experiment confirms each experiment named"),
])
def test_confirm_refuses_max_params_where_it_picks_nothing(tmp_path, other, says):
    d = sweep(tmp_path / "sw")
    argv = ["mnist_sweep.confirm", *([] if "--experiment" in other else [str(d)]), *other, "--max-params", "4999"]
    assert_one_line_error(run_inproc(argv, cwd=tmp_path), says)
