"""mnist_sweep.config.settings: types (Hydra refuses while composing), ranges and cross-key rules
(validate) into frozen, typed Settings."""
from __future__ import annotations

import pytest
from hydra.errors import HydraException

from conftest import TINY, make_cfg
from mnist_sweep.config.settings import validate
from mnist_sweep.errors import ConfigError, MnistSweepError
from mnist_sweep.overrides import composition_error


def refusal(*overrides: str) -> str | None:
    """The one-line refusal of a command line's config (composition or validate), or None."""
    try:
        cfg = make_cfg(*TINY, *overrides)
    except HydraException as e:
        return composition_error(e)
    try:
        validate(cfg)
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
    ("trainer.objectives=[val_acc,params,val_acc]", "trainer.objectives: val_acc is listed twice"),  # was accepted
    ("trainer.channels_last=sometimes", "trainer.channels_last"),
    ("model.dropout=1.0", "model.dropout: must be in [0, 1), got 1.0; e.g. model.dropout=0.05"),  # was model.dropout[0], no fix
    ("model.block=dense", "model.block: unknown block type 'dense'; valid: plain, separable, se, residual; e.g. model.block=plain"),
    ("model.bias=abc", "model.bias"),
    ("model.c1=0", "model.c1"),
    ("model.c1=1.5", "model.c1"),
    ("model.widths=[]", "model.widths"),
    ("model.widths=[8,x]", "model.widths[1]"),
    ("model.kernels=[3,3]", "model.kernels"),
    ("model.kernels=[3,3,1,3,3,3,2.5]", "model.kernels[6]"),
    ("model.padding=5", "model.padding: must be in"),
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
    (["data.val_size=0", "trainer.select_on=test", "trainer.objectives=[val_acc,params]"], "trainer.objectives"),
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
    [], ["model=eva8_seed"], ["optimizer=adam"], ["optimizer=adamw"], ["scheduler=cosine"],
    ["scheduler=step", "trainer.max_epochs=2", "scheduler.step_size=1"],  # a step schedule that steps
    ["scheduler=none"], ["+experiment=best_20k"], ["+experiment=tiny"], ["+experiment=eva8_seed"],
    ["hparams_search=pareto"], ["data.train_limit=2", "data.batch_size=2"], ["data.val_size=0", "trainer.select_on=test"],
    ["trainer.max_epochs=30", "trainer.epoch_cap=null"], ["trainer.device=cuda:1"], ["data.augment.strength=0"],
])
def test_shipped_and_small_configs_are_valid(overrides):
    assert refusal(*overrides) is None


def test_validate_returns_frozen_typed_settings():
    st = validate(make_cfg("model=eva8_seed", "optimizer=adam"))
    assert st.n_params == 17_290 and st.optimizer.name == "adam" and st.optimizer.kwargs["betas"] == (0.9, 0.999)
    assert st.data.rotate_deg == pytest.approx(8.0) and st.trainer.progress is None
    assert validate(make_cfg("trainer.progress=true")).trainer.progress is True  # a bool, not the string "True"
    with pytest.raises(AttributeError):
        st.n_params = 1  # type: ignore[misc]


