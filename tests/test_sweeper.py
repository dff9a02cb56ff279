"""The sweeper plugin's own concerns: samplers, seeds, duplicates, warm start, storages, upgrade."""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest

from conftest import CONF, assert_one_line_error, load, run, spawn, sweep_args
from hydra_plugins.mnist_sweep_sweeper import _space as sspace
from hydra_plugins.mnist_sweep_sweeper._study import own_seed
from mnist_sweep.errors import SweepError
from mnist_sweep.trial import TRIAL_ID_ENV, pruning_hook

FIXTURES = Path(__file__).parent / "fixtures"


def trained_params(study: optuna.Study) -> list[str]:
    """The overrides of every trial that was actually trained (not rejected, duplicate or lost)."""
    return [t.user_attrs["overrides"] for t in study.trials if t.user_attrs.get("status") in ("complete", "pruned", "failed")]


# ------------------------------------------------------------------ unit
def test_modern_distributions_and_grid():
    assert sspace.parse("a=interval(0.1,0.5)")[1] == optuna.distributions.FloatDistribution(0.1, 0.5)
    assert sspace.parse("a=tag(log,interval(0.001,0.3))")[1] == optuna.distributions.FloatDistribution(0.001, 0.3, log=True)
    assert sspace.parse("a=int(interval(4,12))")[1] == optuna.distributions.IntDistribution(4, 12)
    assert type(sspace.parse("a=range(1,5)")[1]) is optuna.distributions.IntDistribution  # not the deprecated class
    assert sspace.parse("a=5") == ("a", "5")
    space = sspace.SearchSpace(values={"a": optuna.distributions.CategoricalDistribution((1, 2)),
                                       "b": optuna.distributions.IntDistribution(1, 3)})
    assert sspace.grid(space) == {"a": [1, 2], "b": [1, 2, 3]}
    with pytest.raises(Exception, match="hydra.sweeper.params.c"):
        sspace.grid(sspace.SearchSpace(values={"c": optuna.distributions.FloatDistribution(0.0, 1.0)}))


def test_a_later_entry_for_a_key_replaces_an_earlier_one():
    """trainer.max_epochs=1 then 'trainer.max_epochs=choice(1,3)' (a make target's value, then the user's
    search) trained every trial at 1 epoch, the search silently dropped: a plain value took the key out
    of the search wherever it stood. The later entry wins, as in Hydra; a plain one after a range still fixes it."""
    from conftest import make_cfg

    def build(*entries: str) -> sspace.SearchSpace:
        return sspace.build(list(entries), {"model", "optimizer", "scheduler"}, lambda o: make_cfg(*o))

    searched = build("trainer.max_epochs=1", "trainer.max_epochs=choice(1,3)")
    assert "trainer.max_epochs" in searched.values and "trainer.max_epochs" not in searched.fixed
    fixed = build("trainer.max_epochs=choice(1,3)", "trainer.max_epochs=2")
    assert fixed.fixed == {"trainer.max_epochs": "2"} and not fixed.values
    group = build("scheduler=step", "scheduler=choice(step,onecycle)")
    assert list(group.groups) == ["scheduler"] and not group.fixed


def test_a_choice_that_lists_a_value_twice_is_refused_before_the_study(tmp_path):
    """choice(8,8,10) drew 8 twice as often as 10, silently (most likely a typo); a value and a
    string of the same digits are two values and pass, the string passed on quoted, as the list spelling passes it."""
    assert sspace.parse("a=choice(8,'8',10)")[1] == optuna.distributions.CategoricalDistribution((8, "'8'", 10))
    assert sspace.parse("a=8,'8',10")[1] == sspace.parse("a=choice(8,'8',10)")[1]
    proc = run(sweep_args(tmp_path, "twice", 1, "model.c3=choice(8,8,16)"), cwd=tmp_path)
    assert_one_line_error(proc, "hydra.sweeper.params.model.c3: choice(8,8,16) lists 8 twice; list each value once")
    assert not (tmp_path / "twice").exists()


@pytest.mark.parametrize("entry, fix", [
    ("lr=tag(log,interval(0,0.3))", "(`low > 0` must hold for `log=True`, but got (low=0.0, high=0.3)); a log scale "
                                    "needs a low end above 0 (tag(log,interval(0.001,0.3))); raise it or drop the log"),
    ("lr=tag(log,interval(-1,0.3))", "a log scale needs a low end above 0"),
    ("c1=range(8,4)", "but got (low=8, high=4)); give the low end first"),
    ("c1=range(4,8,0)", "but got step=0); give a step above 0"),
])
def test_bounds_optuna_refuses_say_how_to_fix_them(entry, fix):
    """Optuna's own check was the whole line ('`low > 0` must hold for `log=True` ...'): what was
    wrong, not what to write."""
    with pytest.raises(SweepError) as e:
        sspace.parse(entry)
    assert str(e.value).startswith(f"hydra.sweeper.params.{entry.split('=')[0]}: invalid search space") and fix in str(e.value)


