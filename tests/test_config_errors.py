"""The train command line's refusals say how to fix what they refuse: each through main(argv)."""
from __future__ import annotations

import pytest

from conftest import TINY, assert_one_line_error, run_inproc

RANGE_FIXES = [  # (argv, the how-to the line ends with)
    (["-m", "hydra.sweeper.n_trials=0"], "; give a whole number from 1 to 1,000,000, e.g. hydra.sweeper.n_trials=14"),
    (["-m", "hydra.sweeper.repeats.seeds=0"], "; give a whole number from 1 to 20, e.g. hydra.sweeper.repeats.seeds=1"),
    (["trainer.max_epochs=0"], "; give a whole number of at least 1, e.g. trainer.max_epochs=20"),
    (["trainer.precision=xx"], "; e.g. trainer.precision=auto"),
    # one image: the batch size line that followed asked for data.batch_size in [2, 1], e.g. data.batch_size=1
    (["data.train_limit=1"], "data.train_limit: must be in [2, 59744] (60000 - data.val_size=256) or null, got 1; "
                             "give a whole number from 2 to 59744, e.g. data.train_limit=5000"),
]


@pytest.mark.parametrize("argv, fix", RANGE_FIXES, ids=[" ".join(a) for a, _ in RANGE_FIXES])
def test_a_value_out_of_range_says_what_to_give(tmp_path, argv, fix):
    proc = run_inproc(["mnist_sweep.train", *TINY, *argv, f"hydra.run.dir={tmp_path}/run",
                       f"hydra.sweep.dir={tmp_path}/sw"], cwd=tmp_path)
    assert assert_one_line_error(proc).endswith(fix)
    assert proc.returncode == 2 and not (tmp_path / "run").exists() and not (tmp_path / "sw").exists()


BARE_WORDS = [  # (argv, the line): help asked in words, KEY=VALUE split by the shell, a bare word
    (["help"], "error: help: not an override; for help run python -m mnist_sweep.train --help"),
    (["-help"], "error: -help: not an override; for help run python -m mnist_sweep.train --help"),
    (["model.c1", "=", "8"], "error: model.c1 = 8: write KEY=VALUE with no spaces around '=': model.c1=8"),
    (["model.c1", "=8"], "error: model.c1 =8: write KEY=VALUE with no spaces around '=': model.c1=8"),
    (["model.c1=", "8"], "error: model.c1= 8: write KEY=VALUE with no spaces around '=': model.c1=8"),
    (["train"], "error: train: not KEY=VALUE (no '='); an override is KEY=VALUE, e.g. model.c1=8"),
]


