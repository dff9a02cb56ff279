"""Refusals the earlier property-based hunt left with a poor line: each is now one line naming the key
(and the file it came from), what was wrong and an example that the next check accepts, exit 2 and
nothing written. Through the train CLI's ``main(argv)`` in this process (``--cfg job``: composed and
validated, nothing trained), the examples checked by the same command line check."""
from __future__ import annotations

import re
import shlex

import pytest

from conftest import TINY, assert_one_line_error, run_inproc
from mnist_sweep.overrides import check_command_line


def refused(tmp_path, *args: str) -> str:
    """The train command's one error line for ``args`` (exit 2, nothing written), without 'error: '."""
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = run_inproc(["mnist_sweep.train", "--cfg", "job", *TINY, *args], cwd=tmp_path)
    line = assert_one_line_error(proc)
    assert proc.returncode == 2 and sorted(p.name for p in tmp_path.iterdir()) == before, proc.stderr
    return line.removeprefix("error: ")


def example(line: str) -> list[str]:
    """The overrides a refusal's ``e.g. ...`` gives (several where it names another key too), as a shell reads them
    (one with brackets is quoted whole: 'model.widths=[8,16]')."""
    found = re.search(r"e\.g\. ((?:'[^']+'|\S+=\S+)(?: (?:'[^']+'|[\w.]+=\S+))*)", line)
    assert found, f"no example in: {line}"
    return shlex.split(found[1])


def replaced(args: list[str], fix: list[str]) -> list[str]:
    """``args`` with each key the example sets given the example's value."""
    keys = {f.split("=", 1)[0] for f in fix}
    return [a for a in args if a.split("=", 1)[0] not in keys] + fix


@pytest.mark.parametrize("args", [
    ["model.widths=[]"],
    ["model=eva8_seed", "model.widths=[]"],
    ["model.widths=[8,0,-16,16,16,16,16]"],
    ["model=eva8_seed", "model.widths=[14,16,-32,16,14,10]"],
])
def test_an_empty_or_non_positive_widths_list_gives_a_widths_list_the_check_takes(tmp_path, args):
    """model.widths=[] and a width of 0 or below said what was wrong ('expected a non-empty list of
    channel counts', 'must be a positive channel count') but not what to write."""
    line = refused(tmp_path, *args)
    assert line.startswith("model.widths"), line
    fix = example(line)
    assert fix[0].startswith("model.widths=[")
    assert check_command_line(["--cfg", "job", *TINY, *replaced(args, fix)]).error is None, fix


@pytest.mark.parametrize("epochs, fix", [
    (3, ["scheduler.step_size=2"]),  # was scheduler.step_size=6, refused next under 3 epochs
    (20, ["scheduler.step_size=6"]),
    (1, ["scheduler.step_size=1", "trainer.max_epochs=2"]),  # no step size fits one epoch
])
def test_a_step_size_below_one_gives_an_example_below_the_runs_max_epochs(tmp_path, epochs, fix):
    """scheduler.step_size=0 said 'e.g. scheduler.step_size=6' whatever trainer.max_epochs was: with 3
    epochs that example was refused next ('6 is not below trainer.max_epochs=3')."""
    args = ["scheduler=step", "scheduler.step_size=0", f"trainer.max_epochs={epochs}"]
    line = refused(tmp_path, *args)
    assert line.startswith("scheduler.step_size: must be >= 1 (epochs), got 0; "), line
    assert example(line) == fix, line
    assert check_command_line(["--cfg", "job", *TINY, *replaced(args, fix)]).error is None


