"""mnist_sweep.config.sweeper and sweeper_checks: the sweeper's keys, their ranges and cross-key rules."""
from __future__ import annotations

import dataclasses

import pytest
from hydra.errors import HydraException

from conftest import CONF, make_cfg_hydra
from mnist_sweep.errors import SweepError
from mnist_sweep.overrides import composition_error

BAD_SWEEPER = [  # (key, value in Hydra's override syntax)
    ("n_trials", "0"), ("n_trials", "-1"), ("n_jobs", "0"), ("n_jobs", "-1"), ("workers", "0"),
    ("max_failure_rate", "-1"), ("max_failure_rate", "1.5"), ("max_rejected", "-1"), ("max_duplicates", "0"),
    ("heartbeat_interval", "-5"), ("heartbeat_interval", "0"), ("grace_period", "5"),
    ("trial_dir", "'t_{foo}'"), ("trial_dir", "fixed"), ("trial_dir", "'a/{number}'"), ("trial_dir", "'t_{number:q}'"),
    ("trial_dir", "'{}'"), ("study_name", "'a/b'"), ("study_name", "x.repeats"),
    ("storage", "'postgresql://u@h/db?password=s3cret'"), ("storage", "'postgresql://u:s3cret@h/db'"),
    ("pruner", "none"), ("pruner", "median"), ("pruner", "5"), ("sampler", "tpe"), ("sampler", "null"),
    ("direction", "sideways"), ("direction", "[maximize,up]"), ("direction", "[]"), ("direction", "MAXIMIZE"),
    ("direction", "{name:minimize}"),
    ("storage", "'sqlite:///'"), ("storage", "'sqlite://'"), ("storage", "'sqlite:///:memory:'"),
    ("storage", "'sqlite:///file::memory:?cache=shared'"),
    ("storage", "true"), ("storage", "1.5"), ("storage", "[a,b]"), ("storage", "{a:1}"), ("storage", "''"),
    ("precheck", "os.getcwd"), ("on_trial_end", "os.getcwd"), ("on_sweep_end", "os.getpid"),
    ("custom_search_space", "os.getcwd"),
]


@pytest.mark.parametrize("key, value", BAD_SWEEPER, ids=[f"{k}={v}" for k, v in BAD_SWEEPER])
def test_bad_sweeper_keys_name_their_key(key, value):
    from mnist_sweep.config.sweeper_checks import check_sweeper

    cfg = make_cfg_hydra(f"hydra.sweeper.{key}={value}")
    with pytest.raises(SweepError) as e:
        check_sweeper(cfg)
    assert str(e.value).startswith(f"hydra.sweeper.{key}: ") and "s3cret" not in str(e.value), str(e.value)


def test_the_bad_key_and_the_fix_are_named():
    """direction names its allowed values; an in-memory SQLite URL says why and to give a file;
    a callback of the wrong arity says what it is called with."""
    from mnist_sweep.config.sweeper_checks import check_sweeper

    for override, needles in [
        ("hydra.sweeper.direction=sideways", ["minimize or maximize", "got 'sideways'"]),
        ("hydra.sweeper.storage='sqlite:///'", ["in-memory", "cannot share", "give a file"]),
        ("hydra.sweeper.precheck=os.getcwd", ["precheck(cfg)", "give a function of (cfg)"]),
    ]:
        with pytest.raises(SweepError) as e:
            check_sweeper(make_cfg_hydra(override))
        assert all(n in str(e.value) for n in needles), str(e.value)
    for good in ("hydra.sweeper.storage='sqlite:///x/optuna.db'", "hydra.sweeper.precheck=mnist_sweep.training.precheck",
                 "hydra.sweeper.storage=null"):
        check_sweeper(make_cfg_hydra(good))
    check_sweeper(make_cfg_hydra("hydra.sweeper.direction=[maximize,minimize]", "trainer.objectives=[val_acc,params]"))


