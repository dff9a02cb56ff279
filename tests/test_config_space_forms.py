"""The ways a search space is written (hydra.sweeper.params={...}, .KEY=..., a search file, sweep
overrides): a form Hydra reads otherwise than meant, or two that clash, is one line with the form that works."""
from __future__ import annotations

import shlex

import pytest
from optuna import distributions as od


@pytest.mark.parametrize("override, fix", [
    ("hydra.sweeper.params.model.c1=4", "hydra.sweeper.params={model.c1:4}"),
    ("+hydra.sweeper.params.model.c1=4", "hydra.sweeper.params={model.c1:4}"),
    ("hydra.sweeper.params.model.c1='choice(4,8)'", 'hydra.sweeper.params={model.c1:"choice(4,8)"}'),
    ("+hydra.sweeper.params.model.c1=choice(4,8)", 'hydra.sweeper.params={model.c1:"choice(4,8)"}'),
    ("hydra.sweeper.params.trainer.ema_decay='choice(0,0.99)'", '+hydra.sweeper.params={trainer.ema_decay:"choice(0,0.99)"}'),
])
def test_a_space_key_given_as_nested_keys_names_the_dict_form_that_sets_it(tmp_path, override, fix):
    """Hydra reads hydra.sweeper.params.model.c1 as params -> model -> c1; the space's keys are dotted
    names. It said 'add it with +hydra.sweeper.params={model:VALUE}' (a key 'model': no such parameter),
    'Cannot convert dict to string', 'Sweeping over Hydra's configuration is not supported', or to quote
    the expression, which fails the same way."""
    from conftest import assert_one_line_error, run_inproc
    from mnist_sweep.overrides import check_command_line

    proc = run_inproc(["mnist_sweep.train", "-m", override, f"hydra.sweep.dir={tmp_path}/s", "hydra.sweeper.dry_run=true"],
                      cwd=tmp_path)
    flat = fix[fix.index("{") + 1:-1].replace(":", "=", 1).replace('"', "")  # model.c1=choice(4,8): quoted where it has ( )
    shown = fix if '"' in fix else shlex.quote(fix)  # a fix that quotes its value is left as written
    line = assert_one_line_error(proc, f"error: {override}: Hydra reads each dot of the key as a level",
                                 f"give it as {shown}, or as {shlex.quote(flat)} on the command line")
    assert "{model:VALUE}" not in line and list(tmp_path.iterdir()) == []
    assert check_command_line(["-m", fix]).error is None  # the fix
    nulled = check_command_line(["-m", "hydra.sweeper.params=null", "hydra.sweeper.params.model.c1=choice(4,8)"]).error
    assert nulled.endswith("give it as model.c1=choice(4,8) after hydra.sweeper.params=null"), nulled  # nothing merges into null


def test_a_group_searched_under_hydra_sweeper_params_is_told_to_add_it():
    """The space has no key optimizer: the quoted form it offered said 'no such key; did you mean optimizer?'."""
    from mnist_sweep.overrides import check_command_line

    line = check_command_line(["-m", "hydra.sweeper.params.optimizer=choice(sgd,adam)"]).error
    assert "(+hydra.sweeper.params.optimizer='choice(sgd,adam)')" in line, line
    assert check_command_line(["-m", "+hydra.sweeper.params.optimizer='choice(sgd,adam)'"]).error is None