@pytest.mark.parametrize("args, key", [
    (["hydra.sweeper.sampler.n_startup_trials=-5"], "hydra.sweeper.sampler.n_startup_trials"),
    (["hydra/sweeper/sampler=tpe", "hydra.sweeper.sampler.n_startup_trials=-1"], "hydra.sweeper.sampler.n_startup_trials"),
    (["hydra/sweeper/sampler=cmaes", "hydra.sweeper.sampler.n_startup_trials=-1"], "hydra.sweeper.sampler.n_startup_trials"),
    (["hydra/sweeper/sampler=gp", "hydra.sweeper.sampler.n_startup_trials=-2"], "hydra.sweeper.sampler.n_startup_trials"),
    (["hydra/sweeper/pruner=threshold", "hydra.sweeper.pruner.lower=nan"], "hydra.sweeper.pruner.lower"),
    (["hydra/sweeper/pruner=threshold", "hydra.sweeper.pruner.lower=0.5", "hydra.sweeper.pruner.upper=nan"],
     "hydra.sweeper.pruner.upper"),
    (["hydra/sweeper/pruner=hyperband", "hydra.sweeper.pruner.reduction_factor=1"], "hydra.sweeper.pruner.reduction_factor"),
    (["hydra/sweeper/pruner=hyperband", "hydra.sweeper.pruner.max_resource=-5"], "hydra.sweeper.pruner.max_resource"),
    (["hydra/sweeper/pruner=halving", "hydra.sweeper.pruner.min_resource=nan"], "hydra.sweeper.pruner.min_resource"),
])
def test_a_count_or_bound_optuna_takes_silently_is_refused_at_sweep_start(tmp_path, args, key):
    """Optuna built a TPE sampler with n_startup_trials=-5 and a threshold pruner with lower=nan (which
    never prunes) without a word, and checks a hyperband's reduction_factor only when it first prunes:
    the sweep (its dry run too) now stops before anything is written, naming the key."""
    argv = ["-m", "hydra.sweeper.dry_run=true", f"hydra.sweep.dir={tmp_path}/sweep", *args]
    proc = run_inproc(["mnist_sweep.train", *argv], cwd=tmp_path)
    line = assert_one_line_error(proc, f"error: {key}: must be ")
    assert proc.returncode == 2 and not any(tmp_path.iterdir()), proc.stderr
    assert check_command_line(replaced(argv, example(line))).error is None, line


@pytest.mark.parametrize("value", ["''", "'  '", ""])
def test_an_empty_data_root_is_refused_not_read_as_the_default(tmp_path, value):
    """data.root='' is no directory: read as null, it silently took $MNIST_SWEEP_DATA (else <repo>/data),
    and the refusal said 'give a directory path (or null)' with no example."""
    line = refused(tmp_path, f"data.root={value}")
    assert line.startswith(f"data.root: must be a directory path (or null), got {value or repr('')}; an empty "), line
    assert example(line) == ["data.root=null"], line


def _config_dir(tmp_path, path: str, body: str):
    d = tmp_path / "D"
    (d / path).parent.mkdir(parents=True, exist_ok=True)
    (d / path).write_text(body)
    return d


@pytest.mark.parametrize("path, body, args, line", [
    ("experiment/mine.yaml", "# @package _global_\ntrainer:\n  seed: abc\n", ["+experiment=mine"],
     "experiment/mine.yaml: trainer.seed: Value 'abc' of type 'str' could not be converted to Integer; write an "
     "integer, e.g. trainer.seed=1"),
    ("model/mine.yaml", "defaults: [cnn, _self_]\nbias: 3\n", ["model=mine"],
     "model/mine.yaml: model.bias: Value '3' is not a valid bool (type int); write true or false, e.g. model.bias=false"),
])
def test_a_config_files_value_of_the_wrong_kind_names_the_file(tmp_path, path, body, args, line):
    """A wrong-kind value in an experiment file or a --config-dir option named the key but not the file."""
    d = _config_dir(tmp_path, path, body)
    got = refused(tmp_path, "--config-dir", str(d), *args)
    assert got == line, got


