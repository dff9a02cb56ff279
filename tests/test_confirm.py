from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import assert_one_line_error, run, run_inproc, snapshot, sweep_args
from mnist_sweep import confirm, reuse
from test_reproduce import fake_sweep

SMALL = ["--set", "data.train_limit=512", "--set", "data.test_limit=256", "--set", "trainer.max_epochs=1"]


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("confirm")
    proc = run(sweep_args(tmp, "c", 2, "model.c3=choice(8,16)"), cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return tmp


# The board's tests run one after the other on one xdist worker, so it is swept once: slow tests go first
# (conftest), and a module fixture is torn down where a test of another module comes between its users.
ON_BOARD = pytest.mark.xdist_group("confirm_board")


@pytest.mark.slow
@ON_BOARD
def test_confirm_the_trials_named(board):
    out, rows = board / "named", pd.read_csv(board / "c" / "leaderboard.csv")
    trial = int(rows[rows.status == "complete"].trial.iloc[-1])  # the last complete row, not rank 1
    # its run finished in --out (a training subprocess: seconds; test_confirm_top_configs_over_seeds and
    # the pareto test train theirs): the table names the trial asked for, not rank 1
    finished_seed_1(board / "c", trial, out)
    proc = run(["mnist_sweep.confirm", str(board / "c"), "--trial", str(trial), "--seeds", "1", "--out", str(out),
                *SMALL], cwd=board)
    assert proc.returncode == 0 and f"trial_{trial:04d} seed 1: test 50.00% after 1 epoch (reused" in proc.stdout, \
        proc.stdout + proc.stderr[-2000:]
    assert list(pd.read_csv(out / "robustness.csv").config) == [f"trial_{trial:04d}"]


@pytest.mark.subprocess_children  # its run in a new interpreter, as a user's is (the other tests' runs are forks)
def test_confirm_a_pareto_trial_whose_objective_is_val_acc(tmp_path):
    """The protocol has no validation split, so the trial's val_acc objective becomes test_acc_final
    (it failed with "needs data.val_size > 0" before)."""
    proc = run(sweep_args(tmp_path, "p", 1, "hparams_search=pareto"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = tmp_path / "out"
    done = run_inproc(["mnist_sweep.confirm", str(tmp_path / "p"), "--trial", "0", "--seeds", "1", "--out", str(out),
                       *SMALL], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    cfg = (out / "trial_0000" / "seed_1" / ".hydra" / "config.yaml").read_text()
    assert "objectives:\n  - test_acc_final\n  - params" in cfg and "val_size: 0" in cfg


@pytest.mark.slow
@ON_BOARD
def test_confirm_top_configs_over_seeds(board):
    out = board / "conf"
    proc = run(["mnist_sweep.confirm", str(board / "c"), "--top", "1", "--seeds", "2", "--out", str(out), *SMALL], cwd=board)
    assert proc.returncode == 0, proc.stderr[-2000:]
    df = pd.read_csv(out / "robustness.csv")
    assert len(df) == 1 and {"seed_1", "seed_2", "mean", "std", "min", "reached", "params", "s_per_epoch"} <= set(df.columns)
    assert (df["min"] <= df["mean"]).all()
    for name in df.config:
        for seed in (1, 2):
            cfg = (out / name / f"seed_{seed}" / ".hydra" / "config.yaml").read_text()
            assert "val_size: 0" in cfg and f"seed: {seed}" in cfg  # full training set, no hold-out
    again = run(["mnist_sweep.confirm", str(board / "c"), "--top", "1", "--seeds", "2", "--out", str(out), *SMALL],
                cwd=board)
    assert again.returncode == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "robustness.csv"), df)  # finished runs reused
    # and said so: the second run's output read as if it had trained both seeds again
    assert "reused" not in proc.stdout
    for seed in (1, 2):
        assert f"seed {seed}: test " in again.stdout and f"(reused: {out / df.config[0] / f'seed_{seed}'} is a " \
            "finished run of this exact config)" in again.stdout, again.stdout
    assert f"reused 2 of 2 runs, finished before with these exact configs: {df.config[0]} seed 1, " in again.stdout
    assert "all 60,000 training images" in proc.stdout and "all 10,000 test images" in proc.stdout
    assert "dropped the configs' data.test_limit=256, data.train_limit=512" in proc.stdout  # the trials' subsets
    assert "BUT --set data.train_limit=512 data.test_limit=256: not the full data" in proc.stdout
    other = [*SMALL[:-1], "trainer.max_epochs=2"]  # a different config into the same --out: refused, not reused
    changed = run(["mnist_sweep.confirm", str(board / "c"), "--top", "1", "--seeds", "2", "--out", str(out), *other],
                  cwd=board)
    assert_one_line_error(changed, "holds a finished run of another config", "trainer.max_epochs: 1 there, 2 asked for")


@pytest.mark.slow
def test_confirm_reuses_a_sweeps_repeats_trained_with_its_protocol(tmp_path):
    """A sweep that trained with the confirmation protocol (no hold-out, selection on the test
    set: the assignment-style protocol) and repeats: its seeds are the confirmation's runs."""
    protocol = ["data.val_size=0", "trainer.select_on=test", "trainer.seed=1", "hydra.sweeper.repeats.seeds=2",
                "hydra.sweeper.repeats.top_k=5"]
    proc = run(sweep_args(tmp_path, "r", 1, *protocol), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = tmp_path / "conf"
    small = ["--set", "data.train_limit=512", "--set", "data.test_limit=256"]  # the sweep's own subset
    conf = run(["mnist_sweep.confirm", str(tmp_path / "r"), "--top", "1", "--seeds", "2", "--out", str(out), *small],
               cwd=tmp_path)
    assert conf.returncode == 0, conf.stderr[-2000:]
    assert conf.stdout.count("is a finished run of this exact config)") == 2 and "reused 2 of 2 runs" in conf.stdout
    assert "trial_0000 seed 2: test " in conf.stdout and f"(reused: {tmp_path / 'r' / 'trial_0000' / 'seed_2'} is" in conf.stdout
    assert not list(out.rglob("result.json"))  # nothing trained
    df = pd.read_csv(out / "robustness.csv")
    trial = tmp_path / "r" / "trial_0000"
    for seed, d in ((1, trial), (2, trial / "seed_2")):
        assert df.loc[0, f"seed_{seed}"] == json.loads((d / "result.json").read_text())["test_acc_final"]
    select = ["--config-path", str(trial / ".hydra"), "--config-name", "config"]
    full = confirm.resolved(select, [*confirm.FULL_TRAIN, "trainer.seed=1"])  # all 60k images: not what the sweep ran
    assert reuse.finished_diff(trial, full) == "data.test_limit: 256 there, None asked for"  # the first key differing


BAD_CONFIRMS = [
    (["missing.csv"], ["missing.csv", "no such file"]),
    (["x.csv"], ["x.csv", "not a leaderboard"]),
    (["none_complete.csv"], ["none_complete.csv", "no complete trial"]),
    (["--experiment", "nope"], ["--experiment nope", "best_20k"]),
    (["--experiment", "tlny"], ["--experiment tlny: no tlny.yaml in", "; did you mean --experiment tiny? (experiments "
                                "there: best_20k"]),  # a typo was listed with the rest, as train's +experiment=tlny was not
    (["x.csv", "--seeds", "0"], ["--seeds"]),
    (["--experiment", "best_20k", "--out", "a_file/out"], ["a_file/out", "Not a directory"]),
    ([], ["--experiment"]),
    (["x.csv", "--experiment"], ["--experiment", "expected at least one argument"]),  # was ignored: x.csv confirmed
    (["--experiment", "best_20k", "--out", "run"], ["--out", "run", "holds a run"]),
    (["x.csv", "--parallel", "0"], ["--parallel", "got 0"]),
    (["x.csv", "--top", "-3"], ["--top", "got -3"]),
    (["x.csv", "--set", "no_equals_sign"], ["--set", "KEY=VALUE"]),
    # Hydra's 'LexerNoViableAltException: trainer.device='cpu; See https://...' (composed before the command-line check)
    (["--experiment", "tiny", "--set", "trainer.device='cpu"],
     ["--set trainer.device='cpu: the quote ' is not closed; close it (trainer.device='cpu') or drop it"]),
    (["--experiment", "../../etc/passwd"], ["--experiment"]),
    (["none_complete.csv", "--trial", "5"], ["--trial 5", "not in", "trials 0..0"]),
    (["--experiment", "best_20k", "--trial", "1"], ["--trial needs the leaderboard"]),
    (["--experiment", "tiny", "--top", "5"], ["--top picks a sweep's best trials", "drop --top"]),  # was ignored
    (["x.csv", "--experiment", "tiny"], ["x.csv and --experiment", "not both"]),  # was ignored: tiny trained
    (["x.csv", "--top", "2", "--trial", "1"], ["--trial", "not allowed with", "--top"]),
    (["none_complete.csv", "--trial", "0"], ["trial 0 (pruned)", "/nowhere"]),
    # every seed trained with seed 5 (the --set came last), its seed_N columns one run's; the run dir was dropped
    (["--experiment", "tiny", "--set", "trainer.seed=5"], ["--set trainer.seed=5: confirm trains seeds 1..N itself"]),
    (["--experiment", "tiny", "--set", "++hydra.run.dir=elsewhere"], ["--set ++hydra.run.dir=elsewhere:", "give --out"]),
    # 'give --experiment too' / 'give a leaderboard ...', silent on the dir: a second try, then 'no such directory'
    (["x.csv", "--config-dir", "nodir"], ["give --experiment too", "--config-dir nodir: no such directory"]),
    (["--config-dir", "nodir"], ["--experiment NAME", "--config-dir nodir: no such directory"]),
    (["--config-dir", "experiment", "--experiment", "mine"], ["experiment/mine.yaml is one dir up: give --config-dir "]),
]


@pytest.mark.parametrize("args, needles", BAD_CONFIRMS, ids=[" ".join(a) or "nothing" for a, _ in BAD_CONFIRMS])
def test_confirm_bad_input_one_line(tmp_path, args, needles):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    (tmp_path / "none_complete.csv").write_text("rank,trial,status,trial_dir\n1,0,pruned,/nowhere\n")
    (tmp_path / "a_file").write_text("")
    (tmp_path / "run" / ".hydra").mkdir(parents=True)
    (tmp_path / "run" / "metrics.csv").write_text("epoch\n1\n")
    (tmp_path / "experiment").mkdir()  # given as --config-dir: the dir that holds experiment/ is wanted
    (tmp_path / "experiment" / "mine.yaml").write_text("# @package _global_\n")
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.confirm", *args], cwd=tmp_path)
    assert_one_line_error(proc, *needles)
    assert proc.returncode == 2
    assert snapshot(tmp_path) == before  # nothing written, nothing deleted


def test_confirm_refusal_as_a_subprocess(tmp_path):
    proc = run(["mnist_sweep.confirm", "x.csv", "--seeds", "0"], cwd=tmp_path, process=True)
    assert_one_line_error(proc, "--seeds")
    assert list(tmp_path.iterdir()) == []


def test_a_key_added_later_at_its_default_is_no_difference():
    saved = {"trainer": {"seed": 1}, "model": {"c1": 8}}  # saved before ema_decay and k1 existed
    defaults = {"trainer": {"seed": 0, "ema_decay": None}, "model": {"c1": 8, "k1": 3}}
    same = {"trainer": {"seed": 1, "ema_decay": None}, "model": {"c1": 8, "k1": 3}}
    assert reuse.first_difference(saved, same, defaults=defaults) is None
    assert reuse.first_difference(saved, same) == "model.k1: '<missing>' there, 3 asked for"  # no defaults known
    other = {"trainer": {"seed": 1, "ema_decay": 0.999}, "model": {"c1": 8, "k1": 3}}
    assert reuse.first_difference(saved, other, defaults=defaults) == "trainer.ema_decay: '<missing>' there, 0.999 asked for"
    assert reuse.first_difference(same, saved, defaults=defaults) == "model.k1: 3 there, '<missing>' asked for"
    assert reuse.first_difference(saved, {**same, "model": {"c1": 8, "k1": 5}}, defaults=defaults) == (
        "model.k1: '<missing>' there, 5 asked for")


BAD_SETS = [
    (["model.foo=1"], ["--set model.foo=1", "model.foo", "no such key"]),
    (["model.c1=abc"], ["--set model.c1=abc: model.c1:"]),  # a saved trial's config said model.widths[0]
    (["trainer.max_epochs=1", "model.c1=-3"], ["--set model.c1=-3", "must be >= 1"]),
    (["optimizer=adamz"], ["--set optimizer=adamz", "adamz"]),
]


@pytest.mark.parametrize("source", ["sweep", "experiment"])
@pytest.mark.parametrize("sets, needles", BAD_SETS, ids=[" ".join(s) for s, _ in BAD_SETS])
def test_a_bad_set_is_one_line_naming_it_before_anything_is_printed_or_created(tmp_path, source, sets, needles):
    """Every run's config is composed and checked first: a bad --set was a Hydra traceback, or an
    error after 'confirming ...' and 'protocol: ...', and left an empty --out behind."""
    select = [str(fake_sweep(tmp_path)), "--top", "1"] if source == "sweep" else ["--experiment", "tiny"]
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.confirm", *select, "--seeds", "2", "--out", str(tmp_path / "out"),
                       *[a for s in sets for a in ("--set", s)]], cwd=tmp_path)
    assert_one_line_error(proc, *needles)
    assert proc.stdout == "" and snapshot(tmp_path) == before


@pytest.mark.parametrize("damage", ["result.json", "config.yaml", "no config.yaml", "interpolation"])
def test_a_damaged_run_in_out_is_one_line_naming_its_file(tmp_path, damage):
    """A run dir of --out with a damaged result.json or saved config was a JSONDecodeError or YAML
    ParserError traceback; a missing config.yaml was 'choose a writable directory'."""
    sw = fake_sweep(tmp_path)
    seed = tmp_path / "out" / "trial_0000" / "seed_1"
    (seed / ".hydra").mkdir(parents=True)
    (seed / "result.json").write_text('{"status": "complete", "test_acc' if damage == "result.json"
                                      else '{"status": "complete"}')
    config = (sw / "trial_0000" / ".hydra" / "config.yaml").read_text()
    if damage != "no config.yaml":
        (seed / ".hydra" / "config.yaml").write_text(
            {"config.yaml": "model: [\n", "interpolation": config.replace("c1:", "cc1:")}.get(damage, config))
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.confirm", str(sw), "--trial", "0", "--seeds", "1", "--out", str(tmp_path / "out")],
                      cwd=tmp_path)
    file = seed / ("result.json" if damage == "result.json" else ".hydra/config.yaml")
    assert_one_line_error(proc, str(file), "remove that run dir", "another --out")
    assert snapshot(tmp_path) == before


