"""The train entry point (mnist_sweep.cli): one subprocess run as a user runs it, the bad-input
table in-process through cli.main(argv)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import TINY, assert_one_line_error, run, run_inproc, snapshot, spawn
from mnist_sweep import PROJECT_ROOT, overrides


def test_tiny_run_writes_its_files(tmp_path):
    proc = run(["mnist_sweep.train", *TINY, "trainer.save_curves=true", f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "run"
    for name in (".hydra/config.yaml", ".hydra/overrides.yaml", "metrics.csv", "result.json", "model.pt", "train.log",
                 "curves.png"):
        assert (out / name).exists(), name
    assert "result.json, metrics.csv, curves.png, model.pt)" in proc.stdout + proc.stderr
    assert json.loads((out / "result.json").read_text())["params"] == 9_778
    assert "Total params: 9,778" in proc.stdout  # the torchinfo summary
    assert "epoch  1/1" in proc.stdout


# Every value check is in test_schema.BAD_VALUES and test_fuzz; these are the CLI path per kind of error.
BAD_RUNS = [
    (["model.c3=64", "model.c4=64"], ["model.max_params=20,000", "parameters"]),
    (["model.bias=abc"], ["model.bias", "'abc'", "bool"]),
    (["trainer.save_checkpoint=maybe"], ["trainer.save_checkpoint", "maybe"]),
    (["optimizer.momentum=2"], ["optimizer.momentum", "[0, 1)"]),
    (["model.kernels=[3,3,1.5,3,3,3,3]"], ["model.kernels[2]", "1.5"]),
    (["model.c1=1000000000", "model.max_params=null"], ["model.widths", "hard limit"]),
    (["trainer.seed=99999999999999999999"], ["trainer.seed"]),
    (["data.batch_size=1"], ["data.batch_size", "BatchNorm"]),
    (["data.batch_size=513"], ["data.batch_size", "512"]),
    (["data.augment.strength=9"], ["data.augment.strength", "translate", "0.5"]),
    (["scheduler=cosine", "scheduler.eta_min=1"], ["scheduler.eta_min", "optimizer.lr"]),
    (["trainer.progress=yes"], ["trainer.progress"]),
    (["data.val_size=0"], ["trainer.select_on", "data.val_size"]),
    (["model.c1=choice(4,8)"], ["model.c1=choice(4,8)", "-m"]),
    (["optimizer.lr=-1"], ["optimizer.lr"]),
    (["model.dropout=1.0"], ["model.dropout"]),
    (["trainer.max_epochs=25"], ["trainer.max_epochs", "trainer.epoch_cap"]),
    (["optimizer=lion"], ["optimizer/lion", "adam, adamw, sgd"]),
    (["model.block=fancy"], ["model.block", "plain, separable"]),
    (["model.nope=1"], ["model.nope", "no such key"]),  # no "+model.nope=" advice: the schema refuses it
    (["optimizer.lr=("], ["optimizer.lr=("]),
    (["data.root=/nonexistent"], ["/nonexistent/MNIST/raw/train-images-idx3-ubyte", "missing"]),
]


@pytest.mark.parametrize("args, needles", BAD_RUNS, ids=[" ".join(a) for a, _ in BAD_RUNS])
def test_bad_input_one_line_no_traceback_nothing_written(tmp_path, args, needles):
    proc = run_inproc(["mnist_sweep.train", *TINY, *args, f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    line = assert_one_line_error(proc, *needles)
    assert line.startswith("error: ")
    assert proc.returncode == 2
    assert not (tmp_path / "run").exists()


# Hydra's grammar errors ended in its caret ('trainer.device='cpu: ^') or its token list
# ("expecting {<EOF>, ':', BRACKET_OPEN, ...}"), and '=3' said 'Config group override must be a string'
BAD_SYNTAX = [
    ("trainer.device='cpu", "trainer.device='cpu: the quote ' is not closed; close it (trainer.device='cpu') "
                            "or drop it (trainer.device=cpu)"),
    ("model.c1=choice(4,8", "model.c1=choice(4,8: '(' is not closed; close it: 'model.c1=choice(4,8)'"),
    ("model.kernels=[3,3", "'[' is not closed; close it: 'model.kernels=[3,3]'"),
    ("model.c1=choice(4,8]", "'(' is closed by ']'; write 'model.c1=choice(4,8)'"),
    ("model.c1=4)", "')' closes nothing; drop it: model.c1=4"),
    ("trainer.device=c=pu", "a second '=' in the value; quote a value that holds one: \"trainer.device='c=pu'\""),
    ("=3", "=3: no key before '='; an override is KEY=VALUE"),
    ("trainer.device", "trainer.device: not KEY=VALUE (no '='); give the key a value (trainer.device=VALUE)"),
    ("trainer. device=cpu", "a key holds no spaces; write trainer.device=cpu"),
    ("trainer.device=cp'u", "quote the whole value with \": trainer.device=\"cp'u\""),
    ("'trainer.device=cpu'", "a key holds no quotes; quote its value alone if it needs it: trainer.device=cpu"),
    ('"data.root=/tmp/a b"', "a key holds no quotes; quote its value alone if it needs it: data.root='/tmp/a b'"),
    ("trainer.device='cpu'x", "did not expect 'x' there; quote a value with special characters, in the shell's quotes "
                              "too (\"KEY='VALUE'\"), see https://hydra.cc/docs/advanced/override_grammar/basic/"),
    ("data.root=~/mnist", "cannot read '~' (character 11); quote the value, in the shell's quotes too: \"data.root='~/mnist'\""),
]


@pytest.mark.parametrize("arg, line", BAD_SYNTAX, ids=[a for a, _ in BAD_SYNTAX])
def test_an_override_hydras_grammar_refuses_says_what_is_wrong_and_how_to_write_it(tmp_path, arg, line):
    proc = run_inproc(["mnist_sweep.train", *TINY, arg, f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert line in assert_one_line_error(proc)
    assert not any(c in proc.stderr for c in ("^", "<EOF>", "BRACKET_OPEN"))
    assert not (tmp_path / "run").exists()


def test_a_quoted_fix_pasted_into_a_shell_reaches_hydra_as_the_value():
    """The fix read KEY='VALUE': a shell drops those quotes, so pasted it gave Hydra the same
    unquoted value, and the same error, again."""
    import shlex

    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    parser = OverridesParser.create()
    for arg in ["data.root=~/mnist", "hydra.run.dir=out=1", "data.root=/tmp/ä", "+x.y=a!b", "data.root=$x~"]:
        with pytest.raises(OverrideParseException) as e:
            parser.parse_overrides([arg])
        fix = overrides.override_syntax_error(arg, str(e.value)).rsplit(": ", 1)[1]
        (override,) = parser.parse_overrides(shlex.split(fix))  # as a shell passes it on
        assert f"{override.input_line.split('=', 1)[0]}={override.value()}" == arg, fix


def test_bad_input_as_a_subprocess(tmp_path):
    """The one subprocess check of the train entry point's refusals."""
    proc = run(["mnist_sweep.train", *TINY, "model.bias=abc", f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path, process=True)
    assert_one_line_error(proc, "model.bias")
    assert proc.returncode == 2 and not (tmp_path / "run").exists()


@pytest.mark.parametrize("where", ["existing", "cwd"])
def test_a_refused_run_never_deletes_what_it_did_not_create(tmp_path, where):
    """hydra.run.dir=<a user's dir> (or .) and a run that fails after Hydra started (missing data):
    only the files the run wrote go; the user's files and dirs stay, byte for byte."""
    user = tmp_path / "user"
    (user / "sub").mkdir(parents=True)
    (user / "notes.txt").write_text("mine")
    (user / "sub" / "data.bin").write_bytes(b"\0" * 10)
    before = snapshot(user)
    run_dir = "." if where == "cwd" else str(user)
    for bad, needle in (("optimizer.momentum=2", "optimizer.momentum"), ("data.root=/nonexistent", "/nonexistent")):
        proc = run_inproc(["mnist_sweep.train", *TINY, bad, f"hydra.run.dir={run_dir}"], cwd=user)
        assert_one_line_error(proc, needle)
        assert snapshot(user) == before


def test_a_run_dir_holding_a_finished_run_is_refused(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "result.json").write_text("{}")
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.train", *TINY, f"hydra.run.dir={tmp_path}/old"], cwd=tmp_path)
    assert_one_line_error(proc, "hydra.run.dir", "finished run")
    assert snapshot(tmp_path) == before


def test_the_module_run_directly_points_at_the_entry_point(tmp_path):
    """python -m mnist_sweep.cli exited 0 having done nothing (no __main__ guard)."""
    proc = run(["mnist_sweep.cli", "model.c1=abc"], cwd=tmp_path, process=True)
    assert_one_line_error(proc, "mnist_sweep.cli is not an entry point", "python -m mnist_sweep.train")
    assert proc.returncode == 2 and sorted(tmp_path.iterdir()) == []


def test_override_error_is_none_for_a_good_command_line():
    assert overrides.override_error([*TINY]) is None
    assert overrides.override_error(["-m", "hydra.sweeper.n_trials=3", "model.c1=choice(4,8)"]) is None
    assert overrides.override_error(["--cfg", "hydra", "-p", "hydra.sweeper", "hydra/sweeper/pruner=threshold"]) is None


@pytest.mark.parametrize("argv", [["trainer.seed=-1"], ["optimizer.lr=-1"], ["data.train_limit=55000"]])
@pytest.mark.parametrize("flag", [["--cfg", "job"], ["--cfg=all", "--resolve"], ["-c", "job", "-p", "trainer"]])
def test_printing_the_config_refuses_what_the_run_refuses_in_its_line(argv, flag):
    """--cfg job printed the config of a run that would be refused (exit 0): most print it to see what
    would run. Now the run's own line; a sweep expression says --cfg prints one run (Hydra said to add
    --multirun, which --cfg does not take), and the sweeper's keys still print (not 'add -m')."""
    line = overrides.override_error(argv)
    assert line and overrides.override_error([*flag, *argv]) == line
    swept = overrides.override_error(["--cfg", "job", "model.c1=4,8"])
    assert swept and swept.startswith("model.c1=4,8: a sweep expression, and --cfg prints one run's config")


BAD_FLAGS = [  # Hydra's own flags: its parser's usage block and its two-modes ValueError were many lines
    (["-m", "--cfg", "job"], "--multirun and --cfg: --cfg prints and runs nothing, so it takes no --multirun (nor does Hydra); "
     "leave out --multirun: --cfg hydra -p hydra.sweeper shows a sweep's sampler, pruner and params all the same"),
    (["-m", "--cfg", "hydra"], "--multirun and --cfg: --cfg prints and runs nothing, so it takes no --multirun"),
    (["--run", "-m"], "--run and --multirun: give only one of"),
    (["--cfg", "job", "--info"], "--cfg and --info: give only one of"),
    (["-m", "--info", "config"], "--multirun and --info: --info prints and runs nothing, so it takes no --multirun (nor "
     "does Hydra); leave out --multirun (see"),
    (["--foo"], "unrecognized arguments: --foo"),
    (["--multirn"], "unrecognized arguments: --multirn; did you mean --multirun?"),
    (["--cfg", "bogus"], "argument --cfg/-c: invalid choice: 'bogus'"),
    (["--cfg"], "argument --cfg/-c: expected one argument"),
]


@pytest.mark.parametrize("argv, needle", BAD_FLAGS, ids=[" ".join(a) for a, _ in BAD_FLAGS])
def test_hydra_flags_misused_are_one_line_naming_this_program(tmp_path, argv, needle):
    """-m --cfg hydra (to see what a sweep would run) said 'give only one of --run, --multirun, --cfg, ...', not why
    nor what shows it: Hydra too takes no mode with --cfg (its ValueError); --cfg hydra shows the sweeper's keys."""
    proc = run_inproc(["mnist_sweep.train", *TINY, f"hydra.run.dir={tmp_path}/run", *argv], cwd=tmp_path)
    line = assert_one_line_error(proc, needle, "(see python -m mnist_sweep.train --help)")
    assert proc.returncode == 2 and line.startswith("error: ") and "train.py" not in proc.stderr + proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_sweeper_group_set_with_dots_is_one_line_before_any_work(tmp_path):
    """hydra.sweeper.pruner=none (a value, not the group hydra/sweeper/pruner=none) used to fail
    every trial; it is refused before the sweep starts, naming the group syntax."""
    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.pruner=none", f"hydra.sweep.dir={tmp_path}/sw"],
                      cwd=tmp_path)
    assert_one_line_error(proc, "hydra.sweeper.pruner: got 'none'", "hydra/sweeper/pruner=NAME")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", ["run", "sweep"])
