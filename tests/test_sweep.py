"""End to end: the real Hydra multirun with the project's Optuna sweeper on a tiny subset."""
from __future__ import annotations

import os
import re

import optuna
import pandas as pd
import pytest

from conftest import TINY, assert_one_line_error, fingerprint, load, run, run_inproc, snapshot, spawn, sweep_args
from mnist_sweep.leaderboard import CORE, REPEAT_COLUMNS
from mnist_sweep.training import precheck

def test_leaderboard_rows_and_columns(swept):
    tmp, board1, _ = swept
    study = load(tmp, "e2e")
    assert set(board1.trial) < {t.number for t in study.trials}  # board1 is from the first call, before the resume
    optional = {"feasible", *REPEAT_COLUMNS}  # a constrained study's, a study with repeats'
    assert set(CORE) - optional <= set(board1.columns) and not optional & set(board1.columns)
    for col in ("hp.model.c3", "hp.optimizer.lr", "hp.scheduler", "trial_dir", "overrides"):
        assert col in board1.columns
    counted = board1[board1.status != "rejected"]
    assert len(counted) == 3 and set(counted.status) == {"complete"}
    assert list(board1["rank"]) == list(range(1, len(board1) + 1))
    complete = board1[board1.status == "complete"]
    assert complete.val_acc.is_monotonic_decreasing


def test_rejected_trial_recorded_and_sweep_finished(swept):
    tmp, board1, _ = swept
    rejected = board1[board1.status == "rejected"]
    assert len(rejected) >= 1
    assert (rejected.params > 20_000).all() and (rejected["hp.model.c3"] == 256).all()
    assert rejected.error.str.contains("model.max_params").all()
    assert rejected.trial_dir.isna().all()  # never launched: the row points at no dir
    assert not any((tmp / "e2e" / f"trial_{n:04d}").exists() for n in rejected.trial)
    study = load(tmp, "e2e")
    states = {t.number: t.state for t in study.trials}
    assert all(states[n] == optuna.trial.TrialState.PRUNED for n in rejected.trial)
    assert (tmp / "e2e" / "optimization_results.yaml").exists()


def test_trial_dirs_are_named_by_optuna_number_with_their_files(swept):
    tmp, _, _ = swept
    board = pd.read_csv(tmp / "e2e" / "leaderboard.csv")
    for _, row in board[board.status == "complete"].iterrows():
        d = tmp / "e2e" / f"trial_{row.trial:04d}"
        assert row.trial_dir == str(d)
        for name in ("metrics.csv", "result.json", "model.pt", ".hydra/config.yaml"):
            assert (d / name).exists()


def test_resume_runs_only_missing_trials_without_touching_old_ones(swept):
    tmp, board1, dirs1 = swept
    board = pd.read_csv(tmp / "e2e" / "leaderboard.csv")
    counted = board[board.status != "rejected"]
    assert len(counted) == 5  # 3 + 2, and the third call added none
    assert board.trial.is_unique
    for name, files in dirs1.items():
        assert fingerprint(tmp / "e2e" / name) == files  # never re-run or overwritten
    old = set(board1.trial)
    assert old <= set(board.trial)


@pytest.mark.subprocess_children  # the re-run in a new interpreter, as a user's is (the other tests' runs are forks)
def test_reproduce_matches_exactly(swept):
    tmp, _, _ = swept
    proc = run(["mnist_sweep.reproduce", str(tmp / "e2e" / "leaderboard.csv"), "--rank", "1",
                "--out", str(tmp / "rep")], cwd=tmp)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reproduced exactly" in proc.stdout


