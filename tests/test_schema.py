"""mnist_sweep.schema: types (Hydra refuses while composing), ranges and cross-key rules
(validate), search spaces (check_distribution), CLI flags (check_cli) and the README's table."""
from __future__ import annotations

import re
import warnings
from types import SimpleNamespace

import pytest
from hydra.errors import HydraException
from optuna import distributions as od

from conftest import TINY, make_cfg, make_cfg_hydra
from mnist_sweep import PROJECT_ROOT, schema
from mnist_sweep.cli import composition_error
from mnist_sweep.errors import ConfigError, MnistSweepError, SweepError


def refusal(*overrides: str) -> str | None:
    """The one-line refusal of a command line's config (composition or validate), or None."""
    try:
        cfg = make_cfg(*TINY, *overrides)
    except HydraException as e:
        return composition_error(e)
    try:
        schema.validate(cfg)
    except MnistSweepError as e:
        return str(e)
    return None


BAD_VALUES = [
    ("optimizer.lr=-0.1", "optimizer.lr"),
    ("optimizer.lr=0", "optimizer.lr"),
    ("optimizer.lr=fast", "optimizer.lr"),
    ("optimizer.lr=nan", "optimizer.lr"),
    ("optimizer.lr=inf", "optimizer.lr"),
    ("optimizer.momentum=1.0", "optimizer.momentum"),
    ("optimizer.momentum=-0.1", "optimizer.momentum"),
    ("optimizer.weight_decay=-1", "optimizer.weight_decay"),
    ("model.pool_at=7", "model.pool_at"),
    ("model.pool_at=-1", "model.pool_at"),
    ("model.p1=2", "model.p1"),
    ("model.p6=-1", "model.p6"),
    ("model.p3=one", "model.p3"),
    ("optimizer.name=lion", "optimizer.name"),
    ("optimizer.nesterov=maybe", "optimizer.nesterov"),
    ("scheduler.name=plateau", "scheduler.name"),
    ("scheduler.pct_start=1.5", "scheduler.pct_start"),
    ("scheduler.div_factor=0.5", "scheduler.div_factor"),
    ("data.batch_size=0", "data.batch_size"),
    ("data.batch_size=1", "data.batch_size"),
    ("data.batch_size=100000", "data.batch_size"),
    ("data.batch_size=[64]", "data.batch_size"),
    ("data.val_size=-1", "data.val_size"),
    ("data.val_size=60000", "data.val_size"),
    ("data.train_limit=0", "data.train_limit"),
    ("data.test_limit=10001", "data.test_limit"),
    ("data.split_seed=-1", "data.split_seed"),
    ("data.augment.strength=-1", "data.augment.strength"),
    ("data.augment.strength=11", "data.augment.strength"),
    ("data.augment.rotate_deg=720", "data.augment.rotate_deg"),
    ("data.augment.scale=1", "data.augment.scale"),
    ("trainer.max_epochs=0", "trainer.max_epochs"),
    ("trainer.max_epochs=21", "trainer.max_epochs"),
    ("trainer.device=tpu", "trainer.device"),
    ("trainer.device=gpu:0", "trainer.device"),
    ("trainer.threads=0", "trainer.threads"),
    ("trainer.target_acc=2", "trainer.target_acc"),
    ("trainer.select_on=train", "trainer.select_on"),
    ("trainer.seed=-1", "trainer.seed"),
    ("trainer.seed=4294967296", "trainer.seed"),
    ("trainer.progress=1", "trainer.progress"),
    ("trainer.label_smoothing=1", "trainer.label_smoothing"),
    ("trainer.objectives=[loss]", "trainer.objectives"),
    ("trainer.channels_last=sometimes", "trainer.channels_last"),
    ("model.dropout=1.0", "model.dropout[0]"),
    ("model.block=dense", "model.block[0]"),
    ("model.bias=abc", "model.bias"),
    ("model.c1=0", "model.c1"),
    ("model.c1=1.5", "model.c1"),
    ("model.widths=[]", "model.widths"),
    ("model.widths=[8,x]", "model.widths[1]"),
    ("model.kernels=[3,3]", "model.kernels"),
    ("model.kernels=[3,3,1,3,3,3,2.5]", "model.kernels[6]"),
    ("model.padding=5", "model.padding[0]"),
    ("model.dropout=[0.1,0.1]", "model.dropout"),
    ("model.pool_after=[9]", "model.pool_after"),
    ("model.max_params=0", "model.max_params"),
]


