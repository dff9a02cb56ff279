"""mnist_sweep.config.space: a search space's distributions against their keys' types and ranges."""
from __future__ import annotations

import warnings

import pytest
from optuna import distributions as od

from conftest import make_cfg
from mnist_sweep.config.space import check_distribution
from mnist_sweep.errors import SweepError

warnings.filterwarnings("ignore", category=FutureWarning, module=__name__)  # optuna's deprecated classes, on purpose
GOOD_DISTS = [
    ("model.c1", od.IntUniformDistribution(4, 12)),
    ("model.c1", od.IntDistribution(4, 12)),
    ("model.c1", od.CategoricalDistribution([4, 8])),
    ("optimizer.lr", od.LogUniformDistribution(0.001, 0.3)),
    ("optimizer.lr", od.FloatDistribution(0.001, 0.3, log=True)),
    ("model.dropout", od.UniformDistribution(0.0, 0.15)),
    ("model.dropout", od.CategoricalDistribution([0.0, 0.5, 0.99])),
    ("model.block", od.CategoricalDistribution(["plain", "se", "residual"])),
    ("data.batch_size", od.CategoricalDistribution([64, 128])),
    ("data.augment.strength", od.UniformDistribution(0.0, 1.5)),
    ("scheduler.pct_start", od.UniformDistribution(0.1, 0.4)),
    ("data.train_limit", od.CategoricalDistribution([None, 1000])),
    ("data.train_limit", od.CategoricalDistribution(["null", 1000])),  # null as the sweep passes it on (Hydra's encode)
    ("trainer.ema_decay", od.CategoricalDistribution(["null", 0.5])),
    ("model.max_params", od.CategoricalDistribution(["null", 5000])),
    ("+model.new_key", od.UniformDistribution(0, 1)),
]
BAD_DISTS = [
    ("model.c1", od.UniformDistribution(4, 12), "use int(interval(4, 12))"),  # range(4, 13) would draw 13
    ("model.c1", od.FloatDistribution(4, 12), "integer"),
    ("model.c1", od.CategoricalDistribution([4, "wide"]), "'wide'"),
    ("model.c1", od.CategoricalDistribution([4, 1.5]), "1.5"),
    ("model.c1", od.IntUniformDistribution(0, 8), "range"),
    ("optimizer.lr", od.LogUniformDistribution(1e-9, 20), "optimizer.lr's range"),
    ("optimizer.lr", od.CategoricalDistribution([0.1, "fast"]), "'fast'"),
    ("model.bias", od.UniformDistribution(0, 1), "bool"),
    ("trainer.select_on", od.IntUniformDistribution(0, 1), "str"),
    ("data.batch_size", od.CategoricalDistribution([1, 64]), "data.batch_size's range"),
    ("data.augment.strength", od.UniformDistribution(0.0, 50.0), "range"),
    # keys typed per block (a scalar or a list): the run's own model check, before any trial
    ("model.dropout", od.FloatDistribution(1.1, 2.0), "model.dropout: must be in [0, 1), got 1.1; e.g. model.dropout=0.05"),
    ("model.dropout", od.FloatDistribution(0.9, 1.5), "got 1.5"),
    ("model.dropout", od.CategoricalDistribution([0.1, "high"]), "'high'"),
    ("model.block", od.CategoricalDistribution(["plain", "fancy"]), "'fancy'"),
    ("model.dropout", od.CategoricalDistribution(["null", 0.1]), "model.dropout cannot be null"),  # typed per block
    ("trainer.select_on", od.CategoricalDistribution(["null", "val"]), "trainer.select_on cannot be null"),
]


