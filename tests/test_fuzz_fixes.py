"""Property-based fuzzing (hypothesis) of what a refusal tells: its fix, and the value it gives as an example.

Beside tests/test_fuzz.py (any value: one line naming a key) and tests/test_config_cli.py (the command
line's form): a refusal says how to fix it, and the example it gives (``e.g. KEY=VALUE``) is a value
the key takes; a value given in a config file (an experiment) is refused as well as on the command line.
Nothing here trains. Deterministic: derandomize=True, few examples.
"""
from __future__ import annotations

import copy
import math
import re

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from conftest import TINY, make_cfg
from mnist_sweep.config.keys import schema_fields
from mnist_sweep.config.sections import SCHEMAS
from mnist_sweep.config.settings import validate
from mnist_sweep.config.table import error_table
from mnist_sweep.errors import MnistSweepError
from mnist_sweep.overrides import check_command_line

DEFAULTS = {"model": "cnn", "optimizer": "sgd", "scheduler": "onecycle", "data": "mnist", "trainer": "default"}
# the keys of the default options (TINY's config: sgd's momentum, not adam's betas), each with its field
FIELDS = {k: f for section, option in DEFAULTS.items() for k, f, _ in schema_fields(SCHEMAS[section][option], section)
          if not k.endswith(".name")}  # a field's type is its annotation's text (sections.py: 'Optional[int]')
# keys whose valid values only a text describes (model.block: a name, or one per block), no bounds or list
TEXT_ONLY = sorted(k for k, f in FIELDS.items() if (r := f.metadata.get("range")) is not None and r.one_of is None
                   and r.pattern is None and all(b is None for b in (r.ge, r.gt, r.le, r.lt)) and f.type == "Any")
TYPED = sorted(k for k, f in FIELDS.items() if f.type in ("int", "float", "bool", "Optional[int]", "Optional[float]"))
BASE = None


def _base() -> dict:
    global BASE
    if BASE is None:
        BASE = OmegaConf.to_container(make_cfg(*TINY), resolve=True)
    return copy.deepcopy(BASE)


def _set(d: dict, dotted: str, value) -> dict:
    *path, last = dotted.split(".")
    node = d
    for p in path:
        node = node[p]
    node[last] = value
    return d


def _refusal(d: dict) -> str | None:
    try:
        validate(d)
    except MnistSweepError as e:
        return str(e)
    return None


def _example_is_taken(key: str, line: str) -> bool:
    """The line's example for ``key`` (``e.g. KEY=VALUE``), if any, is a value the key takes."""
    m = re.search(rf"e\.g\. {re.escape(key)}=(\S+?)[;,]?$", line)
    return m is None or _refusal(_set(_base(), key, yaml.safe_load(m[1]))) is None


@settings(max_examples=12, deadline=None, derandomize=True, phases=[Phase.generate])
@given(key=st.sampled_from(TEXT_ONLY), value=st.sampled_from([math.nan, math.inf, -math.inf]))
def test_a_non_finite_number_of_a_key_a_text_describes_is_refused_with_a_value_it_takes(key, value):
    """model.block=nan (and inf, for model.dropout, kernels, padding: keys described by a text alone) said
    '...; give a number', with no example: a name was wanted. Now its default is the example."""
    line = _refusal(_set(_base(), key, value))
    assert line and line.startswith(f"{key}: ") and "give a number" not in line, line
    assert f"e.g. {key}=" in line and _example_is_taken(key, line), line


@settings(max_examples=25, deadline=None, derandomize=True, phases=[Phase.generate])
@given(key=st.sampled_from(TYPED), value=st.sampled_from(["abc", math.nan, [1], {"a": 1}, "1.5"]))
def test_a_saved_config_of_the_wrong_kind_says_what_to_write(key, value):
    """A saved config (a trial's .hydra/config.yaml, which reproduce, confirm and export validate) with
    model.max_params: nan said 'Value 'nan' of type 'float' could not be converted to Integer' and no
    more; the command line's same value said what to write. Now validate() says it too."""
    line = _refusal(_set(_base(), key, value))
    if line is None:
        return  # '1.5' for a float key
    assert line.startswith(f"{key}: ") and "\n" not in line, line
    assert re.search(r"; (write|give) ", line) or "e.g. " in line, f"no fix in: {line!r}"
    assert _example_is_taken(key, line), line


