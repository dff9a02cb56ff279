"""mnist_sweep.storage.open_storage(claims=True): two sweep workers that claim one queued trial at
the same moment (a further seed of a repeated config, a revived config) get it once, on SQLite too.

The interleaving is forced: each worker stops right after reading the trial WAITING until the
other has read it as well (or 2 s have passed). Without the fix both read WAITING, both write
RUNNING, both run the trial, and the second to finish crashed on 'Trial#N has already finished'."""
from __future__ import annotations

import threading

import optuna
import pytest
from optuna.storages._rdb import models
from optuna.trial import TrialState

from mnist_sweep.storage import open_storage


@pytest.fixture
def both_read_first(monkeypatch):
    """Each claim waits, after reading a WAITING trial, for the other claim to read it too."""
    barrier = threading.Barrier(2, timeout=2)
    original = models.TrialModel.find_or_raise_by_id.__func__

    def find(cls, trial_id, session, for_update=False):
        trial = original(cls, trial_id, session, for_update)
        if for_update and trial.state == TrialState.WAITING:
            try:
                barrier.wait()
            except threading.BrokenBarrierError:  # the other worker waits for this one's transaction
                pass
        return trial

    monkeypatch.setattr(models.TrialModel, "find_or_raise_by_id", classmethod(find))


def claim_at_once(url: str, claims: bool) -> list[bool]:
    first = open_storage(url, claims=claims)
    study = optuna.create_study(study_name="s", storage=first)
    study.enqueue_trial({})
    (queued,) = study.get_trials(states=(TrialState.WAITING,))
    storages = [first, open_storage(url, claims=claims)]  # two workers: two engines on one file
    got: list[bool] = []

    def claim(storage) -> None:
        got.append(storage.set_trial_state_values(queued._trial_id, TrialState.RUNNING))

    threads = [threading.Thread(target=claim, args=(s,)) for s in storages]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return got


def test_two_workers_claiming_one_queued_trial_get_it_once(tmp_path, both_read_first):
    assert sorted(claim_at_once(f"sqlite:///{tmp_path}/optuna.db", claims=True)) == [False, True]


def test_without_claims_sqlite_hands_one_queued_trial_to_both(tmp_path, both_read_first):
    """The race itself, so that the test above is known to force it (read-only commands never claim)."""
    assert claim_at_once(f"sqlite:///{tmp_path}/optuna.db", claims=False) == [True, True]


def test_a_claiming_storage_still_reads_and_writes_as_before(tmp_path):
    url = f"sqlite:///{tmp_path}/optuna.db"
    study = optuna.create_study(study_name="s", storage=open_storage(url, claims=True))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    again = optuna.load_study(study_name="s", storage=open_storage(url))
    assert [t.state for t in again.trials] == [TrialState.COMPLETE] * 3