def test_conditional_keys_compose_once_per_group_choice():
    """A key is sampled only where its group's choice has it; each choice is composed once per sweep."""
    from omegaconf import OmegaConf

    calls: list[list[str]] = []

    def compose(overrides: list[str]):
        calls.append(overrides)
        onecycle = "scheduler=onecycle" in overrides
        return OmegaConf.create({"scheduler": {"pct_start": 0.3} if onecycle else {"gamma": 0.1}, "optimizer": {"lr": 0.1}})

    space = sspace.SearchSpace(
        groups={"scheduler": optuna.distributions.CategoricalDistribution(("step", "onecycle"))},
        values={"scheduler.pct_start": optuna.distributions.FloatDistribution(0.1, 0.4),
                "optimizer.lr": optuna.distributions.FloatDistribution(0.01, 0.3)},
        fixed={"data.batch_size": "64"},
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(12):
        trial = study.ask()
        overrides = sspace.suggest(trial, space, compose)
        assert ("scheduler.pct_start" in trial.params) == (trial.params["scheduler"] == "onecycle")
        assert "optimizer.lr" in trial.params and overrides[-1] == "data.batch_size=64"
        study.tell(trial, 0.0)
    assert sorted(map(tuple, calls)) == [("scheduler=onecycle", "data.batch_size=64"), ("scheduler=step", "data.batch_size=64")]


def test_own_seed_is_the_configured_one_only_for_trial_zero():
    assert own_seed(1234, 0, 0) == 1234
    assert own_seed(None, 5, 1) is None
    others = {own_seed(1234, n, w) for n in (1, 7) for w in (0, 1)}
    assert 1234 not in others and len(others) == 4


def test_pruning_hook_never_prunes_at_the_last_epoch(tmp_path, monkeypatch):
    from omegaconf import OmegaConf

    url = f"sqlite:///{tmp_path}/h.db"
    study = optuna.create_study(study_name="h", storage=url, direction="maximize")
    trial = study.ask()
    monkeypatch.setenv(TRIAL_ID_ENV, str(trial._trial_id))
    # ThresholdPruner(lower=2): every accuracy is below 2, so it says "prune" at every epoch
    cfg = OmegaConf.create({"storage": url, "study_name": "h",
                            "pruner": {"_target_": "optuna.pruners.ThresholdPruner", "lower": 2.0}})
    hook = pruning_hook(cfg, max_epochs=3)
    with pytest.raises(optuna.TrialPruned):
        hook(2, 0.5)
    hook(3, 0.5)  # the last epoch: reported, not pruned
    assert optuna.load_study(study_name="h", storage=url).trials[0].intermediate_values == {2: 0.5, 3: 0.5}


# ------------------------------------------------------------------ samplers
SAMPLERS = {
    "tpe": [], "mnist_tpe": [], "random": [], "cmaes": [], "nsgaii": [], "gp": [],
    "grid": [],  # a choice-only space: every grid point once
}


@pytest.mark.slow
@pytest.mark.parametrize("sampler", list(SAMPLERS))
def test_every_stock_sampler_runs_a_short_sweep(tmp_path, sampler):
    args = [a for a in sweep_args(tmp_path, sampler, 2, "model.c3=choice(8,16)", "data.batch_size=choice(32,64)")
            if "n_startup_trials" not in a]  # a TPE key: sampler settings live with the sampler
    proc = run([*args, f"hydra/sweeper/sampler={sampler}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    board = pd.read_csv(tmp_path / sampler / "leaderboard.csv")
    assert (board.status == "complete").sum() == 2


def test_grid_sampler_needs_discrete_params(tmp_path):
    args = [a for a in sweep_args(tmp_path, "g", 2, "optimizer.lr=interval(0.01,0.1)") if "n_startup_trials" not in a]
    proc = run([*args, "hydra/sweeper/sampler=grid"], cwd=tmp_path)
    assert_one_line_error(proc, "hydra.sweeper.params.optimizer.lr", "grid")


# ------------------------------------------------------------------ duplicates, seeds, warm start
@pytest.mark.slow
def test_exhausted_choice_space_records_duplicates_and_ends(tmp_path):
    # 2 x 2 = 4 configs counted (n_trials stays 4), 3 exist: cosine has no pct_start
    space = ["scheduler=choice(cosine,onecycle)", "scheduler.pct_start=choice(0.2,0.3)"]
    proc = run(sweep_args(tmp_path, "dup", 4, *space, "hydra.sweeper.max_duplicates=10"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    study = load(tmp_path, "dup")
    trained = trained_params(study)
    assert len(trained) == 3 and len(set(trained)) == 3  # every config once, never twice
    dups = [t for t in study.trials if t.user_attrs.get("status") == "duplicate"]
    originals = {t.number for t in study.trials if t.user_attrs.get("status") == "complete"}
    assert dups and all(t.user_attrs["duplicate_of"] in originals for t in dups)
    assert "10 candidates in a row were already tried: the search space is exhausted" in proc.stdout + proc.stderr
    board = pd.read_csv(tmp_path / "dup" / "leaderboard.csv")
    assert set(board.status) == {"complete", "duplicate"}


@pytest.mark.slow
def test_two_sweeps_at_once_then_a_resume_train_no_config_twice(tmp_path):
    """The same command twice at once on one fresh SQLite study (same configured seed): one study,
    no collision, a whole leaderboard; then resumed: every trained trial has its own parameters."""
    space = ["model.c3=choice(8,12,16)", "optimizer.lr=choice(0.01,0.03,0.1)", "data.batch_size=choice(32,64)"]
    args = sweep_args(tmp_path, "par", 4, *space)
    procs = [spawn(args, tmp_path) for _ in range(2)]
    for p in procs:
        out = p.communicate(timeout=300)[0]
        assert p.returncode == 0, out[-3000:]
    study = load(tmp_path, "par")  # one study; n_trials counted across both, one extra each in flight at most
    trained = [t for t in study.trials if t.user_attrs.get("status") == "complete"]
    assert 4 <= len(trained) <= 4 + 2 and not [t for t in study.trials if t.user_attrs.get("status") in ("failed", "lost")]
    assert len({t.user_attrs["trial_dir"] for t in trained}) == len(trained)
    board = pd.read_csv(tmp_path / "par" / "leaderboard.csv")  # whole, whichever process wrote it last
    assert sorted(board.trial) == sorted(t.number for t in study.trials)
    # The resume runs in this process with a helper: the helper must get this sweep's command
    # (what cli.main(argv) gave Hydra), not this test runner's, and join the same study.
    resume = [a if not a.startswith("hydra.sweeper.workers=") else "hydra.sweeper.workers=2"
              for a in sweep_args(tmp_path, "par", 7, *space)]
    proc = run(resume, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "exited with" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    helper_log = (tmp_path / "par" / "worker-1.log").read_text()
    assert "study par in sqlite:///" in helper_log and "usage:" not in helper_log, helper_log[-2000:]
    trained = trained_params(load(tmp_path, "par"))
    assert len(trained) >= 7 and len(set(trained)) == len(trained)


@pytest.mark.slow
def test_warm_start_queues_dicts_and_experiments(tmp_path):
    extra = ["model.c3=choice(8,16,24)", "optimizer.lr=tag(log,interval(0.01,0.2))",
             "hydra.sweeper.enqueue=[{model.c3:24,optimizer.lr:0.05},best_20k]"]
    proc = run(sweep_args(tmp_path, "warm", 2, *extra), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    trials = load(tmp_path, "warm").trials
    assert trials[0].params == {"model.c3": 24, "optimizer.lr": 0.05}
    exp = (CONF / "experiment" / "best_20k.yaml").read_text()
    assert trials[1].params["model.c3"] == 24 and f"lr: {trials[1].params['optimizer.lr']}" in exp


def test_warm_start_unknown_key_or_experiment_is_one_line(tmp_path):
    for bad, needle in (("[{model.nope:1}]", "model.nope"), ("[nope]", "nope"),
                        ("[{model.c3:12}]", "model.c3=12 (queued) is outside the search space, which allows one of 8, 16"),
                        ("[best_20k]", "(experiment best_20k) is outside the search space"),
                        # the nearest name (it said "no experiment 'tiy'", "model.c not searched" and no more)
                        ("[tiy]", "no experiment 'tiy' (conf/experiment/tiy.yaml); did you mean tiny? (experiments: "),
                        ("[{model.c:8}]", "model.c not searched; did you mean model.c3? use keys of hydra.sweeper.params")):
        proc = run(sweep_args(tmp_path, "w", 1, "model.c3=choice(8,16)", f"hydra.sweeper.enqueue={bad}"), cwd=tmp_path)
        assert proc.returncode == 2
        assert_one_line_error(proc, "hydra.sweeper.enqueue", needle)
        assert not (tmp_path / "w").exists()  # refused before the study (or the sweep dir) was made



@pytest.mark.parametrize("key, line", [
    ("model.c7", "hydra.sweeper.params.model.c7: no such key; did you mean model.c6, model.c5, model.c4? "),
    ("scheduler.gamma", "hydra.sweeper.params.scheduler.gamma: not a key of scheduler=onecycle; it is a key of "
                        "scheduler=step (add scheduler=step)"),
])
def test_a_mistyped_key_of_a_search_space_file_gets_the_nearest(key, line):
    """A key of hydra.sweeper.params written in a config file (hparams_search) that the config lacks
    said 'no such key model.c7 in the config; fix the name ... or add a new key with +model.c7': no
    near key, and advice the schema refuses."""
    from conftest import make_cfg

    with pytest.raises(SweepError) as e:
        sspace._check_key(key, {}, lambda overrides: make_cfg(*overrides))
    assert str(e.value).startswith(line) and "+" not in str(e.value), str(e.value)


def test_a_key_of_the_group_option_the_command_line_fixes_is_searched():
    """-m scheduler=step 'scheduler.step_size=choice(2,4)' was refused: 'scheduler.step_size: not a key of
    scheduler=onecycle; ... (add scheduler=step)' with scheduler=step given (the key was looked for in the
    base config and the swept options, not with the groups every candidate gets)."""
    from conftest import make_cfg

    from hydra_plugins.mnist_sweep_sweeper._compose import Composer

    compose = Composer(lambda overrides: make_cfg(*overrides))
    groups = {"model", "optimizer", "scheduler", "data", "trainer"}
    space = sspace.build(["scheduler=step", "scheduler.step_size=choice(2,4)"], groups, compose)
    assert list(space.values) == ["scheduler.step_size"] and space.fixed == {"scheduler": "step"}
    with pytest.raises(SweepError, match="scheduler.step_size: not a key of scheduler=none; it is a key of scheduler=step"):
        sspace.build(["scheduler=none", "scheduler.step_size=choice(2,4)"], groups, compose)


@pytest.mark.slow
def test_warm_start_queues_the_value_that_runs_like_an_experiments_null(tmp_path):
    """tiny leaves trainer.ema_decay null (off). Null is no override, so it used to be left to the
    sampler, and the first trial of a space with choice(0.0, 0.999) could be tiny with EMA on."""
    for name, space in (("nul", "choice(0.999,0.0)"), ("range", "interval(0.0,0.999)")):
        proc = run(sweep_args(tmp_path, name, 1, f"trainer.ema_decay={space}", "hydra.sweeper.enqueue=[tiny]"),
                   cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        first = load(tmp_path, name).trials[0]  # queued, not sampled: a sampler may pick 0.0 by chance
        assert first.system_attrs.get("fixed_params") == {"trainer.ema_decay": 0.0}
        assert first.params == {"trainer.ema_decay": 0.0}


@pytest.mark.parametrize("space", ["trainer.ema_decay=choice(0.99,0.999)", "trainer.ema_decay=interval(0.9,0.999)",
                                   "data.test_limit=choice(256,512)"])
def test_warm_start_refuses_an_experiments_null_that_no_value_of_the_space_runs_like(tmp_path, space):
    """Named by its key, with no fix that assumes null is off: for data.test_limit (null: every test
    image) the line said 'null (off)' and 'e.g. 0 for off', a value the key refuses."""
    key = space.split("=", 1)[0]
    args = [a for a in sweep_args(tmp_path, "w", 1, space, "hydra.sweeper.enqueue=[tiny]") if a != "data.test_limit=256"]
    proc = run(args, cwd=tmp_path)
    assert proc.returncode == 2
    line = assert_one_line_error(proc, "hydra.sweeper.enqueue", f"experiment tiny leaves {key} null, and no value of "
                                 f"hydra.sweeper.params.{key} runs as null does", f"set {key} in conf/experiment/tiny.yaml")
    assert "0 for off" not in line
    assert not (tmp_path / "w").exists()


# ------------------------------------------------------------------ storages
@pytest.mark.slow
def test_optuna_210_study_is_upgraded_once_and_resumes(tmp_path):
    d = tmp_path / "old210"
    d.mkdir()
    shutil.copy(FIXTURES / "optuna210.db", d / "optuna.db")  # 3 counted trials, written by optuna 2.10.1
    url = f"sqlite:///{d}/optuna.db"
    ro = run(["mnist_sweep.leaderboard", "--storage", url, "--study", "old210"], cwd=tmp_path)
    assert_one_line_error(ro, "older Optuna", "upgrade")  # read-only: refused, file untouched
    proc = run(sweep_args(tmp_path, "old210", 4, "model.c3=choice(16,256)", "optimizer.lr=tag(log,interval(0.01,0.1))"),
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "upgraded the storage schema from v2.6.0.a" in proc.stdout + proc.stderr
    study = load(tmp_path, "old210")
    assert [t.user_attrs.get("status") for t in study.trials[:4]] == ["rejected", "complete", "complete", "complete"]
    assert sum(t.user_attrs.get("status") == "complete" for t in study.trials) == 4
    again = run(["mnist_sweep.leaderboard", "--storage", url, "--study", "old210"], cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_helpers_rerun_this_sweeps_arguments_not_the_host_interpreters(monkeypatch):
    """In-process (a notebook, this test runner) sys.argv is what cli.main(argv) gave Hydra; the
    host's own command line (sys.orig_argv) must not leak into the helpers."""
    import sys

    from hydra_plugins.mnist_sweep_sweeper._workers import helper_command

    monkeypatch.setattr(sys, "argv", ["mnist_sweep.train", "-m", "hydra.sweeper.workers=3", "model.c3=16"])
    monkeypatch.setattr(sys, "orig_argv", [sys.executable, "-m", "pytest", "-k", "x"])
    cmd = helper_command()
    assert cmd[0] == sys.executable and cmd[-4:] == ["mnist_sweep.train", "-m", "model.c3=16", "hydra.sweeper.workers=1"]
    assert cmd[-5] == "-m" and "pytest" not in cmd and "hydra.sweeper.workers=3" not in cmd


# ------------------------------------------------------------------ console
def test_dry_run_prints_space_range_and_estimate_and_opens_nothing(tmp_path):
    args = [a for a in sweep_args(tmp_path, "dry", 4, "model.c3=choice(16,256)", "optimizer.lr=tag(log,interval(0.01,0.1))")]
    proc = run([*args, "hydra.sweeper.dry_run=true"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    assert "model.c3: CategoricalDistribution(choices=(16, 256))" in out
    assert re.search(r"candidates \(50 random draws\): [\d,]+ to [\d,]+ parameters, median [\d,]+; \d+% refused", out)
    # a sweep under a minute said 'about 0 minutes'
    assert re.search(r"estimate: 4 trials x 1 epoch x (<0\.1|\d+\.\d) s/epoch \(median candidate, \d{1,3}(,\d{3})* images/s .* / 1 worker = about [1-9]\d* s without pruning",
                     out), out  # 512 images an epoch: a fraction of a second, which read '0 s/epoch'
    assert not (tmp_path / "dry" / "optuna.db").exists() and not list((tmp_path / "dry").glob("trial_*"))


def test_a_dry_runs_estimate_names_the_further_seeds_of_repeats(tmp_path):
    """hydra.sweeper.repeats.seeds=3: the dry run estimated the first seeds alone ('14 trials x 20 epochs
    ... = about 2.0 h'), while every config that enters the top_k trains two more runs: 10 to 28 more for
    make sweep's 14 trials. A line of its own now counts them and their time."""
    args = sweep_args(tmp_path, "dry", 4, "model.c3=choice(8,12,16,24)")
    proc = run([*args, "hydra.sweeper.repeats.seeds=3", "hydra.sweeper.repeats.top_k=2", "hydra.sweeper.dry_run=true"],
               cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-2000:]
    assert re.search(r"repeats: hydra.sweeper.repeats.seeds=3: each config that enters the top 2 trains 2 more seeds of "
                     r"1 epoch, not in the estimate: 4 more runs where 2 configs do \(about \d+ s more\), up to 8 more "
                     r"runs where all 4 do \(about \d+ s more\)", out), out
    one = run([*args, "hydra.sweeper.dry_run=true"], cwd=tmp_path)  # one seed: no such line
    assert one.returncode == 0 and "estimate: 4 trials" in one.stdout + one.stderr
    assert "repeats:" not in one.stdout + one.stderr


@pytest.mark.parametrize("seconds, shown", [(0.44, "0.4"), (0.01, "<0.1"), (0.05, "0.1"), (9.94, "9.9"), (22.6, "23"),
                                              (1234.5, "1,234")])
def test_the_estimates_seconds_an_epoch_are_never_zero(seconds, shown):
    """A dry run on a tiny data.train_limit estimated 'x 0 s/epoch': under 10 s it has one decimal."""
    from hydra_plugins.mnist_sweep_sweeper._preview import per_epoch

    assert per_epoch(seconds) == shown


def test_workers_are_capped_at_the_usable_cpus_and_the_runs_the_sweep_can_have(monkeypatch):
    """hydra.sweeper.workers=64 on a 2-core machine started 63 helpers for one trial: each imported
    torch on the 2 cores, and the sweep had not ended after 10 minutes."""
    from hydra_plugins.mnist_sweep_sweeper import _workers
    monkeypatch.setattr(_workers, "usable_cpus", lambda: 2)
    assert _workers.worker_count(64, 10) == 2  # one per CPU
    assert _workers.worker_count(4, 1) == 1 and _workers.worker_count(4, 3) == 2  # the runs to go (_revive.runs_to_go)
    assert _workers.worker_count(2, 14) == 2 and _workers.worker_count(1, 5) == 1  # within both: as asked
    assert _workers.worker_count(2, 0) == 1  # nothing to go (another worker's trial running): this worker alone


def test_a_dry_runs_estimate_counts_the_workers_the_sweep_starts(tmp_path, monkeypatch):
    """workers=8 on 2 usable CPUs: the sweep starts 2, and its dry run divided the estimate by 6 (n_trials)."""
    from hydra_plugins.mnist_sweep_sweeper import _workers
    monkeypatch.setattr(_workers, "usable_cpus", lambda: 2)
    args = [a for a in sweep_args(tmp_path, "dry", 6, "model.c3=choice(8,12,16,24,32,48)") if a != "hydra.sweeper.workers=1"]
    proc = run([*args, "hydra.sweeper.workers=8", "hydra.sweeper.dry_run=true"], cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-2000:]
    assert re.search(r"estimate: 6 trials x 1 epoch x .* / 2 workers = ", out), out


def test_a_one_trial_sweep_starts_no_helper_for_its_extra_workers(tmp_path, monkeypatch):
    from hydra_plugins.mnist_sweep_sweeper import _workers
    monkeypatch.setattr(_workers, "usable_cpus", lambda: 2)
    args = [a for a in sweep_args(tmp_path, "one", 1, "model.c3=choice(8,16)") if a != "hydra.sweeper.workers=1"]
    proc = run([*args, "hydra.sweeper.workers=8"], cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-2000:]
    assert "hydra.sweeper.workers=8: the sweep has 1 run to go at most, so 1 worker runs" in out
    assert "started worker" not in out and not list((tmp_path / "one").glob("worker-*.log"))


def test_a_resume_with_fewer_trials_left_than_workers_starts_no_helper_for_none(tmp_path, monkeypatch):
    """3 trials with 2 done, resumed with workers=2: worker 1 started and found '3 of 3 trials done or
    running; 0 to go' (the count was capped by n_trials, not the trials left). The resume's loop is
    stubbed out: it counts the workers and trains nothing."""
    from hydra_plugins.mnist_sweep_sweeper import _impl, _workers
    monkeypatch.setattr(_workers, "usable_cpus", lambda: 2)
    assert run(sweep_args(tmp_path, "left", 1, "model.c3=choice(8,16)"), cwd=tmp_path).returncode == 0
    started: list[int] = []
    monkeypatch.setattr(_workers.Helpers, "start", lambda self: started.append(self.n))
    monkeypatch.setattr(_impl.Loop, "run", lambda self, progress: None)
    args = [a for a in sweep_args(tmp_path, "left", 2, "model.c3=choice(8,16)") if a != "hydra.sweeper.workers=1"]
    proc = run([*args, "hydra.sweeper.workers=2"], cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-2000:]
    assert "1 of 2 trials done or running; 1 to go" in out
    assert "hydra.sweeper.workers=2: the sweep has 1 run to go at most, so 1 worker runs" in out
    assert started == [1]


def test_the_runs_to_go_count_queued_seeds_revived_configs_and_running_first_seeds(tmp_path):
    """What a sweep with repeats can still run, beside its trials left: a worker is started for each."""
    from optuna.trial import TrialState, create_trial

    from hydra_plugins.mnist_sweep_sweeper._repeats import Repeats
    from hydra_plugins.mnist_sweep_sweeper._revive import runs_to_go

    main = optuna.create_study(direction="maximize")
    assert runs_to_go(main, 4, None) == 4  # no repeats: one run a trial
    rep = Repeats.open(main, seeds=3, top_k=2, constrained=False)
    assert runs_to_go(main, 2, rep) == 6  # each new trial may take 3 seeds
    lost = {"status": "lost", "repeat_seeds": [1, 2, 3], "seed_runs": {"1": {"values": [0.9], "val": 0.9, "state": "complete"}},
            "overrides": "model.c1=8", "trial_dir": str(tmp_path / "trial_0000")}
    main.add_trial(create_trial(state=TrialState.FAIL, user_attrs=lost))  # its worker died while its seeds ran
    rep.side.add_trial(create_trial(value=0.91, user_attrs={"parent_dir": lost["trial_dir"], "seed": 2, "status": "complete"}))
    assert runs_to_go(main, 1, rep) == 1  # revived in the one trial left: only its seed 3 runs
    assert runs_to_go(main, 3, rep) == 2 * 3 + 1
    parent = main.ask()  # a config another worker repeats: its two further seeds queued
    parent.set_user_attr("trial_dir", str(tmp_path / "trial_0001"))
    parent.set_user_attr("overrides", "model.c1=10")
    rep.hold(parent, [0.95], {"value": 0.95, "seed": 1})
    assert runs_to_go(main, 0, rep) == 1 + 2
    main.ask().set_user_attr("status", "running")  # another worker's first seed: 2 more if it enters the top k
    assert runs_to_go(main, 0, rep) == 1 + 2 + 2


@pytest.mark.parametrize("space, said", [([], "nothing is searched"), (["model.c3=choice(16)"], "has 1 config at most")],
                         ids=["empty", "one-point"])
def test_a_space_of_one_config_trains_it_once_and_its_dry_run_says_one_trial(tmp_path, monkeypatch, space, said):
    """hydra.sweeper.params=null alone: the dry run estimated 14 trials; the sweep trained one, then
    each of its two workers drew 50 duplicates before 'exhausted'. n_trials is capped to the space."""
    from hydra_plugins.mnist_sweep_sweeper import _workers
    monkeypatch.setattr(_workers, "usable_cpus", lambda: 2)
    args = [a for a in sweep_args(tmp_path, "one", 4, *space) if a != "hydra.sweeper.workers=1"] + ["hydra.sweeper.workers=2"]
    dry = run([*args, "hydra.sweeper.dry_run=true"], cwd=tmp_path)
    assert dry.returncode == 0 and said in dry.stdout + dry.stderr and "n_trials 4 -> 1" in dry.stdout + dry.stderr
    assert re.search(r"estimate: 1 trial x 1 epoch x .* / 1 worker = ", dry.stdout + dry.stderr), dry.stdout + dry.stderr
    if space:  # its sweep and resume cap n_trials as the empty space's (the case reported) do: one config each
        return
    proc = run(args, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-2000:]
    assert [t.user_attrs.get("status") for t in load(tmp_path, "one").trials] == ["complete"]
    assert "duplicate" not in out and "exhausted" not in out and "started worker" not in out
    again = run(args, cwd=tmp_path)  # raising n_trials would not help: the space has no more configs
    assert "to train more, widen the search space (n_trials is capped at its configs)" in again.stdout + again.stderr


def test_a_resume_that_moves_a_small_space_to_new_configs_trains_them(tmp_path):
    """The cap is the study's trials plus the space's configs it lacks, not the space's size alone
    (two trials of range(8,9), then range(10,11): capped at 2, it trained nothing)."""
    assert run(sweep_args(tmp_path, "moved", 2, "model.c3=range(8,9)"), cwd=tmp_path).returncode == 0
    proc = run(sweep_args(tmp_path, "moved", 4, "model.c3=range(10,11)"), cwd=tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-2000:]
    assert "2 of 4 trials done or running; 2 to go" in proc.stdout + proc.stderr
    assert sorted(t.params["model.c3"] for t in load(tmp_path, "moved").trials
                  if t.user_attrs.get("status") == "complete") == [8, 9, 10, 11]


def test_a_complete_study_resumed_starts_no_worker_and_keeps_a_fresh_report(tmp_path, monkeypatch):
    """A resume with no trial left started worker 1 and rebuilt the report (35 s); now it says the
    study is complete and how to train more, and rebuilds the report only where it is missing."""
    from hydra_plugins.mnist_sweep_sweeper import _workers
    monkeypatch.setattr(_workers, "usable_cpus", lambda: 2)
    args = sweep_args(tmp_path, "done", 2, "model.c3=choice(8,16)", report=True)
    first = run(args, cwd=tmp_path)
    assert first.returncode == 0 and (first.stdout + first.stderr).count("report: ") == 1  # it was printed twice
    args = [a for a in args if a != "hydra.sweeper.workers=1"] + ["hydra.sweeper.workers=2"]
    report = tmp_path / "done" / "report.html"
    written = report.stat().st_mtime_ns
    again = run(args, cwd=tmp_path)
    out = again.stdout + again.stderr
    assert again.returncode == 0, out[-2000:]
    assert "study done is complete: its n_trials (2) are done; to train more, raise hydra.sweeper.n_trials" in out
    assert "started worker" not in out and report.stat().st_mtime_ns == written
    assert f"report: {report}" in out  # the closing lines still point at it
    report.unlink()
    assert run(args, cwd=tmp_path).returncode == 0 and report.exists()  # a missing report is written


def wait_for_the_helper(study: optuna.Study, sweep_dir: Path) -> None:
    """on_trial_end of the two-worker test: the first worker waits (up to 2 min) until the helper
    has claimed a trial, so that both train on any CPU (an idle fast one could finish all 5 trials
    during the helper's imports); then the leaderboard, as the default hook writes it."""
    from mnist_sweep.leaderboard import write_for_sweep

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and all(t.user_attrs.get("pid") in (None, os.getpid()) for t in study.trials):
        time.sleep(0.2)
    write_for_sweep(study, sweep_dir)


@pytest.mark.slow
def test_two_workers_on_journal_storage_both_train_and_print_one_line_per_trial(tmp_path):
    """A two-worker sweep on journal storage: both processes train, and the console shows one
    progress line per trial, the helper's forwarded; the detail is in each trial's train.log."""
    log = tmp_path / "quiet" / "journal.log"
    args = [a for a in sweep_args(tmp_path, "quiet", 5, "optimizer.lr=tag(log,interval(0.01,0.1))", "trainer.max_epochs=2")
            if not a.startswith(("hydra.sweeper.storage", "hydra.sweeper.workers"))]
    # a fork of this warm process (a process of its own, without a new interpreter's imports); the hook
    # keeps its first trial's end waiting until the helper (a new interpreter) has claimed a trial
    hook = f"hydra.sweeper.on_trial_end={__name__}.wait_for_the_helper"
    proc = spawn([*args, f"hydra.sweeper.storage=journal:///{log}", "hydra.sweeper.workers=2", hook], tmp_path,
                 env={"PYTHONPATH": str(Path(__file__).parent)})
    out = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, out[-2000:]
    from mnist_sweep.storage import open_storage

    study = optuna.load_study(study_name="quiet", storage=open_storage(f"journal:///{log}"))
    assert sum(t.state.name == "COMPLETE" for t in study.trials) == 5
    assert len({t.user_attrs["pid"] for t in study.trials}) == 2  # both workers trained

    lines = [l for l in out.splitlines() if l.strip()]
    progress = [l for l in lines if re.search(r"\[\d/5\] trial \d+ complete", l)]
    assert len(progress) == 5 and any("worker 1: [" in l for l in progress)  # the helper's lines too
    assert max(int(re.search(r"\[(\d)/5\]", l).group(1)) for l in progress) == 5  # counted, not numbered by worker
    assert not any("Total params" in l or "Joblib.Parallel" in l or "epoch  1/2" in l for l in lines)
    closing = lines[next(i for i, l in enumerate(lines) if "] - best: trial " in l):]
    assert len(lines) - len(closing) <= 10, "\n".join(lines)  # start, worker 1's start, 2 x started, 5 progress lines
    assert "leaderboard: " in closing[1] and len(closing) <= 9  # best, leaderboard, report, next: and 4 commands
    train_log = (tmp_path / "quiet" / "trial_0000" / "train.log").read_text()
    assert "Total params" in train_log and "epoch  2/2" in train_log  # the detail is in the trial's log


# ------------------------------------------------------------------ composing candidates for the checks
COMPOSE_CASES = [
    [],
    ["model.c3=24", "optimizer.lr=0.07", "data.batch_size=128"],
    ["scheduler=step", "scheduler.gamma=0.3", "model.dropout=0.02"],
    ["optimizer=adamw", "optimizer.lr=0.003", "model.pool_at=2", "model.p1=1"],
    ["model=eva8_seed", "model.dropout=0.1", "trainer.label_smoothing=0.05"],
    ["+experiment=best_20k", "trainer.seed=3"],
    ["hparams_search=tiny", "model.c1=6"],
    ["model.c3=16", "scheduler=cosine", "data.augment.strength=0.5"],
]


@pytest.mark.parametrize("overrides", COMPOSE_CASES, ids=[" ".join(c) or "none" for c in COMPOSE_CASES])
def test_fast_compose_equals_hydras(overrides):
    """Group choices composed once, plain values applied by Hydra's own step: the same config."""
    from omegaconf import OmegaConf

    from conftest import make_cfg
    from hydra_plugins.mnist_sweep_sweeper._compose import Composer

    calls = []
    composer = Composer(lambda o: calls.append(o) or make_cfg(*o))
    for _ in range(2):  # the second time from the kept base
        fast = composer(overrides)
        assert OmegaConf.to_container(fast, resolve=True) == OmegaConf.to_container(make_cfg(*overrides), resolve=True)
    assert len(calls) == 1 and all("." not in o.split("=")[0] for o in calls[0])
    fast.trainer.seed = 99  # a caller's change stays in its copy
    assert composer(overrides).trainer.seed != 99


def _nodes(node, path: str = ""):
    """Every node of a config under its path: its class and metadata (type, flags, key)."""
    from omegaconf import DictConfig, ListConfig

    yield path, type(node), node._metadata
    if isinstance(node, (DictConfig, ListConfig)) and not (node._is_none() or node._is_missing() or node._is_interpolation()):
        for k in (node.keys() if isinstance(node, DictConfig) else range(len(node))):
            yield from _nodes(node._get_node(k), f"{path}.{k}")


def test_fast_compose_copies_are_the_kept_config_node_for_node():
    """Each candidate's copy of the kept base (unpickled, where it was deep-copied: a fifth of the
    time) has every node of a deep copy, of its class, with its types and flags, so a candidate is
    checked as strictly: the hydra node, struct mode and typed values included."""
    import copy

    from omegaconf import OmegaConf
    from omegaconf.errors import ConfigAttributeError, ValidationError

    from conftest import make_cfg_hydra
    from hydra_plugins.mnist_sweep_sweeper._compose import Composer
    from hydra_plugins.mnist_sweep_sweeper._optuna import apply_overrides

    base = make_cfg_hydra("scheduler=step")
    composer, deep = Composer(lambda o: base), copy.deepcopy(base)
    apply_overrides(deep, ["model.c3=24"])
    copies = [composer(["scheduler=step", "model.c3=24"]) for _ in range(2)]
    assert all(list(_nodes(c)) == list(_nodes(deep)) for c in copies) and len(list(_nodes(deep))) > 200
    assert copies[0] is not copies[1] and copies[0].model is not copies[1].model and copies[0].model.c3 == 24
    with pytest.raises(ConfigAttributeError):
        copies[0].model.nokey = 1
    with pytest.raises(ValidationError):
        copies[0].hydra.sweeper.n_trials = "many"
    assert OmegaConf.to_yaml(copies[1]) == OmegaConf.to_yaml(deep)


@pytest.mark.parametrize("bad", ["model.nokey=1", "optimizer.lr=fast", "model.c3=[1,2]"])
def test_fast_compose_refuses_what_hydra_refuses(bad):
    from hydra.errors import HydraException

    from conftest import make_cfg
    from hydra_plugins.mnist_sweep_sweeper._compose import Composer

    with pytest.raises(HydraException) as real:
        make_cfg(bad)
    with pytest.raises(HydraException) as fast:
        Composer(lambda o: make_cfg(*o))([bad])
    assert type(fast.value) is type(real.value) and str(fast.value) == str(real.value)


@pytest.mark.parametrize("fast", [True, False])
def test_dry_run_times_the_dropout_its_trials_train_with(monkeypatch, fast):
    """The estimate's timing builds trainer.fast_dropout's BitsDropout as the trials do; it timed
    torch's dropout always, about a fifth slower than the default trials' steps."""
    import torch

    from conftest import make_cfg
    from hydra_plugins.mnist_sweep_sweeper import _preview
    from mnist_sweep.model import BitsDropout

    built, build, threads = [], _preview.mmodel.build, torch.get_num_threads()
    monkeypatch.setattr(_preview.mmodel, "build", lambda *a, **k: built.append(build(*a, **k)) or built[-1])
    try:
        assert _preview._images_per_s(make_cfg(f"trainer.fast_dropout={str(fast).lower()}", "data.batch_size=8"), 1) > 0
    finally:
        torch.set_num_threads(threads)
    assert any(isinstance(m, BitsDropout) for m in built[0].modules()) is fast