def test_leaderboard_cli_prints_and_merges(swept):
    tmp, _, _ = swept
    proc = run(["mnist_sweep.leaderboard", str(tmp / "e2e"), "--top", "3"], cwd=tmp)
    assert proc.returncode == 0 and "rank" in proc.stdout and "complete" in proc.stdout
    url = f"sqlite:///{tmp / 'e2e'}/optuna.db"
    proc = run(["mnist_sweep.leaderboard", "--storage", url, "--study", "e2e", "--out", str(tmp / "fromdb.csv")], cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    assert len(pd.read_csv(tmp / "fromdb.csv")) == len(pd.read_csv(tmp / "e2e" / "leaderboard.csv"))
    proc = run(["mnist_sweep.leaderboard", str(tmp / "e2e"), str(tmp / "fromdb.csv"), "--out", str(tmp / "m.csv")], cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    merged = pd.read_csv(tmp / "m.csv")
    assert len(merged) == 2 * len(pd.read_csv(tmp / "fromdb.csv")) and merged["sweep"].nunique() == 2


@pytest.mark.slow
def test_lost_trial_is_marked_failed_and_replaced(tmp_path):
    """A trial left RUNNING by a worker that died (SIGKILL) is failed on resume and does not count."""
    args = sweep_args(tmp_path, "lost", 1, "model.c3=choice(8,16)")
    assert run(args, cwd=tmp_path).returncode == 0
    study = load(tmp_path, "lost")
    ghost = study.ask()
    ghost.set_user_attr("host", os.uname().nodename)
    ghost.set_user_attr("pid", 2**22 + 12345)  # above pid_max: no such process
    ghost.set_user_attr("status", "running")
    proc = run(sweep_args(tmp_path, "lost", 2, "model.c3=choice(8,16)"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    board = pd.read_csv(tmp_path / "lost" / "leaderboard.csv")
    row = board[board.trial == ghost.number].iloc[0]
    assert row.status == "failed" and "died" in row.error
    assert (board.status == "complete").sum() == 2


@pytest.mark.slow
def test_failed_trials_recorded_and_sweep_goes_on(tmp_path):
    # trainer.device=cuda passes the precheck but fails in the job on a machine without CUDA
    extra = ["model.c3=choice(8,16)", "trainer.device=choice(cpu,cuda)", "hydra.sweeper.max_failure_rate=1.0",
             "optimizer.lr=tag(log,interval(0.01,0.1))"]
    proc = run(sweep_args(tmp_path, "fails", 4, *extra), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    board = pd.read_csv(tmp_path / "fails" / "leaderboard.csv")
    failed = board[board.status == "failed"]
    if not __import__("torch").cuda.is_available():
        assert len(failed) >= 1 and failed.error.str.contains("trainer.device").all()
    assert len(board) == 4


def test_failure_rate_exceeded_stops_with_one_line(tmp_path):
    """A stopped sweep writes what a complete one does for the trials that finished: report.html
    was missing (the leaderboard alone was written)."""
    extra = ["trainer.device=cuda", "hydra.sweeper.max_failure_rate=0.0"]
    if __import__("torch").cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    proc = run(sweep_args(tmp_path, "stop", 3, *extra, report=True), cwd=tmp_path)
    assert_one_line_error(proc, "hydra.sweeper.max_failure_rate", "trainer.device")
    assert len(pd.read_csv(tmp_path / "stop" / "leaderboard.csv")) == 1  # written before stopping
    assert (tmp_path / "stop" / "report.html").is_file() and "leaderboard: " in proc.stdout  # and the closing lines


def test_a_set_up_error_in_every_trial_stops_after_three_not_at_the_failure_rate(tmp_path):
    """The default max_failure_rate (0.25 of 40 trials) would let 10 trials fail; three alike do."""
    if __import__("torch").cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    extra = ["trainer.device=cuda", "optimizer.lr=tag(log,interval(0.01,0.1))"]  # the lr: no duplicates
    proc = run(sweep_args(tmp_path, "alike", 40, *extra), cwd=tmp_path)
    assert_one_line_error(proc, "the first 3 trials of this run all failed with the same error", "trainer.device")
    assert list(pd.read_csv(tmp_path / "alike" / "leaderboard.csv").status) == ["failed"] * 3


@pytest.mark.slow
def test_mostly_over_budget_space_completes(tmp_path):
    extra = ["model.c3=choice(16,128,256)", "model.c4=choice(16,128)",
             "optimizer.lr=tag(log,interval(0.01,0.1))"]  # one size fits the budget: the lr makes two trials differ
    proc = run(sweep_args(tmp_path, "budget", 2, *extra), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    board = pd.read_csv(tmp_path / "budget" / "leaderboard.csv")
    assert (board.status == "complete").sum() == 2
    assert (board.status == "rejected").sum() >= 1
    assert (board[board.status == "complete"].params <= 20_000).all()


@pytest.mark.slow
def test_forced_prune_is_pruned_in_storage_and_leaderboard(tmp_path):
    extra = ["optimizer.lr=tag(log,interval(0.01,0.1))", "trainer.max_epochs=2",  # val_acc < 1.0 after epoch 1: always prune
             "hydra.sweeper.pruner.lower=1.0"]
    proc = run(sweep_args(tmp_path, "prune", 2, *extra, pruner="threshold"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    study = load(tmp_path, "prune")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.PRUNED] * 2
    board = pd.read_csv(tmp_path / "prune" / "leaderboard.csv")
    assert list(board.status) == ["pruned", "pruned"] and list(board.epochs) == [1, 1]
    before = {p.name: fingerprint(p) for p in (tmp_path / "prune").glob("trial_*")}
    assert run(sweep_args(tmp_path, "prune", 2, *extra, pruner="threshold"), cwd=tmp_path).returncode == 0
    assert {p.name: fingerprint(p) for p in (tmp_path / "prune").glob("trial_*")} == before
    assert len(load(tmp_path, "prune").trials) == 2


BAD_SWEEPS = [
    (["model.c9=choice(1,2)"], ["model.c9: no such key", "did you mean"]),
    (["model.c1=choice()"], ["model.c1=choice()", "empty choice"]),
    (["optimizer=choice(sgd,lion)"], ["hydra.sweeper.params.optimizer", "lion"]),
    # a swept option's typo: the nearest option and the choice with it (it said only "'cnnn' is not an option")
    (["model=choice(cnn,cnnn)"], ["hydra.sweeper.params.model: 'cnnn' is not an option of config group 'model'; "
                                  "did you mean cnn? e.g. model=cnn (options: cnn, eva8_seed)"]),
    (["scheduler=choice(step,onecycl)"], ["did you mean onecycle? e.g. 'scheduler=choice(step,onecycle)'"]),
    (["optimizer.lr=interval(0.1,0.01)"], ["hydra.sweeper.params.optimizer.lr"]),
    (["hydra.sweeper.storage=nosuchdb://x"], ["hydra.sweeper.storage", "nosuchdb://x"]),
    (["hydra/sweeper/pruner=nah"], ["hydra/sweeper/pruner=nah", "halving, hyperband, median, none, projection, target, threshold"]),
    (["hydra/sweeper/sampler=foo"], ["hydra/sweeper/sampler=foo", "tpe"]),
    (["hydra/sweeper/sampler=randomm"], ["hydra/sweeper/sampler=randomm: no such option", "did you mean "
                                         "hydra/sweeper/sampler=random?"]),
    (["model.block=fancy"], ["model.block", "plain, separable"]),
    (["hydra.sweeper.storage=postgresql://me:hunter2@127.0.0.1:1/db"],
     ["hydra.sweeper.storage", "me:***@127.0.0.1:1/db", "clear text", "MNIST_SWEEP_STORAGE"]),
    (["hydra.sweeper.storage='postgresql://me@127.0.0.1:1/db?password=hunter2'"],
     ["hydra.sweeper.storage", "password=***", "clear text"]),
    (["model.c1=interval(4,12)"], ["hydra.sweeper.params.model.c1", "integer", "int(interval(4, 12))"]),
    (["optimizer.lr=tag(log,interval(0.001,20))"], ["hydra.sweeper.params.optimizer.lr", "(0, 10]"]),
    (["data.augment.strength=choice(0.5,50)"], ["hydra.sweeper.params.data.augment.strength", "[0, 10]"]),
    (["hydra.sweeper.n_jobs=-1"], ["hydra.sweeper.n_jobs", "got -1"]),
    (["hydra.sweeper.n_jobs=0"], ["hydra.sweeper.n_jobs", "got 0"]),
    (["hydra.sweeper.n_trials=-1"], ["hydra.sweeper.n_trials"]),
    (["hydra.sweeper.max_failure_rate=-1"], ["hydra.sweeper.max_failure_rate"]),
    (["hydra.sweeper.heartbeat_interval=-5"], ["hydra.sweeper.heartbeat_interval", "got -5"]),
    (["hydra.sweeper.trial_dir='t_{foo}'"], ["hydra.sweeper.trial_dir", "{foo}"]),
    (["hydra.sweeper.direction=sideways"], ["hydra.sweeper.direction", "minimize or maximize", "'sideways'"]),
    (["hydra.sweeper.direction=max"], ["got 'max'; e.g. hydra.sweeper.direction=maximize"]),
    (["hydra.sweeper.storage=sqlite:///"], ["hydra.sweeper.storage", "in-memory", "give a file"]),
    (["hydra.sweeper.precheck=os.remove"], ["hydra.sweeper.precheck", "'os.remove' raised TypeError"]),
    (["model.dropout=interval(1.1,2)"], ["hydra.sweeper.params.model.dropout", "model.dropout: must be in [0, 1)"]),
    (["model.dropout=interval(0.9,1.5)"], ["hydra.sweeper.params.model.dropout", "got 1.5"]),
    # a NaN or infinite end: the example repeated it ('e.g. optimizer.lr=interval(nan,nan)', 'model.dropout=interval(0,inf)')
    (["optimizer.lr=interval(nan,nan)"], ["value nan is outside optimizer.lr's range; it must be in (0, 10], "
                                          "e.g. 'optimizer.lr=interval(0.1,10)'"]),
    (["model.dropout=interval(0,inf)"], ["value inf is outside model.dropout's range; it must be float in [0, 1), or one "
                                         "per block; give both ends as finite numbers"]),
    # a space given as a string Hydra's grammar refuses: it said '(See https://hydra.cc/...)' and no more
    (['hydra.sweeper.params={model.c1:"choice(4,8"}'],
     ["hydra.sweeper.params.model.c1: invalid search space: model.c1=choice(4,8: '(' is not closed; "
      "close it: 'model.c1=choice(4,8)'"]),
]


@pytest.mark.parametrize("args, needles", BAD_SWEEPS, ids=[a[0] for a, _ in BAD_SWEEPS])
def test_bad_search_space_or_storage_one_line(tmp_path, args, needles):
    """In-process (cli.main); test_sweep_refusal_as_a_subprocess is the subprocess check."""
    base = sweep_args(tmp_path, "bad", 2)
    if args[0].startswith(("hydra.sweeper.storage", "hydra.sweeper.params=")):  # what the case sets instead
        base = [a for a in base if not a.startswith(args[0].split("=", 1)[0] + "=")]
    proc = run_inproc([*base, *args], cwd=tmp_path)
    assert_one_line_error(proc, *needles)
    assert not (tmp_path / "bad").exists()  # the refused sweep's new dir is removed, storage and all
    assert "hunter2" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("space", ["model.c1=interval(4,12)", "model.c1=int(interval(12,4))", "model.c1=choice(4,4)",
                                   "model.c11=choice(4,8)", "optimizer=choice(sgd,adamm)"])
def test_a_sweep_the_space_checks_refuse_leaves_no_dir_behind(tmp_path, space):
    """In a fresh directory a refused sweep removed its sweep dir but left the empty outputs/ and
    outputs/sweeps/ it had made above it. A dir that was there before stays, with what it holds."""
    args = [a for a in sweep_args(tmp_path, "bad", 2, space) if not a.startswith(("hydra.sweep.dir=", "hydra.sweeper.storage="))]
    proc = run_inproc(args, cwd=tmp_path)
    assert proc.returncode == 2 and assert_one_line_error(proc, space.split("=")[0])
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "outputs" / "runs").mkdir(parents=True)
    assert run_inproc(args, cwd=tmp_path).returncode == 2
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["outputs", "outputs/runs"]


BAD_LEADERBOARDS = [
    (["pyproject.toml"], ["pyproject.toml", "not a leaderboard"]),
    (["nope.csv"], ["nope.csv", "no such file"]),
    (["empty_dir"], ["empty_dir", "no leaderboard.csv"]),
    (["--study", "s"], ["--study s", "MNIST_SWEEP_STORAGE"]),
    (["--storage", "sqlite:///x.db"], ["x.db", "no such SQLite file"]),
    (["--storage", "sqlite:///x.db", "--study", "s"], ["x.db", "no such SQLite file"]),
    (["--storage", "postgresql://me:hunter2@h/db", "--study", "s"], ["me:***@h/db", "clear text"]),
    (["ok.csv", "--top", "0"], ["--top", "got 0"]),
    (["ok.csv", "--out", "pyproject.toml"], ["pyproject.toml", "give a .csv file name"]),
    (["ok.csv", "--out", "notes.csv"], ["notes.csv", "not a leaderboard"]),  # a CSV of something else: kept
    (["--storage", "nosuchdb://x", "--study", "s"], ["nosuchdb://x", "cannot open"]),
    (["ok.csv", "--top", "many"], ["--top"]),
    (["ok.csv", "--out", "a_file/board.csv"], ["a_file", "Not a directory", "give a .csv file name in a directory"]),
    ([], ["give a sweep dir"]),
]


@pytest.mark.parametrize("args, needles", BAD_LEADERBOARDS, ids=[" ".join(a) or "nothing" for a, _ in BAD_LEADERBOARDS])
def test_leaderboard_bad_input_one_line(tmp_path, args, needles):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "a_file").write_text("")
    (tmp_path / "notes.csv").write_text("day,note\nmon,hello\n")
    (tmp_path / "ok.csv").write_text("rank,trial,status,trial_dir\n1,0,complete,/nowhere\n")
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.leaderboard", *args], cwd=tmp_path)
    assert_one_line_error(proc, *needles)
    assert snapshot(tmp_path) == before and "hunter2" not in proc.stdout + proc.stderr


def test_refusals_as_subprocesses(tmp_path):
    """The one subprocess check each of the sweep and the leaderboard entry points."""
    proc = run([*sweep_args(tmp_path, "bad", 2), "hydra.sweeper.n_jobs=-1"], cwd=tmp_path, process=True)
    assert proc.returncode == 2 and "hydra.sweeper.n_jobs: must be in [1, 1024], got -1" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "bad").exists()
    proc = run(["mnist_sweep.leaderboard", "--storage", f"sqlite:///{tmp_path}/x.db", "--study", "s"], cwd=tmp_path,
               process=True)
    assert_one_line_error(proc, "no such SQLite file")
    assert not (tmp_path / "x.db").exists()


def test_reproduce_rank_past_end_and_deleted_dir(swept, tmp_path):
    tmp, _, _ = swept
    assert_one_line_error(run(["mnist_sweep.reproduce", "missing.csv"], cwd=tmp_path, process=True),
                          "missing.csv", "no such file")
    board = pd.read_csv(tmp / "e2e" / "leaderboard.csv")
    proc = run(["mnist_sweep.reproduce", str(tmp / "e2e"), "--rank", str(len(board) + 1)], cwd=tmp_path)
    assert_one_line_error(proc, f"--rank {len(board) + 1}", f"{len(board)} rows")
    fake = board.copy()
    fake.loc[0, "trial_dir"] = str(tmp_path / "deleted")
    fake.to_csv(tmp_path / "lb.csv", index=False)
    proc = run(["mnist_sweep.reproduce", str(tmp_path / "lb.csv"), "--rank", "1"], cwd=tmp_path)
    assert_one_line_error(proc, "deleted", "cannot reproduce")


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT", "SIGKILL"])
def test_signal_mid_trial_loses_nothing_finished_and_resumes(tmp_path, sig):
    """A real signal to a real sweep process while its second trial trains."""
    import signal
    import time

    # 8 short epochs (TINY's 512 images): the signal lands while the second trial trains
    space = ["optimizer.lr=tag(log,interval(0.01,0.1))", "trainer.max_epochs=8"]
    args = sweep_args(tmp_path, "sig", 3, *space)
    proc = spawn(args, tmp_path)
    d = tmp_path / "sig"
    deadline = time.time() + 120
    while time.time() < deadline and not (d / "trial_0001" / "metrics.csv").exists():
        time.sleep(0.1)
    if not (d / "trial_0001" / "metrics.csv").exists():
        proc.kill()
        pytest.fail(f"the second trial never finished an epoch: {proc.communicate()[0][-2000:]}")
    finished = fingerprint(d / "trial_0000")
    proc.send_signal(getattr(signal, sig))
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    if sig != "SIGKILL":
        assert "Traceback" not in out and "interrupted" in out.strip().splitlines()[-1], out[-2000:]
        board = pd.read_csv(d / "leaderboard.csv")
        assert board.set_index("trial").loc[1, "status"] == "failed"
    assert fingerprint(d / "trial_0000") == finished
    resumed = run(sweep_args(tmp_path, "sig", 2, *space), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    board = pd.read_csv(d / "leaderboard.csv").set_index("trial")
    assert board.loc[0, "status"] == "complete" and fingerprint(d / "trial_0000") == finished
    assert board.loc[1, "status"] == "failed" and isinstance(board.loc[1, "error"], str)
    assert (board.status == "complete").sum() == 2  # the lost trial was replaced, not counted


@pytest.mark.slow
def test_in_memory_storage_sweeps_without_pruning(tmp_path):
    args = [a for a in sweep_args(tmp_path, "mem", 2, "model.c3=choice(8,16)") if not a.startswith("hydra.sweeper.storage")]
    args = [a for a in args if not a.startswith("hydra.sweeper.workers")]
    proc = run([*args, "hydra.sweeper.storage=null", "hydra.sweeper.workers=2"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    board = pd.read_csv(tmp_path / "mem" / "leaderboard.csv")
    assert (board.status == "complete").sum() == 2 and not (tmp_path / "mem" / "optuna.db").exists()
    assert "in-memory study: one worker" in proc.stdout + proc.stderr


def test_a_space_mostly_over_budget_warns_then_stops_at_max_rejected(tmp_path, monkeypatch):
    """Every candidate over a 100-parameter budget: the warning once the rejections crowd the study,
    then max_rejected's one error line; nothing is trained and every candidate is in the storage."""
    from hydra_plugins.mnist_sweep_sweeper import _corner, _loop
    monkeypatch.setattr(_loop, "CROWDED_AT", 4)
    monkeypatch.setattr(_corner, "check", lambda *a: None)  # its refusal up front: tested below
    args = sweep_args(tmp_path, "crowded", 3, "model.dropout=interval(0.0,0.1)", "model.max_params=100",
                      "hydra.sweeper.max_rejected=6")
    proc = run_inproc(args, cwd=tmp_path)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert out.count("sampler draws almost at random") == 1
    assert "hydra.sweeper.params: 4 of the study's 4 candidates were rejected before launch" in out
    assert_one_line_error(proc, "hydra.sweeper.max_rejected: 7 candidates rejected before launch, all 7 over the "
                          "budget model.max_params=100, the smallest with ")
    study = load(tmp_path, "crowded")
    assert len(study.trials) == 7 and all(t.user_attrs["status"] == "rejected" for t in study.trials)
    assert not list((tmp_path / "crowded").glob("trial_*"))


def test_a_budget_no_candidate_of_the_space_fits_is_refused_before_the_study(tmp_path, cfg):
    """Found up front from the space's smallest model, in one line naming it, not after
    hydra.sweeper.max_rejected (1,000) rejections: about 5 minutes of them for the default space."""
    args = sweep_args(tmp_path, "nofit", 2, "model.c1=choice(10,8)", "model.c3=choice(16,8,12)", "model.max_params=100")
    proc = run_inproc(args, cwd=tmp_path)
    smallest = precheck(cfg(*TINY, "model.c1=8", "model.c3=8", "model.max_params=null"))["params"]
    assert_one_line_error(proc, "model.max_params: every candidate of the search space is over the budget of 100 "
                          f"parameters: the smallest it allows has {smallest:,} (model.c1=8 model.c3=8); raise "
                          f"model.max_params to at least {smallest:,}")
    assert not (tmp_path / "nofit").exists()


def test_a_dry_run_none_of_whose_draws_fits_names_the_smallest_model_the_space_allows(tmp_path, cfg):
    """hparams_search=smallest at 4,000: every random draw is over, yet a sweep can train (its
    smallest model fits). The preview said 'over the budget?: narrow the space'; it names the
    smallest model and only the keys that change its count (not model.dropout)."""
    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "hparams_search=smallest",
                       "model.max_params=4000", f"hydra.sweep.dir={tmp_path}/d"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    widths = {"c1": 4, "c2": 8, "t1": 4, "c3": 8, "c4": 8, "c5": 8, "c6": 8}
    n = precheck(cfg(*TINY, "hparams_search=smallest", *(f"model.{k}={v}" for k, v in widths.items())))["params"]
    named = " ".join(f"model.{k}={v}" for k, v in widths.items())
    assert ("all 50 random draws are over the budget of model.max_params=4,000 parameters (the smallest drawn has "
            in proc.stdout), proc.stdout[-2000:]
    assert f"the space's smallest model has {n:,} ({named}), so few candidates fit" in proc.stdout
    assert not (tmp_path / "d" / "optuna.db").exists()


def test_a_dry_run_none_of_whose_draws_is_valid_says_why(tmp_path):
    """Every candidate an invalid model (a residual block 4 with c3 != c4): the commonest error, in the
    line; refused at the start (``_buildable``), as the sweep is, not by the preview's 50 draws."""
    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "hydra.sweeper.params=null",
                       "model.block=[plain,plain,plain,plain,residual,plain,plain]", "model.p4=1",
                       "model.c3=choice(8,12)", "model.c4=choice(16,20)", f"hydra.sweep.dir={tmp_path}/d"], cwd=tmp_path)
    line = assert_one_line_error(proc, "error: hydra.sweeper.params: no candidate of the search space is a valid "
                                 "model (model.c3, model.c4 searched; all ")  # as a sweep that trains nothing: exit 2
    assert re.search(r"tried are refused, \d+ of them: model\.block\[4\]: residual needs c_in == c_out .* set "
                     r"model\.c4=(8|12), or use plain there\): change the searched values", line), line
    assert not (tmp_path / "d").exists()


def test_a_dry_run_whose_draws_do_not_compose_counts_them_refused(tmp_path):
    """+experiment=choice(...) with a swept scheduler: tiny sets scheduler.pct_start, which none lacks. A sweep
    rejects such a candidate; the dry run stopped at it, 'error: scheduler.pct_start: no such key', exit 2."""
    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "hydra.sweeper.params=null",
                       "+experiment=choice(tiny,small_8k)", "scheduler=choice(none,cosine)",
                       f"hydra.sweep.dir={tmp_path}/d"], cwd=tmp_path)
    line = assert_one_line_error(proc, "error: hydra.sweeper.params: ")
    assert re.search(r"all 50 random draws are refused before training \(0 over the budget, 50 invalid; \d+ of them: "
                     r"conf/experiment/(tiny|small_8k)\.yaml sets scheduler\.pct_start, which scheduler=(none|cosine) "
                     r"does not have\)", line), line


@pytest.mark.parametrize("space", [["model.c3=20", "model.c4=choice(16,20)", "model.p4=1"],  # base c4=16: c_in != c_out
                                   ["model.p4=choice(0,1)"]])  # base p4=0: no padding
def test_a_base_config_whose_model_error_hangs_on_a_searched_key_is_not_refused(tmp_path, space):
    """A residual block 4 fits where the search picks c4=20 (or p4=1): the base config's error names
    model.block[4], a key not searched, and the sweep was refused though half its candidates are valid."""
    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "hydra.sweeper.params=null",
                       "model.block=[plain,plain,plain,plain,residual,plain,plain]", *space,
                       f"hydra.sweep.dir={tmp_path}/d"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.search(r"candidates \(50 random draws\): .* \d+% refused before training", proc.stdout), proc.stdout[-2000:]


def test_a_dry_run_over_several_budgets_names_them_all(tmp_path):
    """+experiment=choice(tiny,small_8k): draws against 4,000 and 8,000; the line named only the first draw's."""
    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "+experiment=choice(tiny,small_8k)",
                       f"hydra.sweep.dir={tmp_path}/d"], cwd=tmp_path)
    assert_one_line_error(proc, "error: model.max_params: all 50 random draws are over the budget of "
                          "model.max_params=4,000 or 8,000 parameters", "narrow the search space")


def custom_that_raises(cfg, trial: optuna.Trial) -> None:
    """A custom search space with a bug on some draws."""
    if trial.params["model.c3"] == 8:
        raise ZeroDivisionError("division by zero")


def test_a_dry_run_stops_at_the_custom_spaces_error_as_the_sweep_would(tmp_path):
    """The sweep stops at the function's error in one line; the dry run counted it as a refused draw
    and gave an estimate, exit 0."""
    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "hydra.sweeper.params=null",
                       "model.c3=choice(8,16)", "hydra.sweeper.custom_search_space=test_sweep.custom_that_raises",
                       f"hydra.sweep.dir={tmp_path}/d"], cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, "hydra.sweeper.custom_search_space: the function raised ZeroDivisionError")


