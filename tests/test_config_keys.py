"""mnist_sweep.config.keys: a key held only by another option of its group is named as such, for
every key of every group option; a suggestion is never the key that failed, nor one the selected
option lacks (unless it says which option has it). The CLI path: tests/test_cli.py."""
from __future__ import annotations

import pytest

from mnist_sweep.config.keys import all_keys, did_you_mean, nearest, option_keys, unknown_key
from mnist_sweep.config.sections import SCHEMAS

# (section, the option selected, a key only other options have)
MISPLACED = sorted((section, chosen, key) for section in SCHEMAS for chosen, own in option_keys(section).items()
                   for other in option_keys(section).values() for key in other - own)


def test_there_are_misplaced_keys_to_check():
    assert ("scheduler", "onecycle", "scheduler.gamma") in MISPLACED
    assert ("optimizer", "sgd", "optimizer.betas") in MISPLACED
    assert ("optimizer", "adam", "optimizer.nesterov") in MISPLACED


@pytest.mark.parametrize("section, chosen, key", MISPLACED, ids=[f"{c}:{k}" for _, c, k in MISPLACED])
def test_a_key_of_another_option_names_that_option(section, chosen, key):
    line = unknown_key(key, {section: chosen})
    holders = [o for o, keys in option_keys(section).items() if key in keys]
    assert line.startswith(f"{key}: not a key of {section}={chosen}; it is a key of {section}={holders[0]}"), line
    assert all(f"{section}={o}" in line for o in holders) and "did you mean" not in line and "+" not in line


@pytest.mark.parametrize("section, chosen, key", MISPLACED, ids=[f"{c}:{k}" for _, c, k in MISPLACED])
def test_a_suggestion_is_never_the_key_itself_nor_invalid_unsaid(section, chosen, key):
    """A misspelt key, a misplaced leaf: what is suggested exists under the selected option, or
    says which option has it."""
    leaf = key.rsplit(".", 1)[1]
    choices = {s: next(iter(option_keys(s))) for s in SCHEMAS} | {section: chosen}
    for wrong in (key, f"{key}x", f"trainer.{leaf}" if section != "trainer" else f"model.{leaf}"):
        hint = did_you_mean(wrong, choices)
        names = hint.removeprefix("; did you mean ").removesuffix("?").split(", ") if hint else []
        for name in names:
            suggested = name.split(" ")[0]
            assert suggested != wrong
            owner = suggested.split(".", 1)[0]
            if owner in SCHEMAS and suggested not in option_keys(owner)[choices[owner]]:
                assert "(a key of " in name, (wrong, hint)


def test_a_key_no_option_has_gets_the_nearest_valid_key():
    choices = {"model": "cnn", "optimizer": "sgd", "scheduler": "onecycle", "data": "mnist", "trainer": "default"}
    assert unknown_key("model.dropuot", choices) == "model.dropuot: no such key; did you mean model.dropout?"
    assert unknown_key("model.cl", choices) == "model.cl: no such key; did you mean model.c1?"  # it was c6, c5, c4
    assert unknown_key("model.c", choices) == "model.c: no such key; did you mean model.c1, model.c2, model.c3?"
    assert unknown_key("optimizer.Ir", choices) == "optimizer.Ir: no such key; did you mean optimizer.lr?"
    assert unknown_key("scheduler.gama", choices) == (
        "scheduler.gama: no such key; did you mean scheduler.gamma (a key of scheduler=step: add scheduler=step)?")
    assert unknown_key("trainer.gamma", choices) == (
        "trainer.gamma: no such key; did you mean scheduler.gamma (a key of scheduler=step: add scheduler=step)?")
    assert unknown_key("gama", choices).endswith(  # a bare near leaf of another option's key: it said nothing
        "; did you mean scheduler.gamma (a key of scheduler=step: add scheduler=step)?")
    assert unknown_key("foo.bar", choices) == ("foo.bar: no such key; foo is no section of the config (its sections: "
                                               "model, optimizer, scheduler, data, trainer)")  # +foo.bar is refused too


def test_an_option_not_in_conf_is_suggested_every_options_keys():
    """A saved config's own model name (not a conf/model option): its keys still get suggestions."""
    assert did_you_mean("model.dropuot", {"model": "custom"}) == "; did you mean model.dropout?"
    assert did_you_mean("model.dropuot", None) == "; did you mean model.dropout?"