def test_unwritable_output_dir_is_one_line_before_any_work(tmp_path, mode):
    (tmp_path / "a_file").write_text("")
    target = tmp_path / "a_file" / "out"  # a path under a regular file: unwritable for any user
    args = (["hydra.run.dir=" + str(target)] if mode == "run" else
            ["-m", "hydra.sweep.dir=" + str(target), f"hydra.sweeper.storage=sqlite:///{tmp_path}/s.db",
             "hydra.sweeper.params=null", "hydra.sweeper.n_trials=1"])
    proc = run_inproc(["mnist_sweep.train", *args[:1], *TINY, *args[1:]], cwd=tmp_path)
    key = "hydra.run.dir" if mode == "run" else "hydra.sweep.dir"
    assert_one_line_error(proc, key, str(target), "Not a directory", "writable")
    assert proc.returncode == 2 and (tmp_path / "a_file").read_text() == ""
    assert not (tmp_path / "s.db").exists()


def test_help_points_at_the_other_entry_points(tmp_path):
    proc = run_inproc(["mnist_sweep.train", "--help"], cwd=tmp_path)
    assert proc.returncode == 0
    assert "hydra.sweeper.dry_run=true" in proc.stdout and "python -m mnist_sweep.leaderboard" in proc.stdout
    searches = ", ".join(sorted(p.stem for p in (PROJECT_ROOT / "conf" / "hparams_search").glob("*.yaml")))
    assert f"hparams_search: {searches}" in proc.stdout  # Hydra's group list stays, every shipped search in it