@pytest.mark.parametrize("space", [
    ["+experiment=choice(best_20k,tiny)", "model.c5=choice(8,16)", "model.max_params=4000"],  # tiny, c5=8: 3,758
    ["model.block=[plain,plain,plain,plain,residual,plain,plain]", "model.p4=1", "model.c3=choice(16,8)",
     "model.c4=choice(16,8)", "model.max_params=7000"],  # c3=c4=8: 6,290; c3=8 alone is no valid model
])
def test_a_budget_some_candidate_meets_is_not_refused_where_the_smallest_cannot_be_told(tmp_path, space):
    """Counted from the base's model, single-key moves missed both: tiny's model (a group added per
    candidate) and a residual block valid only where two widths are equal. Both were refused."""
    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "hydra.sweeper.params=null", *space,
                       f"hydra.sweep.dir={tmp_path}/d"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "every candidate of the search space" not in proc.stdout + proc.stderr


def test_a_budget_nothing_fits_fails_naming_it_and_the_smallest_candidate(tmp_path, monkeypatch):
    """Every candidate over model.max_params where the space's smallest model cannot be told up front
    (a custom space, the model group searched): the sweep ends (its space exhausted) with one error
    line naming the budget and the smallest candidate's size, not with rc 0 and 'no trial completed'."""
    from hydra_plugins.mnist_sweep_sweeper import _corner
    monkeypatch.setattr(_corner, "check", lambda *a: None)
    args = sweep_args(tmp_path, "nofit", 2, "model.c1=choice(8,10)", "model.max_params=100",
                      "hydra.sweeper.max_duplicates=3")
    proc = run_inproc(args, cwd=tmp_path)
    line = assert_one_line_error(proc, "model.max_params: no trial was trained", "over the budget model.max_params=100")
    from conftest import make_cfg
    smallest = precheck(make_cfg("model.c1=8", "model.max_params=null"))["params"]
    assert f"the smallest with {smallest:,} parameters" in line
    assert not (tmp_path / "nofit").exists()  # a new study that trained nothing: its dir and storage are undone