@pytest.mark.parametrize("key, near", [
    ("hydra.run.dirr", "hydra.run.dir"), ("hydra.job.chdri", "hydra.job.chdir"),
    ("hydra.sweeper.sampler.sed", "hydra.sweeper.sampler.seed"),
    ("hydra.sweeper.pruner.n_startup_trial", "hydra.sweeper.pruner.n_startup_trials"),
])
def test_a_mistyped_hydra_key_gets_the_nearest_and_no_advice_to_add_it(key, near):
    """hydra.run.dirr said 'no such key (a key of your own needs +hydra.run.dirr=VALUE)': no near key,
    and advice Hydra's schema (and the sweeper, for hydra.sweeper.*) refuses."""
    line = unknown_key(key)
    assert line.startswith(f"{key}: no such key; did you mean {near}") and "+" not in line, line


@pytest.mark.parametrize("key, near", [
    ("epochs", "trainer.max_epochs"), ("max_epoch", "trainer.max_epochs"), ("lr", "optimizer.lr"),
    ("n_trials", "hydra.sweeper.n_trials"), ("foo", None), ("batch", None),
])
def test_a_top_level_key_that_is_a_real_keys_last_part_names_that_key(key, near):
    """epochs=3 (or max_epoch=3) got no suggestion, though trainer.epochs got trainer.max_epochs: a key
    with no section is matched on the last part of every key, the same or near (not data.root for foo)."""
    choices = {"model": "cnn", "optimizer": "sgd", "scheduler": "onecycle", "data": "mnist", "trainer": "default"}
    line = unknown_key(key, choices)
    assert line.startswith(f"{key}: no such key; {key} is no section of the config (its sections: "), line
    assert line.endswith(f"; did you mean {near}?" if near else "trainer)"), line


def test_a_key_near_none_lists_the_keys_where_it_was_put():
    """data.subset (another tool's word for data.train_limit), optimizer.learning_rate, trainer.gpus:
    'no such key' and nothing else, naming no key to use; now the keys there are under the options
    composed (the nested node's own, data.augment.flip; an option that has none says so)."""
    choices = {"model": "cnn", "optimizer": "sgd", "scheduler": "onecycle", "data": "mnist", "trainer": "default"}
    line = unknown_key("data.shuffle", choices)  # data.subset: did you mean data.train_limit? (tests/test_key_meanings.py)
    assert line.startswith("data.shuffle: no such key; data's keys: augment.rotate_deg, ") and "train_limit" in line, line
    assert line.endswith("val_size (docs/configuration.md says what each does)") and "data.name" not in line, line
    assert unknown_key("optimizer.learning_rate", choices) == (
        "optimizer.learning_rate: no such key; optimizer's keys: lr, momentum, nesterov, weight_decay "
        "(docs/configuration.md says what each does)")  # sgd's: not adam's betas
    assert unknown_key("data.augment.flip", choices).startswith(
        "data.augment.flip: no such key; data.augment's keys: rotate_deg, scale, strength, translate (")
    assert unknown_key("scheduler.foo", {**choices, "scheduler": "none"}) == (
        "scheduler.foo: no such key; scheduler=none has no keys")
    assert unknown_key("model.dropuot", choices) == "model.dropuot: no such key; did you mean model.dropout?"  # as before


def mistyped(key: str) -> list[tuple[str, str]]:
    """(a slip of ``key``'s last part, the key a reader means by it): a look-alike (l for 1, I for l, 0 for o),
    the case, the last letter dropped (meaning the first key, in order, that it is one letter short of)."""
    section, _, leaf = key.rpartition(".")
    slips = [(leaf.replace(a, b, 1), key) for a, b in (("1", "l"), ("l", "1"), ("l", "I"), ("o", "0")) if a in leaf]
    slips += [(leaf.upper(), key), (leaf.capitalize(), key)]
    short = [k for k in all_keys() if k.rpartition(".")[0] == section and k.rpartition(".")[2][:-1] == leaf[:-1]]
    slips += [(leaf[:-1], short[0])] if len(leaf) > 1 else []
    return [(f"{section}.{slip}", meant) for slip, meant in slips if f"{section}.{slip}" not in all_keys()]


@pytest.mark.parametrize("key", [k for k in all_keys() if k.split(".")[0] in SCHEMAS])  # hydra.*'s: 0.1 s each
def test_a_one_character_slip_suggests_the_key_meant_first(key):
    """model.cl said 'did you mean model.c6, model.c5, model.c4?' and model.c the same (difflib's ties go in
    reverse order), model.C1 'model.t1, model.p1, model.k1'; the key meant comes first now, alone where only
    case or a look-alike differs (model.cl: model.c1)."""
    for slip, meant in mistyped(key):
        assert nearest(slip)[:1] == [meant], (slip, nearest(slip))