@pytest.mark.parametrize("written, key, what, fix", [
    ("trainer:\n  seed: !!timestamp 2020-01-01", "trainer.seed", "!!timestamp made its value a date",
     "an integer, e.g. trainer.seed=1"),
    ("trainer:\n  seed: !!timestamp 2020-01-01 10:00:00", "trainer.seed", "!!timestamp made its value a date and time",
     "an integer, e.g. trainer.seed=1"),
    ("data:\n  root: !!binary aGVsbG8=", "data.root", "!!binary made its value binary data", "a string or null"),
    ("model:\n  c1: !!set {8: null}", "model.c1", "!!set made its value a set", "an integer, e.g. model.c1=8"),
])
def test_a_value_an_explicit_yaml_tag_made_is_one_line_naming_the_file(tmp_path, written, key, what, fix):
    """'trainer.seed: Value 'date' is not a supported primitive type': OmegaConf's words, no file, no fix."""
    d = _config_dir(tmp_path, "experiment/mine.yaml", f"# @package _global_\n{written}\n")
    line = refused(tmp_path, "--config-dir", str(d), "+experiment=mine")
    assert line == (f"experiment/mine.yaml: {key}: YAML's explicit tag {what}, which no config key takes; drop the tag "
                    f"and write {fix}"), line


@pytest.mark.parametrize("path, body, args, start", [
    ("experiment/mine.yaml", "# @package _global_\ntrainer:\n  seed: -1\n", ["+experiment=mine"],
     "experiment/mine.yaml: trainer.seed: must be in [0, 4,294,967,295], got -1; "),
    ("model/mine.yaml", "defaults: [cnn, _self_]\nc1: 0\n", ["model=mine"], "model/mine.yaml: model.c1: must be >= 1, got 0; "),
    ("experiment/mine.yaml", "# @package _global_\nmodel:\n  widths: [8, 0, 8, 16, 16, 16, 16]\n", ["+experiment=mine"],
     "experiment/mine.yaml: model.widths[1]: must be a positive channel count, got 0; "),
    ("experiment/mine.yaml", "# @package _global_\ntrainer:\n  seed: -1\n", ["+experiment=mine", "trainer.seed=-2"],
     "trainer.seed: must be in [0, 4,294,967,295], got -2; "),  # the command line's value: no file to name
])
def test_a_config_files_value_out_of_range_names_the_file(tmp_path, path, body, args, start):
    """trainer.seed: -1 in an experiment file said 'trainer.seed: must be in [0, ...]', as if the command
    line had set it: validate checks the merged config, which keeps no file's name."""
    d = _config_dir(tmp_path, path, body)
    line = refused(tmp_path, "--config-dir", str(d), *args)
    assert line.startswith(start), line


@pytest.mark.parametrize("args, start", [
    (["+experiment=tiny", "data.val_size=59990"],
     "conf/experiment/tiny.yaml: data.batch_size: must be in [2, 10] (the training images), got 64; "),
    (["data.val_size=59990"], "data.batch_size: must be in [2, 10] (the training images), got 128; "),  # conf/data's
])
def test_a_shipped_experiments_value_is_named_and_a_groups_default_is_not(args, start):
    """An experiment's value out of the range another key sets names the experiment (export writes a
    user's into conf/experiment/); a group option's default of conf/ is no file the user wrote."""
    line = check_command_line(["--cfg", "job", *args]).error
    assert line is not None and line.startswith(start), line


@pytest.mark.parametrize("written", ["kernels: !!binary aGVsbG8=", "kernels: [3, 3, 1, 3, 3, 3, !!binary aGVsbG8=]"])
def test_binary_data_in_a_per_block_key_is_named_as_the_tag_made_it(tmp_path, written):
    """OmegaConf holds bytes where a key takes any value: model.kernels: !!binary aGVsbG8= (5 bytes) said
    'model.kernels: has 5 entries but model.widths has 7', the bytes read as a list."""
    d = _config_dir(tmp_path, "experiment/mine.yaml", f"# @package _global_\nmodel:\n  {written}\n")
    line = refused(tmp_path, "--config-dir", str(d), "+experiment=mine")
    assert line == ("experiment/mine.yaml: model.kernels: must be an integer (or a list, one per block), got binary data "
                    "(YAML's explicit tag !!binary made it; no config key takes it); drop the tag, e.g. model.kernels=3"), line