OVER = ("model.c3=choice(200,256)", "hydra.sweeper.max_duplicates=3")  # the base config fits, no candidate does
# (refused at the start since (_precheck._fits_at_low_end): its check off here, as where the smallest cannot be told)


@pytest.mark.parametrize("before", ["nothing", "a dir of the user's", "the study", "a shared storage"])
def test_a_sweep_whose_every_candidate_is_over_the_budget_leaves_nothing_half_written(tmp_path, monkeypatch, before):
    """Where the start cannot tell the space's smallest model (a custom space, the model group searched; the
    check off here), the sweep rejects every candidate; it ended in its one line, but left optuna.db, storage.json and leaderboard.csv of a study with no trained
    trial in its new sweep dir. A new study is undone (its dir, or what the sweep added to a dir that was
    there, and the study in a storage that was there); a study that was there keeps all it had."""
    from hydra_plugins.mnist_sweep_sweeper import _corner
    monkeypatch.setattr(_corner, "check", lambda *a: None)
    d, args = tmp_path / "over", sweep_args(tmp_path, "over", 2, *OVER)
    if before != "nothing":
        d.mkdir()
        (d / "notes.txt").write_text("mine")
    if before == "the study":
        optuna.create_study(study_name="over", storage=f"sqlite:///{d}/optuna.db", direction="maximize")
    if before == "a shared storage":
        url = f"sqlite:///{tmp_path}/shared.db"
        optuna.create_study(study_name="other", storage=url)
        args = [a if not a.startswith("hydra.sweeper.storage=") else f"hydra.sweeper.storage={url}" for a in args]
    proc = run_inproc(args, cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, "model.max_params: no trial was trained", "over the budget model.max_params=20,000")
    if before == "nothing":
        assert not d.exists() and list(tmp_path.iterdir()) == []
    elif before == "the study":
        assert (d / "notes.txt").exists() and load(tmp_path, "over").trials  # kept, with this sweep's rejections
    else:
        assert [p.name for p in d.iterdir()] == ["notes.txt"]
    if before == "a shared storage":
        assert optuna.get_all_study_names(url) == ["other"]