NOT_OPTIONAL = sorted(k for k, f in FIELDS.items() if f.type in ("int", "float", "bool", "str")
                      and k.split(".", 1)[0] in ("model", "data", "trainer"))


@settings(max_examples=3, deadline=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(NOT_OPTIONAL), multirun=st.booleans())
def test_a_null_in_an_experiment_file_says_what_to_write(key, multirun, tmp_path_factory):
    """trainer.seed: null in an experiment file was 'trainer.seed: Incompatible value 'None' for field of
    type 'int'' (OmegaConf's words alone); on the command line the same null said what to write."""
    d = _file(tmp_path_factory, key, "null")
    tiny = [a for a in TINY if not a.startswith(key + "=")]
    line = check_command_line([*(["-m"] if multirun else []), "--config-dir", str(d), "+experiment=mine", *tiny]).error
    assert line and line.startswith(f"experiment/mine.yaml: {key}: ") and "\n" not in line, line  # the file, named
    assert "; write " in line and f"e.g. {key}=" in line, line


def _pasted(line: str, key: str) -> list[tuple[str, object]]:
    """The overrides a line gives as its example (``e.g. K=V K2=V2``), as a shell and then Hydra read them."""
    import shlex

    from hydra.core.override_parser.overrides_parser import OverridesParser

    m = re.search(r"e\.g\. ((?:hydra\.sweeper\.[\w.]+=\S+ ?)+)", line)
    assert m, f"no example of {key} in: {line!r}"
    words = shlex.split(m[1].rstrip(",;) "))
    return [(o.key_or_group, o.value()) for o in OverridesParser.create().parse_overrides(words)]


SWEEPER_RANGED = sorted(k.removeprefix("hydra.sweeper.") for k, kind, _ in error_table()  # the numbers
                        if k.startswith("hydra.sweeper.") and ("int" in kind or "float" in kind))


@pytest.mark.parametrize("key", SWEEPER_RANGED)
@settings(max_examples=4, deadline=None, derandomize=True, phases=[Phase.generate])
@given(value=st.sampled_from([-1, 0, -(10**9), 10**12]))
def test_a_sweeper_keys_refusal_gives_an_example_the_sweep_takes(key, value):
    """hydra.sweeper.grace_period=-1 said '...; e.g. hydra.sweeper.grace_period=1', which the sweep refused next
    ('needs hydra.sweeper.heartbeat_interval', null by default). The example given now passes every check."""
    from conftest import make_cfg_hydra
    from mnist_sweep.config.sweeper_checks import check_sweeper
    from mnist_sweep.errors import SweepError

    node = make_cfg_hydra().hydra.sweeper
    OmegaConf.update(node, key, value)
    try:
        check_sweeper(node)
        return
    except SweepError as e:
        line = str(e)
    fixed = make_cfg_hydra().hydra.sweeper
    for k, v in _pasted(line, key):
        OmegaConf.update(fixed, k.removeprefix("hydra.sweeper."), v)
    check_sweeper(fixed)  # no SweepError


def _string_defaults() -> dict[str, str]:
    """Every string key of the schema (the sweeper's too) with its default, the example a type refusal gives."""
    from typing import Optional

    from mnist_sweep.config.sweeper import MnistOptunaSweeperConf

    schemas = [(section, schema) for section, by_name in SCHEMAS.items() for schema in by_name.values()]
    return {k: f.default for section, schema in [*schemas, ("hydra.sweeper", MnistOptunaSweeperConf)]
            for k, f, _ in schema_fields(schema, section)
            if f.type in (str, Optional[str], "str", "Optional[str]") and isinstance(f.default, str) and "name" not in k}


STRINGS = _string_defaults()