@pytest.mark.parametrize("args, needle", [
    (["model.dropout=range(0.0,0.1)"], "model.dropout: range(0.0,0.1) steps by 1, more than its span, so it draws 0.0 alone; "
     "write 'model.dropout=interval(0.0,0.1)' for any value between, or range(0.0,0.1,0.05)"),
    (['hydra.sweeper.params={model.dropout:"range(0,0.1)"}'], "model.dropout: range(0,0.1) steps by 1, more than its span, so it draws 0 alone"),
    (["hydra.sweeper.params=null", "model.c1=range(4,6,5)"], "model.c1: range(4,6) steps by 5, more than its span, "
     "so it draws 4 alone; write 'model.c1=range(4,6,1)'"),
    (["hydra.sweeper.params=null", "model.c1=range(4,4)"], "model.c1: range(4,4) has zero span, so it draws 4 alone; "
     "write model.c1=4 to set it, or a wider range"),  # searched as 4 alone, where interval(4,4) was refused
])
def test_a_range_whose_step_is_wider_than_its_span_is_refused(tmp_path, args, needle):
    """Optuna cut range(0.0,0.1)'s end to its start (the default step is 1): after a warning, model.dropout
    was searched as 0.0 alone."""
    from conftest import assert_one_line_error, run_inproc
    from hydra_plugins.mnist_sweep_sweeper._space import parse
    from mnist_sweep.overrides import check_command_line

    proc = run_inproc(["mnist_sweep.train", "-m", *args, f"hydra.sweep.dir={tmp_path}/s", "hydra.sweeper.dry_run=true"],
                      cwd=tmp_path)
    assert_one_line_error(proc, f"error: hydra.sweeper.params.{needle}")
    assert list(tmp_path.iterdir()) == []
    assert check_command_line(["-m", "model.dropout=range(0.0,0.1,0.05)"]).error is None  # the fix
    assert parse("model.dropout=range(0.0,0.1,0.05)")[1] == od.FloatDistribution(0.0, 0.1, step=0.05)


@pytest.mark.parametrize("args", [
    ["model.c1=choice(4,8)", 'hydra.sweeper.params={model.c1:"choice(8,12)"}'],
    ['hydra.sweeper.params={model.c1:"choice(8,12)"}', "model.c1=4"],
])
def test_a_key_given_in_the_dict_space_and_as_an_override_is_refused(args):
    """The sweep reads hydra.sweeper.params first and the command line's overrides after: the override won
    silently, also where the dict came later (choice(8,12) was never searched)."""
    from mnist_sweep.overrides import check_command_line

    line = check_command_line(["-m", *args]).error
    assert line is not None and line.startswith("model.c1: given twice on the command line, in hydra.sweeper.params="), line
    assert line.endswith("keep one"), line
    assert check_command_line(["-m", args[1]]).error is None  # the fix: one of them


def _dry_run_with_search_file(tmp_path, params: str, args: list[str]):  # noqa: ANN001, ANN202
    """A sweep's dry run in ``tmp_path`` with ``args`` (DIR: the conf/ made here, which holds
    hparams_search/mine.yaml, the default search with ``params`` as its space's YAML)."""
    from conftest import run_inproc

    (tmp_path / "conf" / "hparams_search").mkdir(parents=True)
    (tmp_path / "conf" / "hparams_search" / "mine.yaml").write_text(
        f"# @package _global_\ndefaults:\n  - default\nhydra:\n  sweeper:\n    params:\n      {params}\n")
    args = [str(tmp_path / "conf") if a == "DIR" else a for a in args]
    return run_inproc(["mnist_sweep.train", "-m", *args, f"hydra.sweep.dir={tmp_path}/s", "hydra.sweeper.dry_run=true"],
                      cwd=tmp_path)


@pytest.mark.parametrize("args", [
    ['hydra.sweeper.params={model:{c1:"choice(4,8)"}}'],
    ['+hydra.sweeper.params={model:{c1:"choice(4,8)"}}'],
    ["--config-dir", "DIR", "hparams_search=mine"],
])
def test_a_space_with_nested_keys_is_told_to_write_them_flat(tmp_path, args):
    """It said 'add it with +hydra.sweeper.params={model:VALUE}', and that (or the same space in a search
    file) 'Hydra's override grammar cannot read "{'c1'"'."""
    from conftest import assert_one_line_error

    proc = _dry_run_with_search_file(tmp_path, "model:\n        c1: choice(4,8)", args)
    assert_one_line_error(proc, "error: hydra.sweeper.params.model: holds keys (model.c1), while the space's keys are whole "
                          'names with dots', 'hydra.sweeper.params={model.c1:"choice(4,8)"}', "under params: model.c1: choice(4,8)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conf"]


