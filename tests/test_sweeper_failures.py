"""hydra_plugins/mnist_sweep_sweeper/_failures.py: when failed trials stop a sweep."""
from __future__ import annotations

import optuna
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hydra_plugins.mnist_sweep_sweeper import _failures
from mnist_sweep.errors import SweepError

CUDA = "RuntimeError: trainer.device=cuda but this machine has no CUDA GPU"
NAN = "DivergedError: training loss became nan at step 50; lower optimizer.lr or check the config"


def study_of(*outcomes: str) -> optuna.Study:
    """One trial per outcome: 'complete', 'pruned', 'lost', or an error text (a failed trial)."""
    study = optuna.create_study()
    for outcome in outcomes:
        trial = study.ask()
        if outcome in ("complete", "pruned", "lost"):
            trial.set_user_attr("status", outcome)
            study.tell(trial, 0.5) if outcome == "complete" else study.tell(trial, state=optuna.trial.TrialState.PRUNED
                                                                            if outcome == "pruned" else optuna.trial.TrialState.FAIL)
        else:
            trial.set_user_attr("status", "failed")
            trial.set_user_attr("error", outcome)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return study


def test_three_alike_at_the_start_stop_with_the_error_and_the_way_out():
    with pytest.raises(SweepError) as e:
        _failures.check(study_of(CUDA, CUDA, CUDA), 0.25, 1000, since=0)
    assert CUDA in str(e.value) and "max_failure_rate=1.0" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("outcomes", [
    (CUDA, CUDA),                            # two are not yet a pattern
    (CUDA, CUDA, "ValueError: other"),       # different errors
    ("complete", CUDA, CUDA, CUDA),          # a trial of this run finished: the set-up works
    (CUDA, "pruned", CUDA, CUDA),
    (NAN, NAN, NAN),                         # a diverging region is the search's business
    (CUDA, "lost", CUDA, "lost"),            # lost trials are not failures of the config
])
def test_no_stop_without_a_set_up_pattern(outcomes):
    _failures.check(study_of(*outcomes), 0.25, 1000, since=0)


def test_only_this_runs_trials_count_so_a_fixed_config_can_resume():
    study = study_of(CUDA, CUDA, CUDA)
    _failures.check(study, 0.25, 1000, since=3)  # the user fixed it; this run starts at trial 3
    _failures.check(study, 0.25, 1000, since=None)  # nothing asked yet
    with pytest.raises(SweepError):
        _failures.check(study_of(*["complete"] * 5, CUDA, CUDA, CUDA), 0.25, 1000, since=5)


def test_rate_one_turns_both_rules_off_and_rate_zero_stops_at_the_first():
    _failures.check(study_of(CUDA, CUDA, CUDA, CUDA), 1.0, 4, since=0)
    with pytest.raises(SweepError, match="max_failure_rate: 1 trial failed, more than 0.0 x 10 trials"):
        _failures.check(study_of(CUDA), 0.0, 10, since=0)


@example([NAN, "lost", NAN, NAN, CUDA])
@example(["lost", CUDA, CUDA, CUDA, "complete"])
@given(st.lists(st.sampled_from(["complete", "pruned", "lost", CUDA, NAN, "ValueError: x"]), max_size=8))
@settings(deadline=None, derandomize=True)  # an in-memory study an example: over 200 ms on a busy runner
def test_stops_exactly_when_the_first_three_failures_are_one_set_up_error_and_nothing_finished(outcomes):
    failed = [o for o in outcomes if o not in ("complete", "pruned", "lost")]
    expected = (len(failed) >= 3 and len(set(failed[:3])) == 1 and failed[0] != NAN
                and not {"complete", "pruned"} & set(outcomes))
    try:
        _failures.check(study_of(*outcomes), 0.99, 1000, since=0)
        stopped = False
    except SweepError:
        stopped = True
    assert stopped == expected


def rejected_study(*errors: str, params: int | None = None) -> optuna.Study:
    """One candidate rejected before launch per error text (with its size, as the budget check records it)."""
    study = optuna.create_study()
    for error in errors:
        trial = study.ask()
        trial.set_user_attr("status", "rejected")
        trial.set_user_attr("error", error)
        if params is not None and "max_params" in error:
            trial.set_user_attr("params", params + trial.number)
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    return study


BUDGET = "model has 9,778 parameters, over the budget model.max_params=100; shrink model widths or raise model.max_params"


def test_the_most_common_rejection_is_named_not_guessed():
    """max_rejected's line names what rejected most candidates: a precheck's own error, or the
    budget with the smallest candidate's size; a key's per-block index is one cause."""
    study = rejected_study("model.padding[3]: must be in [0, 2], got 3", "model.padding[1]: must be in [0, 2], got 5",
                           "too slow for the deadline")
    key, why = _failures.why_rejected(study.trials)
    assert key == "model.padding" and why.startswith("2 of the 3 by model.padding[3]: must be in [0, 2], got 3; "), why
    assert _failures.why_rejected(rejected_study("too slow", "too slow").trials) == (
        "hydra.sweeper.precheck", "all 2 by too slow; narrow the search space to candidates that pass")
    key, why = _failures.why_rejected(rejected_study(BUDGET, BUDGET, params=9_778).trials)
    assert key == "model.max_params" and "all 2 over the budget model.max_params=100, the smallest with 9,778" in why


def test_a_study_that_trained_nothing_fails_and_one_that_trained_does_not():
    with pytest.raises(SweepError, match=r"^model\.max_params: no trial was trained: the study's 2 distinct"):
        _failures.check_trained(rejected_study(BUDGET, BUDGET, params=9_778))
    _failures.check_trained(study_of("complete"))
    _failures.check_trained(optuna.create_study())  # no trials at all: nothing to say


@pytest.mark.parametrize("why, error", [
    (KeyboardInterrupt(), "sweep stopped while the trial was open: interrupted (Ctrl-C or SIGINT)"),  # read 'KeyboardInterrupt: '
    (KeyboardInterrupt("SIGTERM"), "sweep stopped while the trial was open: interrupted (SIGTERM)"),
    (ValueError(), "sweep stopped while the trial was open: ValueError"),
    (ValueError("bad"), "sweep stopped while the trial was open: ValueError: bad"),
])
def test_an_interrupted_trials_error_says_what_stopped_it(why, error):
    from hydra_plugins.mnist_sweep_sweeper import _study
    study = optuna.create_study()
    trial = study.ask()
    _study.lose(study, trial, why)
    assert study.trials[0].user_attrs["error"] == error and study.trials[0].user_attrs["status"] == "lost"