FIXES = [  # the line ends with a sweep to paste: the values that fit kept, the ends moved inside the range
    ("model.c1", od.CategoricalDistribution([8, "abc"]), "choice value 'abc' is not an integer (the type of model.c1); "
                                                         "e.g. model.c1=choice(8,16)"),
    ("optimizer.lr", od.CategoricalDistribution([0.1, "fast"]), "is not a number (the type of optimizer.lr); e.g. "
                                                                "optimizer.lr=choice(0.1,0.05)"),
    ("model.bias", od.CategoricalDistribution([True, "maybe"]), "e.g. model.bias=choice(true,false)"),
    ("data.train_limit", od.CategoricalDistribution([None, 0, 1000]), "e.g. data.train_limit=null,1000"),  # choice() takes no null
    ("data.train_limit", od.CategoricalDistribution(["null", 0, 1000]), "e.g. data.train_limit=null,1000"),  # as a sweep passes it
    ("model.c1", od.CategoricalDistribution(["null", 4]), "choice value null: model.c1 cannot be null; e.g. model.c1=choice(4,8)"),
    ("model.k1", od.CategoricalDistribution([3, 4]), "it must be 3 or 5 (kernel of block c1), e.g. model.k1=choice(3,5)"),
    ("model.c1", od.IntDistribution(0, 16, step=4), "it must be >= 1, e.g. model.c1=range(1,16,4)"),
    ("model.c1", od.IntDistribution(-5, 0), "e.g. model.c1=range(1,6)"),
    ("optimizer.lr", od.FloatDistribution(1e-9, 20, log=True), "e.g. optimizer.lr=tag(log,interval(1e-09,10))"),
    ("optimizer.lr", od.FloatDistribution(0, 0.5), "e.g. optimizer.lr=interval(0.005,0.5)"),
    ("trainer.label_smoothing", od.FloatDistribution(1.5, 2.0), "e.g. trainer.label_smoothing=interval(0,0.99)"),
]


@pytest.mark.parametrize("key, dist, end", FIXES, ids=[f"{k}:{d!r}"[:60] for k, d, _ in FIXES])
def test_a_distribution_that_cannot_fit_its_key_gets_one_that_does(key, dist, end):
    """model.c1=choice(8,abc) said "choice value 'abc' is not a int" and a value outside the range
    "it must be >= 1": neither how to write the sweep."""
    with pytest.raises(SweepError) as e:
        check_distribution(key, dist, make_cfg())
    assert str(e.value).startswith(f"hydra.sweeper.params.{key}: ") and str(e.value).endswith(end), str(e.value)


@pytest.mark.parametrize("key, dist", GOOD_DISTS, ids=[f"{k}:{d!r}"[:60] for k, d in GOOD_DISTS])
def test_distributions_that_fit_their_key(key, dist):
    check_distribution(key, dist, make_cfg())


@pytest.mark.parametrize("key, dist, needle", BAD_DISTS, ids=[f"{k}:{d!r}"[:60] for k, d, _ in BAD_DISTS])
def test_distributions_that_cannot_fit_their_key(key, dist, needle):
    with pytest.raises(SweepError) as e:
        check_distribution(key, dist, make_cfg())
    assert str(e.value).startswith(f"hydra.sweeper.params.{key}: ") and needle in str(e.value), str(e.value)


def test_a_dict_space_after_params_null_is_one_line_with_the_form_that_works(tmp_path):
    """hydra.sweeper.params=null then hydra.sweeper.params={...}: OmegaConf cannot merge a dict into
    the null, and the command said "'NoneType' object has no attribute 'get'"."""
    from conftest import assert_one_line_error, run_inproc
    from mnist_sweep.overrides import check_command_line

    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.params=null", 'hydra.sweeper.params={model.c1:"choice(4,8)"}',
                       f"hydra.sweep.dir={tmp_path}/s", "hydra.sweeper.dry_run=true"], cwd=tmp_path)
    line = assert_one_line_error(proc, "error: hydra.sweeper.params: null at this point", "cannot merge",
                                 "write each as a sweep override after hydra.sweeper.params=null ('model.c1=choice(4,8)')")
    assert "NoneType" not in line and list(tmp_path.iterdir()) == []
    assert check_command_line(["-m", "hydra.sweeper.params=null", "model.c1=choice(4,8)"]).error is None  # the fix


@pytest.mark.parametrize("plus", ["", "+"])
def test_the_deprecated_search_space_key_names_what_was_given_and_the_key_to_use(tmp_path, plus):
    """hydra.sweeper.search_space={...} (the stock sweeper's deprecated key, null in conf/) said to
    'drop hydra.sweeper.search_space=null', a null the user never gave."""
    from conftest import assert_one_line_error, run_inproc
    from mnist_sweep.overrides import check_command_line

    space = '{model.c1:"choice(4,8)"}'
    proc = run_inproc(["mnist_sweep.train", "-m", f"{plus}hydra.sweeper.search_space={space}",
                       f"hydra.sweep.dir={tmp_path}/s", "hydra.sweeper.dry_run=true"], cwd=tmp_path)
    line = assert_one_line_error(proc, f"error: hydra.sweeper.search_space={space}: hydra.sweeper.search_space is the "
                                 "stock sweeper's deprecated key", f"give the space as hydra.sweeper.params={space}")
    assert "=null" not in line and list(tmp_path.iterdir()) == []
    assert check_command_line(["-m", f"hydra.sweeper.params={space}"]).error is None  # the fix