@pytest.mark.parametrize("override, key", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_bad_values_name_their_key(override, key):
    line = refusal(override)
    assert line is not None, override
    assert line.startswith(key), line
    assert "\n" not in line


CROSS_KEY = [
    (["data.train_limit=500", "data.batch_size=501"], "data.batch_size"),
    (["data.val_size=59000", "data.train_limit=1001"], "data.train_limit"),
    (["data.val_size=0"], "trainer.select_on"),
    (["data.val_size=0", "trainer.select_on=test", "trainer.objectives=[val_acc,params]"], "trainer.select_on"),
    (["data.augment.strength=3", "data.augment.translate=0.3"], "data.augment.strength"),
    (["scheduler=cosine", "scheduler.eta_min=0.05"], "scheduler.eta_min"),
    (["optimizer.momentum=0", "optimizer.nesterov=true"], "optimizer.nesterov"),
    (["trainer.max_epochs=30", "trainer.epoch_cap=20"], "trainer.max_epochs"),
    (["model.c1=4000", "model.c2=4000", "model.max_params=null"], "model.widths"),
]


@pytest.mark.parametrize("overrides, key", CROSS_KEY, ids=[" ".join(o) for o, _ in CROSS_KEY])
def test_cross_key_rules(overrides, key):
    line = refusal(*overrides)
    assert line is not None and line.startswith(key), line


@pytest.mark.parametrize("overrides", [
    [], ["model=eva8_seed"], ["optimizer=adam"], ["optimizer=adamw"], ["scheduler=step"], ["scheduler=cosine"],
    ["scheduler=none"], ["+experiment=best_20k"], ["+experiment=tiny"], ["+experiment=eva8_seed"],
    ["hparams_search=pareto"], ["data.train_limit=2", "data.batch_size=2"], ["data.val_size=0", "trainer.select_on=test"],
    ["trainer.max_epochs=30", "trainer.epoch_cap=null"], ["trainer.device=cuda:1"], ["data.augment.strength=0"],
])
def test_shipped_and_small_configs_are_valid(overrides):
    assert refusal(*overrides) is None


def test_validate_returns_frozen_typed_settings():
    st = schema.validate(make_cfg("model=eva8_seed", "optimizer=adam"))
    assert st.n_params == 17_290 and st.optimizer == "adam" and st.optimizer_kwargs["betas"] == (0.9, 0.999)
    assert st.data.rotate_deg == pytest.approx(8.0) and st.trainer.progress == "auto"
    with pytest.raises(AttributeError):
        st.n_params = 1  # type: ignore[misc]


def test_a_saved_config_without_defaults_is_typed_by_validate():
    """A trial's .hydra/config.yaml has no defaults list: validate re-types it against the schema."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.create(OmegaConf.to_container(make_cfg(), resolve=True))
    cfg.model.bias = "abc"
    with pytest.raises(ConfigError, match=r"^model.bias: "):
        schema.validate(cfg)
    cfg.model.bias = False
    cfg.optimizer.extra = 1
    with pytest.raises(ConfigError, match=r"^optimizer.extra: no such key"):
        schema.validate(cfg)


# --------------------------------------------------------------------------- search spaces
warnings.filterwarnings("ignore", category=FutureWarning, module=__name__)  # optuna's deprecated classes, on purpose
GOOD_DISTS = [
    ("model.c1", od.IntUniformDistribution(4, 12)),
    ("model.c1", od.IntDistribution(4, 12)),
    ("model.c1", od.CategoricalDistribution([4, 8])),
    ("optimizer.lr", od.LogUniformDistribution(0.001, 0.3)),
    ("optimizer.lr", od.FloatDistribution(0.001, 0.3, log=True)),
    ("model.dropout", od.UniformDistribution(0.0, 0.15)),
    ("data.batch_size", od.CategoricalDistribution([64, 128])),
    ("data.augment.strength", od.UniformDistribution(0.0, 1.5)),
    ("scheduler.pct_start", od.UniformDistribution(0.1, 0.4)),
    ("data.train_limit", od.CategoricalDistribution([None, 1000])),
    ("+model.new_key", od.UniformDistribution(0, 1)),
]
BAD_DISTS = [
    ("model.c1", od.UniformDistribution(4, 12), "range(4, 13)"),
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
]


@pytest.mark.parametrize("key, dist", GOOD_DISTS, ids=[f"{k}:{d!r}"[:60] for k, d in GOOD_DISTS])
def test_distributions_that_fit_their_key(key, dist):
    schema.check_distribution(key, dist, make_cfg())


@pytest.mark.parametrize("key, dist, needle", BAD_DISTS, ids=[f"{k}:{d!r}"[:60] for k, d, _ in BAD_DISTS])
def test_distributions_that_cannot_fit_their_key(key, dist, needle):
    with pytest.raises(SweepError) as e:
        schema.check_distribution(key, dist, make_cfg())
    assert str(e.value).startswith(f"hydra.sweeper.params.{key}: ") and needle in str(e.value), str(e.value)


# --------------------------------------------------------------------------- sweeper keys
BAD_SWEEPER = [  # (key, value in Hydra's override syntax)
    ("n_trials", "0"), ("n_trials", "-1"), ("n_jobs", "0"), ("n_jobs", "-1"), ("workers", "0"),
    ("max_failure_rate", "-1"), ("max_failure_rate", "1.5"), ("max_rejected", "-1"), ("max_duplicates", "0"),
    ("heartbeat_interval", "-5"), ("heartbeat_interval", "0"), ("grace_period", "5"),
    ("trial_dir", "'t_{foo}'"), ("trial_dir", "fixed"), ("trial_dir", "'a/{number}'"), ("trial_dir", "'t_{number:q}'"),
    ("trial_dir", "'{}'"), ("study_name", "'a/b'"),
    ("storage", "'postgresql://u@h/db?password=s3cret'"), ("storage", "'postgresql://u:s3cret@h/db'"),
]


@pytest.mark.parametrize("key, value", BAD_SWEEPER, ids=[f"{k}={v}" for k, v in BAD_SWEEPER])
def test_bad_sweeper_keys_name_their_key(key, value):
    from hydra_plugins.mnist_sweep_sweeper.checks import check_sweeper

    cfg = make_cfg_hydra(f"hydra.sweeper.{key}={value}")
    with pytest.raises(SweepError) as e:
        check_sweeper(cfg)
    assert str(e.value).startswith(f"hydra.sweeper.{key}: ") and "s3cret" not in str(e.value), str(e.value)


def test_shipped_sweeper_configs_pass():
    from hydra_plugins.mnist_sweep_sweeper.checks import check_sweeper

    for search in ("default", "best_20k", "tiny", "pareto"):
        check_sweeper(make_cfg_hydra(f"hparams_search={search}"))
    check_sweeper(make_cfg_hydra("hydra.sweeper.heartbeat_interval=60"))


def test_a_sweeper_type_error_is_refused_by_hydra():
    with pytest.raises(HydraException) as e:
        make_cfg_hydra("hydra.sweeper.n_trials=many")
    assert composition_error(e.value).startswith("hydra.sweeper.n_trials: ")


# --------------------------------------------------------------------------- CLI flags
def test_cli_flags_are_checked_against_their_schema(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").write_text("epoch\n1\n")
    ns = SimpleNamespace
    assert "--top" in schema.check_cli("python -m mnist_sweep.leaderboard", ns(top=0))
    assert "holds a run" in schema.check_cli("python -m mnist_sweep.reproduce", ns(out=str(run)))
    assert "holds a run" in schema.check_cli("python -m mnist_sweep.confirm", ns(out=str(run)))
    assert schema.check_cli("python -m mnist_sweep.confirm", ns(out=str(tmp_path / "new"))) is None
    missing = f"sqlite:///{tmp_path}/none.db"
    assert "no such SQLite file" in schema.check_cli("python -m mnist_sweep.report", ns(storage=missing))
    assert not (tmp_path / "none.db").exists()
    assert "clear text" in schema.check_cli("python -m mnist_sweep.leaderboard", ns(storage="postgresql://u:pw@h/d"))


def test_leaderboard_from_the_environment_never_creates_a_database(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_SWEEP_STORAGE", f"sqlite:///{tmp_path}/env.db")
    line = schema.check_cli("python -m mnist_sweep.leaderboard", SimpleNamespace(storage=None, study="s"))
    assert line.startswith("--storage (default $MNIST_SWEEP_STORAGE): ") and "no such SQLite file" in line
    monkeypatch.setenv("MNIST_SWEEP_STORAGE", "postgresql://u:pw@h/d")  # a password in the environment is fine
    assert schema.check_cli("python -m mnist_sweep.leaderboard", SimpleNamespace(storage=None, study="s")) is None
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- README
def test_readme_error_table_matches_the_schema():
    """The README's table of keys and valid values is the schema's (schema.error_table)."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("<!-- schema-table -->")[1]
    rows = re.findall(r"^\| `([^`]+)` \| (.+?) \| (.+?) \|$", section, re.M)
    assert rows == schema.error_table()