def test_an_empty_storage_env_is_refused_not_an_in_memory_study(monkeypatch):
    """$MNIST_SWEEP_STORAGE set but empty made the default storage '': the sweep ran an in-memory study
    (no optuna.db, nothing to resume, one worker), where every other command reads it as unset."""
    from mnist_sweep.config.sweeper_checks import check_sweeper

    monkeypatch.setenv("MNIST_SWEEP_STORAGE", "")
    with pytest.raises(SweepError, match=r"^hydra.sweeper.storage: \$MNIST_SWEEP_STORAGE is set but empty; unset it"):
        check_sweeper(make_cfg_hydra())


def test_a_group_set_as_a_value_names_the_group_syntax():
    from mnist_sweep.config.sweeper_checks import check_sweeper

    with pytest.raises(SweepError, match=r"^hydra.sweeper.pruner: got 'none', not a pruner config; choose one "
                       r"with hydra/sweeper/pruner=NAME \(slashes, not dots\), NAME one of .*none, projection"):
        check_sweeper(make_cfg_hydra("hydra.sweeper.pruner=none"))
    check_sweeper(make_cfg_hydra("hydra/sweeper/pruner=none"))  # the group: NopPruner
    check_sweeper(make_cfg_hydra("hydra.sweeper.pruner=null"))  # documented: no pruner


@pytest.mark.parametrize("value, pick", [("joblib", "joblib"), ("paralel", "parallel")])
def test_a_launcher_set_as_a_value_names_the_group_syntax(tmp_path, value, pick):
    """Hydra said 'Input config does not have a `_target_` field', naming neither the key nor the fix."""
    from conftest import assert_one_line_error, run_inproc

    proc = run_inproc(["mnist_sweep.train", "-m", f"hydra.launcher={value}", f"hydra.sweep.dir={tmp_path}/sw"], cwd=tmp_path)
    assert_one_line_error(proc, f"hydra.launcher: got '{value}', not a launcher config", "hydra/launcher=NAME",
                          "multigpu, parallel, slurm", f"e.g. hydra/launcher={pick}")
    assert proc.returncode == 2 and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, key, got, pick", [
    (["hydra.sweeper=nope"], "hydra.sweeper", "'nope'", "mnist_optuna"),
    (["hydra.sweeper=nope", "hydra.sweeper.dry_run=true"], "hydra.sweeper", "'nope'", "mnist_optuna"),
    (["hydra.sweeper=null"], "hydra.sweeper", "null", "mnist_optuna"),
    (["hydra.launcher=joblib", "hydra.launcher.n_jobs=2"], "hydra.launcher", "'joblib'", "joblib"),
    (["hydra.sweeper.sampler=tpe", "hydra.sweeper.sampler.seed=3"], "hydra.sweeper.sampler", "'tpe'", "tpe"),
])
def test_a_value_given_for_a_hydra_node_names_the_node_and_its_group(tmp_path, args, key, got, pick):
    """hydra.sweeper=nope was an AttributeError traceback, and with a key of it set (or of the
    launcher's, the sampler's) 'hydra.sweeper.dry_run: no such key', naming the wrong key."""
    from conftest import assert_one_line_error, run_inproc

    proc = run_inproc(["mnist_sweep.train", "-m", *args, f"hydra.sweep.dir={tmp_path}/sw"], cwd=tmp_path)
    group = key.replace(".", "/")
    assert_one_line_error(proc, f"error: {key}: got {got}, not a {group.rpartition('/')[2]} config; choose one with "
                          f"{group}=NAME (slashes, not dots)", f"e.g. {group}={pick}; set its keys as {key}.KEY=VALUE")
    assert proc.returncode == 2 and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["-m", "hydra/sweeper=nope"], ["-m", "hydra/sweeper=null"], ["-m", "hydra.sweeper=nope"],
                                  ["-m", "hydra.sweeper=basic"], ["-m", "hydra.sweeper=optuna"], ["hydra/sweeper=nope"]])
