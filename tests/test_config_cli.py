"""Every key of the schema, any kind of value as written on the train command line.

The train CLI checks its command line in one place before Hydra writes anything
(``overrides.check_command_line``: Hydra's composition, then ``settings.validate``). For every key
and any value (wrong kind, null, empty, lists, dicts, interpolations, each range boundary, very long,
unicode) that check either returns validated Settings or one line that starts with the key set (or
the key of the schema a cross-key rule names) and says how to write it: never a traceback, never a
line naming a derived key or Hydra's own words. Bad ones through ``cli.main`` exit 2 and write nothing.
Nothing here trains. Deterministic: derandomize=True.
"""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conftest import TINY, assert_one_line_error, make_cfg, run_inproc, snapshot
from mnist_sweep.config.keys import all_keys, option_keys
from mnist_sweep.config.sections import SCHEMAS
from mnist_sweep.overrides import check_command_line

KEYS = [k for k in all_keys() if k.split(".", 1)[0] in SCHEMAS and not k.endswith(".name")]
SCHEMA_KEYS = set(all_keys())
# a line starts with the key it is about: model.c1, model.kernels[3], ~model.c1; or is the budget's line
NAMED = re.compile(r"^~?(?P<key>(?:model|optimizer|scheduler|data|trainer)(?:\.\w+)+)(?:\[\d+\])?[:= ]")
WRONG_KIND = ("could not be converted", "is not a valid bool", "is not Optional", "is not a ListConfig", "Cannot convert")

ODD = ["null", "''", "[]", "{}", "[[1]]", "[{a:1}]", "{a:1}", "[1,2]", "-1", "0", "1", "2", "0.5", "nan", "inf", "-inf",
       "1e400", "-0.0", "true", "false", "'1'", "1_000", "2**31", "ünïcødé☃", "x" * 5000, "'x y'", "\\'", "${oc.env:NOPE}",
       "${oc.env:NOPE,1}", "${nope}", "${model.c1}", "${trainer}", "${oc.decode:'[1'}", "${oc.nope:1}",
       "${oc.env:NOPE}/x", "${.}"]


def _boundaries(key: str) -> list[str]:
    """Each limit of ``key``'s range, and just either side of it."""
    from dataclasses import fields

    section, _, name = key.partition(".")
    out: list[str] = []
    for schema in SCHEMAS[section].values():
        for f in fields(schema):
            r = f.metadata.get("range")
            if f.name != name or r is None:
                continue
            for limit in (r.ge, r.gt, r.le, r.lt):
                if limit is not None:
                    out += [repr(limit), repr(limit - 1), repr(limit + 1), repr(limit - 1e-9), repr(limit + 1e-9)]
    return out or ["1"]


def _option_for(key: str) -> list[str]:
    """The group option a key needs (optimizer=adam for optimizer.betas), none for a default one's key."""
    section = key.split(".", 1)[0]
    defaults = {"model": "cnn", "optimizer": "sgd", "scheduler": "onecycle", "data": "mnist", "trainer": "default"}
    options = option_keys(section)
    if key in options.get(defaults[section], ()):
        return []
    option = next(o for o, ks in options.items() if key in ks)
    steps = ["trainer.max_epochs=2", "scheduler.step_size=1"] if option == "step" else []  # a step that steps
    return [f"{section}={option}", *steps]


def assert_one_line_naming_a_key(line: str, key: str) -> None:
    assert "\n" not in line and "Traceback" not in line, line
    m = NAMED.match(line)
    assert m or line.startswith("model has "), f"{key}: the line does not start with a key: {line!r}"
    assert m is None or m["key"] in SCHEMA_KEYS or m["key"] in SCHEMAS, f"{key}: names no key of the schema: {line!r}"
    assert not re.match(r"^(\w+): \1\.", line), f"{key}: the section twice: {line!r}"
    if any(w in line for w in WRONG_KIND) and "cannot resolve" not in line:  # ${trainer} in a string: its own fix
        assert "; write " in line or "; set its keys" in line, f"{key}: a wrong kind without how to write it: {line!r}"


