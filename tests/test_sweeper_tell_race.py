"""Two workers settling one repeated config: whichever tells it second is told "not yours", never
an error (the CI's PostgreSQL repeats test once failed the sweep with Optuna's 'Cannot tell a
COMPLETE trial.' when the other worker told it between this one's attrs and its tell)."""
from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from hydra_plugins.mnist_sweep_sweeper import _optuna, _study


def _two_handles(tmp_path):
    url = f"sqlite:///{tmp_path / 'o.db'}"
    mine = optuna.create_study(study_name="s", storage=url, direction="maximize")
    other = optuna.load_study(study_name="s", storage=url)
    return mine, other


def test_settle_returns_false_when_another_worker_tells_it_between_attrs_and_tell(tmp_path):
    mine, other = _two_handles(tmp_path)
    trial = mine.ask()
    frozen = mine.get_trials(deepcopy=False)[0]
    told = _study.settle(mine, frozen, {"seeds": 3}, 0.99,
                         before_tell=lambda tid: other.tell(trial.number, 0.98))
    assert told is False
    assert other.get_trials()[0].value == 0.98  # the first tell stands


def test_lose_of_a_trial_told_between_its_mark_and_tell_keeps_the_told_state(tmp_path, monkeypatch):
    mine, other = _two_handles(tmp_path)
    trial = mine.ask()
    mark = _study.mark

    def mark_then_told_elsewhere(t, status, **attrs):
        mark(t, status, **attrs)
        other.tell(t.number, 0.97)
    monkeypatch.setattr(_study, "mark", mark_then_told_elsewhere)
    _study.lose(mine, trial, KeyboardInterrupt())
    assert other.get_trials()[0].state == TrialState.COMPLETE


def test_a_value_error_of_a_trial_still_open_is_raised(tmp_path):
    mine, _ = _two_handles(tmp_path)
    trial = mine.ask()
    with pytest.raises(ValueError):
        _optuna.told_already(_optuna.storage_of(mine), _optuna.trial_id(trial), ValueError("bad values"))