def test_a_wrong_sweeper_is_offered_only_the_sweeper_the_next_check_accepts(monkeypatch, tmp_path, args):
    """The lines listed basic, mnist_optuna and optuna (hydra.sweeper=basic's gave e.g. hydra/sweeper=basic), and
    hydra/sweeper=basic or optuna is refused next: this project's sweeps run through mnist_optuna alone."""
    import re

    from mnist_sweep.overrides import check_command_line

    monkeypatch.chdir(tmp_path)
    line = check_command_line(args).error
    offered = re.search(r"one of ([\w, ]+), e\.g\. hydra/sweeper=(\w+)", line)
    assert offered and offered[1].split(", ") == ["mnist_optuna"] and offered[2] == "mnist_optuna", line
    for name in offered[1].split(", "):  # each offered one is accepted
        assert check_command_line(["-m", f"hydra/sweeper={name}", "hydra.sweeper.dry_run=true"]).error is None


def test_shipped_sweeper_configs_pass():
    from mnist_sweep.config.sweeper_checks import check_sweeper

    for search in ("default", "best_20k", "tiny", "pareto"):
        check_sweeper(make_cfg_hydra(f"hparams_search={search}"))
    check_sweeper(make_cfg_hydra("hydra.sweeper.heartbeat_interval=60"))


def test_a_sweeper_type_error_is_refused_by_hydra():
    with pytest.raises(HydraException) as e:
        make_cfg_hydra("hydra.sweeper.n_trials=many")
    assert composition_error(e.value).startswith("hydra.sweeper.n_trials: ")


def test_every_stock_key_is_mirrored():
    """mnist_sweep mirrors the stock OptunaSweeperConf's fields (it may not import the plugin)."""
    from hydra_plugins.hydra_optuna_sweeper.config import OptunaSweeperConf

    from mnist_sweep.config.sweeper import MnistOptunaSweeperConf

    ours = {f.name for f in dataclasses.fields(MnistOptunaSweeperConf)}
    assert {f.name for f in dataclasses.fields(OptunaSweeperConf)} <= ours


@pytest.mark.parametrize("value, example", [
    ("max", "hydra.sweeper.direction=maximize"), ("min", "hydra.sweeper.direction=minimize"),
    ("MAXIMIZE", "hydra.sweeper.direction=maximize"), ("maximise", "hydra.sweeper.direction=maximize"),
    ("[maximize,min]", "hydra.sweeper.direction=[maximize,minimize]"),
])
def test_a_wrong_direction_gets_the_one_meant_as_an_example(value, example):
    """'max' said only 'must be minimize or maximize'; Optuna takes no alias (create_study(direction='max')
    raises), so none is accepted: the line ends with the value to paste."""
    import optuna

    from mnist_sweep.config.sweeper_checks import check_sweeper

    with pytest.raises(ValueError):
        optuna.create_study(direction="max")
    with pytest.raises(SweepError) as e:
        check_sweeper(make_cfg_hydra(f"hydra.sweeper.direction={value}"))
    assert str(e.value).endswith(f"; e.g. {example}"), str(e.value)


