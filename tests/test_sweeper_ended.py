"""A dead worker's trial whose run had ended (its result.json written, not yet told: a kill -9 of the
sweep while hydra.sweeper.n_jobs=2's batch ran, the first job's result waiting for the other's) was
failed as lost on resume and trained again: the finished run was thrown away. It is told from its
result.json now, as a stopped sweep tells its launch's ended runs."""
from __future__ import annotations

import json
import socket

import optuna
import pytest
from optuna.trial import TrialState

from conftest import run_inproc, sweep_args
from hydra_plugins.mnist_sweep_sweeper import _revive

DEAD_PID = 2**22 + 12345  # above the default pid_max: no such process


def ghost(study: optuna.Study, trial_dir, result: dict | None) -> optuna.Trial:
    """A trial left RUNNING by a worker of this host that died, with its run dir (and result.json, if given)."""
    trial = study.ask()
    for key, value in {"host": socket.gethostname(), "pid": DEAD_PID, "status": "running", "trial_dir": str(trial_dir)}.items():
        trial.set_user_attr(key, value)
    trial_dir.mkdir(parents=True)
    if result is not None:
        (trial_dir / "result.json").write_text(json.dumps(result))
    return trial


ENDED = {"status": "complete", "value": 0.875, "val_acc": 0.875, "test_acc_final": 0.86, "epochs": 1}


