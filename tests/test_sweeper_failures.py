"""hydra_plugins/mnist_sweep_sweeper/_failures.py: when failed trials, or candidates that do not compose, stop a sweep."""
from __future__ import annotations

import optuna
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hydra_plugins.mnist_sweep_sweeper import _failures
from mnist_sweep.errors import SweepError, SweepStopped

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
    with pytest.raises(SweepStopped) as e:  # a stop: the sweep writes its end-of-sweep files first
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
    with pytest.raises(SweepStopped, match=r"max_failure_rate: 1 trial failed, more than the 0 allowed \(0% of 10 trials\)"):
        _failures.check(study_of(CUDA), 0.0, 10, since=0)


@pytest.mark.parametrize("rate, n_trials, failures, says", [
    (0.25, 1, 1, "1 trial failed, more than the 0 allowed (25% of 1 trial)"),
    (0.25, 10, 3, "3 trials failed, more than the 2 allowed (25% of 10 trials)"),
    (0.29, 100, 29, "29 trials failed, more than the 28 allowed (29% of 100 trials)"),  # 0.29 x 100 < 29 in floats
])
def test_the_failure_rate_line_counts_the_failures_allowed_and_seen(rate, n_trials, failures, says):
    """n_trials capped by the space to 1: the line read 'more than 0.0 x 1 trial', a product no one
    counts; it names the failures allowed and those seen, as counts, stopping where it did."""
    _failures.check(study_of(*[CUDA] * (failures - 1)), rate, n_trials)
    with pytest.raises(SweepStopped) as e:
        _failures.check(study_of(*[CUDA] * failures), rate, n_trials)
    assert f"hydra.sweeper.max_failure_rate: {says}; last error: " in str(e.value), str(e.value)


def test_the_failure_rate_line_says_how_to_go_on():
    """A resumed sweep past the rate stops before its first trial: the line named the rate and the
    last error but no way to go on (the other rule's line has one), so the same command stopped again."""
    with pytest.raises(SweepError) as e:
        _failures.check(study_of("complete", NAN, NAN), 0.25, 4, since=3)
    assert str(e.value).endswith("; the study is kept: to go on, raise hydra.sweeper.max_failure_rate (failures "
                                 "count over the whole study; 1.0: never stop) and run again"), str(e.value)


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


# ------------------------------------------------------------------ candidates that do not compose
TYPO = "experiment/mine.yaml, defaults list: model=nett: no such option (not in group model); pick one of cnn"


def test_a_run_whose_first_candidates_all_did_not_compose_stops_with_the_commonest_reason():
    reasons = [TYPO] * 12 + ["experiment/mine2.yaml, defaults list: model=nett: no such option"] * 8
    with pytest.raises(SweepStopped) as e:
        _failures.check_composed(reasons, 20, 0)
    assert str(e.value) == (f"hydra.sweeper.params: the first 20 candidates did not compose: {TYPO} (12 of them; the "
                            "rest differ); fix the config file or option it names, or take it out of the search space, "
                            "and run again (the study is kept)")
    with pytest.raises(SweepError, match=r"did not compose: experiment/mine\.yaml, .*cnn; fix the config"):
        _failures.check_composed([TYPO] * 20, 20, 0)


@pytest.mark.parametrize("reasons, rejected, passed", [
    ([TYPO] * 19, 19, 0),  # not yet
    ([TYPO] * 20, 20, 1),  # one candidate passed: the space composes in places (a sparse space)
    ([TYPO] * 19, 20, 0),  # one rejected for another cause (the budget): its own rule, max_rejected
    ([TYPO] * 21, 21, 0),  # past the first 20: told once, at the 20th
])
def test_no_stop_where_a_candidate_passed_or_another_cause_rejected_one(reasons, rejected, passed):
    _failures.check_composed(reasons, rejected, passed)


HYDRA = "In 'config': Could not find 'model/nett'\n\nAvailable options in 'model':\n\tcnn\nConfig search path:\n\tprovider=main"


def loop_of(tmp_path, choices: tuple[str, ...], precheck=lambda cfg: {}, max_rejected: int = 1000):
    """A sweep loop over +experiment=choice(choices) and a learning rate, at its first candidate: an
    experiment named typo* does not compose (Hydra's message), ok does."""
    from types import SimpleNamespace

    from hydra.errors import MissingConfigException
    from omegaconf import OmegaConf

    from hydra_plugins.mnist_sweep_sweeper._loop import Hooks, Limits, Loop
    from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace

    def compose(overrides: list[str]):
        if any(o.startswith("+experiment=typo") for o in overrides):
            raise MissingConfigException(HYDRA, "model/nett")
        return OmegaConf.create({"optimizer": {"lr": 0.1}})

    space = SearchSpace(values={"+experiment": optuna.distributions.CategoricalDistribution(choices),
                                "optimizer.lr": optuna.distributions.FloatDistribution(0.01, 0.1)})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    loop = Loop(study, space, tmp_path, "trial_{number:04d}", Limits(100, 1, max_rejected, 50, 1.0, None),
                Hooks(compose, None, precheck, None, lambda number: None))
    loop.rejected = loop.duplicates = loop.passed = 0  # as run() starts
    loop.uncomposed, loop.first_number, loop.held = [], None, []
    return loop, SimpleNamespace(beat=lambda trial: None)