@pytest.mark.parametrize("args", [
    ["hydra.sweeper.params={model.c1:null}"],
    ["--config-dir", "DIR", "hparams_search=mine"],
])
def test_a_space_key_given_null_says_how_to_take_it_out_of_the_search(tmp_path, args):
    """It said "Incompatible value 'None' for field of type 'str'", no fix."""
    from conftest import assert_one_line_error
    from mnist_sweep.overrides import check_command_line

    proc = _dry_run_with_search_file(tmp_path, "model.c1: null", args)
    line = assert_one_line_error(proc, "error: hydra.sweeper.params.model.c1: null, while each value of the search space is "
                                 "text", "to take model.c1 out of the search give it one value (model.c1=VALUE")
    assert "Incompatible" not in line and sorted(p.name for p in tmp_path.iterdir()) == ["conf"]
    assert check_command_line(["-m", '+hydra.sweeper.params={data.train_limit:"null"}']).error is None  # null, quoted


@pytest.mark.parametrize("args", [["hydra.sweeper.params=null", "~model.c1=choice(4,8)"], ["~model.c1=choice(4,8)"]])
def test_a_searched_deletion_says_to_search_the_key(tmp_path, args):
    """It said 'hydra.sweeper.params.~model.c1: no such key; did you mean model.k1, model.p1, model.t1?'."""
    from conftest import assert_one_line_error, run_inproc
    from hydra_plugins.mnist_sweep_sweeper._space import parse
    from mnist_sweep.errors import SweepError

    proc = run_inproc(["mnist_sweep.train", "-m", *args, f"hydra.sweep.dir={tmp_path}/s", "hydra.sweeper.dry_run=true"],
                      cwd=tmp_path)
    assert_one_line_error(proc, "error: hydra.sweeper.params.~model.c1: ~ deletes a key", "search it as 'model.c1=choice(4,8)'")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SweepError, match="~ deletes a key"):  # in a search file's space too
        parse("~model.c1=choice(4,8)")


def test_a_range_with_a_float_step_is_named_as_a_range():
    """range(4,12,2.5) on an integer key was named 'interval(4, 11.5) samples floats ... use int(interval(4, 11))',
    and a resumed study's line showed range(0,0.1,0.05) as interval(0,0.1): the step was left out."""
    from hydra_plugins.mnist_sweep_sweeper._space import describe, parse
    from mnist_sweep.config.space import check_distribution
    from mnist_sweep.errors import SweepError
    from conftest import make_cfg

    with pytest.raises(SweepError, match=r"model.c1: range\(4, 11.5, 2.5\) steps by a float, so it samples floats, but "
                       r"model.c1 is an integer; use range\(4, 11, 2\)"):
        check_distribution("model.c1", parse("model.c1=range(4,12,2.5)")[1], make_cfg())
    assert describe(parse("model.dropout=range(0,0.1,0.05)")[1]) == "range(0,0.1,0.05)"
    assert describe(od.FloatDistribution(0.0, 0.1)) == "interval(0,0.1)"


def test_a_searched_key_added_with_a_plus_that_is_there_is_refused_before_any_candidate(tmp_path):
    """+model.c1=choice(4,8): every candidate's +model.c1=4 failed to compose ('An item is already at model.c1');
    the sweep asked 52 candidates, then stopped (the dry run exited 0). A + on a null key adds, as in Hydra."""
    from conftest import assert_one_line_error, run_inproc
    from hydra_plugins.mnist_sweep_sweeper._space import _check_key
    from conftest import make_cfg

    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.params=null", "+model.c1=choice(4,8)",
                       f"hydra.sweep.dir={tmp_path}/s", "hydra.sweeper.dry_run=true"], cwd=tmp_path)
    assert_one_line_error(proc, "error: hydra.sweeper.params.+model.c1: model.c1 is already in the config (+ adds a new key); "
                          "search it without the +")
    assert list(tmp_path.iterdir()) == []
    _check_key("+trainer.ema_decay", {}, lambda overrides: make_cfg(*overrides))  # null in conf/: + adds it
    _check_key("++model.c1", {}, lambda overrides: make_cfg(*overrides))  # ++ sets it either way


