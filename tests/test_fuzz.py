"""Property-based fuzzing (hypothesis) of every config key, sweeper key and CLI flag.

Properties, for any generated value:
- a refusal is one line naming a key (or the flag), exit 2, no traceback;
- nothing is deleted and nothing new is written;
- a value the schema accepts does not crash anything downstream of validation (model, scheduler).

The bulk runs in-process and never trains: configs through ``schema.validate`` (and, for the
train command line, ``cli.override_error``/``cli.main``, which refuse before Hydra starts), the
other entry points through their ``main(argv)``. Deterministic: derandomize=True.
"""
from __future__ import annotations

import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from conftest import TINY, make_cfg, make_cfg_hydra, run_inproc, snapshot
from mnist_sweep import PROJECT_ROOT, overrides
from mnist_sweep.config.settings import validate
from mnist_sweep.config.space import check_distribution
from mnist_sweep.config.table import error_table
from mnist_sweep.spec import HARD_PARAM_LIMIT
from mnist_sweep.errors import MnistSweepError, SweepError

FAST = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
KEYS = [k for k, _, _ in error_table() if not k.startswith("hydra.")]
SWEEPER_KEYS = [k.split(".", 2)[2] for k, _, _ in error_table() if k.startswith("hydra.sweeper.")]
ALL_KEYS = set(KEYS) | {f"hydra.sweeper.{k}" for k in SWEEPER_KEYS} | {
    "model.bias", "optimizer.nesterov", "trainer.save_checkpoint", "trainer.channels_last", "trainer.objectives",
    "model.name"}
KEY_IN_LINE = re.compile(r"(?<![\w.])(?P<key>(?:model|optimizer|scheduler|data|trainer|hydra)\.[a-z_0-9.]+)")

scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 2, -1, 2**31, 2**63, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 0.5, 1.0, -0.0, 1e-300, 1e300]),
    st.text(max_size=12), st.sampled_from(["", "abc", "auto", "val", "cuda:0", "plain", "ünïcødé", "☃", "\x00"]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=8), st.dictionaries(st.text(max_size=4), scalars, max_size=2))


def _base() -> dict:
    return OmegaConf.to_container(make_cfg(*TINY), resolve=True)


BASE = None


def _set(d: dict, dotted: str, value) -> None:
    *path, last = dotted.split(".")
    for p in path:
        d = d[p]
    d[last] = value


def assert_names_a_key(line: str, fuzzed: str) -> None:
    """One line naming the fuzzed key or another key of the schema (a cross-key rule)."""
    assert "\n" not in line and "Traceback" not in line, line
    named = [m["key"].rstrip(".") for m in KEY_IN_LINE.finditer(line)]
    assert fuzzed in named or any(k in ALL_KEYS for k in named), f"no key named in: {line!r}"


# --------------------------------------------------------------------------- config keys
@pytest.mark.parametrize("key", KEYS)
@FAST
@given(value=values)
def test_any_value_of_any_key_is_valid_or_one_line_naming_a_key(key, value):
    """validate() either returns settings that build a model, or one ConfigError line naming a key."""
    global BASE
    if BASE is None:
        BASE = _base()
    import copy

    d = copy.deepcopy(BASE)
    _set(d, key, value)
    try:
        cfg = OmegaConf.create(d)
    except OmegaConfBaseException:
        return  # not even a config (e.g. a non-string dict key): nothing a user can type
    try:
        st_ = validate(cfg)
    except MnistSweepError as e:
        assert_names_a_key(str(e), key)
        return
    # Accepted: every number is finite and in range, and the model really has the counted params.
    from mnist_sweep import model as mmodel

    assert st_.n_params <= HARD_PARAM_LIMIT
    assert 2 <= st_.data.batch_size <= st_.data.n_train
    assert all(math.isfinite(v) for v in st_.optimizer.kwargs.values() if isinstance(v, float))
    if key.startswith("model.") and st_.n_params < 200_000:
        assert mmodel.count_params(mmodel.build(st_.model)) == st_.n_params