def test_help_reads_as_sections(tmp_path):
    """The usage lines end before Hydra's group list (they ran into '== Configuration groups =='),
    the schema/* groups are said not to be options, and --hydra-help is named for the sampler,
    pruner and launcher groups (Hydra's own footer, which named it, was replaced)."""
    out = run_inproc(["mnist_sweep.train", "--help"], cwd=tmp_path).stdout
    assert "no training\n\n== Configuration groups ==\n" in out
    assert "schema/model: " in out and "The schema/* groups are the typed schemas" in out
    assert "+experiment=NAME" in out and "hydra/sweeper/sampler=" in out and "--hydra-help" in out


def test_help_to_a_reader_that_stops_early_ends_quietly(tmp_path):
    """``python -m mnist_sweep.train --help | head -40`` ended in a 20-line BrokenPipeError traceback
    and exit 1, where every other entry point ends quietly with 141, as SIGPIPE would (docs/schema.md)."""
    proc = subprocess.Popen([sys.executable, "-m", "mnist_sweep.train", "--help"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    proc.stdout.close()  # before the child has started: its first write meets a closed pipe
    _, err = proc.communicate(timeout=120)
    assert (proc.returncode, err.decode()) == (141, "")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, left_out, shown", [
    (["--hydra-help", "trainer.max_epochs=1"], "trainer.max_epochs=1", "Use '--cfg hydra' to Show the Hydra config."),
    (["--hydra-help", "hydra.hydra_help.template=MY_HELP", "trainer.max_epochs=1"], "trainer.max_epochs=1", "MY_HELP\n"),
    (["--help", "-m", "model.c1=4,8", "trainer.max_epochs=3"], "model.c1=4,8", "  max_epochs: 3\n"),
])
def test_help_with_overrides_prints_the_help_and_names_what_it_leaves_out(tmp_path, argv, left_out, shown):
    """--hydra-help composes Hydra's config alone, so an override of this project's was 'error: trainer:
    missing section'; --help composes one run, so a sweep expression was '... add --multirun' with -m
    given. Each prints its help (a plain override still shows in --help's config) and names what it left out;
    --hydra-help keeps the overrides of its own text (hydra.hydra_help.template), which it dropped too."""
    proc = run_inproc(["mnist_sweep.train", *argv], cwd=tmp_path)
    assert proc.returncode == 0 and shown in proc.stdout, proc.stderr
    assert proc.stderr.startswith(f"warning: {argv[0]} leaves out {left_out}: ") and proc.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, line", [
    (["model.dropuot=0.1"], "error: model.dropuot: no such key; did you mean model.dropout?\n"),  # no "+key" advice: a schema refuses it
    (["trainer.dropout=0.1"], "error: trainer.dropout: no such key; did you mean model.dropout?"),
    (["+model.dropuot=0.1"], "error: model.dropuot: no such key in model (CnnModelSchema); did you mean model.dropout?"),
    (["-m", "model.dropuot=interval(0,0.1)"], "error: model.dropuot: no such key; did you mean model.dropout?"),
    (["-m", "hydra.sweeper.params.model.dropout=interval(0,0.1)"], "hydra.sweeper.params={model.dropout:\"interval(0,0.1)\"}, or as 'model.dropout=interval(0,0.1)' on the command line"),
])
def test_a_mistyped_key_suggests_the_real_one(tmp_path, argv, line):
    """Not Hydra's "use +key" advice (it adds a key nothing reads): the nearest real keys; exit 2
    and no sweep or run dir left behind."""
    proc = run(["mnist_sweep.train", *argv, f"hydra.sweep.dir={tmp_path}/sw", f"hydra.run.dir={tmp_path}/run"],
               cwd=tmp_path)
    assert proc.returncode == 2 and line in proc.stderr, proc.stderr
    assert_one_line_error(proc)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