def test_an_added_experiment_whose_keys_the_search_file_searches_is_named():
    """-m +experiment=tiny under the default space: each candidate's draws replaced tiny's widths, silently,
    and every draw was over tiny's 4,000-parameter budget."""
    from hydra_plugins.mnist_sweep_sweeper._groups import searched_over_added
    from conftest import make_cfg

    compose = lambda overrides: make_cfg(*overrides)  # noqa: E731
    line = searched_over_added(["model.c2", "optimizer.momentum"], {"+experiment": "tiny"}, compose)
    assert line == ("hydra.sweeper.params: +experiment=tiny sets model.c2, which the search space searches, so each "
                    "candidate's drawn values replace its; to search around it, give hydra.sweeper.params=null and the "
                    "keys to search (e.g. model.c2=choice(...))"), line
    assert searched_over_added(["model.c2"], {"model": "cnn"}, compose) is None  # a group every run has: no warning
    assert searched_over_added(["trainer.seed"], {"+experiment": "tiny"}, compose) is None  # a key it leaves alone


def test_a_searched_key_added_with_a_plus_that_no_run_reads_is_refused_before_any_candidate():
    """+trainer.foo=choice(4,8): the sweep asked 52 candidates, each refused by the schema, then said
    'no trial was trained'. +experiment (a group's options) stays a search."""
    from hydra_plugins.mnist_sweep_sweeper._space import _check_key
    from mnist_sweep.errors import SweepError
    from conftest import make_cfg

    compose = lambda overrides: make_cfg(*overrides)  # noqa: E731
    for name in ("+trainer.foo", "++trainer.foo"):
        with pytest.raises(SweepError, match=r"^hydra.sweeper.params.trainer.foo: no such key; trainer's keys: "):
            _check_key(name, {}, compose)
    _check_key("+experiment", {}, compose)


def test_a_key_the_space_lacks_set_under_hydra_sweeper_params_says_how_to_add_it():
    """hydra.sweeper.params.optimizer='choice(sgd,adam)' (the form the quoted-sweep line offered) said
    'hydra.sweeper.params.optimizer: no such key; did you mean optimizer?'."""
    from mnist_sweep.overrides import check_command_line

    line = check_command_line(["-m", "hydra.sweeper.params.optimizer='choice(sgd,adam)'"]).error
    assert line.startswith("hydra.sweeper.params.optimizer: hydra.sweeper.params has no key optimizer"), line
    assert "add it with +hydra.sweeper.params={optimizer:VALUE}, or search it with a sweep override" in line, line
    assert check_command_line(["-m", '+hydra.sweeper.params={optimizer:"choice(sgd,adam)"}']).error is None


@pytest.mark.parametrize("body, needles", [
    ("hydra.sweeper.params.model.c1: choice(4, 8)\n",
     ["hparams_search/mine.yaml: hydra.sweeper.params.model.c1: a dotted key in a config file is one key",
      "write it nested: hydra: {sweeper: {params: {model.c1: choice(4, 8)}}}"]),
    ("hydra:\n  sweeper:\n    params:\n      model.c1: [4, 8]\n",
     ["hydra.sweeper.params.model.c1: a list ([4, 8]), while each value of the search space is text",
      "write model.c1: choice(4, 8) under params in a file"]),
])
def test_a_search_file_that_writes_a_space_key_wrong_gets_the_form_to_write(tmp_path, body, needles):
    """The dotted key was told 'did you mean hydra.sweeper.params? write it nested: hydra: {sweeper: {params:
    choice(4, 8)}}' (model.c1 lost); the list said "Cannot convert 'ListConfig' to string: '[4, 8]'"."""
    from conftest import assert_one_line_error, run_inproc

    (tmp_path / "conf" / "hparams_search").mkdir(parents=True)
    (tmp_path / "conf" / "hparams_search" / "mine.yaml").write_text(f"# @package _global_\ndefaults:\n  - default\n{body}")
    proc = run_inproc(["mnist_sweep.train", "-m", "--config-dir", str(tmp_path / "conf"), "hparams_search=mine",
                       f"hydra.sweep.dir={tmp_path}/s", "hydra.sweeper.dry_run=true"], cwd=tmp_path)
    line = assert_one_line_error(proc, *needles)
    assert "did you mean" not in line and sorted(p.name for p in tmp_path.iterdir()) == ["conf"]