def test_a_resume_tells_a_dead_workers_ended_run_instead_of_training_another(tmp_path):
    d = tmp_path / "ended"
    d.mkdir()
    study = optuna.create_study(study_name="ended", storage=f"sqlite:///{d}/optuna.db", direction="maximize")
    ghost(study, d / "trial_0000", ENDED)
    proc = run_inproc(sweep_args(tmp_path, "ended", 1, "optimizer.lr=tag(log,interval(0.01,0.1))"), cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert f"trial 0: worker {socket.gethostname()}:{DEAD_PID} died after its run ended; told complete from its result.json" in out
    assert "1 of 1 trial done or running; 0 to go" in out and "marked failed (lost)" not in out, out[-3000:]
    (told,) = study.get_trials()
    assert told.state == TrialState.COMPLETE and told.value == 0.875 and told.user_attrs["status"] == "complete"
    assert told.user_attrs["val_acc"] == 0.875


@pytest.mark.parametrize("result, repeats, state, status", [
    (ENDED, False, TrialState.COMPLETE, "complete"),
    ({"status": "pruned", "value": 0.5, "epochs": 1}, False, TrialState.PRUNED, "pruned"),
    (None, False, TrialState.FAIL, "lost"),  # still training when its worker died: lost, as before
    ({"status": "failed"}, False, TrialState.FAIL, "lost"),
    (ENDED, True, TrialState.FAIL, "lost"),  # repeats: a first seed may enter the top-k; revived as before
])
def test_only_an_ended_run_of_a_sweep_without_repeats_is_told(tmp_path, result, repeats, state, status):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/o.db", direction="maximize")
    ghost(study, tmp_path / "trial_0000", result)
    _revive.fail_lost(study, None, False, repeats)
    (t,) = study.get_trials()
    assert (t.state, t.user_attrs["status"]) == (state, status)


def test_a_dry_run_counts_a_dead_workers_ended_run_as_the_resume_tells_it(tmp_path):
    d = tmp_path / "ended"
    d.mkdir()
    study = optuna.create_study(study_name="ended", storage=f"sqlite:///{d}/optuna.db", direction="maximize")
    ghost(study, d / "trial_0000", ENDED)
    proc = run_inproc([*sweep_args(tmp_path, "ended", 1, "optimizer.lr=tag(log,interval(0.01,0.1))"),
                       "hydra.sweeper.dry_run=true"], cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "1 of 1 trial done or running; 0 to go" in out and "study ended is complete" in out, out[-3000:]
    assert study.get_trials()[0].state == TrialState.RUNNING  # read, not told


def test_a_revived_config_lost_again_is_revived_through_its_last_taker(tmp_path):
    """Trial 0 lost while repeating, trial 1 took it over (its dir and seeds) and was lost in turn (its
    resume killed): the next resume queued both. Trial 0's revival was refused as trial 1's and trained the
    config afresh in a new dir, its finished seeds thrown away; trial 1's revival then told it a second time."""
    from optuna.trial import create_trial

    from hydra_plugins.mnist_sweep_sweeper._repeats import Repeats

    main = optuna.create_study(direction="maximize")
    rep = Repeats.open(main, seeds=3, top_k=2, constrained=False)
    run = {"values": [0.9], "val": 0.9, "state": "complete"}
    parent = {"status": "lost", "repeat_seeds": [1, 2, 3], "overrides": "model.c1=8", "trial_dir": str(tmp_path / "trial_0000")}
    main.add_trial(create_trial(state=TrialState.FAIL, user_attrs={**parent, "seed_runs": {"1": run}}))
    main.add_trial(create_trial(state=TrialState.FAIL, user_attrs={**parent, "revive_of": 0, "seed_runs": {"1": run, "2": run}}))
    assert _revive.runs_to_go(main, 1, rep) == 1  # seed 3 alone: trial 1 had seeds 1 and 2
    _revive.revive(rep)
    assert [t.user_attrs.get("revive_of") for t in main.get_trials() if t.state == TrialState.WAITING] == [1]
    trial = main.ask()
    assert _revive.takeover(rep, trial)
    assert trial.user_attrs["trial_dir"] == parent["trial_dir"] and set(trial.user_attrs["seed_runs"]) == {"1", "2"}
    assert [t.user_attrs["seed"] for t in rep.side.get_trials() if t.state == TrialState.WAITING] == [3]


def test_a_revival_lost_before_it_took_over_does_not_bar_the_next(tmp_path):
    """Trial 1, queued to revive trial 0, was lost between its pop and its takeover (its sweep killed):
    the next revival of trial 0 was refused as 'revived first' by it and trained the config afresh."""
    from optuna.trial import create_trial

    from hydra_plugins.mnist_sweep_sweeper._repeats import Repeats

    main = optuna.create_study(direction="maximize")
    rep = Repeats.open(main, seeds=3, top_k=2, constrained=False)
    parent = {"status": "lost", "repeat_seeds": [1, 2, 3], "overrides": "model.c1=8", "trial_dir": str(tmp_path / "trial_0000"),
              "seed_runs": {"1": {"values": [0.9], "val": 0.9, "state": "complete"}}}
    main.add_trial(create_trial(state=TrialState.FAIL, user_attrs=parent))
    main.add_trial(create_trial(state=TrialState.FAIL, user_attrs={"status": "lost", "revive_of": 0}))
    _revive.revive(rep)
    trial = main.ask()
    assert trial.user_attrs["revive_of"] == 0 and _revive.takeover(rep, trial)
    assert trial.user_attrs["trial_dir"] == parent["trial_dir"]


def _repeating(tmp_path, parent_pid: int):
    """A config repeating over seeds 1 and 2 (seed 1, its first, done) whose seed 2's worker died after that
    run had ended (its result.json written, not yet told); the parent's worker is ``parent_pid``."""
    from hydra_plugins.mnist_sweep_sweeper._repeats import Repeats, seed_dir

    main = optuna.create_study(study_name="m", storage=f"sqlite:///{tmp_path}/o.db", direction="maximize")
    rep = Repeats.open(main, seeds=2, top_k=2, constrained=False)
    parent, parent_dir = main.ask(), str(tmp_path / "trial_0000")
    for key, value in {"host": socket.gethostname(), "pid": parent_pid, "status": "repeating", "trial_dir": parent_dir,
                       "overrides": "model.c1=8", "repeat_seeds": [1, 2],
                       "seed_runs": {"1": {"values": [0.9], "val": 0.9, "state": "complete"}}}.items():
        parent.set_user_attr(key, value)
    seed = ghost(rep.side, tmp_path / "trial_0000" / "seed_2", ENDED)
    for key, value in {"parent_dir": parent_dir, "seed": 2, "overrides": "model.c1=8",
                       "trial_dir": seed_dir(parent_dir, 2)}.items():
        seed.set_user_attr(key, value)
    return main, rep, parent


def test_a_dead_workers_ended_seed_is_told_from_its_result_json_not_trained_again(tmp_path, caplog):
    """With repeats, a further seed whose run had ended when its worker died was failed as lost and queued
    again (4df4e25 told only a sweep without repeats' trials): the run was trained a second time in its dir.
    It is told as its worker would have told it, and the config with it where it was the last seed."""
    import logging
    import os

    main, rep, parent = _repeating(tmp_path, os.getpid())  # the parent's worker: this one, alive
    with caplog.at_level(logging.INFO, logger="hydra_plugins.mnist_sweep_sweeper"):
        assert rep.poll([parent], None) == []  # its config told: nothing left open
    (seed,) = rep.side.get_trials()
    assert (seed.state, seed.user_attrs["status"]) == (TrialState.COMPLETE, "complete")
    assert "seed 2 of trial_0000: worker" in caplog.text and "told complete from its result.json" in caplog.text
    (told,) = main.get_trials()
    assert told.state == TrialState.COMPLETE and told.user_attrs["n_seeds"] == 2


def test_an_ended_seed_of_a_config_lost_with_it_is_kept_for_the_revival(tmp_path):
    """The config's worker died too (one sweep killed): the seed is told, the config lost and revived,
    and the revival queues no seed (the resume's dry run counts none to go, as it reads the study)."""
    from types import SimpleNamespace

    main, rep, _ = _repeating(tmp_path, DEAD_PID)
    conf = SimpleNamespace(n_trials=1, constrain_to_target=False, repeats=SimpleNamespace(seeds=2, top_k=2, race=True))
    assert _revive.left_to_start(f"sqlite:///{tmp_path}/o.db", "m", 1, conf, None) == _revive.Left(1, 0)
    _revive.fail_lost(main, None, False, True)
    rep.fail_lost(None)
    assert [t.user_attrs["status"] for t in rep.side.get_trials()] == ["complete"]
    _revive.revive(rep)
    trial = main.ask()
    assert _revive.takeover(rep, trial)
    assert not [t for t in rep.side.get_trials() if t.state == TrialState.WAITING]
    assert rep.settle(trial.user_attrs["trial_dir"]) and main.trials[-1].state == TrialState.COMPLETE