@pytest.mark.parametrize("args, needles", [
    (["hydra.sweeper.search_space.model.c1=4"],
     ["error: hydra.sweeper.search_space.model.c1=4: hydra.sweeper.search_space is the stock sweeper's deprecated key",
      "so it holds no model.c1; search it with a sweep override ('model.c1=choice(...)')"]),
    (["hydra.sweeper.params=null", "hydra.sweeper.params.model.c1=4"],
     ["error: hydra.sweeper.params.model.c1=4: hydra.sweeper.params is null at this point (hydra.sweeper.params=null "
      "before it), so it holds no model.c1; search it with a sweep override after the null: 'model.c1=choice(...)'"]),
])
def test_a_key_under_a_null_search_space_names_the_override_and_the_form_that_works(tmp_path, args, needles):
    """Each said OmegaConf's bare 'Unexpected type: None', naming no key."""
    from conftest import assert_one_line_error, run_inproc

    proc = run_inproc(["mnist_sweep.train", "-m", *args, f"hydra.sweep.dir={tmp_path}/s", "hydra.sweeper.dry_run=true"],
                      cwd=tmp_path)
    line = assert_one_line_error(proc, *needles)
    assert "Unexpected type" not in line and list(tmp_path.iterdir()) == []


def test_a_dict_space_with_a_key_the_space_lacks_names_it_and_how_to_add_it(tmp_path):
    """hydra.sweeper.params={trainer.device:"'cpu"} merges into the space's keys, and trainer.device is
    not one: it said 'hydra.sweeper.params: no such key (a key of your own needs +hydra.sweeper.params=VALUE)'."""
    from conftest import assert_one_line_error, run_inproc
    from mnist_sweep.overrides import check_command_line

    proc = run_inproc(["mnist_sweep.train", "-m", 'hydra.sweeper.params={trainer.device:"\'cpu"}',
                       f"hydra.sweep.dir={tmp_path}/s", "hydra.sweeper.dry_run=true"], cwd=tmp_path)
    line = assert_one_line_error(proc, "error: hydra.sweeper.params.trainer.device: hydra.sweeper.params has no key "
                                 "trainer.device", "add it with '+hydra.sweeper.params={trainer.device:VALUE}'",
                                 "sweep override ('trainer.device=choice(...)')")
    assert "no such key" not in line and list(tmp_path.iterdir()) == []
    assert check_command_line(["-m", '+hydra.sweeper.params={trainer.device:"choice(cpu)"}']).error is None  # the fix


@pytest.mark.parametrize("override, needles", [
    ("hydra.sweeper.params={model.c1:choice(4,8)}",
     ["hydra.sweeper.params.model.c1: choice(4,8) inside hydra.sweeper.params={...} is read as a sweep",
      'quote it, as each value of the search space is text: hydra.sweeper.params={model.c1:"choice(4,8)"}']),
    ('hydra.sweeper.params={model.c1:"4",optimizer.lr:tag(log,interval(0.01,0.1))}',
     ['hydra.sweeper.params={optimizer.lr:"tag(log,interval(0.01,0.1))"}']),
    ("model={c1:range(4,8)}", ["model.c1: range(4,8) inside model={...}", "override of its own: 'model.c1=range(4,8)'"]),
])
def test_a_sweep_left_unquoted_in_a_dict_override_says_how_to_write_it(tmp_path, override, needles):
    """choice(...) unquoted inside {...} is a Hydra sweep object that OmegaConf cannot store: the
    command said 'tags: Unexpected type annotation: Set[str]'."""
    from conftest import assert_one_line_error, run_inproc

    proc = run_inproc(["mnist_sweep.train", "-m", override, f"hydra.sweep.dir={tmp_path}/s", "hydra.sweeper.dry_run=true"],
                      cwd=tmp_path)
    line = assert_one_line_error(proc, *needles)
    assert "tags" not in line and "Set[str]" not in line and list(tmp_path.iterdir()) == []