def _hydra_literal(value) -> str:
    """``value`` in Hydra's override syntax."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value == math.inf else "-inf" if value == -math.inf else repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "[" + ",".join(_hydra_literal(v) for v in value) + "]"
    return "{" + ",".join(f"{_hydra_literal(k)}:{_hydra_literal(v)}" for k, v in value.items()) + "}"


@pytest.mark.slow
@settings(max_examples=8, deadline=None, derandomize=True)  # each composes the config once or twice
@given(key=st.sampled_from(KEYS + ["model.bias", "trainer.save_checkpoint", "optimizer.nesterov"]), value=values)
def test_any_value_on_the_train_command_line_is_checked_before_hydra_starts(key, value, tmp_path_factory):
    """The train CLI's pre-check (Hydra composition + schema) gives None (a valid run) or one line;
    a refused command line run through cli.main writes nothing and exits 2."""
    argv = [*TINY, f"{key}={_hydra_literal(value)}"]
    line = overrides.override_error(argv)
    if line is None:
        return  # valid: the run would train (not here)
    assert "\n" not in line and "Traceback" not in line, line
    tmp = tmp_path_factory.mktemp("run")
    before = snapshot(tmp)
    proc = run_inproc(["mnist_sweep.train", *argv, f"hydra.run.dir={tmp}/run"], cwd=tmp)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len([x for x in proc.stderr.splitlines() if x.strip()]) == 1, proc.stderr
    assert snapshot(tmp) == before


# --------------------------------------------------------------------------- sweeper keys
SWEEPER_BASE = None


@pytest.mark.parametrize("key", SWEEPER_KEYS)
@FAST
@given(value=values)
def test_any_sweeper_value_is_valid_or_one_line_naming_it(key, value):
    from mnist_sweep.config.sweeper_checks import check_sweeper

    global SWEEPER_BASE
    if SWEEPER_BASE is None:
        SWEEPER_BASE = make_cfg_hydra()
    node = SWEEPER_BASE.hydra.sweeper.copy()
    try:
        node[key] = value  # Hydra's structured config refuses a wrong type here
    except OmegaConfBaseException as e:
        assert getattr(e, "full_key", None) == key or key in str(e), str(e)
        return
    try:
        check_sweeper(node)
    except SweepError as e:
        assert str(e).startswith(f"hydra.sweeper.{key}: ") or str(e).startswith("hydra.sweeper."), str(e)
        assert "\n" not in str(e)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(low=st.floats(-10, 100, allow_nan=False), high=st.floats(-10, 100, allow_nan=False),
       kind=st.sampled_from(["interval", "log", "range", "choice"]), key=st.sampled_from(KEYS))
def test_any_search_space_is_checked_against_its_key(low, high, kind, key):
    """check_distribution refuses with one line or accepts; an accepted space's bounds fit the key."""
    from optuna import distributions as od

    global BASE
    if BASE is None:
        BASE = _base()
    lo, hi = min(low, high), max(low, high)
    try:
        dist = {
            "interval": lambda: od.FloatDistribution(lo, hi),
            "log": lambda: od.FloatDistribution(lo, hi, log=True),
            "range": lambda: od.IntDistribution(math.ceil(lo), max(math.ceil(lo), math.floor(hi))),
            "choice": lambda: od.CategoricalDistribution([lo, hi, "x"]),
        }[kind]()
    except ValueError:
        return  # optuna itself refuses it; the sweeper reports that in one line
    try:
        check_distribution(key, dist, OmegaConf.create(BASE))
    except SweepError as e:
        assert str(e).startswith(f"hydra.sweeper.params.{key}: ") and "\n" not in str(e), str(e)


# --------------------------------------------------------------------------- other entry points
flag_values = st.one_of(
    st.integers(-(2**40), 2**40).map(str), st.text(max_size=16).filter(lambda s: "\x00" not in s),
    st.sampled_from(["", "0", "-1", "1e9", "nan", "ünï", "../..", ".", "/", "x.csv", "--top", "sqlite:///none.db",
                     "postgresql://u:pw@h/db", "postgresql://u@h/db?password=pw"]),
)
# (entry point, fixed arguments that make any run end before work, fuzzed flags)
ENTRY_POINTS = [
    ("mnist_sweep.leaderboard", ["missing_dir"], ["--top", "--out", "--storage", "--study"]),
    ("mnist_sweep.leaderboard", [], ["--storage", "--study"]),
    ("mnist_sweep.reproduce", ["missing.csv"], ["--rank", "--trial", "--out"]),
    ("mnist_sweep.confirm", ["missing.csv"], ["--top", "--seeds", "--parallel", "--out", "--set"]),
    ("mnist_sweep.confirm", [], ["--experiment"]),
    ("mnist_sweep.report", [], ["", "--storage", "--study"]),
    ("mnist_sweep.data", ["verify"], ["--root"]),
    ("mnist_sweep.data", [], [""]),
    ("mnist_sweep.dashboard", ["missing_dir"], ["--port"]),
    ("mnist_sweep.dashboard", [], [""]),
    ("mnist_sweep.export", ["missing_dir"], ["--rank", "--trial", "--out", "--onnx"]),
    ("mnist_sweep.predict", ["missing_run"], ["--invert", ""]),
]


