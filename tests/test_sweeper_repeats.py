"""hydra.sweeper.repeats: configs in the top-k are trained again with further seeds and judged on
their mean. The assertions are about structure (which seeds ran, once each, where, and that the
told value is the mean of the seeds' own results), never about the numbers a CPU trains to."""
from __future__ import annotations

import json
import os
import signal
import statistics
import warnings
from pathlib import Path
from types import SimpleNamespace

import optuna
import pandas as pd
import pytest
from hydra.core.utils import JobStatus
from optuna.trial import TrialState

from conftest import TINY, run, spawn
from hydra_plugins.mnist_sweep_sweeper._repeats import Repeats
from mnist_sweep.pruning import ProjectionPruner
from mnist_sweep.storage import REPEATS_SUFFIX

REPEAT = ["hydra.sweeper.repeats.seeds=3", "hydra.sweeper.on_sweep_end=null"]


def studies(d: Path, name: str = "mnist_sweep") -> tuple[optuna.Study, optuna.Study]:
    url = f"sqlite:///{d}/optuna.db"
    return optuna.load_study(study_name=name, storage=url), optuna.load_study(study_name=name + REPEATS_SUFFIX, storage=url)


def seeds_ran(side: optuna.Study) -> list[tuple[str, int]]:
    return sorted((t.user_attrs["parent_dir"], t.user_attrs["seed"]) for t in side.trials if t.state == TrialState.COMPLETE)


def check_parents(main: optuna.Study, side: optuna.Study, objective: str = "val_acc") -> list:
    """Every complete config was judged on 3 seeds, each seed ran once in its own run dir, and
    what Optuna was told is the mean of the seeds' own result.json."""
    ran = seeds_ran(side)
    assert len(ran) == len(set(ran))  # no seed ran twice
    parents = [t for t in main.trials if t.state == TrialState.COMPLETE]
    assert parents
    for t in parents:
        d = t.user_attrs["trial_dir"]
        first = json.loads((Path(d) / "result.json").read_text())
        seeds = [first["seed"] + i for i in range(3)]
        assert [s for p, s in ran if p == d] == seeds[1:]
        runs = [first] + [json.loads((Path(d) / f"seed_{s}" / "result.json").read_text()) for s in seeds[1:]]
        assert [r["seed"] for r in runs] == seeds
        mean_val = statistics.fmean(r["value"] for r in runs)
        assert t.user_attrs["n_seeds"] == 3 and t.user_attrs["val_mean"] == pytest.approx(mean_val)
        expected = mean_val if objective == "val_acc" else statistics.fmean(r[objective] for r in runs)
        assert t.value == pytest.approx(expected)
    return parents