@pytest.mark.parametrize("overrides, needle", [
    (["hydra.sweeper.grace_period=60"], "e.g. hydra.sweeper.heartbeat_interval=15, or hydra.sweeper.grace_period=null"),
    (["hydra.sweeper.heartbeat_interval=30", "hydra.sweeper.grace_period=10"],
     "must be > hydra.sweeper.heartbeat_interval=30, got 10; e.g. hydra.sweeper.grace_period=120"),
    (["hydra.sweeper.pruner=median"], "e.g. hydra/sweeper/pruner=median"),
    (["hydra.sweeper.sampler=randm"], "e.g. hydra/sweeper/sampler=random"),
    (["+hydra.sweeper.repeats.seedz=3"], "hydra.sweeper.repeats.seedz: not a key; did you mean hydra.sweeper.repeats.seeds?"),
    (["+hydra.sweeper.n_trial=3"], "hydra.sweeper.n_trial: not a key of hydra/sweeper=mnist_optuna; drop "
                                   "+hydra.sweeper.n_trial (did you mean hydra.sweeper.n_trials?)"),
    # study x's repeats side study is x.repeats, in the same storage: a study of that name ran, and collided
    (["hydra.sweeper.study_name=x.repeats"], "hydra.sweeper.study_name: 'x.repeats' ends in '.repeats', the name of "
     "the side study of study 'x' for its repeated seeds (hydra.sweeper.repeats), which it would collide with; give another "
     "name, e.g. hydra.sweeper.study_name=x_repeats"),
])
def test_a_sweeper_refusal_names_the_value_to_use(overrides, needle):
    """Each said what was wrong with no value to paste; +hydra.sweeper.n_trial passed the check and
    failed when Hydra instantiated the sweeper ('Error in call to target ...')."""
    from mnist_sweep.config.sweeper_checks import check_sweeper

    with pytest.raises(SweepError) as e:
        check_sweeper(make_cfg_hydra(*overrides))
    assert needle in str(e.value) and "\n" not in str(e.value), str(e.value)


@pytest.mark.parametrize("overrides, line", [
    (["hydra.sweeper.direction=minimize"], "hydra.sweeper.direction=minimize: the objective val_acc is an accuracy, "
     "which a sweep maximizes; drop the override (or hydra.sweeper.direction=maximize)"),
    (["hparams_search=smallest", "hydra.sweeper.direction=maximize"], "hydra.sweeper.direction=maximize: the objective "
     "params is a parameter count, which a sweep minimizes; drop the override (or hydra.sweeper.direction=minimize)"),
    (["hparams_search=fastest", "hydra.sweeper.direction=maximize"], "the objective train_s is training seconds, "
     "which a sweep minimizes; drop the override (or hydra.sweeper.direction=minimize)"),
    (["hparams_search=pareto", "hydra.sweeper.direction=[minimize,minimize]"], "hydra.sweeper.direction="
     "[minimize,minimize]: the objective val_acc (trainer.objectives[0]) is an accuracy, which a sweep maximizes; "
     "drop the override (or hydra.sweeper.direction=[maximize,minimize])"),
    (["hparams_search=smallest", "trainer.objectives=[val_acc]"], "hydra.sweeper.direction=minimize: the objective "
     "val_acc is an accuracy, which a sweep maximizes; give hydra.sweeper.direction=maximize with "
     "trainer.objectives=[val_acc]"),
    (["trainer.objectives=[params]", "hydra.sweeper.direction=maximize"], "give hydra.sweeper.direction=minimize"),
    (["trainer.select_on=test", "data.val_size=0", "hydra.sweeper.direction=minimize"],
     "the objective test_acc_final is an accuracy, which a sweep maximizes"),
    (["trainer.objectives=[val_acc,params]"], "hydra.sweeper.direction: 1 direction (maximize) for 2 objectives "
     "(trainer.objectives: val_acc,params); give one per objective, e.g. hydra.sweeper.direction=[maximize,minimize]"),
])
def test_a_direction_against_its_objective_is_refused(overrides, line):
    """direction=minimize on the default objective was accepted and minimized validation accuracy:
    the best trial, the closing lines and export --rank 1 were the worst config."""
    from mnist_sweep.config.sweeper_checks import check_sweeper

    with pytest.raises(SweepError) as e:
        check_sweeper(make_cfg_hydra(*overrides))
    assert line in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_each_objective_has_its_direction():
    from mnist_sweep.config.directions import IMPROVES
    from mnist_sweep.config.ranges import OBJECTIVES

    assert set(IMPROVES) == set(OBJECTIVES)


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONF / "hparams_search").glob("*.yaml")))
def test_every_shipped_search_passes_the_sweeper_checks(name):
    from mnist_sweep.config.sweeper_checks import check_sweeper

    check_sweeper(make_cfg_hydra(f"hparams_search={name}"))
    for experiment in sorted(p.stem for p in (CONF / "experiment").glob("*.yaml")):  # test_acc_final: maximized
        check_sweeper(make_cfg_hydra(f"hparams_search={name}", f"+experiment={experiment}"))