def test_a_resume_with_other_choices_is_refused_before_any_trial(tmp_path):
    """The study sampled model.c3 from choice(8,16); a resume with choice(8,16,24) is refused in one
    line naming the key, both spaces and the way out, and the storage is left as it was."""
    (tmp_path / "probe").mkdir()
    study = optuna.create_study(study_name="probe", storage=f"sqlite:///{tmp_path}/probe/optuna.db",
                                direction="maximize")
    trial = study.ask({"model.c3": optuna.distributions.CategoricalDistribution([8, 16])})
    trial.set_user_attr("status", "complete")
    study.tell(trial, 0.5)
    proc = run_inproc(sweep_args(tmp_path, "probe", 3, "model.c3=choice(8,16,24)"), cwd=tmp_path)
    assert_one_line_error(proc, "hydra.sweeper.params.model.c3", "choice(8,16)", "choice(8,16,24)",
                          "keep 'model.c3=choice(8,16)'", "new hydra.sweep.dir")
    assert [(t.number, t.state) for t in load(tmp_path, "probe").trials] == [(0, optuna.trial.TrialState.COMPLETE)]
    assert sorted(p.name for p in (tmp_path / "probe").iterdir()) == ["optuna.db"]


@pytest.mark.parametrize("asked, spelled, objectives", [
    ("minimize", "minimize", ["trainer.objectives=[params]", "hydra.sweeper.constrain_to_target=true"]),  # as smallest
    ("[maximize,minimize]", "[maximize,minimize]", ["trainer.objectives=[val_acc,params]"]),  # as pareto
])
def test_a_resume_with_other_directions_is_refused_before_any_trial(tmp_path, asked, spelled, objectives):
    """A study created to maximize, resumed with another direction or with pareto's two: Optuna
    loaded it with its own direction and ignored the run's (a minimize run maximized; two
    objectives told to a one-objective study failed every trial, listed 'complete', rc 0). Now
    one line names both and the way out, and the storage is left as it was."""
    (tmp_path / "dirs").mkdir()
    study = optuna.create_study(study_name="dirs", storage=f"sqlite:///{tmp_path}/dirs/optuna.db", direction="maximize")
    trial = study.ask({"model.c3": optuna.distributions.CategoricalDistribution([8, 16])})
    study.tell(trial, 0.5)
    proc = run_inproc(sweep_args(tmp_path, "dirs", 3, "model.c3=choice(8,16)", f"hydra.sweeper.direction={asked}",
                                 *objectives), cwd=tmp_path)
    assert_one_line_error(proc, "hydra.sweeper.direction", "created to maximize", f"asks to {spelled}",
                          "hydra.sweeper.direction=maximize", "new hydra.sweep.dir")
    assert [(t.number, t.state) for t in load(tmp_path, "dirs").trials] == [(0, optuna.trial.TrialState.COMPLETE)]
    assert sorted(p.name for p in (tmp_path / "dirs").iterdir()) == ["optuna.db"]


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # set_metric_names, as the sweep calls it
def test_a_resume_with_another_objective_in_the_same_direction_is_refused_before_any_trial(tmp_path):
    """smallest's study (params, minimized) resumed by fastest (train_s, minimized): the directions
    matched, so Optuna was told seconds beside parameter counts and the leaderboard ranked a 0.15 s
    trial above a 9,778-parameter one, rc 0. Now one line names both objectives; the storage is as it was."""
    (tmp_path / "objs").mkdir()
    study = optuna.create_study(study_name="objs", storage=f"sqlite:///{tmp_path}/objs/optuna.db", direction="minimize")
    study.set_metric_names(["params"])
    trial = study.ask({"model.c3": optuna.distributions.CategoricalDistribution([8, 16])})
    study.tell(trial, 9778)
    proc = run_inproc(sweep_args(tmp_path, "objs", 3, "model.c3=choice(8,16)", "hydra.sweeper.direction=minimize",
                                 "trainer.objectives=[train_s]", "hydra.sweeper.constrain_to_target=true"), cwd=tmp_path)
    assert_one_line_error(proc, "trainer.objectives: the study 'objs' optimizes params, this run would optimize train_s",
                          "trainer.objectives=[params]", "new hydra.sweep.dir")
    assert [(t.number, t.state) for t in load(tmp_path, "objs").trials] == [(0, optuna.trial.TrialState.COMPLETE)]
    assert sorted(p.name for p in (tmp_path / "objs").iterdir()) == ["optuna.db"]