@pytest.mark.slow
def test_two_workers_share_the_seeds_and_tell_the_mean(tmp_path):
    d = tmp_path / "sw"
    proc = run(["mnist_sweep.train", "-m", f"hydra.sweep.dir={d}", "hydra.sweeper.n_trials=3", "hydra.sweeper.workers=2",
                "hydra.sweeper.repeats.top_k=10", *REPEAT, *TINY], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    main, side = studies(d)
    parents = check_parents(main, side)
    assert len(parents) == 3
    board = pd.read_csv(d / "leaderboard.csv")
    # two workers ask in either order, so the sampler may also draw an over-budget config: rejected, never trained
    assert set(board.status) <= {"complete", "rejected"}
    done = board[board.status == "complete"]
    assert done.n_seeds.tolist() == [3, 3, 3]
    assert done.val_mean.is_monotonic_decreasing  # ranked on the mean, not on the first seed
    assert "val mean over 3 seeds" in proc.stderr + proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("mode, objective", [("smallest", "params"), ("fastest", "train_s")])
def test_constrained_modes_repeat_the_feasible_configs(tmp_path, mode, objective):
    d = tmp_path / "sw"
    tiny = [o for o in TINY if not o.startswith("trainer.max_epochs")] + ["trainer.max_epochs=choice(1)"]
    proc = run(["mnist_sweep.train", "-m", f"hparams_search={mode}", f"hydra.sweep.dir={d}", "hydra.sweeper.n_trials=2",
                "hydra.sweeper.workers=1", "trainer.target_acc=0.01", *REPEAT, *tiny], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    main, side = studies(d, f"mnist_{mode}")
    for t in check_parents(main, side, objective):  # the constraint is on the mean over seeds
        assert t.constraints["target"] == pytest.approx(0.01 - t.user_attrs["val_mean"])


@pytest.mark.slow
def test_pareto_repeats_tell_each_objective_its_mean(tmp_path):
    d = tmp_path / "sw"
    proc = run(["mnist_sweep.train", "-m", "hparams_search=pareto", f"hydra.sweep.dir={d}", "hydra.sweeper.n_trials=2",
                "hydra.sweeper.workers=1", "hydra.sweeper.repeats.top_k=10", *REPEAT, *TINY], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    main, side = studies(d, "mnist_pareto")
    assert len(seeds_ran(side)) == 4 and len(set(seeds_ran(side))) == 4
    for t in [t for t in main.trials if t.state == TrialState.COMPLETE]:
        assert t.values[0] == pytest.approx(t.user_attrs["val_mean"])  # val_acc: the mean over the 3 seeds
        assert t.values[1] == t.user_attrs["result"]["params"] and t.user_attrs["n_seeds"] == 3


def interrupt_after_a_seed(study: optuna.Study, sweep_dir: Path) -> None:
    """on_trial_end for the resume test: the sweep stops once one further seed has finished."""
    side = optuna.load_study(study_name=study.study_name + REPEATS_SUFFIX, storage=study._storage)
    marker = Path(sweep_dir) / "interrupted"
    if not marker.exists() and any(t.state == TrialState.COMPLETE for t in side.trials):
        marker.touch()
        raise KeyboardInterrupt("stopped by the test")


@pytest.mark.slow
def test_a_resumed_sweep_finishes_the_missing_seeds_and_reuses_the_finished_ones(tmp_path):
    d = tmp_path / "sw"
    args = ["mnist_sweep.train", "-m", f"hydra.sweep.dir={d}", "hydra.sweeper.n_trials=1", "hydra.sweeper.workers=1",
            *REPEAT, *TINY]
    stopped = run([*args, f"hydra.sweeper.on_trial_end={__name__}.interrupt_after_a_seed"], cwd=tmp_path)
    assert stopped.returncode != 0
    main, side = studies(d)
    (lost,) = main.trials
    assert lost.state == TrialState.FAIL and lost.user_attrs["status"] == "lost"
    before = seeds_ran(side)
    assert len(before) == 1
    first_run = (Path(lost.user_attrs["trial_dir"]) / "result.json").stat().st_mtime_ns
    proc = run(args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    main, side = studies(d)
    (parent,) = check_parents(main, side)
    assert parent.user_attrs["trial_dir"] == lost.user_attrs["trial_dir"]  # took over the lost config's dir
    assert (Path(parent.user_attrs["trial_dir"]) / "result.json").stat().st_mtime_ns == first_run  # not retrained
    assert set(before) <= set(seeds_ran(side)) and len(seeds_ran(side)) == 2


def kill_after_a_seed(study, sweep_dir: str) -> None:
    """on_trial_end: the sweep's process dies (SIGKILL, as at a session's end) once a further seed
    has finished, leaving its repeating config RUNNING under a dead pid."""
    side = optuna.load_study(study_name=study.study_name + REPEATS_SUFFIX, storage=study._storage)
    if any(t.state == TrialState.COMPLETE for t in side.trials):
        os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.slow
def test_a_config_whose_worker_was_killed_is_revived_before_any_new_config(tmp_path):
    d = tmp_path / "sw"
    args = ["mnist_sweep.train", "-m", f"hydra.sweep.dir={d}", "hydra.sweeper.workers=1", *REPEAT, *TINY]
    # the kill ends a process, not this one: a fork of this warm process (no new interpreter's imports)
    killed = spawn([*args, "hydra.sweeper.n_trials=1", f"hydra.sweeper.on_trial_end={__name__}.kill_after_a_seed"],
                   tmp_path)
    out = killed.communicate(timeout=300)[0]
    assert killed.returncode == -signal.SIGKILL, out[-3000:]
    main, side = studies(d)
    (parent,) = main.trials
    assert (parent.state, parent.user_attrs["status"]) == (TrialState.RUNNING, "repeating")
    (seed_3,) = side.get_trials(states=(TrialState.WAITING,))  # as if the kill came while it ran
    side._storage.set_trial_state_values(seed_3._trial_id, TrialState.RUNNING)
    for key in ("host", "pid"):
        side._storage.set_trial_user_attr(seed_3._trial_id, key, parent.user_attrs[key])
    proc = run([*args, "hydra.sweeper.n_trials=2"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    main, side = studies(d)
    assert main.trials[0].user_attrs["status"] == "lost"
    assert main.trials[1].user_attrs.get("revive_of") == 0  # its seeds first, then the second config
    assert len(check_parents(main, side)) == 2
    board = pd.read_csv(d / "leaderboard.csv").set_index("trial")
    assert board.loc[0, "status"] == "failed" and board.loc[0, "error"].endswith("continued as trial 1")


# ---------------------------------------------------------------------- racing and the top-k, no training
def returned(value) -> SimpleNamespace:
    return SimpleNamespace(status=JobStatus.COMPLETED if not isinstance(value, Exception) else JobStatus.FAILED,
                           _return_value=value)


def write_result(d: Path, value: float, seed: int, status: str = "complete") -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "result.json").write_text(json.dumps({"value": value, "seed": seed, "status": status, "target_acc": 0.99}))


def parent_trial(main: optuna.Study, d: Path, value: float) -> optuna.Trial:
    trial = main.ask()
    trial.set_user_attr("trial_dir", str(d))
    trial.set_user_attr("overrides", "model.c1=8")
    write_result(d, value, seed=1)
    return trial


def test_a_raced_out_seed_cancels_the_rest_and_the_config_is_told_its_lower_mean(tmp_path):
    main = optuna.create_study(direction="maximize")
    with warnings.catch_warnings():  # experimental in name only (stable since Optuna 3.2)
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        main.set_metric_names(["val_acc"])
    rep = Repeats.open(main, seeds=3, top_k=2, constrained=False)
    trial = parent_trial(main, tmp_path / "t0", 0.99)
    assert rep.hold_if_wanted(trial, [0.99], {"value": 0.99, "seed": 1})
    (job,) = rep.claim(1)  # one at a time: the second seed stays queued
    side_trial, overrides = job
    assert "trainer.seed=2" in overrides and any(o.endswith("subdir=t0/seed_2") for o in overrides)
    write_result(tmp_path / "t0" / "seed_2", 0.90, seed=2, status="pruned")
    side_trial.report(0.90, 5)
    assert rep.record(side_trial, returned(optuna.TrialPruned("pruned"))) == trial.number
    told = main.trials[0]
    assert told.state == TrialState.COMPLETE and told.user_attrs["raced_out"] is True
    assert told.value == pytest.approx((0.99 + 0.90) / 2) and told.user_attrs["n_seeds"] == 2
    assert [t.user_attrs["status"] for t in rep.side.trials] == ["pruned", "cancelled"]
    assert rep.claim(5) == []


@pytest.mark.parametrize("race", [True, False])
def test_race_false_gives_no_seed_a_bar(tmp_path, race):
    main = optuna.create_study(direction="maximize")
    main.tell(main.ask(), 0.995)  # another config: the top-1 bar a seed would race against
    rep = Repeats.open(main, seeds=2, top_k=1, constrained=False, race=race)
    trial = parent_trial(main, tmp_path / "t1", 0.996)
    assert rep.hold_if_wanted(trial, [0.996], {"value": 0.996, "seed": 1})
    ((side_trial, _),) = rep.claim(1)
    assert side_trial.user_attrs["race_bar"] == (0.995 if race else None)


def test_a_seed_that_fails_twice_fails_its_config_and_cancels_the_rest(tmp_path, caplog):
    main = optuna.create_study(direction="maximize")
    rep = Repeats.open(main, seeds=3, top_k=2, constrained=False)
    trial = parent_trial(main, tmp_path / "t0", 0.99)
    assert rep.hold_if_wanted(trial, [0.99], {"value": 0.99, "seed": 1})
    (job,) = rep.claim(1)
    with caplog.at_level("WARNING", logger="hydra_plugins.mnist_sweep_sweeper"):
        assert rep.record(job[0], returned(RuntimeError("non-finite loss at step 3"))) is None  # once: run again
    # named as a lost seed's line names it; it read 'seed 2 of /tmp/.../t0 failed'
    assert "seed 2 of t0 failed: non-finite loss at step 3" in caplog.messages, caplog.messages
    assert [t.user_attrs["seed"] for t in rep.side.get_trials(states=(TrialState.WAITING,))] == [3, 2]
    again = next(j for j in rep.claim(2) if "trainer.seed=2" in j[1])
    write_result(tmp_path / "t0" / "seed_2", float("nan"), seed=2)
    assert rep.record(again[0], returned(float("nan"))) == trial.number  # a NaN returned is a failure too
    told = main.trials[0]
    assert told.state == TrialState.FAIL and told.user_attrs["status"] == "failed"
    assert "seed 2 failed 2 times" in told.user_attrs["error"]
    assert sorted(t.user_attrs["status"] for t in rep.side.trials) == ["failed", "failed", "running"]  # seed 3
    assert rep.claim(5) == [] and rep.poll([trial], None) == []  # the holder lets it go
    write_result(tmp_path / "t0" / "seed_3", 0.99, seed=3)
    (seed_3,) = rep.side.get_trials(states=(TrialState.RUNNING,))
    assert rep.record(optuna.Trial(rep.side, seed_3._trial_id), returned(0.99)) is None  # its config stays failed
    assert main.trials[0].state == TrialState.FAIL


def test_the_leaderboard_says_which_configs_rest_on_one_seed():
    from mnist_sweep.leaderboard import frame

    rows = [{"trial": 0, "status": "complete", "value": 0.99, "params": 100, "val_acc": 0.991, "n_seeds": 3,
             "val_mean": 0.99, "val_sem": 0.001, "_sign": 1.0},
            {"trial": 1, "status": "complete", "value": 0.985, "params": 100, "val_acc": 0.985, "_sign": 1.0},
            {"trial": 2, "status": "pruned", "value": None, "params": 100, "val_acc": 0.95, "_sign": 1.0}]
    for r in rows:
        r.update(test_acc_final=r["val_acc"], trial_dir=None)
    board = frame(rows).set_index("trial")
    assert board.loc[0, "n_seeds"] == 3 and board.loc[1, "n_seeds"] == 1
    assert board.loc[1, "val_mean"] == 0.985 and pd.isna(board.loc[2, "n_seeds"]) and pd.isna(board.loc[1, "val_sem"])
    every = frame([{**rows[0], "val_acc": None}])  # every config repeated, selected on the test set: none to fill
    assert every.n_seeds.tolist() == [3] and every.val_mean.tolist() == [0.99]


def test_the_leaderboard_shows_a_repeated_configs_objective_as_told(tmp_path):
    """fastest: train_s is the objective; a repeated config's column is its mean over seeds, the
    value Optuna ranks it by, not its first seed's (the accuracy columns keep val_acc and val_mean)."""
    from mnist_sweep.leaderboard import rows_from_study

    study = optuna.create_study(direction="minimize")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["train_s"])
    rep = Repeats.open(study, seeds=3, top_k=2, constrained=False)
    d = tmp_path / "t0"
    d.mkdir()
    (d / "result.json").write_text(json.dumps({"value": 0.995, "seed": 1, "status": "complete", "train_s": 520.0,
                                                "val_acc": 0.995}))
    trial = study.ask()
    trial.set_user_attr("trial_dir", str(d))
    trial.set_user_attr("overrides", "model.c1=8")
    assert rep.hold_if_wanted(trial, [520.0], {"value": 0.995, "seed": 1})
    for job, train_s in zip(rep.claim(2), (500.0, 510.0)):
        seed_dir = Path(job[0].user_attrs["trial_dir"])
        seed_dir.mkdir(parents=True)
        (seed_dir / "result.json").write_text(json.dumps({"value": 0.994, "seed": job[0].user_attrs["seed"],
                                                          "status": "complete", "train_s": train_s}))
        rep.record(job[0], returned(train_s))
    (row,) = rows_from_study(study)
    assert row["train_s"] == pytest.approx(510.0) == study.trials[0].value  # the mean of 520, 500, 510
    assert row["val_acc"] == 0.995 and row["val_mean"] == pytest.approx((0.995 + 0.994 * 2) / 3)


def test_only_configs_in_the_top_k_are_repeated(tmp_path):
    main = optuna.create_study(direction="maximize")
    rep = Repeats.open(main, seeds=2, top_k=1, constrained=False)
    for i, v in enumerate([0.98, 0.97]):
        t = main.ask()
        main.tell(t, v)
    low = parent_trial(main, tmp_path / "low", 0.975)
    assert not rep.wants(low, [0.975], {"value": 0.975})  # one config is better: not in the top 1
    high = parent_trial(main, tmp_path / "high", 0.985)
    assert rep.wants(high, [0.985], {"value": 0.985})


def test_constrained_repeats_only_feasible_configs(tmp_path):
    main = optuna.create_study(direction="minimize")
    rep = Repeats.open(main, seeds=2, top_k=5, constrained=True)
    t = parent_trial(main, tmp_path / "a", 0.98)
    assert not rep.wants(t, [3000.0], {"value": 0.98, "target_acc": 0.99})
    assert rep.wants(t, [3000.0], {"value": 0.995, "target_acc": 0.99})


def test_seeds_1_is_off():
    assert Repeats.open(optuna.create_study(), seeds=1, top_k=5, constrained=False) is None


def test_the_projection_pruner_races_a_repeat_against_its_bar():
    study = optuna.create_study(direction="maximize", pruner=ProjectionPruner(n_startup_trials=1))
    done = study.ask()
    for epoch, v in enumerate([0.97, 0.98, 0.985, 0.99, 0.992], start=1):
        done.report(v, epoch)
    study.tell(done, 0.992)
    for bar, pruned in [(0.999, True), (0.95, False), (None, False)]:
        t = study.ask()
        t.set_user_attr("race_bar", bar)
        t.set_user_attr("n_val", 10_000)
        t.report(0.97, 4)  # the finished trial gained 0.002 after epoch 4; 2 sigma ~ 0.0034
        assert t.should_prune() is pruned, bar
        study.tell(t, state=TrialState.FAIL)


def test_the_repeat_lines_count_in_words_and_show_accuracies_as_percentages(tmp_path, caplog):
    """'1 more seeds queued' and 'mean over 2 seeds 0.9925 (sem 0.0025)' read as the rest of the
    sweep console does (mnist_sweep.text): '1 more seed queued', '99.25% (sem 0.25%)'."""
    main = optuna.create_study(direction="maximize")
    rep = Repeats.open(main, seeds=2, top_k=2, constrained=False)
    trial = parent_trial(main, tmp_path / "t0", 0.99)
    with caplog.at_level("INFO", logger="hydra_plugins.mnist_sweep_sweeper"):
        assert rep.hold_if_wanted(trial, [0.99], {"value": 0.99, "seed": 1})
        ((side_trial, _),) = rep.claim(1)
        write_result(tmp_path / "t0" / "seed_2", 0.995, seed=2)
        assert rep.record(side_trial, returned(0.995)) == trial.number
    assert "trial 0: in the top 2 on seed 1; 1 more seed queued (2)" in caplog.messages
    assert "trial 0: mean over 2 seeds 99.25% (sem 0.25%)" in caplog.messages, caplog.messages