def test_a_saved_config_without_defaults_is_typed_by_validate():
    """A trial's .hydra/config.yaml has no defaults list: validate re-types it against the schema."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.create(OmegaConf.to_container(make_cfg(), resolve=True))
    cfg.model.bias = "abc"
    with pytest.raises(ConfigError, match=r"^model.bias: "):
        validate(cfg)
    cfg.model.bias = False
    cfg.optimizer.extra = 1
    with pytest.raises(ConfigError, match=r"^optimizer.extra: no such key"):
        validate(cfg)


@pytest.mark.parametrize("overrides, fix, not_said", [
    (["data.val_size=59990", "data.train_limit=null"], "lower it, or data.val_size (59,990 of the 60,000", "train_limit"),
    (["data.val_size=59500", "data.train_limit=500", "data.batch_size=600"], "lower it, or data.val_size", "train_limit"),
    (["data.batch_size=600"], "lower it, or raise data.train_limit (at most 59744)", "val_size"),
])
def test_a_batch_larger_than_the_training_images_names_the_key_that_limits_them(overrides, fix, not_said):
    """It said "raise data.train_limit" even when the limit was null or already all there is."""
    line = refusal(*overrides)
    assert line is not None and line.startswith("data.batch_size: must be in [2, ") and fix in line, line
    assert not_said not in line.split(";", 1)[1], line


@pytest.mark.parametrize("overrides", [["model=eva8_seed", "model.widths=[8,0]"], ["model.widths=[8,0]"],
                                       ["model=eva8_seed", "model.widths=[0,8,8,8,8,8]"]])
def test_a_width_below_one_is_named_before_the_per_block_counts(overrides):
    """widths=[8,0] named the kernels count (6 entries against widths' 2), not widths[1]=0."""
    line = refusal(*overrides)
    i = overrides[-1].split("=", 1)[1].strip("[]").split(",").index("0")
    assert line is not None and line.startswith(f"model.widths[{i}]: must be a positive channel count, got 0; "), line


def test_an_ema_decay_of_zero_is_off_like_null():
    """One meaning, one value: a sweep's choice(0.0, 0.999) says off as 0.0, and a warm start from an
    experiment that leaves it null compares Settings to find that 0.0 runs the same."""
    off = validate(make_cfg(*TINY))
    assert validate(make_cfg(*TINY, "trainer.ema_decay=0")) == off and off.trainer.ema_decay is None
    assert validate(make_cfg(*TINY, "trainer.ema_decay=0.9")).trainer.ema_decay == 0.9


@pytest.mark.parametrize("key", ["model.c1", "model.k1", "model.p3", "model.pool_at"])
def test_a_saved_configs_bad_value_is_named_by_its_key_not_the_list_that_interpolates_it(key):
    """A trial's .hydra/config.yaml (no schema: validate re-types it) holds model.widths: [${model.c1}, ...];
    a bad model.c1 used to be reported as model.widths[0]."""
    from omegaconf import OmegaConf

    saved = OmegaConf.create(OmegaConf.to_container(make_cfg(*TINY), resolve=False))
    OmegaConf.update(saved, key, "abc")
    with pytest.raises(ConfigError, match=rf"^{key}: Value 'abc'"):
        validate(saved)


RESIDUAL_4 = "model.block=[plain,plain,plain,plain,residual,plain,plain]"  # block 4: model.c4, model.p4


@pytest.mark.parametrize("overrides, named, fix", [
    ([RESIDUAL_4, "model.c4=20", "model.p4=1"], "model.block[4]", "set model.c4=16"),
    ([RESIDUAL_4, "model.c4=16", "model.p4=0"], "model.block[4]", "set model.p4=1"),
    ([RESIDUAL_4, "model.c4=20", "model.p4=0"], "model.block[4]", "set model.c4=16 and model.p4=1"),
    (["model=eva8_seed", "model.block=[plain,plain,plain,residual,plain,plain]", "model.padding=1"],
     "model.block[3]", "set model.widths[3]=32"),  # eva8_seed's widths are a list the user writes
])
def test_a_model_error_names_the_key_a_user_sets_not_the_list_that_interpolates_it(overrides, named, fix):
    """model=cnn builds widths, padding and kernels from c1..c6, p1..p6, k1: a residual that cannot fit
    said 'set model.widths[4]=16', a key no config of that family sets; the fix names model.c4."""
    line = refusal(*overrides)
    assert line is not None and line.startswith(f"{named}: ") and fix in line, line
    if "model=eva8_seed" not in overrides:
        assert not any(f"model.{k}[" in line for k in ("widths", "padding", "kernels")), line


def test_fast_dropout_is_on_in_conf_and_off_for_a_saved_config_without_the_key():
    """A run saved before trainer.fast_dropout drew torch's dropout masks: reproduced from its saved
    config, it must draw them again (identical metrics), so the schema's default is false."""
    from omegaconf import OmegaConf

    assert validate(make_cfg(*TINY)).trainer.fast_dropout is True
    assert validate(make_cfg(*TINY, "+experiment=best_20k")).trainer.fast_dropout is False  # as confirmed
    saved = OmegaConf.create(OmegaConf.to_container(make_cfg(*TINY), resolve=False))
    del saved.trainer["fast_dropout"]
    assert validate(saved).trainer.fast_dropout is False


@pytest.mark.parametrize("overrides, fix", [
    (["trainer.max_epochs="], "; write an integer, e.g. trainer.max_epochs=20"),
    (["data.batch_size=1.5"], "; write an integer, e.g. data.batch_size=128"),
    (["model.bias=abc"], "; write true or false, e.g. model.bias=false"),
    (["scheduler=step", "scheduler.gamma=x"], "; write a number, e.g. scheduler.gamma=0.1"),
    (["optimizer.lr=fast"], "; write a number"),  # no default in its schema: no example
])
def test_a_value_of_the_wrong_type_says_how_to_write_it(overrides, fix):
    """OmegaConf says only what it could not convert ('Value '' of type 'str' could not be converted
    to Integer'): the line ends with the kind of value the key takes and an example."""
    from mnist_sweep.overrides import check_command_line

    error = check_command_line(overrides).error
    assert error is not None and error.endswith(fix) and error.count("\n") == 0, error


@pytest.mark.parametrize("overrides, line", [
    (["data.train_limit=0"], "data.train_limit: must be in [2, 59744] (60000 - data.val_size=256) or null, got 0; "
                             "give a whole number from 2 to 59744, e.g. data.train_limit=5000"),
    (["data.val_size=58000", "data.train_limit=0"], "data.train_limit: must be in [2, 2000] (60000 - data.val_size=58000) "
                                                    "or null, got 0; give a whole number from 2 to 2000, e.g. data.train_limit=2000"),
    (["data.val_size=10000", "data.train_limit=55000"], "must be in [2, 50000] (60000 - data.val_size=10000) or null, got 55000; "
                                                        "give a whole number from 2 to 50000, e.g. data.train_limit=5000"),
])
def test_a_train_limit_out_of_range_gives_the_limit_data_val_size_leaves(overrides, line):
    """data.train_limit=0 said 'give a whole number from 1 to 60000, e.g. data.train_limit=1' whatever
    data.val_size held back (60000 - val_size is the most), and 55000 over val_size=10000 gave no fix."""
    got = refusal(*overrides)
    assert got is not None and got.endswith(line) and got.startswith("data.train_limit: "), got


@pytest.mark.parametrize("overrides, fix", [
    (["data.val_size=0"], "e.g. data.val_size=10000, or select on the test set: trainer.select_on=test"),
    (["data.val_size=0", "trainer.select_on=test", "trainer.objectives=[val_acc,params]"],
     "trainer.objectives: val_acc needs data.val_size > 0 (the validation images); set data.val_size, e.g. "
     "data.val_size=10000, or drop it: trainer.objectives=[params]"),
    (["data.augment.strength=3", "data.augment.translate=0.3"], "lower the strength to at most 1.66, e.g. "
                                                                "data.augment.strength=1.66"),
    (["scheduler=cosine", "scheduler.eta_min=0.05"], "e.g. scheduler.eta_min=0.0005 (or raise optimizer.lr)"),
    (["optimizer.momentum=0", "optimizer.nesterov=true"], "e.g. optimizer.momentum=0.9, or optimizer.nesterov=false"),
    (["optimizer=adam", "optimizer.betas=[0.9,1.5]"], "; e.g. optimizer.betas=[0.9,0.999]"),
    (["trainer.objectives=[val]"], "; e.g. trainer.objectives=[val_acc,params]"),
    (["data.batch_size=600"], "; e.g. data.batch_size=128"),
])
def test_a_cross_key_refusal_gives_an_example_to_paste(overrides, fix):
    """Each said what was wrong but wrote no value to use (the val_acc objective's even named trainer.select_on)."""
    line = refusal(*overrides)
    assert line is not None and fix in line and "\n" not in line, line


STEP_NEVER = ("scheduler.step_size: {0} is not below trainer.max_epochs={1}, so the step schedule would never lower the "
              "learning rate; {2}, or use scheduler=none for a constant rate")


@pytest.mark.parametrize("overrides, line", [
    (["trainer.max_epochs=6"], STEP_NEVER.format(6, 6, "set scheduler.step_size to at most 5")),
    (["trainer.max_epochs=3", "scheduler.step_size=4"], STEP_NEVER.format(4, 3, "set scheduler.step_size to at most 2")),
    ([], STEP_NEVER.format(6, 1, "train at least 2 epochs (trainer.max_epochs=2 scheduler.step_size=1)")),
    (["trainer.max_epochs=7"], None),
    (["trainer.max_epochs=3", "scheduler.step_size=2"], None),
])
def test_a_step_schedule_that_never_steps_is_refused(overrides, line):
    """StepLR steps after each epoch: with scheduler.step_size >= trainer.max_epochs (the default 6 in
    a run of 6 or fewer) every epoch trained at the starting rate, without a word."""
    assert refusal("scheduler=step", *overrides) == line


def test_a_step_schedule_that_never_steps_exits_the_train_cli_and_rejects_a_sweep_candidate(tmp_path):
    """The same line from the train command (exit 2, nothing written) and, through the sweeper's
    precheck, as a candidate's rejection."""
    import optuna

    from conftest import assert_one_line_error, run_inproc
    from hydra_plugins.mnist_sweep_sweeper._study import reject
    from mnist_sweep.training import precheck

    line = STEP_NEVER.format(6, 3, "set scheduler.step_size to at most 2")
    proc = run_inproc(["mnist_sweep.train", *TINY, "scheduler=step", "trainer.max_epochs=3",
                       f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert assert_one_line_error(proc) == f"error: {line}" and proc.returncode == 2 and not any(tmp_path.iterdir())
    study = optuna.create_study()
    assert reject(study, study.ask(), precheck, lambda: make_cfg(*TINY, "scheduler=step", "trainer.max_epochs=3"))
    assert study.trials[0].user_attrs["error"] == line


def test_a_section_typed_before_is_checked_again_and_refused_alike(monkeypatch):
    """validate keeps each section it typed (a sweep's candidates share most of theirs, and each
    merge with the schema took milliseconds, 50 candidates a dry run): a kept section is not merged
    again, yet its ranges and cross-key rules still run, a refused one is refused with the same line
    each time, and each call gets typed objects of its own."""
    from omegaconf import OmegaConf

    from mnist_sweep.config import settings

    plain = OmegaConf.to_container(make_cfg(*TINY), resolve=True)
    assert validate(OmegaConf.create(plain)) == validate(OmegaConf.create(plain))
    merges, merge = [], OmegaConf.merge
    monkeypatch.setattr(OmegaConf, "merge", staticmethod(lambda *a, **k: merges.append(a) or merge(*a, **k)))
    validate(OmegaConf.create(plain))
    assert merges == []  # every section kept
    validate(OmegaConf.create({**plain, "model": {**plain["model"], "c3": 24}}))
    assert len(merges) == 1  # the model's, which changed
    for section, key, value, line in [("optimizer", "lr", -0.1, r"^optimizer\.lr: "),  # typed, then out of range
                                      ("model", "bias", "abc", r"^model\.bias: "),  # not typed
                                      ("data", "batch_size", 600, r"^data\.batch_size: ")]:  # typed, then cross-key
        bad = {**plain, section: {**plain[section], key: value}}
        lines = []
        for _ in range(2):
            with pytest.raises(ConfigError, match=line) as e:
                validate(OmegaConf.create(bad))
            lines.append(str(e.value))
        assert lines[0] == lines[1]
    cfg = OmegaConf.create({**plain, "data": {**plain["data"], "split_seed": 4321}})  # typed the first time here
    for _ in range(2):
        typed = settings._typed("data", cfg.data)
        assert typed.augment.strength == plain["data"]["augment"]["strength"]
        typed.augment.strength = 99.0  # a caller's change stays in its copy