def test_a_failed_run_leaves_no_out_dir_behind(tmp_path):
    """confirm made --out (and its parents) before training; a run that failed left them empty."""
    sw = fake_sweep(tmp_path)
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.confirm", str(sw), "--trial", "0", "--seeds", "1", "--out", str(tmp_path / "a b" / "out"),
                       *SMALL, "--set", f"data.root={tmp_path / 'no_data'}"], cwd=tmp_path)
    last = assert_one_line_error(proc, "training failed", "no_data")
    assert "): error:" not in last, last  # the run's own line, quoted without its "error: "
    assert snapshot(tmp_path) == before


def test_a_run_of_another_config_in_out_is_refused_before_anything_is_printed_or_trained(tmp_path):
    """The run dir of a seed holding a finished run of another config (an earlier confirm with other
    --set values) was met when that seed's turn came: after 'confirming ...', and after the seeds
    before it had trained."""
    sw = fake_sweep(tmp_path)
    seed = tmp_path / "out" / "trial_0000" / "seed_1"
    (seed / ".hydra").mkdir(parents=True)
    (seed / "result.json").write_text('{"status": "complete", "test_acc_final": 0.5, "epochs": 1}')
    (seed / ".hydra" / "config.yaml").write_text((sw / "trial_0000" / ".hydra" / "config.yaml").read_text())
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.confirm", str(sw), "--trial", "0", "--seeds", "2", "--parallel", "1",
                       "--out", str(tmp_path / "out"), *SMALL], cwd=tmp_path)
    assert_one_line_error(proc, f"{seed}: holds a finished run of another config (", "give another --out")
    assert proc.stdout == "" and snapshot(tmp_path) == before