class _Served(Exception):
    """The dashboard would have started serving."""


@pytest.mark.parametrize("module, fixed, flags", ENTRY_POINTS, ids=[f"{m}:{' '.join(f)}" for m, f, _ in ENTRY_POINTS])
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_flag_value_is_one_line_and_writes_nothing(module, fixed, flags, data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "run").mkdir()
    (tmp / "run" / "result.json").write_text("{}")
    flag = data.draw(st.sampled_from(flags))
    value = data.draw(flag_values)
    if module == "mnist_sweep.data" and not fixed and value == "fetch":
        value = "fetch-not"  # `fetch` with no root would download the data
    if flag == "--experiment" and value in {p.stem for p in (PROJECT_ROOT / "conf" / "experiment").glob("*.yaml")}:
        value += "_x"  # a real experiment would train
    argv = [*fixed, *([flag] if flag else []), value]
    before = snapshot(tmp)
    from unittest import mock

    def served(*args, **kwargs):  # a value the dashboard accepts (an in-memory URL): valid, nothing to refuse
        raise _Served

    with mock.patch("mnist_sweep.dashboard.serve", served):
        proc = run_inproc([module, *argv], cwd=tmp, env={"MNIST_SWEEP_DATA": str(tmp / "no_data")})
    if "_Served" in proc.stderr:
        return
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert proc.returncode != 0 and len(lines) == 1 and lines[0].startswith("error: "), (argv, proc.stderr)
    assert ":pw@" not in lines[0] and "password=pw" not in lines[0], lines[0]
    assert snapshot(tmp) == before, argv


# --------------------------------------------------------------------------- misspelled keys
def _misspell(key: str, data) -> str:
    """``key`` with one edit in its last part (a dropped, doubled, swapped or replaced letter)."""
    head, _, leaf = key.rpartition(".")
    i = data.draw(st.integers(0, len(leaf) - 1))
    edit = data.draw(st.sampled_from(["drop", "double", "swap", "replace"]))
    if edit == "drop" and len(leaf) > 1:
        leaf = leaf[:i] + leaf[i + 1:]
    elif edit == "swap" and i + 1 < len(leaf):
        leaf = leaf[:i] + leaf[i + 1] + leaf[i] + leaf[i + 2:]
    elif edit == "replace":
        leaf = leaf[:i] + data.draw(st.sampled_from("aeiouxz_")) + leaf[i + 1:]
    else:
        leaf = leaf[:i] + leaf[i] + leaf[i:]
    return f"{head}.{leaf}"


@pytest.mark.slow
@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(sorted(k for k in ALL_KEYS if not k.startswith("hydra."))), sweep=st.booleans(),
       data=st.data())
def test_a_misspelled_key_names_the_real_one_in_runs_and_sweeps(key, sweep, data, tmp_path_factory):
    """A mistyped key, on a run or as a sweep expression, is one ``error:`` line that names the
    typo and suggests real keys; exit 2; nothing written (the sweep dir is not created)."""
    typo = _misspell(key, data)
    if typo in ALL_KEYS or typo == key:
        return
    expr = f"{typo}=choice(1,2)" if sweep else f"{typo}=1"
    argv = ["-m", "hydra.sweeper.n_trials=1", expr] if sweep else [*TINY, expr]
    tmp = tmp_path_factory.mktemp("typo")
    before = snapshot(tmp)
    where = f"hydra.sweep.dir={tmp}/sweep" if sweep else f"hydra.run.dir={tmp}/run"
    proc = run_inproc(["mnist_sweep.train", *argv, where], cwd=tmp)  # the command line checked once, by the CLI
    assert proc.returncode == 2 and proc.stderr.startswith(f"error: {typo}"), proc.stderr
    assert len([x for x in proc.stderr.splitlines() if x.strip()]) == 1, proc.stderr
    assert "did you mean" in proc.stderr and "To append" not in proc.stderr, proc.stderr
    assert snapshot(tmp) == before