def test_null_in_a_sweep_reaches_the_trial_as_null():
    """trainer.ema_decay=null,0.5 was refused ("choice value 'null' is not a number"), and the advice for
    a bad choice of an optional key, data.train_limit=choice(null,1000), was refused by Hydra's parser."""
    from hydra_plugins.mnist_sweep_sweeper._enqueue import check_queued
    from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace, describe, parse
    from mnist_sweep.overrides import check_command_line

    for arg in ("trainer.ema_decay=null,0.5", "data.train_limit=1000,null", "model.max_params=null,20000"):
        assert check_command_line(["-m", arg]).error is None, arg
    key, dist = parse("trainer.ema_decay=null,0.5")  # the sweeper's own parse and check
    check_distribution(key, dist, make_cfg())
    assert make_cfg(f"{key}={dist.choices[0]}").trainer.ema_decay is None  # the override a draw of null gives
    assert describe(dist) == "null,0.5"  # a resumed study's advice: a spelling Hydra takes
    assert check_queued({key: None}, SearchSpace(values={key: dist}), "queued") == {key: "null"}  # enqueue: null queued
    line = check_command_line(["-m", "data.train_limit=choice(null, 1000)"]).error
    assert line.endswith("Hydra's choice(...) takes no null; list the values without choice(...): data.train_limit=null,1000")


@pytest.mark.parametrize("key, values", [("model.c1", "{}'null',4"), ("data.train_limit", "{}'null',1000"),
                                         ("trainer.ema_decay", "{}'NULL',0.5"), ("data.train_limit", "{}'1000',2000"),
                                         ("trainer.channels_last", "{}'true',false"), ("optimizer.lr", "{}'0.1',0.2")])
def test_a_quoted_value_in_a_choice_is_a_string_as_in_a_list(key, values):
    """A quoted 'null' is a string wherever it is written: ``model.c1='null'`` and the list ``'null',4``
    are refused as 'not an integer'. Inside choice(...), whose values Hydra unquotes, it was passed on as
    null: refused as 'cannot be null' for model.c1, and for a key that may be null (data.train_limit) the
    trial silently ran with null. Now choice('null',...) is refused in the list's own line, before Hydra
    starts and by the sweeper (a search file's params), and for a string key it stays the string. Any
    quoted value alike: choice('1000',2000) passed 1000 on, choice('true',false) true."""
    from hydra_plugins.mnist_sweep_sweeper._space import parse
    from mnist_sweep.overrides import check_command_line

    listed = check_command_line(["-m", f"{key}={values.format('')}"]).error
    assert listed and "is not " in listed and values.format("").split(",")[0] in listed
    assert check_command_line(["-m", f"{key}={values.format('choice(')})"]).error == listed
    with pytest.raises(SweepError) as e:
        name, dist = parse(f"{key}={values.format('choice(')})")
        check_distribution(name, dist, make_cfg())
    assert str(e.value) == listed
    name, dist = parse("data.root=choice('null','/x')")  # a string key: the string null, as data.root='null' gives
    assert make_cfg(f"{name}={dist.choices[0]}").data.root == "null"


@pytest.mark.parametrize("key, choices", [("trainer.precision", ["'fp32'", "bf16"]), ("optimizer.name", ['"sgd"', "adam"])])
def test_a_quoted_string_the_key_takes_passes_as_the_trial_reads_it(key, choices):
    """trainer.precision='fp32',bf16 was refused ('value "'fp32'" is outside trainer.precision's range;
    it must be one of auto, fp32, bf16'): the check took the quotes for part of the value, where the
    trial's override trainer.precision='fp32' reads the string fp32."""
    from mnist_sweep.overrides import check_command_line

    check_distribution(key, od.CategoricalDistribution(choices), make_cfg())
    assert make_cfg(f"{key}={choices[0]}")[key.split(".")[0]][key.split(".")[1]] == choices[0][1:-1]
    if key == "trainer.precision":
        assert check_command_line(["-m", f"{key}={','.join(choices)}"]).error is None


@pytest.mark.parametrize("space", ["model.padding=choice([1,1,0,1,1,1,1],0)", "model.block=choice([plain,plain,plain,plain,se,se,se],plain)",
                                   "model.dropout=choice([0,0,0,0,0.1,0.1,0.1],0.05)"])
def test_a_choice_of_per_block_lists_is_searched(tmp_path, space):
    """model.padding=choice([1,1,0,1,1,1,1],0) was refused at the start ('value '[1,1,0,1,1,1,1]' does not fit
    model.padding (model.padding: expected an integer, ...); it must be ... or one per block'): Optuna holds
    the list as its text, which the check read as a string; the trial's override reads it as the list."""
    from conftest import run_inproc

    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.params=null", space, f"hydra.sweep.dir={tmp_path}/s",
                       "hydra.sweeper.dry_run=true"], cwd=tmp_path)
    assert proc.returncode == 0 and "0% refused before training" in proc.stdout + proc.stderr, proc.stderr[-2000:]