@pytest.mark.parametrize("head", ["", "defaults:\n  - default\n"])
def test_a_search_of_ones_own_gets_the_projects_sweeper_settings(tmp_path, monkeypatch, head):
    """A search file without `defaults: [default]` ran an in-memory study (storage null) with no
    precheck, no leaderboard and no report, minimizing: the project's sweeper settings lived in
    hparams_search/default.yaml, which such a file replaces. They live in conf/config.yaml now,
    which every search inherits and may override; a search without a study_name is named after its file."""
    from mnist_sweep.config.sweeper_checks import check_sweeper

    monkeypatch.delenv("MNIST_SWEEP_STORAGE", raising=False)
    (tmp_path / "hparams_search").mkdir()
    (tmp_path / "hparams_search" / "mine.yaml").write_text(
        f"# @package _global_\n{head}hydra:\n  sweeper:\n    n_trials: 3\n    params:\n      model.c1: choice(8, 10)\n")
    cfg = make_cfg_hydra(f"hydra.searchpath=[file://{tmp_path}]", "hparams_search=mine")
    sweeper = cfg.hydra.sweeper
    assert (sweeper.precheck, sweeper.on_trial_end, sweeper.on_sweep_end) == (
        "mnist_sweep.training.precheck", "mnist_sweep.leaderboard.write_for_sweep", "mnist_sweep.report.write_for_sweep")
    assert sweeper.direction == "maximize" and sweeper.n_trials == 3 and sweeper.workers == 2
    assert sweeper.study_name == ("mnist_sweep" if head else "mine")
    assert sweeper.storage == f"sqlite:///outputs/sweeps/{sweeper.study_name}/optuna.db"
    assert sweeper.params["model.c1"] == "choice(8, 10)" and ("model.c2" in sweeper.params) == bool(head)
    check_sweeper(cfg)
    ours = make_cfg_hydra(f"hydra.searchpath=[file://{tmp_path}]", "hparams_search=mine", "hydra.sweeper.storage=null")
    assert ours.hydra.sweeper.storage is None  # a command line (or the file) still overrides them


@pytest.mark.parametrize("body, line", [
    ("hydra:\n  sweeper:\n    n_trial: 3\n",
     "hparams_search/typo_sweeper.yaml: hydra.sweeper.n_trial: no such key; did you mean hydra.sweeper.n_trials?"),
    ("hydra:\n  sweeper:\n    repeats:\n      seedz: 3\n",
     "hparams_search/typo_sweeper.yaml: hydra.sweeper.repeats.seedz: no such key; did you mean hydra.sweeper.repeats.seeds?"),
    ("hydra:\n  sweeper:\n    pruner:\n      n_warmup: 3\n", "hparams_search/typo_sweeper.yaml: hydra.sweeper.pruner.n_warmup: "
     "no such key (`python -m mnist_sweep.train --cfg hydra -p hydra.sweeper.pruner` lists the keys; a pruner of your "
     "own (another _target_, with its keys) is an option of your own: write DIR/hydra/sweeper/pruner/NAME.yaml and pick "
     "it with --config-dir DIR hydra/sweeper/pruner=NAME (in a search file: '- override /hydra/sweeper/pruner: NAME' in "
     "its defaults list))"),
])
def test_a_mistyped_sweeper_key_in_a_search_file_is_named_with_its_file(tmp_path, body, line):
    """It gave Hydra's raw line: In 'hparams_search/typo_sweeper': ConfigKeyError raised while
    composing config:; Key 'n_trial' not in 'MnistOptunaSweeperConf' (no 'did you mean' as on the
    command line)."""
    from conftest import assert_one_line_error, run

    conf = tmp_path / "C" / "hparams_search"
    conf.mkdir(parents=True)
    (conf / "typo_sweeper.yaml").write_text(f"# @package _global_\ndefaults:\n  - default\n{body}")
    proc = run(["mnist_sweep.train", "-m", "--config-dir", str(conf.parent), "hparams_search=typo_sweeper"], cwd=tmp_path)
    assert proc.returncode == 2 and assert_one_line_error(proc) == f"error: {line}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["C"]
    with pytest.raises(HydraException) as e:  # a swept option's file, composed for a candidate, is worded alike
        make_cfg_hydra(f"hydra.searchpath=[file://{conf.parent}]", "hparams_search=typo_sweeper")
    assert composition_error(e.value) == line