def finished_seed_1(leaderboard, trial: int, out) -> None:
    """The run ``confirm LEADERBOARD --trial N --seeds 1 *SMALL --out OUT`` trains, finished in ``out`` (its
    config resolved as confirm resolves it, and a result.json), written without training: confirm reuses it."""
    from types import SimpleNamespace

    from omegaconf import OmegaConf

    named = SimpleNamespace(experiment=None, leaderboard=str(leaderboard), trial=[trial], top=1, config_dir=None)
    [(name, (select, _))] = confirm.candidates(named).items()
    wanted = confirm.resolved(select, confirm.checked_overrides(name, select, 1, SMALL[1::2]))
    seed = out / name / "seed_1"
    (seed / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create(wanted), seed / ".hydra" / "config.yaml")
    (seed / "result.json").write_text(json.dumps({"status": "complete", "test_acc_final": 0.5, "params": 900, "epochs": 1,
                                                  "reached_target": False, "target_acc": 0.994, "wall_s": 1.0,
                                                  "precision": "fp32"}))


def test_an_earlier_confirms_rows_in_out_are_kept_and_a_damaged_table_refused_first(tmp_path):
    """A second confirm into the same --out (the default outputs/confirm) rewrote robustness.csv with
    its own configs only: the earlier confirm's rows were lost, though their runs stayed."""
    sw, out = fake_sweep(tmp_path), tmp_path / "out"
    finished_seed_1(sw, 0, out)  # trained here before (a subprocess's imports and a run: seconds); reused alike
    argv = ["mnist_sweep.confirm", str(sw), "--trial", "0", "--seeds", "1", "--out", str(out), *SMALL]
    first = run_inproc(argv, cwd=tmp_path)
    assert first.returncode == 0 and "reused 1 of 1 run" in first.stdout, first.stdout + first.stderr
    table = out / "robustness.csv"
    earlier = "trial_0009,900,1,0.5,0.6,0.55,0.05,0.5,0/2,0.994,1.0,\n"  # every field, the last empty, as to_csv writes
    table.write_text(table.read_text().splitlines()[0].replace("seed_1,", "seed_1,seed_2,") + "\n" + earlier)
    proc = run_inproc(argv, cwd=tmp_path)  # seed 1 is reused: nothing trains
    assert proc.returncode == 0, proc.stderr
    assert "kept the earlier 1 row of trial_0009" in proc.stdout
    rows = pd.read_csv(table).set_index("config")
    assert list(rows.index) == ["trial_0009", "trial_0000"] and rows.loc["trial_0009", "seed_2"] == 0.6
    table.write_text("garbage\x00\n")
    before = snapshot(tmp_path)
    proc = run_inproc(argv, cwd=tmp_path)
    assert_one_line_error(proc, f"{table}: not a confirm's table", "another --out")
    assert proc.stdout == "" and snapshot(tmp_path) == before