def test_a_loop_none_of_whose_candidates_compose_stops_at_the_20th_with_one_line_reasons(tmp_path):
    """It drew until max_rejected (1000: minutes), each trial's error Hydra's text with its newlines escaped."""
    loop, heartbeat = loop_of(tmp_path, ("typo", "typo2"))
    with pytest.raises(SweepError, match=r"^hydra\.sweeper\.params: the first 20 candidates did not compose: In "
                                         r"'config': Could not find 'model/nett' Available options in 'model': cnn; fix"):
        loop._candidates(1, [], heartbeat)
    errors = [t.user_attrs["error"] for t in loop.study.trials]
    assert len(errors) == 20 and all(e.isprintable() and "\\" not in e and "search path" not in e for e in errors)


def test_a_loop_where_some_candidates_compose_keeps_drawing(tmp_path):
    """Two of three experiments do not compose: candidates are rejected, others launched, no stop."""
    loop, heartbeat = loop_of(tmp_path, ("ok", "typo", "typo2"))
    assert len(loop._candidates(8, [], heartbeat)) == 8 and loop.rejected > 8  # 20 in a row: (2/3)^20, seeded


def test_a_loop_whose_candidates_are_over_the_budget_too_runs_to_max_rejected(tmp_path):
    """Over-budget rejections are max_rejected's (and the corner check's): they turn this rule off."""
    def over(cfg):
        raise ValueError(BUDGET)

    loop, heartbeat = loop_of(tmp_path, ("ok", "typo"), precheck=over, max_rejected=30)
    with pytest.raises(SweepStopped, match=r"^hydra\.sweeper\.max_rejected: 31 candidates rejected before launch"):
        loop._candidates(1, [], heartbeat)


def sweep_of_two_experiments(tmp_path, study: str, default: str, searched: str) -> list[str]:
    """A one-trial sweep over +experiment=choice(mine,mine2) from a --config-dir, both files holding
    the defaults entry ``default``, and one searched key."""
    from conftest import sweep_args

    d = tmp_path / "D" / "experiment"
    d.mkdir(parents=True)
    for name in ("mine", "mine2"):
        (d / f"{name}.yaml").write_text(f"# @package _global_\ndefaults:\n  - {default}\n")
    args = sweep_args(tmp_path, study, 1, "+experiment=choice(mine,mine2)", searched)
    return [args[0], "--config-dir", str(d.parent), *args[1:]]


def test_a_sweep_of_experiments_with_a_typo_in_their_defaults_is_one_line_before_the_study(tmp_path):
    """It passed the checks, then rejected each draw with Hydra's multi-line text until max_rejected
    (past 500 in 5 minutes); the dry run showed the same text. Each swept option is composed first."""
    from conftest import assert_one_line_error, run

    args = sweep_of_two_experiments(tmp_path, "typo", "override /model: nett", "optimizer.lr=interval(0.01,0.1)")
    for extra in (["hydra.sweeper.dry_run=true"], []):
        proc = run([*args, *extra], cwd=tmp_path)
        assert_one_line_error(proc, "hydra.sweeper.params.+experiment: +experiment=mine does not compose: experiment/"
                                    "mine.yaml, defaults list: model=nett: no such option (not in group model)")
        assert not (tmp_path / "typo").exists()


def test_a_sweep_whose_candidates_never_compose_stops_after_20_in_one_line(tmp_path):
    """Options that compose alone but not with a swept key (step has no pct_start): each draw was
    rejected until max_rejected (1,000, minutes); now the first 20 stop the sweep, each rejection one line."""
    from conftest import assert_one_line_error, load, run

    args = sweep_of_two_experiments(tmp_path, "never", "override /scheduler: step", "scheduler.pct_start=interval(0.2,0.4)")
    proc = run(args, cwd=tmp_path)
    assert_one_line_error(proc, "hydra.sweeper.params: the first 20 candidates did not compose: scheduler.pct_start: "
                                "not a key of the config this candidate composes (+experiment=mine")
    assert "+scheduler.pct_start=" not in proc.stderr  # Hydra's 'To append ... use +KEY=VALUE': no drawn value, no '+'
    errors = [t.user_attrs["error"] for t in load(tmp_path, "never").trials]
    assert len(errors) == 20 and all(e.startswith("scheduler.pct_start: not a key") and e.isprintable() for e in errors)
    board = pd.read_csv(tmp_path / "never" / "leaderboard.csv")
    assert set(board.status) == {"rejected"}