@pytest.mark.parametrize("overrides, line", [
    (["+hydra.sweeper.sampler.foo=1"], "hydra.sweeper.sampler.foo: not an argument of hydra/sweeper/sampler=mnist_tpe, "
     "optuna.samplers.TPESampler; drop it (its keys: seed, n_startup_trials, multivariate, constant_liar)"),
    (["+hydra.sweeper.pruner.n_warmup_step=2"], "hydra.sweeper.pruner.n_warmup_step: not an argument of "
     "hydra/sweeper/pruner=projection, mnist_sweep.pruning.ProjectionPruner; did you mean "
     "hydra.sweeper.pruner.n_warmup_steps? drop it (its keys: to_target, sigmas, n_startup_trials, n_warmup_steps)"),
    (["hydra/sweeper/pruner=threshold"], "hydra.sweeper.pruner (hydra/sweeper/pruner=threshold, optuna.pruners."
     "ThresholdPruner) refuses lower=None, upper=None, n_warmup_steps=0, interval_steps=1: Either lower or upper must "
     "be specified; set its keys with hydra.sweeper.pruner.KEY=VALUE (lower, upper, n_warmup_steps, interval_steps)"),
    (["hydra.sweeper.sampler.seed=-1"], "hydra.sweeper.sampler (hydra/sweeper/sampler=mnist_tpe, optuna.samplers."
     "TPESampler) refuses seed=-1, n_startup_trials=8, multivariate=True, constant_liar=True: Seed must be between 0 "
     "and 2**32 - 1; set its keys with hydra.sweeper.sampler.KEY=VALUE (seed, n_startup_trials, multivariate, "
     "constant_liar)"),
    # the project's own pruner checks its arguments as Optuna's do: NaN never pruned, a negative sigmas cut within seed noise
    (["hydra.sweeper.pruner.sigmas=nan"], "hydra.sweeper.pruner (hydra/sweeper/pruner=projection, mnist_sweep.pruning."
     "ProjectionPruner) refuses to_target=False, sigmas=nan, n_startup_trials=2, n_warmup_steps=3: sigmas must be a "
     "finite number >= 0 (2.0: two standard deviations of one seed; hydra/sweeper/pruner=none never prunes), got nan; "
     "set its keys with hydra.sweeper.pruner.KEY=VALUE (to_target, sigmas, n_startup_trials, n_warmup_steps)"),
    (["hydra/sweeper/pruner=target", "hydra.sweeper.pruner.n_warmup_steps=-3"], "hydra.sweeper.pruner (hydra/sweeper/"
     "pruner=target, mnist_sweep.pruning.ProjectionPruner) refuses to_target=True, sigmas=2.0, n_startup_trials=2, "
     "n_warmup_steps=-3: n_warmup_steps must be a whole number >= 0, got -3; set its keys with "
     "hydra.sweeper.pruner.KEY=VALUE (to_target, sigmas, n_startup_trials, n_warmup_steps)"),
    # checked by Optuna only when it samples: a traceback mid-sweep, the study's files left behind
    (["hydra/sweeper/sampler=cmaes", "hydra.sweeper.sampler.popsize=0"], "hydra.sweeper.sampler (hydra/sweeper/"
     "sampler=cmaes, optuna.samplers.CmaEsSampler) refuses seed=None, n_startup_trials=1, popsize=0, "
     "consider_pruned_trials=False, use_separable_cma=False, with_margin=False, lr_adapt=False, "
     "warn_independent_sampling=True: popsize must be non-zero positive value; set its keys with "
     "hydra.sweeper.sampler.KEY=VALUE (seed, n_startup_trials, popsize, consider_pruned_trials, use_separable_cma, "
     "with_margin, lr_adapt, warn_independent_sampling)"),
    (["hydra/sweeper/sampler=tpe", "hydra.sweeper.sampler.n_ei_candidates=0"], "hydra.sweeper.sampler (hydra/sweeper/"
     "sampler=tpe, optuna.samplers.TPESampler) refuses seed=None, n_startup_trials=10, n_ei_candidates=0, "
     "multivariate=False, constant_liar=True: The size of `samples` must be positive, but got 0; set its keys with "
     "hydra.sweeper.sampler.KEY=VALUE (seed, n_startup_trials, n_ei_candidates, multivariate, constant_liar)"),
    (["hydra/sweeper/sampler=cmaes", "hparams_search=pareto"], "hydra.sweeper.sampler: hydra/sweeper/sampler=cmaes "
     "(optuna.samplers.CmaEsSampler) cannot optimize 2 objectives (hydra.sweeper.direction=[maximize,minimize]); "
     "choose a sampler that can, e.g. hydra/sweeper/sampler=mnist_tpe (or nsgaii, random)"),
])
def test_a_sampler_or_pruner_its_class_refuses_is_one_line_naming_the_key(overrides, line):
    """Each was Hydra's 'Error in call to target 'optuna.pruners._threshold.ThresholdPruner':; TypeError(...);
    full_key: hydra.sweeper.pruner', when Hydra built the sweeper: no key to set, no option named."""
    from mnist_sweep.config.nodes import check_nodes

    with pytest.raises(SweepError) as e:
        check_nodes(make_cfg_hydra(*overrides))
    assert str(e.value) == line, str(e.value)


