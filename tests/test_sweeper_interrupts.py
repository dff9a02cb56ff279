"""An interrupt (SIGTERM, Ctrl-C) while a worker takes a trial: Optuna's ask or a queued seed's claim
makes it RUNNING, and the worker marks it its own (host, pid) just after. In between, the interrupt
waits (children.deferred): a trial left RUNNING with no owner is failed by no resume. No training."""
from __future__ import annotations

import os
import signal
import time

import optuna
import pytest
from optuna.trial import TrialState

from mnist_sweep import cli


def test_an_interrupt_while_a_trial_is_asked_waits_until_it_is_marked_this_workers(tmp_path):
    """SIGTERM between Optuna's ask (the trial RUNNING) and the sweep marking it its own (host, pid)
    left it RUNNING with no owner: no resume failed it, every resume counted it as running, and the
    study ended a trial short of n_trials, 'running' on its leaderboard for ever."""
    from hydra_plugins.mnist_sweep_sweeper._progress import Progress
    from test_sweeper_faults import _loop

    study = optuna.create_study(direction="maximize", storage=f"sqlite:///{tmp_path}/o.db")
    real_ask = study.ask

    def ask() -> optuna.Trial:
        trial = real_ask()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.1)  # the handler runs here
        return trial

    study.ask = ask
    previous = signal.signal(signal.SIGTERM, cli._terminate)  # what main() installs
    try:
        with pytest.raises(KeyboardInterrupt):
            _loop(study, tmp_path, lambda jobs: pytest.fail("launched")).run(Progress(1))
    finally:
        signal.signal(signal.SIGTERM, previous)
    (t,) = study.trials
    assert (t.state, t.user_attrs["status"], t.user_attrs["pid"]) == (TrialState.FAIL, "lost", os.getpid())



def test_an_interrupt_while_a_queued_seed_is_claimed_waits_until_it_is_marked_this_workers(tmp_path):
    """The same for a repeated config's queued seed: claimed (RUNNING) but not yet marked, it was
    taken by no worker again, and the config waited for it for ever."""
    from hydra_plugins.mnist_sweep_sweeper._repeats import Repeats

    main = optuna.create_study(direction="maximize", storage=f"sqlite:///{tmp_path}/o.db")
    rep = Repeats.open(main, seeds=2, top_k=1, constrained=False)
    trial = main.ask()
    trial.set_user_attr("trial_dir", str(tmp_path / "t0"))
    trial.set_user_attr("overrides", "model.c1=8")
    rep.hold(trial, [0.99], {"value": 0.99, "seed": 1})
    real_parent, signalled = rep.parent, []

    def parent(parent_dir: str):  # noqa: ANN202 - between the claim and the mark
        if not signalled:
            signalled.append(os.kill(os.getpid(), signal.SIGTERM))
            time.sleep(0.1)
        return real_parent(parent_dir)

    rep.parent = parent
    previous = signal.signal(signal.SIGTERM, cli._terminate)
    try:
        with pytest.raises(KeyboardInterrupt):
            rep.claim(1)
    finally:
        signal.signal(signal.SIGTERM, previous)
    (seed,) = rep.side.get_trials()
    assert (seed.state, seed.user_attrs["status"], seed.user_attrs["pid"]) == (TrialState.RUNNING, "running", os.getpid())