@pytest.mark.parametrize("extra, needle", [
    (["trainer.objectives=[val_acc,params]"], "1 direction (maximize) for 2 objectives"),
    (["hydra.sweeper.direction=[maximize,minimize]"], "2 directions (maximize,minimize) for 1 objective"),
])
def test_directions_that_do_not_match_the_objectives_stop_the_sweep_before_the_study(tmp_path, extra, needle):
    """Optuna fails a trial told another number of values than the study's directions: every trial
    failed while listed 'complete', and the sweep exited 0. Now one line, before the study is made."""
    proc = run_inproc(sweep_args(tmp_path, "objs", 2, "model.c3=choice(8,16)", *extra), cwd=tmp_path)
    assert_one_line_error(proc, "hydra.sweeper.direction: ", needle, "give one per objective")
    assert not (tmp_path / "objs").exists()


def test_a_direction_that_contradicts_the_objective_is_refused_before_anything_is_written(tmp_path):
    """hydra.sweeper.direction=minimize on val_acc ran and minimized validation accuracy: 'best 8.59%
    (trial 1)' while trial 0 had 11.33%, and the closing lines and export --rank 1 named the worst."""
    proc = run_inproc(sweep_args(tmp_path, "mini", 2, "model.c3=choice(8,16)", "hydra.sweeper.direction=minimize"),
                      cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, "hydra.sweeper.direction=minimize: the objective val_acc is an accuracy, which a sweep "
                          "maximizes; drop the override (or hydra.sweeper.direction=maximize)")
    assert list(tmp_path.iterdir()) == []