@pytest.mark.parametrize("group", ["sampler", "pruner"])
def test_every_sampler_and_pruner_option_builds_with_its_defaults(group):
    """The check builds each node as the sweep would: none is refused as shipped (threshold needs a bound)."""
    from hydra.core.config_store import ConfigStore
    from hydra.core.plugins import Plugins

    from mnist_sweep.config.nodes import check_nodes, sampling_error

    Plugins.instance()  # Hydra's plugin scan stores the options: run first in a process, the list was not there yet
    for name in sorted(n.removesuffix(".yaml") for n in ConfigStore.instance().list(f"hydra/sweeper/{group}")):
        bound = ["hydra.sweeper.pruner.upper=0.5"] if name == "threshold" else []
        cfg = make_cfg_hydra(f"hydra/sweeper/{group}={name}", *bound)
        check_nodes(cfg)
        if group == "sampler" and name != "cmaes":  # each samples pareto's two objectives too (CMA-ES: refused above)
            assert sampling_error(cfg.hydra.sweeper.sampler, ["maximize", "minimize"]) is None, name


@pytest.mark.parametrize("target, why", [
    ("os.system", "Target 'os.system' is blocklisted because it allows config data to control executable behavior"),
    ("nope.nope", "Error loading 'nope.nope': ModuleNotFoundError"),
])
def test_a_sampler_target_hydra_cannot_build_is_one_clean_line_naming_target(target, why):
    """Hydra's message, with its line breaks, was quoted back as literal \\n (one_line escapes them), with
    its 'full_key:' trailer, and the fix said to set the sampler's keys: the target was what was wrong."""
    from mnist_sweep.config.nodes import check_nodes

    with pytest.raises(SweepError) as e:
        check_nodes(make_cfg_hydra(f"hydra.sweeper.sampler._target_={target}"))
    line = str(e.value)
    assert line.startswith(f"hydra.sweeper.sampler._target_={target}: {why}"), line
    assert "\n" not in line and "\\n" not in line and "full_key" not in line
    assert line.endswith("choose a sampler with hydra/sweeper/sampler=NAME (cmaes, gp, grid, mnist_tpe, motpe, nsgaii, "
                         "random, tpe), or give hydra.sweeper.sampler._target_ the dotted path of a sampler class")