def test_a_range_whose_end_is_off_its_step_is_parsed_without_optunas_raw_warning():
    """range(4,12,3) draws 4, 7 and 10 (as Hydra's range would); the sweep printed Optuna's UserWarning with
    its file path and source line, two lines of noise before the dry run's listing."""
    import warnings

    from hydra_plugins.mnist_sweep_sweeper._space import parse

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert parse("model.c1=range(4,12,3)")[1] == od.IntDistribution(4, 10, step=3)
    assert not [w for w in caught if issubclass(w.category, UserWarning)], [str(w.message) for w in caught]


def test_a_plain_deletion_beside_a_search_stays_a_deletion():
    """deletion_error named ~z (a plain deletion the sweep passes to every trial) as a searched one."""
    from hydra_plugins.mnist_sweep_sweeper._space import parse

    assert parse("~z") == ("~z", "null") and parse("~z=1") == ("~z", "1")  # as the stock sweeper passes them on


@pytest.mark.parametrize("arg, line", [
    ("hydra.sweeper.params.foo=4", "hydra.sweeper.params.foo: no such key, no run reads foo, so the search space cannot search it ("),
    ("hydra.sweeper.params={foo:4}", "hydra.sweeper.params.foo: no such key, no run reads foo"),
    ("hydra.sweeper.params.optimizr=4", "hydra.sweeper.params.optimizr: no such key, no run reads optimizr, so the search "
     "space cannot search it; did you mean optimizer"),
    ("hydra.sweeper.params.optimizer=sgd", "hydra.sweeper.params.optimizer: hydra.sweeper.params has no key optimizer, and "
     "hydra.sweeper.params.optimizer=VALUE sets a key it has, it adds none; add it with +hydra.sweeper.params={optimizer:VALUE}"),
])
def test_a_key_the_space_lacks_is_named_by_whether_a_run_reads_it_and_by_the_form_given(arg, line):
    """hydra.sweeper.params.foo=4 was told to add +hydra.sweeper.params={foo:VALUE}, which the sweep then
    refused as 'no such key'; and the .KEY= form was told '{...} changes the keys it has'."""
    from mnist_sweep.overrides import check_command_line

    error = check_command_line(["-m", arg]).error
    assert error is not None and error.startswith(line), error


def test_an_added_experiment_names_the_command_lines_space_keys_as_its():
    """+experiment=tiny 'hydra.sweeper.params={model.c2:"choice(8,12)"}': model.c2 was named as a key the search
    file searches, beside the file's own."""
    from hydra_plugins.mnist_sweep_sweeper._groups import searched_over_added, typed_params
    from conftest import make_cfg

    typed = typed_params(['hydra.sweeper.params={model.c2:"choice(8,12)"}', "hydra.sweep.dir=/tmp/x"])
    assert typed == {"model.c2"}
    assert typed_params(['+hydra.sweeper.params={model.c2:"choice(8,12)"}', "hydra.sweeper.params=null"]) == set()
    line = searched_over_added(["model.c3", "model.c2"], {"+experiment": "tiny"}, lambda o: make_cfg(*o), typed)
    assert line.startswith("hydra.sweeper.params: +experiment=tiny sets model.c3, which the search space searches and "
                           "model.c2, which hydra.sweeper.params={...} on the command line searches, so each"), line