@pytest.mark.parametrize("path, body, args, start", [
    ("experiment/mine.yaml", "# @package _global_\ntrainer:\n  seed: -1\n", ["--config-dir", "{d}", "+experiment=mine"],
     "experiment/mine.yaml: trainer.seed: must be in [0, 4,294,967,295], got -1; "),
    ("model/mine.yaml", "defaults: [cnn, _self_]\nc1: 0\n", ["--config-dir", "{d}", "model=mine"],
     "model/mine.yaml: model.c1: must be >= 1, got 0; "),
    (None, None, ["+experiment=tiny", "data.val_size=59990"],
     "conf/experiment/tiny.yaml: data.batch_size: must be in [2, 10] (the training images), got 64; "),
    ("experiment/mine.yaml", "# @package _global_\ntrainer:\n  seed: -1\n",
     ["--config-dir", "{d}", "+experiment=mine", "trainer.seed=-2"], "trainer.seed: must be in [0, 4,294,967,295], got -2; "),
])
def test_a_sweeps_base_config_names_the_file_of_a_value_out_of_range(tmp_path, path, body, args, start):
    """The sweep's own check of its base config said 'trainer.seed: must be in [0, ...]' for an
    experiment's seed: -1 (the train run's check named the file): it names it the same way now."""
    d = _config_dir(tmp_path, path, body) if path else tmp_path
    argv = ["-m", "hydra.sweeper.dry_run=true", f"hydra.sweep.dir={tmp_path}/sweep", "hydra.sweeper.params=null",
            "optimizer.lr=choice(0.1,0.2)", *(a.format(d=d) for a in args)]
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = run_inproc(["mnist_sweep.train", *argv], cwd=tmp_path)
    line = assert_one_line_error(proc).removeprefix("error: ")
    assert line.startswith(start), line
    assert proc.returncode == 2 and sorted(p.name for p in tmp_path.iterdir()) == before, proc.stderr


@pytest.mark.parametrize("args, line", [
    # a section set off as a switch is, or deleted: the line said 'set its keys instead, e.g.
    # data.augment.strength=1.0' (augmentation on), and ~data.augment 'set it with data.augment=VALUE', a value refused
    (["data.augment=false"], "data.augment: Invalid type assigned: bool is not a subclass of AugmentSchema. value: False; "
                             "set its keys instead, e.g. data.augment.strength=1.0; data.augment.strength=0 switches "
                             "data.augment off"),
    (["~data.augment"], "~data.augment: data.augment is a section of the schema and cannot be deleted (every run reads "
                        "it); set its keys instead, e.g. data.augment.strength=1.0; data.augment.strength=0 switches "
                        "data.augment off"),
    (["~hydra.sweeper.repeats"], "~hydra.sweeper.repeats: hydra.sweeper.repeats is a section of the schema and "
                                 "cannot be deleted (every run reads it); set its keys instead, e.g. "
                                 "hydra.sweeper.repeats.seeds=1"),
    # a node chosen with a group: 'set it with hydra.sweeper.pruner=VALUE', which is refused as no pruner config
    (["~hydra.sweeper.pruner"], "~hydra.sweeper.pruner: every sweep has a pruner, which cannot be deleted; choose "
                                "another with hydra/sweeper/pruner=NAME (hydra/sweeper/pruner=none: no pruning)"),
    (["~hydra.sweeper.sampler"], "~hydra.sweeper.sampler: every sweep has a sampler, which cannot be deleted; "
                                 "choose another with hydra/sweeper/sampler=NAME"),
])
def test_a_section_given_a_value_or_deleted_names_its_keys_and_its_off_switch(tmp_path, args, line):
    assert refused(tmp_path, *args) == line