@pytest.mark.slow  # about 0.5 s a value (Hydra composes the command line): 2 values a key (62 keys), no shrinking
@pytest.mark.parametrize("key", KEYS)
@settings(max_examples=2, deadline=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_value_of_any_key_is_validated_or_one_line_naming_the_key(key, data):
    value = data.draw(st.one_of(st.sampled_from(ODD), st.sampled_from(_boundaries(key)),
                                st.integers(-(2**65), 2**65).map(str), st.floats().map(repr)), label="value")
    argv = [*TINY, *_option_for(key), f"{key}={value}"]
    checked = check_command_line(argv)  # any exception escaping here would be a traceback
    if checked.error is None:
        assert checked.settings is not None, argv
        assert 2 <= checked.settings.data.batch_size <= checked.settings.data.n_train
        return
    assert_one_line_naming_a_key(checked.error, key)


# One per class: the line names the key a user set, says how to write it; nothing is written.
CLASSES = [
    (["model.c1=${oc.env:NOPE_X}"], "model.c1: ${oc.env:NOPE_X}: cannot resolve (environment variable NOPE_X is not set)"),
    (["model.k1=${nope}"], "model.k1: ${nope}: cannot resolve (no key nope in the config)"),
    (["trainer.seed=${oc.decode:'[1'}"], "trainer.seed: ${oc.decode:'[1'}: cannot resolve ("),
    (["model.c1=null"], "model.c1: field 'model.c1' is not Optional; write an integer, e.g. model.c1=8"),
    # the sweeper's keys: OmegaConf's words alone, no kind or example; then the schema's n_trials (20), not conf/'s 14
    (["-m", "hydra.sweeper.n_trials=abc"], "converted to Integer; write an integer, e.g. hydra.sweeper.n_trials=14"),
    (["-m", "hydra.sweeper.n_trials=abc", "hparams_search=tiny"], "write an integer, e.g. hydra.sweeper.n_trials=10"),
    (["-m", "hydra.sweeper.dry_run=maybe"], "not a valid bool (type str); write true or false, e.g. hydra.sweeper.dry_run=false"),
    (["data.augment=null"], "; set its keys instead, e.g. data.augment."),
    (["trainer.objectives=val_acc"], "trainer.objectives: Invalid value assigned: str is not a ListConfig, list or "
                                     "tuple; write a list of strings or null"),
    (["optimizer=adam", "optimizer.betas=0.9"], "; write a list of numbers, e.g. 'optimizer.betas=[0.9,0.999]'"),
    (["data.root=[1]"], "data.root: Cannot convert 'list' to string: '[1]'; write a string or null"),
    (["model.pool_after=[[1]]"], "model.pool_after: [1] is not a block index"),
    (["model.c1=${.}"], "model.c1: extraneous input '}' expecting"),
    (["model.kernels={a:1}"], "model.kernels: takes a list, got {a:1}; write its items in brackets, 'model.kernels=[ITEM,...]'"),
    (["model=cnnn"], "model=cnnn: no such option (no conf/model/cnnn.yaml); did you mean model=cnn? (options: cnn, "),
    (["optimizer=Adam"], "optimizer=Adam: no such option (no conf/optimizer/Adam.yaml); did you mean optimizer=adam?"),
    (["optimizer=lion"], "optimizer=lion: no such option (no conf/optimizer/lion.yaml); pick one of adam, adamw, sgd"),
    (["model=null"], "model=null: model needs one of its options; pick one of cnn, eva8_seed"),
    (["+experiment=conf/experiment/tiny.yaml"], "a config group takes an option's name, not a file; use +experiment=tiny"),
    (["+optimizer.lr=0.1"], "+optimizer.lr: optimizer.lr is already in the config (+ adds a new key); set it with "
                            "optimizer.lr=VALUE"),
    (["+experiment=/elsewhere/mine.yaml"], "put the file in DIR/experiment/mine.yaml and add --config-dir DIR "
                                           "+experiment=mine, or pick one of best_20k, "),
    # an option of Hydra's own groups (and the sweeper's): Hydra's line, no near match
    (["-m", "hydra/sweeper/sampler=randomm"], "hydra/sweeper/sampler=randomm: no such option (not in group "
                                              "hydra/sweeper/sampler); did you mean hydra/sweeper/sampler=random? (options: "),
    (["-m", "hydra/sweeper/pruner=medain"], "did you mean hydra/sweeper/pruner=median? (options: halving, "),
    (["hydra/launcher=paralel"], "hydra/launcher=paralel: no such option (not in group hydra/launcher); did you mean "
                                 "hydra/launcher=parallel?"),
    (["-m", "hydra/sweeper/pruner=null"], "hydra/sweeper/pruner=null: hydra/sweeper/pruner needs one of its options; "
                                          "pick one of halving, "),  # Hydra: 'Config group override must be a string'
    (["-m", "hydra.sweeper.repeats=3"], "; set its keys instead, e.g. hydra.sweeper.repeats.seeds=1"),
    (["data.augment=5"], "data.augment: Invalid type assigned: int is not a subclass of AugmentSchema. value: 5; set its "
                         "keys instead, e.g. data.augment.strength=1.0"),
    (["model.pool_after=[a]"], "; write a list of integers or null, e.g. 'model.pool_after=[1]'"),
    # a sweep expression on a plain run: the -m command to copy, and a comma list's list spelling
    (["model.dropout=0.1,0.2"], "model.dropout=0.1,0.2: a sweep expression needs -m, which searches its values: python "
                                "-m mnist_sweep.train -m model.dropout=0.1,0.2; a list value is written in brackets: "
                                "'model.dropout=[0.1,0.2]'"),
    # another sweeper: the config sets mnist_optuna's keys ('conf/config.yaml: hydra.sweeper.workers: no such key')
    (["-m", "hydra/sweeper=basic"], "hydra/sweeper=basic: this project's sweeps run through hydra/sweeper=mnist_optuna "
                                    "(the default), whose keys conf/config.yaml sets"),
    (["-m", "hydra/sweeper=nope"], "hydra/sweeper=nope: no such option (not in group hydra/sweeper); pick one of "
                                   "mnist_optuna, e.g. hydra/sweeper=mnist_optuna"),  # basic and optuna: refused next
    (["model.c1=choice(4,8)"], "needs -m, which searches its values: python -m mnist_sweep.train -m 'model.c1=choice(4,8)'"),
    # a group's comma list: one option, not the bracket list, which merged the options ('Merge error: AdamSchema is
    # not a subclass of SgdSchema. value: {...}'); the bracket list itself, in a run or a sweep
    (["optimizer=sgd,adam"], "-m optimizer=sgd,adam; a config group takes one option in a run: pick one, e.g. optimizer=sgd"),
    (["model=[cnn,eva8_seed]"], "model=[cnn,eva8_seed]: a config group takes one option, not a list (Hydra would merge "
                                "them into one model section); pick one, e.g. model=cnn, or search them with -m: model=cnn,eva8_seed"),
    (["-m", "scheduler=[step,cosine]"], "scheduler=[step,cosine]: a config group takes one option, not a list"),
    (["model=[1]"], "model=1: no such option"),  # a list of one: 'argument of type 'int' is not iterable', no key
    (["+experiment=[tlny]"], "+experiment=tlny: no such option"),
]


@pytest.mark.parametrize("args, needle", CLASSES, ids=[" ".join(a) for a, _ in CLASSES])
def test_each_class_is_one_line_and_writes_nothing(args, needle, tmp_path):
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.train", *TINY, *args, f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, needle)
    assert snapshot(tmp_path) == before


def test_an_option_of_a_config_dir_is_an_option_and_its_typo_names_it(tmp_path):
    """A --config-dir's options are options (+experiment=mine), and the nearest one is suggested."""
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text("# @package _global_\ntrainer:\n  seed: 5\n")
    checked = check_command_line(["--config-dir", str(tmp_path), "+experiment=mine", *TINY])
    assert checked.error is None and checked.settings.trainer.seed == 5
    line = check_command_line(["--config-dir", str(tmp_path), "+experiment=mien", *TINY]).error
    assert line.startswith("+experiment=mien: no such option") and "did you mean +experiment=mine?" in line, line


@pytest.mark.parametrize("group, body, argv", [
    ("experiment", "# @package _global_\ntrainer:\n  seed: 5\n", ["+experiment=mine"]),
    ("hparams_search", "# @package _global_\ndefaults:\n  - default\n", ["-m", "hparams_search=mine"]),
    ("model", "defaults:\n  - cnn\nc1: 4\n", ["model=mine"]),
    ("hydra/launcher", "defaults:\n  - basic\n", ["hydra/launcher=mine"]),  # Hydra's groups: no hint at all
    ("hydra/sweeper/sampler", "defaults:\n  - tpe\n", ["-m", "hydra/sweeper/sampler=mine"]),
])
def test_a_config_dir_one_level_too_deep_names_the_dir_to_give(tmp_path, group, body, argv):
    """--config-dir DIR/hparams_search (any group's dir, not DIR) said 'no such option ...; pick one of
    best_20k, ...', naming the project's options only; confirm --experiment said where the file was.
    Hydra's own groups (DIR/hydra/launcher) too: they got the option list alone."""
    (tmp_path / group).mkdir(parents=True)
    (tmp_path / group / "mine.yaml").write_text(body)
    line = check_command_line(["--config-dir", str(tmp_path / group), *argv]).error
    up = ("one dir", "two dirs", "three dirs")[group.count("/")]
    assert line and line.endswith(f"{tmp_path / group / 'mine.yaml'} is {up} up: give --config-dir {tmp_path}"), line
    assert check_command_line(["--config-dir", str(tmp_path), *argv]).error is None


@pytest.mark.parametrize("name", ["a,b", "it's, [x]", "c=d e", "a${x}b", "${hydra.job.name}"])
def test_a_config_dir_whose_path_holds_a_comma_or_quote_is_one_dir(tmp_path, name):
    """The check composed --config-dir DIR as hydra.searchpath=[file://DIR] unquoted: /tmp/a,b/conf was
    two dirs ('/tmp/a' and 'b/conf', Hydra warning it was not available) and +experiment=mine 'no such option'.
    Hydra reads the search path as written: a ${x} in it is the dir's name, not to be escaped."""
    d = tmp_path / name / "conf"
    (d / "experiment").mkdir(parents=True)
    (d / "experiment" / "mine.yaml").write_text("# @package _global_\ntrainer:\n  seed: 5\n")
    checked = check_command_line(["--config-dir", str(d), "+experiment=mine", *TINY])
    assert checked.error is None and checked.settings.trainer.seed == 5, checked.error



@pytest.mark.parametrize("name", ["a${x}b", "${hydra.job.name}", "a\\${x}", "${x", "it's ${x}, [y]"])
def test_a_path_holding_an_interpolation_reaches_the_run_as_written(tmp_path, name):
    """reproduce and confirm pass a path (--out, the data they read) as hydra.run.dir=PATH and data.root=PATH,
    quoted for Hydra's grammar; OmegaConf then resolved a ${x} in it: 'Interpolation key 'x' not found', or
    another dir (${hydra.job.name}: train). Validation resolved data.root a second time in the schema's merge."""
    from conftest import make_cfg_hydra
    from mnist_sweep.config.settings import validate
    from mnist_sweep.reproduce import run_dir_override

    d = tmp_path / name
    d.mkdir()
    cfg = make_cfg_hydra(*TINY, run_dir_override(d), run_dir_override(d, "data.root"))
    assert cfg.hydra.run.dir == str(d) and validate(cfg).data.root == str(d)

@pytest.mark.parametrize("body, line", [
    ("trainer:\n  max_epoch: 3\n", "experiment/mine.yaml: trainer.max_epoch: no such key; did you mean trainer.max_epochs?"),
    ("model:\n  dropuot: 0.1\n", "experiment/mine.yaml: model.dropuot: no such key; did you mean model.dropout?"),
    ("trainer.max_epoch: 3\n", "experiment/mine.yaml: trainer.max_epoch: a dotted key in a config file is one key of "
     "that name, not a section's key (its sections: model, optimizer, scheduler, data, trainer), so nothing would read "
     "it; did you mean trainer.max_epochs? write it nested: trainer: {max_epochs: 3}"),
    ("trainer.max_epochs: 3\n", "experiment/mine.yaml: trainer.max_epochs: a dotted key in a config file is one key "
     "of that name, not a section's key (its sections: model, optimizer, scheduler, data, trainer), so nothing would "
     "read it; write it nested: trainer: {max_epochs: 3}"),
])
def test_a_mistyped_key_in_an_experiment_file_names_the_file(tmp_path, body, line):
    """The line named the key only ('trainer.max_epoch: no such key in trainer's schema ...'), so the
    file to fix was to be guessed; a dotted key was told the command line's 'trainer.max_epochs=3'."""
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text(f"# @package _global_\n{body}")
    for mode in ([], ["-m"]):
        assert check_command_line([*mode, "--config-dir", str(tmp_path), "+experiment=mine", *TINY]).error == line


def test_a_mistyped_key_in_a_swept_experiment_file_names_the_file(tmp_path):
    """A swept experiment is composed by the sweeper: its line was 'experiment/mine.yaml sets
    trainer.max_epoch, which trainer's option does not have', as if another option had the key."""
    from hydra_plugins.mnist_sweep_sweeper._groups import not_composed

    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text("# @package _global_\ntrainer:\n  max_epoch: 3\n")
    with pytest.raises(Exception) as e:
        make_cfg(f"hydra.searchpath=[file://{tmp_path}]", "+experiment=mine")
    assert not_composed(e.value, ["+experiment=mine"]) == ("experiment/mine.yaml: trainer.max_epoch: no such key; "
                                                           "did you mean trainer.max_epochs?")


def test_a_group_given_a_dict_is_hydras_merge_into_its_default_option_not_an_option_name():
    """model={c1:8} is Hydra's merge into the default option (it trains with c1=8); the option check
    called it 'no such option (no conf/model/{c1:8}.yaml)', and hid the dict check's line for a
    sweep inside it."""
    checked = check_command_line(["model={c1:8}", *TINY])
    assert checked.error is None and checked.settings.model.widths[0] == 8
    line = check_command_line(["model={c1:range(4,8)}", *TINY]).error
    assert line.startswith("model.c1: range(4,8) inside model={...}"), line


def test_an_option_of_a_search_path_override_is_an_option(tmp_path):
    """hydra.searchpath=[file://DIR] on the command line adds DIR's options (+experiment=mine) as Hydra does."""
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text("# @package _global_\ntrainer:\n  seed: 5\n")
    checked = check_command_line([f"hydra.searchpath=[file://{tmp_path}]", "+experiment=mine", *TINY])
    assert checked.error is None and checked.settings.trainer.seed == 5


def test_a_mistyped_option_of_a_group_of_another_config_dir_is_named_with_the_nearest(tmp_path):
    """--config-path elsewhere: the option check reads conf/ only, so Hydra's MissingConfigException
    said it ('Could not find ...; Available options ...'), with no near match."""
    import shutil

    from conftest import PROJECT_ROOT

    shutil.copytree(PROJECT_ROOT / "conf", tmp_path / "conf")
    line = check_command_line(["--config-path", str(tmp_path / "conf"), "model=cnnn", *TINY]).error
    assert line == "model=cnnn: no such option (not in group model); did you mean model=cnn? (options: cnn, eva8_seed)", line


def test_a_mistyped_option_in_a_config_files_defaults_list_names_the_file(tmp_path):
    """Hydra names the config whose default an ``override /model: nett`` replaces ("In 'config': ..."),
    so the line named the option but not the file with the typo; a command line's typo names none."""
    import shutil

    from conftest import PROJECT_ROOT

    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text("# @package _global_\ndefaults:\n  - override /model: cnnn\n")
    proc = run_inproc(["mnist_sweep.train", "--config-dir", str(tmp_path), "+experiment=mine", *TINY,
                       f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert proc.returncode == 2 and not (tmp_path / "run").exists()
    assert_one_line_error(proc, "experiment/mine.yaml, defaults list: model=cnnn: no such option (not in group model); "
                                "did you mean model=cnn? (options: cnn, eva8_seed)")
    conf = shutil.copytree(PROJECT_ROOT / "conf", tmp_path / "conf")
    tiny = conf / "experiment" / "tiny.yaml"
    tiny.write_text(tiny.read_text().replace("override /scheduler: onecycle", "override /scheduler: onecyle"))
    line = check_command_line(["--config-path", str(conf), "+experiment=tiny", *TINY]).error
    assert line.startswith("experiment/tiny.yaml, defaults list: scheduler=onecyle: no such option") and (
        "did you mean scheduler=onecycle?" in line), line
    (conf / "config.yaml").write_text((conf / "config.yaml").read_text().replace("- model: cnn\n", "- model: nett\n"))
    line = check_command_line(["--config-path", str(conf), *TINY]).error
    assert line.startswith("config.yaml, defaults list: model=nett: no such option (not in group model)"), line
    line = check_command_line(["--config-path", str(conf), "model=cnnn", *TINY]).error
    assert line.startswith("model=cnnn: no such option (not in group model); did you mean model=cnn?"), line