MISPLACED = [  # a key of another option of its group: that option named, never the key itself suggested
    (["scheduler.gamma=0"], "scheduler.gamma: not a key of scheduler=onecycle; it is a key of scheduler=step (add scheduler=step)"),
    (["scheduler.step_size=0"], "scheduler.step_size: not a key of scheduler=onecycle; it is a key of scheduler=step"),
    (["optimizer.betas=[0.9]"], "optimizer.betas: not a key of optimizer=sgd; it is a key of optimizer=adam and optimizer=adamw"),
    (["optimizer=adam", "optimizer.momentum=0.9"], "optimizer.momentum: not a key of optimizer=adam; it is a key of optimizer=sgd"),
    (["optimizer=adam", "optimizer.nesterov=true"], "optimizer.nesterov: not a key of optimizer=adam; it is a key of optimizer=sgd"),
    (["scheduler=none", "scheduler.pct_start=0.3"], "scheduler.pct_start: not a key of scheduler=none; it is a key of scheduler=onecycle"),
    (["+experiment=tiny", "scheduler.gamma=0"], "scheduler.gamma: not a key of scheduler=onecycle"),
    (["+scheduler.gamma=0"], "scheduler.gamma: not a key of scheduler=onecycle; it is a key of scheduler=step"),
    (["trainer.gamma=0.5"], "trainer.gamma: no such key; did you mean scheduler.gamma (a key of scheduler=step: add scheduler=step)?"),
]