def test_the_off_switch_a_section_names_is_accepted(tmp_path):
    proc = run_inproc(["mnist_sweep.train", "--cfg", "job", *TINY, "data.augment.strength=0"], cwd=tmp_path)
    assert proc.returncode == 0 and "strength: 0" in proc.stdout, proc.stderr


@pytest.mark.parametrize("args, line", [
    # Hydra: '<root>.yaml, defaults list: best_20k: no config best_20k.yaml; conf/ has no such configs'
    (["--config-name", "best_20k"], "--config-name best_20k: an option of experiment and hparams_search, not a config; "
                                    "conf/config.yaml is the config (leave --config-name out), and +experiment=best_20k "
                                    "or hparams_search=best_20k adds the option"),
    # Hydra composed the option alone: "In 'experiment/tiny': Could not override 'model'. No match in the defaults list"
    (["-cn", "experiment/tiny"], "--config-name experiment/tiny: an option of experiment, not a config; conf/config.yaml "
                                 "is the config (leave --config-name out), and +experiment=tiny adds the option"),
    (["--config-name=model/cnn"], "--config-name model/cnn: an option of model, not a config; conf/config.yaml is the "
                                  "config (leave --config-name out), and model=cnn adds the option"),  # 'trainer: missing section'
    (["--config-name", "nope"], "--config-name nope: no nope.yaml in conf/; conf/config.yaml is the config (leave "
                                "--config-name out); a config of your own: --config-path DIR (absolute)"),
])
def test_a_config_name_that_is_an_option_or_nothing_names_the_override(tmp_path, args, line):
    assert refused(tmp_path, *args) == line


def test_the_configs_own_name_is_taken(tmp_path):
    for name in ("config", "config.yaml"):
        proc = run_inproc(["mnist_sweep.train", "--cfg", "job", *TINY, "--config-name", name], cwd=tmp_path)
        assert proc.returncode == 0 and "max_epochs: 1" in proc.stdout, proc.stderr


@pytest.mark.parametrize("args, line", [
    # Hydra's 'Could not override 'experiment'. No match in the defaults list; To append to your default list use ...'
    (["experiment=tiny"], "experiment=tiny: experiment is in no defaults list of the config (conf/config.yaml's has "
                          "model, optimizer, ..., not experiment), so it has no option to replace; add it with +: "
                          "+experiment=tiny"),
    # the example was experiment=best_20k, refused as above
    (["experiment=nope"], "experiment=nope: no such option (no conf/experiment/nope.yaml); pick one of best_20k, "
                          "eva8_seed, small_8k, smallest_994, tiny, e.g. +experiment=best_20k"),
    (["experiment=Tiny"], "experiment=Tiny: no such option (no conf/experiment/Tiny.yaml); did you mean +experiment=tiny? "
                          "(options: best_20k, eva8_seed, small_8k, smallest_994, tiny)"),
])
def test_an_experiment_given_without_plus_is_told_to_add_it(tmp_path, args, line):
    assert refused(tmp_path, *args) == line


@pytest.mark.parametrize("arg, line", [
    # a value in the wrong case gave the default as the example ('e.g. trainer.precision=auto'), where a group's
    # option in the wrong case (optimizer=SGD) is named: 'did you mean optimizer=sgd?'
    ("trainer.precision=BF16", "trainer.precision: must be one of auto, fp32, bf16, got 'BF16'; did you mean "
                               "trainer.precision=bf16?"),
    ("trainer.device=CPU", "trainer.device: must be auto, cpu, cuda or cuda:N, got 'CPU'; did you mean trainer.device=cpu?"),
    ("trainer.select_on=Test", "trainer.select_on: must be one of val, test, got 'Test'; did you mean trainer.select_on=test?"),
    ("trainer.precision=fp16", "trainer.precision: must be one of auto, fp32, bf16, got 'fp16'; e.g. trainer.precision=auto"),
])
def test_a_value_in_the_wrong_case_is_named_in_its_case(tmp_path, arg, line):
    assert refused(tmp_path, arg) == line