def test_a_few_rejections_among_trained_trials_do_not_warn(tmp_path, monkeypatch):
    from hydra_plugins.mnist_sweep_sweeper import _loop
    monkeypatch.setattr(_loop, "CROWDED_AT", 2)  # checked at trial 2: 2 rejected of 3 told
    args = sweep_args(tmp_path, "fits", 2, "model.c3=choice(8,16,256,512)",
                      "hydra.sweeper.enqueue=[{model.c3:256},{model.c3:8},{model.c3:512},{model.c3:16}]")
    proc = run_inproc(args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "trial 2 rejected before launch" in proc.stdout + proc.stderr
    assert "draws almost at random" not in proc.stdout + proc.stderr


def test_a_candidate_whose_swept_choices_do_not_compose_is_rejected_with_one_line_naming_the_file(tmp_path):
    """+experiment=tiny with scheduler=none: tiny sets scheduler.pct_start, which none lacks. The
    rejection's reason (log line, leaderboard, dashboard note) was Hydra's multi-line report."""
    args = sweep_args(tmp_path, "clash", 4, "+experiment=choice(tiny,small_8k)", "scheduler=choice(none,cosine)",
                      "hydra.sweeper.max_duplicates=3")
    (tmp_path / "clash").mkdir()  # a study that was there: kept with its rejections (a new one that trains nothing is undone)
    optuna.create_study(study_name="clash", storage=f"sqlite:///{tmp_path}/clash/optuna.db", direction="maximize")
    proc = run_inproc(args, cwd=tmp_path)
    assert proc.returncode != 0
    rejected = [t for t in load(tmp_path, "clash").trials if t.user_attrs.get("status") == "rejected"]
    assert rejected
    for t in rejected:
        error = t.user_attrs["error"]
        assert "\n" not in error and re.fullmatch(
            r"conf/experiment/(tiny|small_8k)\.yaml sets scheduler\.pct_start, which scheduler=(none|cosine) does not have",
            error), error


def test_searched_keys_the_fixed_groups_take_away_are_named_and_left_out_of_the_space(tmp_path):
    """model=eva8_seed with the default space: model.c1..c6 and t1 are keys of model=cnn only, never
    sampled; the dry run listed them as searched, without a word."""
    proc = run_inproc(["mnist_sweep.train", "-m", "model=eva8_seed", "hydra.sweeper.dry_run=true",
                       f"hydra.sweep.dir={tmp_path}/d"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    assert ("hydra.sweeper.params: model.c1, model.c2, model.t1, model.c3, model.c4, model.c5, model.c6 not searched: "
            "the config that model=eva8_seed composes has no such key") in out
    assert "model.c1: CategoricalDistribution" not in out and "optimizer.lr: FloatDistribution" in out


def test_a_space_over_the_budget_from_a_base_that_fits_is_refused_at_the_start(tmp_path, cfg):
    """The base config fits (its searched keys at conf/'s values, no candidate's), every candidate is
    over: the start did not probe it, and the sweep rejected candidates up to max_rejected (1,000, many
    minutes). One line at the start now, naming the budget and the smallest model, nothing written."""
    args = sweep_args(tmp_path, "over", 2, "model.c3=choice(200,256)", "model.c4=int(interval(64,128))")
    proc = run_inproc(args, cwd=tmp_path)
    smallest = precheck(cfg(*TINY, "model.c3=200", "model.c4=64", "model.max_params=null"))["params"]
    assert_one_line_error(proc, "model.max_params: every candidate of the search space is over the budget of 20,000 "
                          f"parameters: the smallest it allows has {smallest:,} (model.c3=200 model.c4=64); raise "
                          f"model.max_params to at least {smallest:,}")
    assert list(tmp_path.iterdir()) == []