def test_a_set_that_changes_the_model_says_so(tmp_path):
    """--set model.c1=16 trained another model under the trial's name with not a word: the table read
    as the trial's own results."""
    from mnist_sweep.reproduce import selection

    chosen = {"trial_0000": (selection(fake_sweep(tmp_path) / "trial_0000" / ".hydra"), None)}
    [line] = confirm.model_changes(chosen, ["trainer.max_epochs=1", "model.c1=16"])
    assert line.startswith("note: --set changes the model of trial_0000 (model.c1: ") and "16 with --set" in line, line
    assert confirm.model_changes(chosen, ["trainer.max_epochs=1", "data.train_limit=512"]) == []
    assert confirm.model_changes(chosen, []) == []


def test_one_seed_has_no_std():
    """--seeds 1 wrote std 0.0 (printed 0.000), a spread of zero where none was measured."""
    run = {"test_acc_final": 0.99, "params": 900, "epochs": 2, "reached_target": False, "target_acc": 0.994, "wall_s": 4.0}
    one = confirm.table({"trial_0000": {1: run}}).iloc[0]
    assert pd.isna(one["std"]) and one["mean"] == one["min"] == 0.99
    two = confirm.table({"trial_0000": {1: run, 2: {**run, "test_acc_final": 0.98}}}).iloc[0]
    assert abs(two["std"] - 0.00707) < 1e-4