@pytest.mark.parametrize("overrides, example", [
    (["hydra.sweeper.n_trials=0"], "hydra.sweeper.n_trials=14"),  # conf/config.yaml's, not the schema's 20
    (["hydra.sweeper.n_trials=0", "hparams_search=tiny"], "hydra.sweeper.n_trials=10"),  # the search's own
    (["hydra.sweeper.workers=0"], "hydra.sweeper.workers=2"),
    (["hydra.sweeper.max_failure_rate=1.5"], "hydra.sweeper.max_failure_rate=0.25"),
    (["hydra.sweeper.repeats.seeds=0"], "hydra.sweeper.repeats.seeds=1"),
])
def test_a_sweeper_range_refusal_shows_the_value_the_config_files_give(overrides, example):
    """The example was the schema's default (n_trials=20, workers=1, max_failure_rate=0.0), not what the
    user runs: conf/config.yaml's 14, or the hparams_search option's own."""
    from mnist_sweep.config.sweeper_checks import check_sweeper

    with pytest.raises(SweepError) as e:
        check_sweeper(make_cfg_hydra(*overrides))
    assert str(e.value).endswith(f", e.g. {example}"), str(e.value)


@pytest.mark.parametrize("overrides, needles", [
    (["hparams_search=smallest", "hydra.sweeper.constrain_to_target=false"],
     ["hydra.sweeper.constrain_to_target=false: the sweep's only objective (params, trainer.objectives) is a cost",
      "its best trial would be the smallest net whatever its accuracy; drop the override (hparams_search=smallest "
      "sets it true), or search accuracy beside it: hparams_search=pareto"]),
    (["hparams_search=fastest", "hydra.sweeper.constrain_to_target=false"], ["(train_s, trainer.objectives)",
                                                                            "the net that trains fastest"]),
    (["trainer.objectives=[params]", "hydra.sweeper.direction=minimize"],
     ["give hydra.sweeper.constrain_to_target=true"]),
    (["hparams_search=smallest", "hydra/sweeper/sampler=cmaes"],
     ["hydra.sweeper.sampler: hydra/sweeper/sampler=cmaes (optuna.samplers.CmaEsSampler) does not learn from "
      "constraints", "e.g. hydra/sweeper/sampler=mnist_tpe"]),
    (["hparams_search=fastest", "hydra/sweeper/sampler=cmaes"], ["does not learn from constraints"]),
])
def test_a_target_search_that_would_run_unconstrained_is_refused(overrides, needles):
    """smallest or fastest without the target as a constraint (constrain_to_target=false, or CMA-ES, which
    ignores constraints) ran with rc 0 and minimized the cost alone: the best trial the tiniest net at any
    accuracy (Optuna's CMA-ES warned once, mid-sweep, in its own words)."""
    from mnist_sweep.config.sweeper_checks import check_sweeper

    with pytest.raises(SweepError) as e:
        check_sweeper(make_cfg_hydra(*overrides))
    assert all(n in str(e.value) for n in needles) and "\n" not in str(e.value), str(e.value)


@pytest.mark.parametrize("overrides", [
    ["hparams_search=smallest"], ["hparams_search=smallest", "hydra/sweeper/sampler=random"],
    ["hparams_search=fastest", "hydra/sweeper/sampler=nsgaii"], ["hydra/sweeper/sampler=cmaes"],  # no constraint to learn
    ["hparams_search=pareto", "hydra.sweeper.constrain_to_target=false"],  # an accuracy beside the size
])
def test_a_constrained_search_with_a_sampler_that_learns_it_passes(overrides):
    from mnist_sweep.config.sweeper_checks import check_sweeper

    check_sweeper(make_cfg_hydra(*overrides))