@settings(max_examples=12, deadline=None, derandomize=True, phases=[Phase.generate])
@given(key=st.sampled_from(sorted(STRINGS)), why=st.sampled_from(["Cannot convert 'list' to string: '[1]'", "is not Optional"]))
def test_a_string_keys_example_pastes_into_a_shell(key, why):
    """hydra.sweeper.trial_dir=[1] said 'e.g. hydra.sweeper.trial_dir=trial_{number:04d}', which Hydra's grammar
    refused next ('{' begins a dict). Each example, as a shell and then Hydra read it, is the value meant."""
    import shlex

    from hydra.core.override_parser.overrides_parser import OverridesParser

    from mnist_sweep.config.lines import type_fix

    fix = type_fix(key, why)
    m = re.search(rf"e\.g\. ({re.escape(key)}=\S+)$", fix)
    assert m, fix
    (override,) = OverridesParser.create().parse_overrides(shlex.split(m[1]))
    assert override.key_or_group == key and override.value() == STRINGS[key], fix


def _file(tmp_path_factory, key: str, written: str):
    """--config-dir DIR with DIR/experiment/mine.yaml setting ``key`` (nested) to ``written``."""
    d = tmp_path_factory.mktemp("conf")
    (d / "experiment").mkdir()
    *parents, leaf = key.split(".")
    body, indent = "", ""
    for p in parents:
        body, indent = body + f"{indent}{p}:\n", indent + "  "
    (d / "experiment" / "mine.yaml").write_text(f"# @package _global_\n{body}{indent}{leaf}: {written}\n")
    return d


LISTS = ["model.widths", "model.kernels", "model.padding", "model.pool_after", "trainer.objectives"]  # TINY's lists


@settings(max_examples=6, deadline=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(LISTS), written=st.one_of(
    st.dictionaries(st.sampled_from(["a", "c1", "0"]), st.integers(0, 9), max_size=2).map(
        lambda d: "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}"),
    st.sampled_from(["${nope}", "${oc.env:MNIST_SWEEP_NOPE}"])))
def test_a_mapping_or_a_broken_interpolation_where_a_file_gives_a_list_names_the_file_and_the_key(key, written,
                                                                                                 tmp_path_factory):
    """model.kernels: {a: 1} (a mapping for a list) or trainer.objectives: ${nope} in an experiment file said
    "In 'experiment/mine': ConfigTypeError raised while composing config:; Cannot merge DictConfig with
    ListConfig": no key, no fix. Now the file, the key and what to write."""
    d = _file(tmp_path_factory, key, written)
    line = check_command_line(["--config-dir", str(d), "+experiment=mine", *TINY]).error
    if line is None:
        assert written.startswith("${") and key != "trainer.objectives"  # refused by validate: the next test's
        return
    assert line.startswith(f"experiment/mine.yaml: {key}: ") or line.startswith(f"{key}: "), line
    assert "raised while composing" not in line and "; " in line, line


@settings(max_examples=2, deadline=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["model.c1", "model.dropout", "optimizer.lr", "data.batch_size", "trainer.seed_x"]),
       form=st.sampled_from(["{key}=1,2", "model=eva8_seed", "scheduler=step", "optimizer.betas=[0.9]"]))
def test_confirm_set_that_does_not_compose_is_trains_line(key, form, tmp_path_factory):
    """confirm --experiment tiny --set model.c1=4,8 said Hydra's 'Ambiguous value ...; 3. To sweep over it, add
    --multirun to your command line' (confirm takes none), and --set model=eva8_seed 'tiny.yaml sets model.c1,
    which model's option does not have' with no fix: the lines of a composition train's check never reached.
    Now train's line, after '--set OVERRIDE: '; exit 2, nothing written, nothing trained."""
    from unittest import mock

    from conftest import assert_one_line_error, run_inproc, snapshot

    tmp = tmp_path_factory.mktemp("confirm")
    given = form.format(key=key)
    before = snapshot(tmp)
    with mock.patch("mnist_sweep.confirm.run_one", side_effect=AssertionError("trained")):
        proc = run_inproc(["mnist_sweep.confirm", "--experiment", "tiny", "--seeds", "1", "--out", str(tmp / "out"),
                           "--set", given], cwd=tmp)
    assert proc.returncode == 2, proc.stderr
    line = assert_one_line_error(proc, f"error: --set {given}: ")
    assert "--multirun" not in line and "'s option does not have" not in line and "raised while" not in line, line
    assert snapshot(tmp) == before