@pytest.mark.parametrize("mode", ["run", "-m"])
@pytest.mark.parametrize("argv, line", MISPLACED, ids=[" ".join(a) for a, _ in MISPLACED])
def test_a_key_of_another_option_names_that_option(tmp_path, mode, argv, line):
    multirun = ["-m", f"hydra.sweeper.storage=sqlite:///{tmp_path}/s.db"] if mode == "-m" else []
    proc = run_inproc(["mnist_sweep.train", *multirun, *TINY, *argv, f"hydra.sweep.dir={tmp_path}/sw",
                       f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    got = assert_one_line_error(proc, line)
    assert proc.returncode == 2 and "did you mean " + argv[-1].split("=")[0].lstrip("+") not in got
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", ["run", "-m"])
@pytest.mark.parametrize("argv, line", [
    (["optimizer.name=adam"], "optimizer.name: pick the option with optimizer=adam (a config group: it brings the "
                              "option's keys and defaults); optimizer.name only labels the option chosen"),
    (["scheduler.name=step"], "scheduler.name: pick the option with scheduler=step"),
])
def test_an_option_picked_by_its_name_field_names_the_group_override(tmp_path, mode, argv, line):
    """It used to be checked as that option against the other's keys: optimizer.name=adam gave
    'optimizer.momentum: not a key of optimizer=adam', a key the user never typed."""
    multirun = ["-m", f"hydra.sweeper.storage=sqlite:///{tmp_path}/s.db"] if mode == "-m" else []
    proc = run_inproc(["mnist_sweep.train", *multirun, *TINY, *argv, f"hydra.sweep.dir={tmp_path}/sw",
                       f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, line)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_name_field_a_saved_config_already_has_is_accepted(tmp_path):
    """A trial's saved config (--config-path its .hydra dir) has no defaults list, so no group picked
    its optimizer: optimizer.name=sgd on an sgd section was refused as 'pick the option with optimizer=sgd'."""
    from omegaconf import OmegaConf

    from conftest import make_cfg

    saved = tmp_path / "saved" / ".hydra"  # a run dir of its own: the new run goes beside it, not in it
    saved.mkdir(parents=True)
    OmegaConf.save(make_cfg(*TINY), saved / "config.yaml")
    proc = run_inproc(["mnist_sweep.train", "--config-path", str(saved), "--config-name", "config",
                       "optimizer.name=sgd", f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]


SWEPT_GROUP = [  # a key of some options of a swept group: sampled only where it exists (docs/sweeps.md)
    (["scheduler=choice(step,onecycle)", "scheduler.gamma=0.5"],
     "scheduler.gamma: not a key of scheduler=onecycle, one of the swept options (scheduler=step,onecycle); to set "
     "it only where it exists, sweep it: scheduler.gamma='choice(0.5)'"),
    (["scheduler=choice(cosine,onecycle)", "scheduler.gamma=interval(0.1,0.5)"],
     "scheduler.gamma: not a key of any swept option (scheduler=cosine,onecycle); it is a key of scheduler=step "
     "(add step to the choice)"),
    (["optimizer=choice(adam,adamw)", "optimizer.betas=[0.9,0.99]"],
     "optimizer.betas: not a key of optimizer=sgd, the option Hydra composes the sweep's base config with; Optuna "
     "cannot sweep a list: run one sweep per option, optimizer=OPTION 'optimizer.betas=[0.9,0.99]'"),
    (["scheduler=choice(step,cosine)", "scheduler.gamma=0.5"],
     "scheduler.gamma: not a key of scheduler=cosine, one of the swept options"),
    # a key no option has is a typo, not a conditional key: it was told to sweep it as choice(0.5)
    (["scheduler=choice(step,onecycle)", "scheduler.gama=0.5"], "scheduler.gama: no such key; did you mean scheduler.gamma"),
    # a key the experiment sets: 'scheduler.pct_start: no such key in scheduler's schema', naming neither;
    # with onecycle first, the dry run's draws of step raised it
    (["+experiment=tiny", "scheduler=choice(step,onecycle)"],
     "hydra.sweeper.params.scheduler: 'step' cannot run with +experiment=tiny: conf/experiment/tiny.yaml sets "
     "scheduler.pct_start, which scheduler=step does not have; drop 'step' from the choice"),
    (["+experiment=tiny", "scheduler=choice(onecycle,cosine)"],
     "hydra.sweeper.params.scheduler: 'cosine' cannot run with +experiment=tiny: conf/experiment/tiny.yaml sets "
     "scheduler.pct_start, which scheduler=cosine does not have"),
    # every option that cannot, in one line (it named one at a time), and for a glob the exclude, not 'drop from the choice'
    (["+experiment=tiny", "scheduler=glob(*)"],
     "hydra.sweeper.params.scheduler: 'cosine', 'none' and 'step' cannot run with +experiment=tiny: conf/experiment/"
     "tiny.yaml sets scheduler.pct_start, which scheduler=cosine does not have; exclude 'cosine', 'none' and 'step', "
     "'scheduler=glob(*,exclude=[cosine,none,step])', or sweep scheduler without +experiment=tiny"),
    (["+experiment=tiny", "scheduler=choice(step,cosine)"],
     "hydra.sweeper.params.scheduler: 'step' and 'cosine' cannot run with +experiment=tiny: conf/experiment/tiny.yaml "
     "sets scheduler.pct_start, which scheduler=step does not have; take scheduler out of the search (+experiment=tiny "
     "picks its option)"),
]


@pytest.mark.parametrize("argv, line", SWEPT_GROUP, ids=[" ".join(a) for a, _ in SWEPT_GROUP])
def test_a_key_of_a_swept_groups_options_is_checked_against_those_options(tmp_path, argv, line):
    """Not against the group's default: that refused the documented conditional key
    (scheduler=choice(step,onecycle) scheduler.gamma=interval(...)) as 'not a key of scheduler=onecycle'."""
    proc = run_inproc(["mnist_sweep.train", "-m", f"hydra.sweeper.storage=sqlite:///{tmp_path}/s.db", *TINY, *argv,
                       f"hydra.sweep.dir={tmp_path}/sw"], cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, line)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["scheduler=choice(step,onecycle)", "scheduler.gamma=interval(0.1,0.5)"],
                                  ["scheduler=choice(step,onecycle)", "scheduler.gamma=choice(0.5)"],
                                  ["optimizer=choice(sgd,adam)", "optimizer.weight_decay=0.0001"]])
def test_a_key_every_or_some_swept_option_has_is_accepted(tmp_path, argv):
    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "hydra.sweeper.params=null", *argv,
                       f"hydra.sweep.dir={tmp_path}/sw"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "search space" in proc.stdout + proc.stderr


@pytest.mark.parametrize("argv, line", [
    (["scheduler=glob(zz*)"], "hydra.sweeper.params.scheduler: glob(zz*) matches none of the group's options (cosine, "
                              "none, onecycle, step); fix the pattern or list them: 'scheduler=choice(A,B)'"),
    (["model.c1=glob(*)"], "hydra.sweeper.params.model.c1: glob(*) picks among a config group's options, and model.c1 "
                           "is no config group"),
    (["scheduler=glob(*,exclude=cosine)", "scheduler.gamma=0.5"],
     "scheduler.gamma: not a key of scheduler=none, one of the swept options (scheduler=none,onecycle,step)"),
    # another search per candidate: pareto's trials failed (two values for one objective), smallest's returned their
    # parameter count as the accuracy to maximize
    (["hparams_search=glob(*)"], "hydra.sweeper.params.hparams_search: hparams_search=best_20k sets hydra.sweeper (a "
                                 "search's space, direction and study: one per sweep, not per candidate); run one sweep "
                                 "per option, hparams_search=best_20k, and leave hparams_search out of the search"),
    (["hparams_search=choice(default,pareto)"], "hydra.sweeper.params.hparams_search: hparams_search=pareto sets "
                                                "hydra.sweeper"),
    # no options at all: the sweeper raised AttributeError ('FloatDistribution' object has no attribute 'choices')
    (["scheduler=interval(0,1)"], "hydra.sweeper.params.scheduler: a config group is searched over its options, "
                                  "'scheduler=choice(A,B)', not interval(0,1)"),
])
def test_a_group_swept_by_glob_is_one_line_not_a_traceback(tmp_path, argv, line):
    """Hydra expands glob(*) with its config loader, not set where the swept groups' keys are
    checked: that check raised 'HydraException: ConfigLoader is not set' as a traceback."""
    proc = run_inproc(["mnist_sweep.train", "-m", f"hydra.sweeper.storage=sqlite:///{tmp_path}/s.db", *TINY, *argv,
                       f"hydra.sweep.dir={tmp_path}/sw"], cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, line)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("glob, options", [("glob(*)", "'cosine', 'none', 'onecycle', 'step'"),
                                           ("glob(*,exclude=[none,step])", "'cosine', 'onecycle'"),
                                           ("glob([o*,s*])", "'onecycle', 'step'")])
def test_a_group_swept_by_glob_is_searched_over_the_options_it_matches(tmp_path, glob, options):
    """As Hydra's basic sweeper does; the Optuna sweeper refused every glob as an 'invalid search space'."""
    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "hydra.sweeper.params=null",
                       f"scheduler={glob}", f"hydra.sweep.dir={tmp_path}/sw"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"scheduler: CategoricalDistribution(choices=({options}))" in proc.stdout


def test_a_group_each_candidate_adds_may_be_swept_by_glob(tmp_path):
    """'+experiment=glob(t*)', as '+experiment=choice(tiny)' is: it was refused as 'no config group'."""
    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "hydra.sweeper.params=null",
                       "+experiment=glob(*,exclude=[b*,e*,s*])", f"hydra.sweep.dir={tmp_path}/sw"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "+experiment: CategoricalDistribution(choices=('tiny',))" in proc.stdout


def test_a_refusal_raised_inside_the_sweep_is_one_line_exit_2_and_leaves_no_sweep_dir(tmp_path):
    """A refusal that only the sweeper can make (the search space against a key's range) goes
    through main's one-line report, not Hydra's, and the sweep dir this command created goes."""
    proc = run(["mnist_sweep.train", "-m", f"hydra.sweep.dir={tmp_path}/sw", "hydra.sweeper.params=null",
                "model.c1=choice(0,4)", f"hydra.sweeper.storage=sqlite:///{tmp_path}/sw/optuna.db"], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert_one_line_error(proc, "model.c1")
    assert not (tmp_path / "sw").exists()


def test_a_run_ends_with_its_dir_and_commands_that_paste(tmp_path):
    import shlex

    out = tmp_path / "run"
    # a process of its own with its console as a user sees it (a fork of this warm one: no new interpreter's imports)
    proc = spawn(["mnist_sweep.train", *TINY, f"hydra.run.dir={out}"], tmp_path)
    text = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, text[-2000:]
    assert f"run dir: {out} (" in text
    (check,) = [line.split("check on the test set: ", 1)[1] for line in text.splitlines() if "check on the test set: " in line]
    argv = shlex.split(check)
    assert argv[1:4] == ["-m", "mnist_sweep.predict", str(out)]
    pasted = run_inproc(argv[2:], cwd=tmp_path)  # its words, as predict's main gets them (test_predict runs the module)
    assert pasted.returncode in (0, 1) and "test images" in pasted.stdout + pasted.stderr, pasted.stderr
    (keep,) = [line.split("keep it as an experiment: ", 1)[1] for line in text.splitlines() if "keep it as an experiment: " in line]
    pasted = run_inproc(shlex.split(keep)[2:], cwd=tmp_path)
    assert pasted.returncode == 0 and (tmp_path / "conf" / "experiment" / "NAME.yaml").is_file(), pasted.stderr


@pytest.mark.parametrize("argv, needle", [
    (["-m", "hydra.sweeper.on_trial_end=nope.func"], "hydra.sweeper.on_trial_end: cannot import 'nope.func'"),
    (["-m", "hydra.sweeper.custom_search_space=os"], "hydra.sweeper.custom_search_space: cannot import 'os'"),
    (["~trainer"], "trainer: missing section; pick one with 'trainer=<option>'"),
    (["~model"], "model: missing section"),
    # a deleted key: Hydra's own lines were "Error merging override ~model.c1" or said no fix
    (["~model.c1"], "~model.c1: model.c1 is a key of the schema and cannot be deleted (every run reads it); set it with "
                    "model.c1=VALUE instead"),
    (["-m", "~optimizer.momentum"], "~optimizer.momentum: optimizer.momentum is a key of the schema"),
    (["~model.cl"], "~model.cl: nothing to delete; model.cl: no such key; did you mean"),
    # a key of another option: 'nothing to delete; scheduler.gamma: no such key', though step has it
    (["~scheduler.gamma"], "~scheduler.gamma: nothing to delete: scheduler.gamma is a key of scheduler=step only, not "
                           "of the option this config composes (and a schema key is never deleted); drop ~scheduler.gamma"),
    (["-m", "~scheduler.gamma", "scheduler=choice(step,onecycle)"], "~scheduler.gamma: nothing to delete: "
                                                                    "scheduler.gamma is a key of scheduler=step only"),
    # with a value the option this config composes is known: the line said to 'add scheduler=step', whose gamma
    # is a schema key no ~ can delete
    (["~scheduler.gamma=0.5"], "~scheduler.gamma: nothing to delete: scheduler.gamma is a key of scheduler=step only, "
                               "not of scheduler=onecycle, the option this config composes (and a schema key is never "
                               "deleted); drop ~scheduler.gamma"),
    (["~trainer.seed=2"], "~trainer.seed=2: deletes trainer.seed only where its value is 2, and it is 1; to set it use "
                          "trainer.seed=2"),
    # a searched key has dots in its name: Hydra read it as nested keys, and the line said to add it with +
    (["-m", "~hydra.sweeper.params.model.c1"], "~hydra.sweeper.params.model.c1: a ~ override cannot name a searched key "
                                               "(model.c1 is one key of hydra.sweeper.params, dots and all); take it out "
                                               "of the search with model.c1=VALUE"),
])
def test_hydra_multi_line_errors_are_one_line(tmp_path, argv, needle):
    """An unknown callable and a deleted config section: one error line, exit 2, nothing written."""
    proc = run(["mnist_sweep.train", *argv, f"hydra.sweep.dir={tmp_path}/sw", f"hydra.run.dir={tmp_path}/run"],
               cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, needle)
    assert list(tmp_path.iterdir()) == []


def test_deleting_a_key_that_is_not_there_is_not_told_to_add_it(tmp_path):
    """'~foo.bar: nothing to delete; ... (a key of your own needs +foo.bar=VALUE)': a deletion asked for
    no key, and the advice added one."""
    proc = run_inproc(["mnist_sweep.train", "~foo.bar", f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    line = assert_one_line_error(proc, "~foo.bar: nothing to delete; foo.bar: no such key")
    assert "+foo.bar" not in line


def test_multirun_flag_may_follow_the_overrides(tmp_path):
    """`train key=value -m` is a sweep as `train -m key=value` is (Hydra's parser refused it)."""
    proc = run(["mnist_sweep.train", "hydra.sweeper.dry_run=true", "hydra.sweeper.params=null", "model.c1=choice(4,8)",
                "-m"], cwd=tmp_path)
    assert proc.returncode == 0 and "search space" in proc.stdout + proc.stderr, proc.stderr[-2000:]


def test_a_bug_in_the_checks_is_a_traceback_not_an_error_line(monkeypatch):
    """The command-line check turned any exception of validate into 'error: ...': a NameError in the
    project's own code read as a user's mistake ('error: name ... is not defined', exit 2)."""
    def broken(cfg):
        raise NameError("name 'ModelConfigError' is not defined")
    monkeypatch.setattr(overrides, "validate", broken)
    with pytest.raises(NameError):
        overrides.check_command_line(["trainer.max_epochs=1"])


def test_a_mistyped_option_of_a_group_each_candidate_adds_is_refused_before_the_study(tmp_path):
    """'+experiment=choice(tiny,tinyy)' as 'optimizer=choice(sgd,adamm)' is: one line before the study;
    the sweep rejected each tinyy draw one by one (and trained nothing while tiny's budget refused the rest)."""
    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.params=null", "+experiment=choice(tiny,tinyy)",
                       f"hydra.sweep.dir={tmp_path}/sw", f"hydra.sweeper.storage=sqlite:///{tmp_path}/sw/optuna.db",
                       "hydra.sweeper.n_trials=1", *TINY],  # small, should it ever train
                      cwd=tmp_path)
    assert_one_line_error(proc, "hydra.sweeper.params.+experiment: 'tinyy' is not an option of config group "
                                "'experiment'; did you mean tiny? e.g. +experiment=tiny (options: ")
    assert not (tmp_path / "sw").exists()


def test_a_refused_command_line_is_answered_before_torch_is_imported(tmp_path):
    """A typo got its one line after 2-3 s of imports (torch, matplotlib, pandas: the training loop's,
    imported by the entry point); they now load when a run starts, and mnist_sweep.train still
    exports train and precheck."""
    code = ("import sys, mnist_sweep.train as t\n"
            "rc = t.main(['model.c1=abc'])\n"
            "print(rc, sorted(m for m in ('torch', 'matplotlib', 'pandas') if m in sys.modules))\n"
            "from mnist_sweep.train import precheck, train\n"
            "print(train.__module__, precheck.__module__, 'torch' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == ["2 []", "mnist_sweep.training mnist_sweep.training True"], proc.stdout
    assert proc.stderr.strip().startswith("error: model.c1: ") and proc.stderr.strip().count("\n") == 0, proc.stderr


def test_flags_after_overrides_reach_hydra_in_an_order_it_parses(tmp_path, monkeypatch):
    """``-m KEY=V --config-dir DIR hparams_search=mine`` was 'unrecognized arguments: hparams_search=mine'
    (argparse takes overrides only before the flags or after them), and ``KEY=V --config-dir DIR``, which
    Hydra parses, failed in Hydra's usage block on the override main adds after them ('unrecognized
    arguments: ++hydra.callbacks.output_dir...'). Hydra's flags now go first, as -m does."""
    from hydra._internal.utils import get_args_parser

    from mnist_sweep import cli

    (tmp_path / "hparams_search").mkdir()
    (tmp_path / "hparams_search" / "mine.yaml").write_text("# @package _global_\nhydra:\n  sweeper:\n    n_trials: 2\n")
    seen = []
    monkeypatch.setattr(cli, "task", lambda: seen.append(get_args_parser().parse_args(sys.argv[1:])))
    d = str(tmp_path)
    for args in (["-m", *TINY, "--config-dir", d, "hparams_search=mine"], [*TINY, "--config-dir", d], ["-cd", d, *TINY]):
        assert cli.main(args) == 0
    assert [(ns.config_dir, ns.overrides[:len(TINY)]) for ns in seen] == [(d, TINY)] * 3
    assert "hparams_search=mine" in seen[0].overrides and seen[0].multirun
    assert cli.flags_first(["a=1", "--info", "b=2"]) == ["a=1", "--info", "b=2"]  # --info's value: the check's to refuse