def test_a_finished_run_that_read_its_data_in_another_root_is_reused_not_refused(tmp_path):
    """confirm of a trial with data.root=mnist from its start dir, then again from another dir (or
    another machine): the re-run's data.root=<start>/mnist (or null) made --out's finished run 'a
    finished run of another config (data.root: 'mnist' there, ...)', refused. The files are the same
    wherever they are read (SHA-256): the run is reused; any other key still refuses it."""
    from omegaconf import OmegaConf

    from conftest import TINY, make_cfg
    from mnist_sweep.errors import MnistSweepError

    run = tmp_path / "out"
    (run / ".hydra").mkdir(parents=True)
    OmegaConf.save(make_cfg(*TINY, "data.root=mnist"), run / ".hydra" / "config.yaml")
    (run / "result.json").write_text('{"status": "complete"}')
    for root in (f"data.root={tmp_path}/start/mnist", "data.root=null"):
        assert reuse.check_not_in_the_way(run, [], [*TINY, root]) == {"status": "complete"}
    with pytest.raises(MnistSweepError, match="trainer.seed: 1 there, 5 asked for"):
        reuse.check_not_in_the_way(run, [], [*TINY, "data.root=null", "trainer.seed=5"])


def test_a_trial_number_two_merged_sweeps_share_is_refused(tmp_path, capsys):
    """A merged table (leaderboard A B --out m.csv) numbers each sweep's trials from 0: --trial 0 took
    the first row holding it in export and reproduce, the last in confirm, silently another sweep's config."""
    from mnist_sweep.errors import LeaderboardError
    from mnist_sweep.saved_trial import pick_row

    (tmp_path / "m.csv").write_text("rank,sweep,trial,status,trial_dir\n1,a,0,complete,/a/trial_0000\n"
                                    "2,b,0,complete,/b/trial_0000\n3,b,1,complete,/b/trial_0001\n")
    assert confirm.main([str(tmp_path / "m.csv"), "--trial", "1", "0", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip() == (f"error: --trial 0: {tmp_path / 'm.csv'} merges sweeps, and 2 have a trial 0: "
                                               "a (rank 1), b (rank 2); give that sweep's dir with --trial 0")
    board = pd.read_csv(tmp_path / "m.csv")
    with pytest.raises(LeaderboardError, match=r"and 2 have a trial 0: .*--trial 0, or --rank N$"):
        pick_row(board, None, 0, "m.csv")
    assert pick_row(board, None, 1, "m.csv")["sweep"] == "b" and not (tmp_path / "out").exists()


def test_the_top_of_a_merged_table_names_each_sweeps_trial_apart(tmp_path):
    """confirm m.csv --top 4 over two merged sweeps (trials 0 and 1 in each) confirmed 2 configs: each
    sweep's trial 0 was named trial_0000, the later row's config replacing the other's."""
    import argparse

    rows = ["rank,sweep,trial,status,trial_dir"]  # the sweep column as the merge wrote it: the paths given
    for rank, where in enumerate(["a", "b", "x/sw", "y/sw"], 1):
        sweep = fake_sweep(tmp_path / where)
        rows.append(f"{rank},{tmp_path / where},0,complete,{sweep / 'trial_0000'}")
    (tmp_path / "m.csv").write_text("\n".join(rows[:3]) + "\n")
    args = argparse.Namespace(experiment=None, leaderboard=str(tmp_path / "m.csv"), trial=None, top=5)
    assert list(confirm.candidates(args)) == ["a_trial_0000", "b_trial_0000"]
    (tmp_path / "m.csv").write_text("\n".join(rows[:1] + rows[3:]) + "\n")  # two sweeps both named sw: refused
    with pytest.raises(confirm.LeaderboardError, match="two merged sweeps named sw have a trial 0 among those picked"):
        confirm.candidates(args)


def test_the_printed_table_gives_the_std_its_unit():
    """The table printed 'mean 86.59%' beside 'std 1.633': the spread of the same accuracies, in percentage
    points, read as a bare number. It is printed as a percentage too, as every spread the sweep prints."""
    def run(acc: float) -> dict:
        return {"test_acc_final": acc, "params": 7376, "epochs": 20, "reached_target": acc >= 0.994, "target_acc": 0.994,
                "precision": "fp32", "wall_s": 400.0}

    shown = confirm.printed(confirm.table({"small_8k": {1: run(0.9953), 2: run(0.9958)}}))
    header, first = shown.splitlines()
    assert header.split()[:9] == ["config", "params", "epochs", "seed_1", "seed_2", "mean", "std", "min", "reached"]
    assert first.split()[3:8] == ["99.53%", "99.58%", "99.55%", "0.035%", "99.53%"], shown
    header, first = confirm.printed(confirm.table({"tiny": {1: run(0.9928)}})).splitlines()  # one seed: no std
    assert header.split()[3:7] == ["seed_1", "mean", "std", "min"] and first.split()[3:6] == ["99.28%"] * 3