@settings(max_examples=2, deadline=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(item=st.sampled_from(["{model.c1:abc}", "{model.c1:-5}", "{model.nope:3}", "nope_experiment", "tiny"]))
def test_a_dry_run_refuses_a_warm_start_trial_the_sweep_refuses(item, tmp_path_factory):
    """hydra.sweeper.dry_run=true with hydra.sweeper.enqueue=[{model.c1:abc}] printed its preview and exit 0;
    the sweep itself then refused the queued trial. Both now refuse it in one line, exit 2, nothing written."""
    from conftest import assert_one_line_error, run_inproc, snapshot

    tmp = tmp_path_factory.mktemp("dry")
    before = snapshot(tmp)
    proc = run_inproc(["mnist_sweep.train", "-m", *TINY, f"hydra.sweep.dir={tmp}/s", "hydra.sweeper.dry_run=true",
                       "hydra.sweeper.n_trials=2", f"hydra.sweeper.enqueue=[{item}]"], cwd=tmp)
    assert proc.returncode == 2, proc.stdout[-500:]
    assert_one_line_error(proc, "error: hydra.sweeper.enqueue: ")
    assert snapshot(tmp) == before


@settings(max_examples=4, deadline=None, derandomize=True, phases=[Phase.generate])
@given(key=st.sampled_from(LISTS), written=st.dictionaries(st.sampled_from(["a", "c1"]), st.integers(0, 9), max_size=2).map(
    lambda d: "{" + ",".join(f"{k}:{v}" for k, v in d.items()) + "}"))
def test_a_mapping_given_for_a_list_on_the_command_line_is_not_told_to_wrap_it(key, written):
    """model.kernels={} said 'give it in brackets, e.g. model.kernels=[{}]', a list of one mapping, refused next
    ('has 1 entry but model.widths has 7'). A section's list is told to list its items."""
    line = check_command_line([*TINY, f"{key}={written}"]).error
    assert line and line.startswith(f"{key}: takes a list, got {written}; "), line
    assert "[{" not in line, line


def _group_keys() -> list[str]:
    """hydra.sweeper.sampler.KEY and hydra.sweeper.pruner.KEY of every sampler's and pruner's option, typed."""
    import dataclasses

    from mnist_sweep.config import sweeper

    return sorted({f"hydra.sweeper.{'sampler' if name.endswith('SamplerConf') else 'pruner'}.{f.name}"
                   for name, c in vars(sweeper).items() if name.endswith(("SamplerConf", "PrunerConf"))
                   and dataclasses.is_dataclass(c) for f in dataclasses.fields(c) if f.type in (int, float, bool)})


@settings(max_examples=10, deadline=None, derandomize=True, phases=[Phase.generate])
@given(key=st.sampled_from(_group_keys()), why=st.sampled_from(["Value 'nan' of type 'float' could not be converted to "
                                                                "Integer", "Value 'x' is not a valid bool (type str)"]))
def test_a_sampler_or_pruner_key_of_the_wrong_kind_says_what_to_write(key, why):
    """hydra.sweeper.sampler.seed=nan said 'Value 'nan' of type 'float' could not be converted to Integer' and
    no more: the sampler's and pruner's options were not searched for the key's kind."""
    from mnist_sweep.config.lines import type_fix

    assert type_fix(key, why).startswith("; write "), key


@settings(max_examples=2, deadline=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(alphabet="éü☃", min_size=130, max_size=200))
def test_a_study_name_too_long_for_its_sweep_dir_names_the_study_name(name, tmp_path_factory):
    """hydra.sweeper.study_name of 150 'é' (200 characters at most, but 300 bytes) said 'hydra.sweep.dir:
    .../outputs/sweeps/ééé...: File name too long; choose a shorter path', a key the user had not set."""
    from conftest import assert_one_line_error, run_inproc, snapshot

    tmp = tmp_path_factory.mktemp("name")
    before = snapshot(tmp)
    proc = run_inproc(["mnist_sweep.train", "-m", *TINY, f"hydra.sweeper.study_name='{name}'", "hydra.sweeper.n_trials=1",
                       "hydra.sweeper.params=null", "optimizer.weight_decay=choice(0.0,0.0001)"], cwd=tmp)
    assert_one_line_error(proc, "error: hydra.sweeper.study_name: ", "bytes", "give a shorter name")
    assert proc.returncode == 2 and snapshot(tmp) == before