def test_a_swept_option_whose_defaults_list_names_a_missing_config_is_not_called_no_option():
    """'mysched' is in the group, its file names a schema that is not: the line said the option was
    not ('pick among , e.g. scheduler=choice()')."""
    from hydra.errors import MissingConfigException
    from omegaconf import OmegaConf

    from hydra_plugins.mnist_sweep_sweeper import _groups

    def compose(overrides: list[str]):
        if "scheduler=mysched" in overrides:
            raise MissingConfigException("In 'scheduler/mysched': Could not load 'schema/scheduler/stepp'.\n\n"
                                         "Config search path:\n\tprovider=main", "schema/scheduler/stepp")
        if "scheduler=stepp" in overrides:
            raise MissingConfigException("In 'config': Could not find 'scheduler/stepp'", "scheduler/stepp", ["step"])
        return OmegaConf.create({})

    choice = optuna.distributions.CategoricalDistribution
    with pytest.raises(SweepError) as e:
        _groups.check({"scheduler": choice(("step", "mysched"))}, {}, {}, compose)
    assert str(e.value) == ("hydra.sweeper.params.scheduler: scheduler=mysched does not compose: In "
                            "'scheduler/mysched': Could not load 'schema/scheduler/stepp'.")
    with pytest.raises(SweepError, match="'stepp' is not an option of config group 'scheduler'; did you mean step"):
        _groups.check({"scheduler": choice(("step", "stepp"))}, {}, {}, compose)


def test_a_composition_that_failed_is_refused_again_at_once_with_its_own_traceback():
    """Each candidate of a typo'd experiment composed its defaults again (0.3 s): 64 dry-run draws, 20 sweep candidates."""
    from hydra.errors import MissingConfigException

    from hydra_plugins.mnist_sweep_sweeper._compose import Composer

    calls = []

    def load(overrides: list[str]):
        calls.append(overrides)
        raise MissingConfigException(HYDRA, "model/nett")

    compose = Composer(load)
    raised = []
    for lr in (0.1, 0.2):
        with pytest.raises(MissingConfigException) as e:
            compose(["+experiment=typo", f"optimizer.lr={lr}"])
        raised.append(e.value)
    assert calls == [["+experiment=typo"]] and raised[0] is raised[1]
    assert "load" in {tb.tb_frame.f_code.co_name for tb in _frames(raised[1].__traceback__)}


def _frames(tb):
    while tb is not None:
        yield tb
        tb = tb.tb_next


@pytest.mark.parametrize("body, stray", [("trainer.max_epoch: 3\n", "trainer.max_epoch: a dotted key in a config file"),
                                         ("lr: 0.1\n", "lr: not a section of the config")])
def test_a_swept_experiment_that_sets_a_key_nothing_reads_is_refused_before_the_study(tmp_path, body, stray):
    """+experiment=choice(tiny,mine) with a key of mine's that no section holds: every candidate of
    mine trained without it, not a word (the same experiment on its own is refused)."""
    from conftest import make_cfg_hydra

    from hydra_plugins.mnist_sweep_sweeper import _groups

    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text(f"# @package _global_\n{body}")
    choice = optuna.distributions.CategoricalDistribution(("tiny", "mine"))
    with pytest.raises(SweepError) as e:
        _groups.check({"+experiment": choice}, {}, {},
                      lambda overrides: make_cfg_hydra(f"hydra.searchpath=[file://{tmp_path}]", *overrides))
    assert str(e.value).startswith(f"hydra.sweeper.params.+experiment: +experiment=mine: experiment/mine.yaml: {stray}"), e.value


@pytest.mark.parametrize("body, needle", [
    ("model:\n  c1: 6\n   c2: 8\n", "experiment/bad.yaml: not valid YAML (mapping values are not allowed here at line 4, "
                                  "column 6); fix that file"),
    ("model:\n  c1: six\n", "does not compose: experiment/bad.yaml: model.c1: Value 'six' of type 'str' could not be "
                           "converted to Integer; write an integer"),
], ids=["yaml", "value"])
def test_a_swept_experiment_that_is_no_yaml_or_sets_a_wrong_value_is_one_line_naming_the_file(tmp_path, body, needle):
    """A YAML error in a swept option's file was a yaml.scanner traceback (exit 1) that left the sweep
    dir behind; a value of the wrong type was Hydra's 'ValidationError raised ... object_type=CnnModelSchema'."""
    from conftest import assert_one_line_error, run

    args = sweep_of_two_experiments(tmp_path, "badfile", "_self_", "optimizer.lr=interval(0.01,0.1)")
    (tmp_path / "D" / "experiment" / "bad.yaml").write_text("# @package _global_\n" + body)
    args = [a.replace("choice(mine,mine2)", "choice(mine,bad)") for a in args]
    proc = run([*args, "hydra.sweeper.dry_run=true"], cwd=tmp_path)
    assert_one_line_error(proc, "hydra.sweeper.params.+experiment: +experiment=bad does not compose: ", needle)
    assert not (tmp_path / "badfile").exists()
