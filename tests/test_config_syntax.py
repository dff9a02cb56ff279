"""The train command line written in another tool's habits (mnist_sweep/config/syntax.py), checked in
process before Hydra starts: nothing is composed, trained or written."""
from __future__ import annotations

import pytest

from conftest import TINY
from mnist_sweep.overrides import check_command_line

HELP = " (see python -m mnist_sweep.train --help)"
DASHED = [  # (a setting given as a --flag, the override it stands for)
    (["--epochs", "5"], "--epochs 5", "trainer.max_epochs=5"),
    (["--epochs=5"], "--epochs=5", "trainer.max_epochs=5"),
    (["--lr", "0.1"], "--lr 0.1", "optimizer.lr=0.1"),
    (["--batch-size", "64"], "--batch-size 64", "data.batch_size=64"),
    (["--trainer.max_epochs", "3"], "--trainer.max_epochs 3", "trainer.max_epochs=3"),
    (["--data.root", "/my data"], "--data.root /my data", "'data.root=/my data'"),
    (["--model", "eva8_seed"], "--model eva8_seed", "model=eva8_seed"),
    (["--seed"], "--seed", "trainer.seed=VALUE"),
    # argparse read it as Hydra's --experimental-rerun: 'ValueError: File tiny does not exist!', a traceback
    (["--experiment", "tiny"], "--experiment tiny", "+experiment=tiny"),
]


@pytest.mark.parametrize("argv, given, meant", DASHED, ids=[" ".join(a) for a, _, _ in DASHED])
def test_a_setting_given_as_a_flag_names_the_override_it_stands_for(argv, given, meant):
    """'--epochs 5' was 'unrecognized arguments: --epochs', naming neither trainer.max_epochs nor that
    settings are KEY=VALUE; '--experiment tiny' a ValueError traceback (after a UserWarning)."""
    line = check_command_line([*TINY, *argv]).error
    assert line == f"{given}: a setting is a KEY=VALUE override, not a --flag; did you mean {meant}?{HELP}"


@pytest.mark.parametrize("argv, line", [
    (["--multirn"], "unrecognized arguments: --multirn; did you mean --multirun?"),  # Hydra's flags: as before
    (["--gpus"], "unrecognized arguments: --gpus"),  # near no key: argparse's words
])
def test_a_flag_near_no_key_keeps_the_parsers_line(argv, line):
    assert check_command_line([*TINY, *argv]).error == line + HELP


def test_hydras_own_flags_are_no_settings():
    assert check_command_line([*TINY, "--cfg", "job"]).error is None
    assert check_command_line([*TINY, "--config-name", "config"]).error is None


@pytest.mark.parametrize("argv, quoted", [
    (["hydra.run.dir=/tmp/my", "runs/a"], "'hydra.run.dir=/tmp/my runs/a'"),
    (["data.root=my", "data"], "'data.root=my data'"),
    (["hydra.sweep.dir=outputs/my", "sweep"], "'hydra.sweep.dir=outputs/my sweep'"),  # a sweep's, with -m
])
def test_a_path_with_an_unquoted_space_is_given_quoted(argv, quoted):
    """hydra.run.dir=/tmp/my runs/a (the shell's two arguments) said only 'runs/a: not KEY=VALUE (no '=');
    an override is KEY=VALUE, e.g. model.c1=8', no word of the space; a bare word after any other value does not."""
    line = check_command_line([*(["-m"] if "sweep" in quoted else []), *TINY, *argv]).error
    assert line is not None and line.endswith(f"; a value with a space is one argument, quoted: {quoted}"), line
    assert not check_command_line([*TINY, "model.c1=8", "train"]).error.endswith(quoted)


@pytest.mark.parametrize("flag", ["--config-dir", "--config-path"])
def test_a_config_dir_with_an_unquoted_space_is_given_quoted(tmp_path, flag):
    """--config-dir /tmp/my confs said '/tmp/my: no such directory' and --config-path '/tmp/my confs' said
    'confs: not KEY=VALUE', neither naming the space; the entry points' flags named the path quoted."""
    (tmp_path / "my confs").mkdir()
    for argv in ([flag, f"{tmp_path}/my", "confs", *TINY], [*TINY, flag, f"{tmp_path}/my", "confs"]):
        line = check_command_line(argv).error
        assert line is not None and f"; a path with a space is one argument, quoted: '{tmp_path}/my confs'" in line, line