@pytest.mark.parametrize("argv, line", BARE_WORDS, ids=[" ".join(a) for a, _ in BARE_WORDS])
def test_a_bare_word_is_not_told_to_delete_itself(tmp_path, argv, line):
    """Each was 'not KEY=VALUE (no '='); give the key a value (X=VALUE) or delete it (~X)'."""
    proc = run_inproc(["mnist_sweep.train", *TINY, *argv, f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert assert_one_line_error(proc) == line and "~" not in proc.stderr
    assert proc.returncode == 2 and not (tmp_path / "run").exists()


CALLS = [  # (a sweep function Hydra cannot evaluate, how to call it)
    ("model.c3=choice()", "a choice needs at least one value, e.g. choice(8,12)"),
    ("data.train_limit=choice(null,1000)", "Hydra's choice(...) takes no null; list the values without choice(...): "
                                           "data.train_limit=null,1000"),  # was 'a choice needs at least one value'
    ("model.c3=interval(1)", "an interval needs its two bounds, e.g. interval(0.01,0.1)"),
    ("model.c3=glob()", "check the arguments of glob(...)"),
    # a config group's choice was told 'e.g. choice(8,12)', numbers no group has: its options instead
    ("optimizer=choice()", "a choice needs at least one value, here options of the config group optimizer, "
                           "e.g. 'optimizer=choice(adam,adamw,sgd)'"),
    ("scheduler=choice()", "e.g. 'scheduler=choice(cosine,none,onecycle,step)'"),
]


@pytest.mark.parametrize("arg, fix", CALLS, ids=[a for a, _ in CALLS])
def test_a_sweep_function_called_wrong_says_how_to_call_it(tmp_path, arg, fix):
    """choice() said to quote the value, which does not help."""
    proc = run_inproc(["mnist_sweep.train", "-m", arg, f"hydra.sweep.dir={tmp_path}/sw"], cwd=tmp_path)
    line = assert_one_line_error(proc, fix)
    assert "quote" not in line and proc.returncode == 2 and not (tmp_path / "sw").exists()


@pytest.mark.parametrize("arg, nullable", [
    ("model.c1=choice(null,4)", False), ("model.dropout=choice(0.1,null)", False),
    ("data.train_limit=choice(null,1000)", True), ("trainer.ema_decay=choice(NULL,0.5)", True),
    ("model.c1=choice(null,0,8)", False), ("model.dropout=choice(null,1.5,0.1)", False),
    ("data.train_limit=choice(null,-5,1000)", True),
])
def test_a_null_in_a_choice_is_answered_with_a_spelling_the_next_check_takes(arg, nullable):
    """model.c1=choice(null,4) was told to write model.c1=null,4, which was refused in turn ('model.c1
    cannot be null'): two lines where one would do. Where the key cannot be null the first line says so,
    and its spelling (the choice without the null) passes; where it may be, the list spelling does. A value
    the check refuses too (model.c1's 0) was kept in that spelling and refused next: it is named and left out."""
    from mnist_sweep.overrides import check_command_line

    line = check_command_line(["-m", arg]).error
    key = arg.split("=", 1)[0]
    assert line and line.startswith(f"{arg}: ") and (f"{key} cannot be null" in line) is not nullable, line
    assert check_command_line(["-m", line.rsplit(": ", 1)[1]]).error is None, line


@pytest.mark.parametrize("argv", [["--config-path", "conf"], ["--config-path=../x/.hydra"], ["-cp", "conf"]])
def test_a_relative_config_path_says_to_give_it_absolute(tmp_path, argv):
    """Hydra said 'Primary config module 'mnist_sweep.conf' not found; ... contains an __init__.py file'."""
    proc = run_inproc(["mnist_sweep.train", *argv, "--config-name", "config", f"hydra.run.dir={tmp_path}/run"],
                      cwd=tmp_path)
    line = assert_one_line_error(proc, "a relative config path", "give an absolute path", str(tmp_path.parent), "--config-dir")
    assert "Primary config module" not in line and proc.returncode == 2 and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flag", ["--config-dir", "-cd"])
@pytest.mark.parametrize("what", ["missing", "file"])
def test_a_config_dir_that_is_no_dir_is_named(tmp_path, flag, what):
    """Hydra warned 'path=... is not available' then said 'Additional config directory ... not found';
    with +experiment=NAME the line was 'no such option ...; add --config-dir conf', the flag given unnamed."""
    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    (tmp_path / "conf" / "experiment" / "mine.yaml").write_text("# @package _global_\n")
    given = tmp_path / ("nope" if what == "missing" else "conf/experiment/mine.yaml")
    proc = run_inproc(["mnist_sweep.train", flag, str(given), "+experiment=mine", f"hydra.run.dir={tmp_path}/run"],
                      cwd=tmp_path)
    kind = "no such directory" if what == "missing" else "not a directory"
    assert_one_line_error(proc, f"{flag} {given}: {kind}", "experiment/NAME.yaml")
    assert proc.returncode == 2 and not (tmp_path / "run").exists()


def test_a_config_path_given_as_its_file_names_the_dir_and_name(tmp_path):
    """Hydra said 'Check that the config directory '.../.hydra/config.yaml' exists and readable'."""
    (tmp_path / "t" / ".hydra").mkdir(parents=True)
    (tmp_path / "t" / ".hydra" / "config.yaml").write_text("model: {}\n")
    proc = run_inproc(["mnist_sweep.train", "--config-path", f"{tmp_path}/t/.hydra/config.yaml", "--config-name", "config",
                       f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert_one_line_error(proc, "a file, not a directory", f"--config-path {tmp_path}/t/.hydra --config-name config")
    assert not (tmp_path / "run").exists()


def test_a_relative_config_path_to_a_saved_config_is_not_offered_as_a_config_dir(tmp_path, monkeypatch):
    """--config-dir t/.hydra was offered too, and composed the project's conf/config.yaml, not the trial's."""
    from mnist_sweep.config.syntax import relative_config_path

    (tmp_path / "t" / ".hydra").mkdir(parents=True)
    (tmp_path / "t" / ".hydra" / "config.yaml").write_text("model: {}\n")
    monkeypatch.chdir(tmp_path)
    line = relative_config_path("--config-path", "t/.hydra")
    assert f"give an absolute path (--config-path {tmp_path}/t/.hydra)" in line and "--config-dir" not in line
    assert "--config-dir t" in relative_config_path("--config-path", "t")  # a dir of groups: its experiment/ is found


TOP_LEVEL = "foo.bar: no such key; foo is no section of the config (its sections: model, optimizer, scheduler, data, trainer)"


@pytest.mark.parametrize("argv, needles", [
    (["mnist_sweep.train", "foo.bar=1"], [TOP_LEVEL]),
    (["mnist_sweep.train", "modl.foo=1"], ["modl is no section", "did you mean model?"]),
    (["mnist_sweep.confirm", "--experiment", "tiny", "--set", "foo.bar=1"], [TOP_LEVEL]),
], ids=["train", "near section", "confirm --set"])
def test_an_unknown_top_level_key_names_itself_not_its_child(tmp_path, argv, needles):
    """foo.bar=1 said 'foo.foo: foo has no key foo, and foo={...} changes the keys it has ...'."""
    proc = run_inproc([*argv, f"hydra.run.dir={tmp_path}/run"] if argv[0] == "mnist_sweep.train" else
                      [*argv, "--out", str(tmp_path / "out")], cwd=tmp_path)
    line = assert_one_line_error(proc, *needles)
    assert "foo.foo" not in line and "{...}" not in line and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("arg", ["hydra.sweeper.n_trials=5", "hydra/sweeper/pruner=none", "hydra/sweeper=mnist_optuna"])
def test_a_sweeper_key_without_multirun_is_refused(tmp_path, arg):
    """Without -m the key was ignored and one plain run trained."""
    proc = run_inproc(["mnist_sweep.train", *TINY, arg, f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert assert_one_line_error(proc) == (f"error: {arg}: a key of the sweeper, used only by a sweep; "
                                           f"add -m (python -m mnist_sweep.train -m {arg})")
    assert proc.returncode == 2 and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("arg", ["hydra.sweeper=nope", "hydra/sweeper=nope", "hydra/sweeper=basic", "hydra.sweeper=null",
                                 "hydra.sweeper.n_trials=abc", "+hydra.sweeper.foo=1"])
def test_a_wrong_sweeper_value_without_multirun_is_named_first_as_with_it(tmp_path, arg):
    """hydra.sweeper=nope (or hydra/sweeper=nope, a mistyped key) without -m said 'add -m', and -m added then
    said the value was wrong: what must be fixed either way comes first, in the line -m gives."""
    from mnist_sweep.overrides import check_command_line

    line = assert_one_line_error(run_inproc(["mnist_sweep.train", *TINY, arg, f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path))
    assert line == f"error: {check_command_line(['-m', *TINY, arg]).error}" and "add -m" not in line, line
    assert list(tmp_path.iterdir()) == []


KINDS = [  # (a list given where a mapping goes, or a mapping where a list goes, the line's words)
    ("hydra.sweeper.repeats=[1]", "hydra.sweeper.repeats: takes a mapping of keys, got [1]; set its keys one by one "
                                  "(hydra.sweeper.repeats.NAME=VALUE), or give hydra.sweeper.repeats={NAME:VALUE}"),
    ("hydra.sweeper.params=[a]", "hydra.sweeper.params: takes a mapping of keys, got [a]"),
    ("hydra.sweeper.params=5", "hydra.sweeper.params: takes a mapping of keys, got 5"),
    ("hydra.sweeper.enqueue={a:1}", "hydra.sweeper.enqueue: takes a list, got {a:1}; give it in brackets, "
                                    "e.g. hydra.sweeper.enqueue=[{a:1}]"),
]


@pytest.mark.parametrize("arg, line", KINDS, ids=[a for a, _ in KINDS])
def test_a_list_for_a_mapping_or_a_mapping_for_a_list_names_the_key_and_the_kind(arg, line):
    """Each said 'Error merging override hydra.sweeper.repeats=[1]' (or OmegaConf's 'Cannot assign int to
    Dict[str, str]'): no word of what the key takes or how to write it."""
    from mnist_sweep.overrides import check_command_line

    error = check_command_line(["-m", arg]).error
    assert error is not None and error.startswith(line), error


SWEEP_VALUES = [  # (a sweep expression with a value its key cannot take, what names it, the values made to fit)
    ("model.dropout=0.1,5", "value 5 does not fit model.dropout (model.dropout: must be in [0, 1), got 5.0", "0.1,0.5"),
    ("optimizer.lr=0.1,abc", "choice value 'abc' is not a number (the type of optimizer.lr)", "0.1,0.05"),
    ("model.c1=choice(4,abc)", "choice value 'abc' is not an integer (the type of model.c1)", "choice(4,8)"),
    ("trainer.max_epochs=range(0,3)", "value 0 is outside trainer.max_epochs's range", "range(1,3)"),
    ("optimizer.lr=interval(-1,0.1)", "value -1.0 is outside optimizer.lr's range; it must be in (0, 10]", "interval(0.01,0.1)"),
    ("model.nope=1,2", "model.nope: no such key", None),
    ("optimizer.lr=interval(0.5,0.1)", "invalid search space 'optimizer.lr=interval(0.5,0.1)' (`low <= high` must hold, "
                                       "but got (low=0.5, high=0.1)); give the low end first", "interval(0.1,0.5)"),
    ("model.c1=choice(4,4)", "hydra.sweeper.params.model.c1: choice(4,4) lists 4 twice; list each value once", "choice(4,8)"),
    # tags the stock sweeper drops, silently: a typo of log, and log where it means nothing (linear draws)
    ("optimizer.lr=tag(Log,interval(0.01,0.1))", "hydra.sweeper.params.optimizer.lr: tag(Log,...): the sweep reads one "
     "tag, log (a log scale), and no other; write optimizer.lr=tag(log,interval(0.01,0.1)) for a log scale, or "
     "optimizer.lr=interval(0.01,0.1) for a linear one", "tag(log,interval(0.01,0.1))"),
    ("optimizer.lr=tag(log,choice(0.01,0.1))", "a choice has no scale (each value is drawn as often), so its tags are "
     "not read; drop them: optimizer.lr=choice(0.01,0.1)", "choice(0.01,0.1)"),
    ("model.c1=tag(log,range(4,12))", "a range is drawn on a linear scale whatever its tags; for a log scale write "
     "model.c1=tag(log,int(interval(4,12))), else drop the tag", "tag(log,int(interval(4,12)))"),
]


@pytest.mark.parametrize("arg, named, fits", SWEEP_VALUES, ids=[a for a, _, _ in SWEEP_VALUES])
def test_a_bad_value_of_a_sweep_without_multirun_is_named_first_as_the_sweep_names_it(arg, named, fits):
    """model.dropout=0.1,5 without -m said 'a sweep expression needs -m', and with -m the sweep then
    refused the 5: the value, wrong either way, comes first, in the line the sweep gives (the
    sweeper's own check of its distribution); -m finds it before Hydra starts, writing nothing."""
    from conftest import make_cfg_hydra
    from hydra_plugins.mnist_sweep_sweeper._space import parse
    from mnist_sweep.config.space import check_distribution
    from mnist_sweep.errors import SweepError
    from mnist_sweep.overrides import check_command_line

    line = check_command_line([*TINY, arg]).error
    assert line == check_command_line(["-m", *TINY, arg]).error and named in line and "-m" not in line, line
    assert check_command_line(["--run", *TINY, arg]).error == line  # not '--run and --multirun: give only one'
    if fits is None:
        return
    with pytest.raises(SweepError) as e:  # the sweeper's line for its space, word for word
        check_distribution(*parse(arg), make_cfg_hydra(*TINY))
    assert line == str(e.value)
    good = f"{arg.split('=', 1)[0]}={fits}"
    assert "a sweep expression needs -m" in check_command_line([*TINY, good]).error  # values that fit: add -m, as before
    assert check_command_line(["-m", *TINY, good]).error is None


def test_a_bad_plain_value_beside_a_sweep_is_named_before_the_missing_m():
    """model.c1=0 model.dropout=0.1,0.2 without -m said 'a sweep expression needs -m'; with -m the
    sweeper's check of its base config named model.c1 after Hydra started. A plain value wrong
    whatever the sweep draws is the run's own line, first, with -m too; one a swept key may mend
    (data.train_limit against data.val_size=0,10000) is the sweep's to judge per candidate."""
    from mnist_sweep.overrides import check_command_line

    line = check_command_line([*TINY, "model.c1=0"]).error  # the run's line
    assert line.startswith("model.c1: must be >= 1, got 0; ")
    for argv in ([*TINY, "model.c1=0", "model.dropout=0.1,0.2"], ["-m", *TINY, "model.c1=0", "model.dropout=0.1,0.2"],
                 ["--run", *TINY, "model.dropout=0.1,0.2", "model.c1=0"], [*TINY, "model.c1=0", "hydra.sweeper.n_trials=3"]):
        assert check_command_line(argv).error == line, argv
    mended = ["data.train_limit=55000", "data.val_size=0,10000"]  # 55000 fits where data.val_size=0
    assert check_command_line(["-m", *mended]).error is None
    assert check_command_line(["-m", "data.train_limit=55000", "+experiment=choice(tiny,small_8k)"]).error is None  # may set val_size
    assert "a sweep expression needs -m" in check_command_line(mended).error


def test_a_search_without_multirun_warns_and_trains_one_config(tmp_path):
    """hparams_search=NAME without -m trained silently. A warning, not a refusal: a trial's own
    overrides (.hydra/overrides.yaml, what reproduce and confirm re-run) hold its hparams_search,
    whose trainer keys (trainer.objectives) shape the run."""
    proc = run_inproc(["mnist_sweep.train", *TINY, "hparams_search=smallest", f"hydra.run.dir={tmp_path}/run"],
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert ("warning: hparams_search=smallest: a search, used only by a sweep; this run trains one config" in proc.stderr
            and "add -m (python -m mnist_sweep.train -m hparams_search=smallest)" in proc.stderr)
    assert (tmp_path / "run" / "result.json").exists()


SECTIONS = "(its sections: model, optimizer, scheduler, data, trainer), so nothing would read it"
STRAY = [  # (an override adding a top-level key nothing reads, the line): each trained with the defaults, exit 0
    (["+lr=0.1"], f"error: lr: not a section of the config {SECTIONS}; did you mean optimizer.lr=0.1?"),
    (["-m", "hydra.sweeper.workers=1", "+lr=0.1"], f"error: lr: not a section of the config {SECTIONS}; "
                                                   "did you mean optimizer.lr=0.1?"),
    (["+foo=1"], f"error: foo: not a section of the config {SECTIONS}; set a key of one of them instead "
                 "(`python -m mnist_sweep.train --cfg job` lists the keys)"),
    (["+experiment.model.c1=6"], f"error: experiment.model.c1: experiment is not a section of the config {SECTIONS}; "
                                 "did you mean model.c1=6?"),
    (["+experiment=tiny", "+experiment.model.c1=6"], "error: experiment.model.c1: experiment is not a section"),
]


@pytest.mark.parametrize("argv, line", STRAY, ids=[" ".join(a) for a, _ in STRAY])
def test_a_key_outside_the_configs_sections_is_refused_with_the_key_meant(tmp_path, argv, line):
    """+lr=0.1 trained with the default lr, without a word; the line said to add a key 'of your own' with +KEY."""
    proc = run_inproc(["mnist_sweep.train", *TINY, *argv, f"hydra.run.dir={tmp_path}/run",
                       f"hydra.sweep.dir={tmp_path}/sw"], cwd=tmp_path)
    assert assert_one_line_error(proc).startswith(line)
    assert proc.returncode == 2 and list(tmp_path.iterdir()) == []


HEADERLESS = [  # (the group, its file's keys, the override, -m)
    ("experiment", "model: {c1: 6}\n", "+experiment=nopkg", False),
    ("experiment", "model: {c1: 6}\n", "+experiment=nopkg", True),
    ("experiment", "model: {c1: 6}\n", "+experiment=choice(tiny,nopkg)", True),  # a swept option: its file read
    ("hparams_search", "hydra:\n  sweeper:\n    params:\n      model.c1: choice(4, 6)\n", "hparams_search=nopkg", True),
]


@pytest.mark.parametrize("group, text, arg, multirun", HEADERLESS, ids=[f"{a}{' -m' * m}" for _, _, a, m in HEADERLESS])
def test_an_option_file_without_the_global_header_is_named(tmp_path, group, text, arg, multirun):
    """Without '# @package _global_' a file's keys landed under experiment: (or hparams_search:): the run
    trained the default model, the sweep searched the default space, exit 0."""
    (tmp_path / "d" / group).mkdir(parents=True)
    (tmp_path / "d" / group / "nopkg.yaml").write_text(text)
    sweep = ["hydra.sweeper.workers=1", "hydra.sweeper.n_trials=1"] if multirun else []  # should it run
    proc = run_inproc(["mnist_sweep.train", *(["-m"] if multirun else []), "--config-dir", str(tmp_path / "d"), *sweep,
                       *TINY, arg, f"hydra.run.dir={tmp_path}/run", f"hydra.sweep.dir={tmp_path}/sw"], cwd=tmp_path)
    option = "+experiment=nopkg" if group == "experiment" else arg
    assert assert_one_line_error(proc) == (
        f"error: {group}: {tmp_path / 'd' / group / 'nopkg.yaml'} ({option}) lacks '# @package _global_' as its first "
        f"line, so its keys land under {group}:, not a section of the config, and no run reads them; make "
        "'# @package _global_' the file's first line")
    assert proc.returncode == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["d"]


NULL_KEYS = [("trainer.ema_decay", ""), ("data.root", ""), ("trainer.ema_decay", "=5")]  # null in the option composed


@pytest.mark.parametrize("key, value", NULL_KEYS, ids=[f"~{k}{v}" for k, v in NULL_KEYS])
def test_deleting_a_schema_key_whose_value_is_null_says_to_set_it(tmp_path, key, value):
    """Hydra calls a null key absent: the line said 'trainer.ema_decay is a key of trainer=default only, not
    of the option this config composes', which is trainer=default (with =5: 'nothing to delete; no such key')."""
    proc = run_inproc(["mnist_sweep.train", *TINY, f"~{key}{value}", f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert assert_one_line_error(proc) == (f"error: ~{key}: {key} is a key of the schema and cannot be deleted (every "
                                           f"run reads it); set it with {key}=VALUE instead (docs/schema.md lists its values)")
    assert proc.returncode == 2 and list(tmp_path.iterdir()) == []


PCT = "experiment/{0}.yaml sets scheduler.pct_start, which scheduler=step does not have; "
COPY = ("train a copy of the file without scheduler.pct_start: DIR/experiment/NAME.yaml (a name conf/experiment/ lacks), "
        "with --config-dir DIR +experiment=NAME")
CLASHES = [  # (the run's overrides, the line, the overrides its fix says to run instead)
    (["+experiment=tiny", "scheduler=step"], "conf/" + PCT.format("tiny") + "drop scheduler=step, or " + COPY,
     [["+experiment=tiny"], ["+experiment=tiny_step", "scheduler=step"]]),
    (["+experiment=mine", "scheduler=step"], PCT.format("mine") + "drop scheduler=step, or take scheduler.pct_start "
     "out of experiment/mine.yaml", [["+experiment=mine"], ["+experiment=mine_fixed", "scheduler=step"]]),
    (["+experiment=own"], PCT.format("own") + "take scheduler.pct_start out of experiment/own.yaml, or pick an option "
     "that has it: scheduler=onecycle", [["+experiment=own", "scheduler=onecycle"], ["+experiment=own_fixed"]]),
    (["scheduler=mysched", "optimizer=adam"], "scheduler/mysched.yaml sets optimizer.momentum, which optimizer=adam does "
     "not have; drop optimizer=adam, or take optimizer.momentum out of scheduler/mysched.yaml",
     [["scheduler=mysched"], ["scheduler=mysched_fixed", "optimizer=adam"]]),
    # a model option of one's own has none of cnn's keys: the line said only 'set it in conf/ or with model.widths=...'
    (["model=mine"], "model.widths: missing; set it in conf/ or with model.widths=... (model=mine is an option of your "
     "own, which replaces a shipped one whole: start its file with 'defaults: [cnn, _self_]' to take cnn's keys and "
     "change only yours)", [["model=mine_fixed"]]),
]


def _clashing_dir(d):
    """A --config-dir of files each setting a key some option of its group lacks, and each fixed as its line says."""
    from mnist_sweep import PROJECT_ROOT

    (d / "experiment").mkdir(parents=True)
    (d / "scheduler").mkdir()
    (d / "model").mkdir()
    tiny = (PROJECT_ROOT / "conf" / "experiment" / "tiny.yaml").read_text()
    files = {"experiment/tiny_step": tiny.replace("scheduler:\n  pct_start:", "# pct_start:"),
             "experiment/mine": "scheduler:\n  pct_start: 0.3\ntrainer:\n  seed: 5\n", "experiment/mine_fixed": "",
             "experiment/own": "defaults:\n  - override /scheduler: step\nscheduler:\n  pct_start: 0.3\n",
             "experiment/own_fixed": "defaults:\n  - override /scheduler: step\n",
             "scheduler/mysched": "defaults:\n  - /scheduler/onecycle@scheduler\n  - _self_\noptimizer:\n  momentum: 0.8\n",
             "scheduler/mysched_fixed": "defaults:\n  - /scheduler/onecycle@scheduler\n  - _self_\n",
             "model/mine": "# a model option\nc1: 6\n", "model/mine_fixed": "# a model option\ndefaults: [cnn, _self_]\nc1: 6\n"}
    for name, text in files.items():
        (d / f"{name}.yaml").write_text(text if text.startswith("#") else f"# @package _global_\n{text}")


@pytest.mark.parametrize("argv, line, fixes", CLASHES, ids=[" ".join(a) for a, _, _ in CLASHES])
def test_a_file_setting_a_key_the_option_composed_lacks_names_the_file_the_option_and_a_fix_that_works(
        tmp_path, argv, line, fixes):
    """+experiment=tiny scheduler=step was 'scheduler.pct_start: no such key in scheduler's schema': wrong (a
    key of scheduler=onecycle), naming neither the file that sets it nor the option that lacks it. The
    fixes it names compose (~scheduler.pct_start would not: a file's keys merge before the command line's)."""
    from mnist_sweep.overrides import check_command_line

    _clashing_dir(tmp_path / "d")
    proc = run_inproc(["mnist_sweep.train", "--config-dir", str(tmp_path / "d"), *TINY, *argv,
                       f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert assert_one_line_error(proc) == f"error: {line}"
    assert proc.returncode == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["d"]
    for fix in fixes:  # 7 epochs: a step schedule steps (after its step_size, 6)
        checked = check_command_line(["--config-dir", str(tmp_path / "d"), *TINY, *fix, "trainer.max_epochs=7"])
        assert checked.error is None, fix


def test_a_key_outside_the_sections_that_an_experiment_file_sets_names_the_file_and_how_a_file_writes_it(tmp_path):
    """'lr: 0.1' in an experiment said 'lr: not a section ...; did you mean optimizer.lr=0.1?': no
    file named, and the command line's form; the nested form it names now trains with that lr."""
    from mnist_sweep.overrides import check_command_line

    (tmp_path / "d" / "experiment").mkdir(parents=True)
    (tmp_path / "d" / "experiment" / "mine.yaml").write_text("# @package _global_\nlr: 0.1\n")
    proc = run_inproc(["mnist_sweep.train", "--config-dir", str(tmp_path / "d"), *TINY, "+experiment=mine",
                       f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert assert_one_line_error(proc) == (f"error: experiment/mine.yaml: lr: not a section of the config {SECTIONS}; "
                                           "did you mean optimizer.lr? write it nested: optimizer: {lr: 0.1}")
    assert proc.returncode == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["d"]
    (tmp_path / "d" / "experiment" / "mine.yaml").write_text("# @package _global_\noptimizer: {lr: 0.1}\n")
    checked = check_command_line(["--config-dir", str(tmp_path / "d"), *TINY, "+experiment=mine"])
    assert checked.error is None and checked.settings.optimizer.kwargs["lr"] == 0.1, checked.error
