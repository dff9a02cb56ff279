"""reproduce, and the trial files it reads for confirm and export: a leaderboard row that was
never trained, a trial's damaged saved config."""
from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import TINY, assert_one_line_error, make_cfg, run_inproc, snapshot
from mnist_sweep.differences import COMPARED
from mnist_sweep.reproduce import selection


def fake_sweep(tmp_path: Path) -> Path:
    """A leaderboard with a complete trial 0 (its saved config as Hydra writes it, no training) and
    trial 1, a duplicate of it (same parameters, never trained)."""
    trial = tmp_path / "sw" / "trial_0000"
    (trial / ".hydra").mkdir(parents=True)
    OmegaConf.save(make_cfg(*TINY), trial / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create(TINY), trial / ".hydra" / "overrides.yaml")
    (trial / "metrics.csv").write_text("epoch\n1\n")
    (tmp_path / "sw" / "leaderboard.csv").write_text(
        "rank,trial,status,hp.model.c3,trial_dir\n"
        f"1,0,complete,16,{trial}\n2,2,complete,8,{trial}\n3,1,duplicate,16,\n")
    return tmp_path / "sw"


COMMANDS = {
    "reproduce": lambda sw, out: ["mnist_sweep.reproduce", str(sw), "--out", str(out)],
    "confirm": lambda sw, out: ["mnist_sweep.confirm", str(sw), "--seeds", "1", "--out", str(out)],
    "export": lambda sw, out: ["mnist_sweep.export", str(sw), "--out", str(out / "experiment" / "a.yaml")],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_damaged_saved_config_is_one_line_naming_it(tmp_path, command):
    """It was a yaml ParserError traceback in export and confirm (confirm left its --out behind);
    predict and export --onnx already said which file, through the same reader."""
    sw = fake_sweep(tmp_path)
    (sw / "trial_0000" / ".hydra" / "config.yaml").write_text("garbage: [\n")
    before = snapshot(tmp_path)
    proc = run_inproc([*COMMANDS[command](sw, tmp_path / "out"), "--trial", "0"], cwd=tmp_path)
    assert_one_line_error(proc, f"{sw}/trial_0000/.hydra/config.yaml", "not valid YAML", "line 2")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_duplicate_trial_names_the_trial_it_duplicates(tmp_path, command):
    """A duplicate was "never trained" with no word of the trial that was (the sweeper's
    duplicate_of: the trained trial with the same parameters)."""
    sw = fake_sweep(tmp_path)
    before = snapshot(tmp_path)
    proc = run_inproc([*COMMANDS[command](sw, tmp_path / "out"), "--trial", "1"], cwd=tmp_path)
    assert_one_line_error(proc, "trial 1 (duplicate)", "same parameters as trial 0", f"{command} that one: --trial 0")
    assert snapshot(tmp_path) == before


def test_a_trial_is_selected_from_conf_with_its_overrides_only_when_they_give_its_exact_config(tmp_path):
    """Composed from conf/ with the trial's own overrides, further overrides are typed by the schema
    (the saved config lost its types: model.c1=abc was reported as model.widths[0], optimizer=adam
    replaced the section with a string); any difference keeps the saved config, which trained."""
    config_dir = fake_sweep(tmp_path) / "trial_0000" / ".hydra"
    assert selection(config_dir) == TINY
    OmegaConf.save(OmegaConf.create([*TINY[:-1], "trainer.precision=bf16"]), config_dir / "overrides.yaml")
    assert selection(config_dir) == ["--config-path", str(config_dir), "--config-name", "config"]
    (config_dir / "overrides.yaml").unlink()
    assert selection(config_dir)[0] == "--config-path"


ODD_PATHS = ["a b", "ü/x", "a,b/c", "a=b/c", "it's/x", "a\\b/c", "end\\", "1.5", "null", "~/x", "[x]/y",
             "True", "NULL", "Inf", "nan", "1e5", "0x10", "7", "-x", ".x", "é"]  # words Hydra reads as no string


@pytest.mark.parametrize("path", ODD_PATHS)
def test_the_run_dir_override_reads_back_as_the_path(path):
    """reproduce and confirm pass --out to the re-run as hydra.run.dir=PATH: unquoted, a space,
    comma or = was a grammar error there ('^'), and 1.5 or null were not a path at all."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from mnist_sweep.reproduce import run_dir_override

    override = OverridesParser.create().parse_override(run_dir_override(path))
    assert override.key_or_group == "hydra.run.dir" and override.value() == path
    assert run_dir_override("outputs/reproduce/trial_0001") == "hydra.run.dir=outputs/reproduce/trial_0001"


@pytest.mark.parametrize("word", ["rep2", "run_1", "a.b", "a-b", "e5", "infinity", "nulls", "_x"])
def test_a_plain_word_for_the_run_dir_is_given_unquoted(word):
    """reproduce RUN --out rep2 printed 'hydra.run.dir='"'"'rep2'"'"'' in the command to paste: a word Hydra
    reads as the string it is (not a number, bool, null, nan or inf) is plain, as a path with a '/' was."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from mnist_sweep.reproduce import run_dir_override

    assert run_dir_override(word) == f"hydra.run.dir={word}"
    assert OverridesParser.create().parse_override(f"hydra.run.dir={word}").value() == word


def test_reproduce_into_an_out_dir_with_a_space_and_a_comma(tmp_path):
    """The re-run failed with "error: hydra.run.dir=.../rep 1, ü: ^" and reproduced nothing."""
    trial = tmp_path / "sw" / "trial_0000"
    done = run_inproc(["mnist_sweep.train", *TINY, f"hydra.run.dir={trial}"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    (tmp_path / "sw" / "leaderboard.csv").write_text(f"rank,trial,status,trial_dir\n1,0,complete,{trial}\n")
    out = tmp_path / "rep 1, ü"
    proc = run_inproc(["mnist_sweep.reproduce", str(tmp_path / "sw"), "--out", str(out)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "trial 0: 1 epoch reproduced exactly" in proc.stdout and (out / "result.json").is_file()
    # the trial's own trainer.progress=false and trainer.precision=fp32 were printed again after it
    command = next(line for line in proc.stdout.splitlines() if line.startswith("$ "))
    keys = [a.split("=", 1)[0] for a in shlex.split(command)[4:] if "=" in a]
    assert sorted(keys) == sorted(set(keys)) and "trainer.progress" in keys and "trainer.precision" in keys, command


def test_a_train_command_sets_each_key_once_the_last_in_its_place():
    from mnist_sweep.reproduce import train_command

    args = ["--config-path", "/a=b", "--config-name", "config", "trainer.progress=False", "+x=1", "hydra.run.dir=o",
            "trainer.progress=false", "x=2", "~y"]
    assert train_command(*args)[3:] == ["--config-path", "/a=b", "--config-name", "config", "+x=1", "hydra.run.dir=o",
                                        "trainer.progress=false", "x=2", "~y"]


HAND_EDITS = {  # a saved config edited by hand: (old text, new text, what the line says)
    "bad value": ("c1: 8", "c1: -8", "model.c1: must be >= 1, got -8"),
    "renamed key": ("c1: 8", "cc1: 8", "${model.c1}: cannot resolve (no key model.c1"),
    "not a number": ("weight_decay:", "weight_decay: abc\n  x_weight_decay:", "optimizer.weight_decay"),
    "missing section": ("data:", "dataX:", "no data section"),
}


@pytest.mark.parametrize("edit", HAND_EDITS)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_hand_edited_saved_config_is_one_line_naming_it(tmp_path, command, edit):
    """export wrote a bad value into the experiment file, silently (training it failed later), and
    a key that no longer resolved was an InterpolationKeyError traceback; reproduce started the
    re-run, whose line did not name the file."""
    sw = fake_sweep(tmp_path)
    config = sw / "trial_0000" / ".hydra" / "config.yaml"
    old, new, says = HAND_EDITS[edit]
    text = config.read_text()
    assert f"\n  {old}" in text or f"\n{old}" in text
    config.write_text(text.replace(old, new, 1))
    before = snapshot(tmp_path)
    proc = run_inproc([*COMMANDS[command](sw, tmp_path / "out"), "--trial", "0"], cwd=tmp_path)
    assert_one_line_error(proc, str(config), says, "pick another trial")
    assert snapshot(tmp_path) == before


FULL_METRICS = "epoch,lr,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc\n"
BAD_METRICS = {  # the trial's metrics.csv, damaged: (its text or None for none, what the line says)
    "no epochs": (FULL_METRICS, "no epoch recorded"),
    "columns missing": ("epoch,lr\n1,0.1\n", "no column train_loss"),
    "not a number": (FULL_METRICS + "1,0.1,x,0.5,1,0.5,1,0.5\n", "Unable to parse string"),
    "gone": (None, "metrics.csv: missing"),
    # cut off in its last row: the missing fields read as empty, and after the re-run 'metrics differ ... same machine?'
    "cut off": (FULL_METRICS + "1,0.1,0.5,0.5,1,0.0",
                "row 1 has 6 of the 8 columns (cut off while copied, or edited by hand?)"),
    # cut off in its last field (test_acc 0.95 as 0.9): a whole row, compared with the re-run's
    "cut in its last field": (FULL_METRICS + "1,0.1,0.5,0.5,1,0.5,1,0.9",
                              "the file ends in row 1, with no line break (cut off while copied, or edited by hand?)"),
}


@pytest.mark.parametrize("damage", BAD_METRICS)
def test_recorded_metrics_that_cannot_be_compared_are_one_line_before_the_rerun(tmp_path, damage):
    """A metrics.csv with a header only reproduced 'all 0 epochs exactly' (exit 0); one without
    the compared columns was a KeyError traceback after the whole re-run."""
    sw = fake_sweep(tmp_path)
    text, says = BAD_METRICS[damage]
    metrics = sw / "trial_0000" / "metrics.csv"
    metrics.write_text(text) if text is not None else metrics.unlink()
    before = snapshot(tmp_path)
    proc = run_inproc([*COMMANDS["reproduce"](sw, tmp_path / "out"), "--trial", "0"], cwd=tmp_path)
    assert_one_line_error(proc, "trial 0 (complete)", str(metrics), says, "cannot reproduce it")
    assert proc.stdout == "" and snapshot(tmp_path) == before


def test_epochs_without_validation_compare_equal():
    """A trial trained with data.val_size=0 (the confirmation protocol) records no val_loss or
    val_acc; NaN != NaN made every epoch 'NO' and reproduce exit 1, on an exact re-run."""
    import pandas as pd

    from mnist_sweep.differences import compare

    rows = pd.DataFrame({"epoch": [1, 2], "lr": [0.1, 0.05], "train_loss": [0.5, 0.4], "train_acc": [0.8, 0.9],
                         "val_loss": [None, None], "val_acc": [None, None], "test_loss": [0.3, 0.2],
                         "test_acc": [0.9, 0.95]})
    table, ok = compare(rows, rows.copy())
    assert ok and list(table.match) == ["yes", "yes"]
    other = rows.copy()
    other.loc[1, "test_acc"] = 0.96
    assert compare(rows, other)[0].match.tolist() == ["yes", "NO"]
    other = rows.copy()
    other.loc[0, "val_acc"] = 0.5  # recorded empty, reproduced not: a difference
    assert not compare(rows, other)[1]


def test_a_run_without_validation_prints_no_nan_columns():
    """reproduce of a run trained with data.val_size=0 printed val_acc and val_acc_rerun columns of
    NaN; now only the metrics the runs have, and a line saying there was no validation split."""
    import pandas as pd

    from mnist_sweep import differences

    rows = pd.DataFrame({"epoch": [1], "lr": [0.1], "train_loss": [0.5], "train_acc": [0.8], "val_loss": [None],
                         "val_acc": [None], "test_loss": [0.3], "test_acc": [0.9]})
    table, ok = differences.compare(rows, rows.copy())
    assert ok and "val_acc" not in table and "val_acc_rerun" not in table, table.columns
    compare, printed = differences.compare, differences.printed  # printed: what reproduce prints
    text = printed(table)
    assert "NaN" not in text and "val_acc" not in text.splitlines()[0], text
    assert text.splitlines()[0].split() == ["epoch", "test_acc", "test_acc_rerun", "train_loss", "train_loss_rerun", "match"]
    assert text.splitlines()[-1] == "no validation split (data.val_size=0): no val_acc to compare; every other metric compared"
    validated = rows.assign(val_loss=[0.4], val_acc=[0.85])
    text = printed(compare(validated, validated.copy())[0])
    assert text.splitlines()[0].split()[1:3] == ["val_acc", "val_acc_rerun"] and "validation split" not in text, text
    other = validated.copy()  # recorded empty, re-run not: both columns shown, the difference visible
    assert "val_acc_rerun" in printed(compare(rows, other)[0])


@pytest.mark.parametrize("command", ["reproduce", "export"])  # confirm takes --top or --trial, no --rank
def test_a_rank_missing_from_an_edited_leaderboard_is_one_line(tmp_path, command):
    """A leaderboard CSV with a row taken out (ranks 1 and 3): --rank 2 passed the 1..N check and
    was an IndexError traceback."""
    sw = fake_sweep(tmp_path)
    board = sw / "leaderboard.csv"
    board.write_text("".join(line for line in board.read_text().splitlines(keepends=True) if not line.startswith("2,")))
    before = snapshot(tmp_path)
    proc = run_inproc([*COMMANDS[command](sw, tmp_path / "out"), "--rank", "2"], cwd=tmp_path)
    assert_one_line_error(proc, "--rank 2", "has the ranks 1, 3; give one of them")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_trial_with_a_dir_but_no_row_yet_says_it_is_in_flight(tmp_path, command):
    """--trial 3 of a sweep training it (or killed -9 in it: its trial_0003/ there, no row: the table is
    written as each trial ends) said only 'not in sw (trials 0..2)'."""
    sw = fake_sweep(tmp_path)
    (sw / "trial_0003").mkdir()
    before = snapshot(tmp_path)
    proc = run_inproc([*COMMANDS[command](sw, tmp_path / "out"), "--trial", "3"], cwd=tmp_path)
    assert_one_line_error(proc, f"--trial 3: not in {sw} (trials 0..2), which gets a trial's row when it ends; "
                          f"{sw}/trial_0003 is there: still training, or its sweep stopped in it "
                          f"(python -m mnist_sweep.leaderboard {sw} --refresh says which)")
    proc = run_inproc([*COMMANDS[command](sw, tmp_path / "out"), "--trial", "4"], cwd=tmp_path)
    assert assert_one_line_error(proc).endswith(f"--trial 4: not in {sw} (trials 0..2)")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_row_without_a_trial_dir_says_so(tmp_path, command):
    """An empty trial_dir cell (a CSV edited or merged by hand) was 'nan/.hydra/config.yaml is missing'."""
    sw = fake_sweep(tmp_path)
    (sw / "leaderboard.csv").write_text("rank,trial,status,hp.model.c3,trial_dir\n1,0,complete,16,\n")
    before = snapshot(tmp_path)
    proc = run_inproc([*COMMANDS[command](sw, tmp_path / "out"), "--trial", "0"], cwd=tmp_path)
    line = assert_one_line_error(proc, "trial 0 (complete): no trial_dir in its row", f"cannot {command} it")
    assert "nan" not in line and snapshot(tmp_path) == before


def test_a_run_dir_is_reproduced_as_a_trial_is(tmp_path):
    """reproduce took only a sweep dir or a leaderboard CSV: one run dir (a train run's, a trial's,
    a seed's in it) was 'no leaderboard.csv in this directory', though it holds all a re-run needs."""
    seed = tmp_path / "sw" / "trial_0003" / "seed_2"
    done = run_inproc(["mnist_sweep.train", *TINY, "trainer.seed=2", f"hydra.run.dir={seed}"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    proc = run_inproc(["mnist_sweep.reproduce", str(seed)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [out] = (tmp_path / "outputs" / "reproduce").glob("trial_0003_seed_2_*")  # the default --out names the seed
    assert f"{seed}: 1 epoch reproduced exactly (re-run in outputs/reproduce/{out.name})" in proc.stdout
    assert (out / "result.json").is_file()


RUN_DIR_INPUTS = {  # what is wrong with a run dir given to reproduce: (change, arguments, what the line says)
    "with --trial": (None, ["--trial", "0"], "--trial: picks a row of a leaderboard"),
    "not finished": (None, [], "result.json: no such file; the run did not finish"),
    "damaged result": ("{", [], "result.json: not valid JSON"),
    "failed status": ('{"status": "running"}', [], "status 'running'; the run did not finish"),
}


@pytest.mark.parametrize("case", RUN_DIR_INPUTS)
def test_a_run_dir_that_cannot_be_reproduced_is_one_line(tmp_path, case):
    run = fake_sweep(tmp_path) / "trial_0000"
    result, args, says = RUN_DIR_INPUTS[case]
    if result is not None:
        (run / "result.json").write_text(result)
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.reproduce", str(run), "--out", str(tmp_path / "out"), *args], cwd=tmp_path)
    assert_one_line_error(proc, says)
    assert snapshot(tmp_path) == before


def test_a_dir_of_sweep_dirs_names_the_sweeps_not_their_trials(tmp_path):
    """reproduce outputs/sweeps said 'holds 10 run dirs, is none itself; give one of them: .../half/trial_0000,
    ...', every trial of every sweep, where export and confirm name the sweep dirs (reproduce takes one, --rank 1)."""
    sw = fake_sweep(tmp_path)
    proc = run_inproc(["mnist_sweep.reproduce", str(tmp_path)], cwd=tmp_path)
    assert_one_line_error(proc, f"error: {tmp_path}: holds the sweep dirs {sw}; give one of them")


def test_a_run_with_a_relative_data_root_is_reproduced_from_another_dir(tmp_path):
    """The re-run read data.root=mnist from the current directory, not from where the run started:
    'the re-run failed ... mnist/MNIST/raw/...: missing; run ... fetch --root mnist'."""
    from mnist_sweep.mnist_files import default_root

    start, elsewhere, run = tmp_path / "start", tmp_path / "elsewhere", tmp_path / "run"
    start.mkdir(), elsewhere.mkdir()
    (start / "mnist").symlink_to(default_root().resolve())
    done = run_inproc(["mnist_sweep.train", *TINY, "data.root=mnist", f"hydra.run.dir={run}"], cwd=start)
    assert done.returncode == 0, done.stderr[-2000:]
    proc = run_inproc(["mnist_sweep.reproduce", str(run), "--out", str(tmp_path / "out")], cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"data.root={start}/mnist" in proc.stdout and "1 epoch reproduced exactly" in proc.stdout


def test_an_empty_path_is_refused_by_the_flag_schema(tmp_path):
    """The positional is ``path`` (a sweep dir, leaderboard or run dir), checked as CLI_FLAGS names it."""
    assert_one_line_error(run_inproc(["mnist_sweep.reproduce", ""], cwd=tmp_path), "path: expected a path, got ''")


def test_selection_reads_a_relative_data_root_from_where_the_run_started(tmp_path, monkeypatch):
    """selection() composes a run's config for reproduce and confirm alike: from another directory its
    relative data.root is the start dir's (confirm read data.root=mnist from wherever it was run)."""
    from mnist_sweep.mnist_files import default_root
    from mnist_sweep.reproduce import selection

    start, elsewhere, run = tmp_path / "start", tmp_path / "elsewhere", tmp_path / "run"
    start.mkdir(), elsewhere.mkdir()
    (start / "mnist").symlink_to(default_root().resolve())
    done = run_inproc(["mnist_sweep.train", *TINY, "data.root=mnist", f"hydra.run.dir={run}"], cwd=start)
    assert done.returncode == 0, done.stderr[-2000:]
    monkeypatch.chdir(elsewhere)
    assert selection(run / ".hydra")[-1] == f"data.root={start}/mnist"
    monkeypatch.chdir(start)
    assert f"data.root={start}/mnist" not in selection(run / ".hydra")  # read from here: the same dir


def test_a_mismatch_names_what_differs_between_the_runs(tmp_path):
    """A mismatch said only 'same machine, threads and library versions?', also of a bf16 run from a
    GPU re-run on a CPU, or of a saved config edited by hand after the run."""
    from mnist_sweep.differences import why_they_may_differ

    def run(name: str, **result: object) -> Path:
        (tmp_path / name).mkdir()
        base = {"status": "complete", "params": 900, "host": "vm", "device": "cpu", "threads": 1, "precision": "fp32",
                "versions": {"torch": "2.14.1", "numpy": "2.4.6"}}
        (tmp_path / name / "result.json").write_text(json.dumps({**base, **result}))
        return tmp_path / name

    here = run("here")
    gpu = run("gpu", host="gpu-box", device="cuda", precision="bf16", versions={"torch": "2.14.1+cu130", "numpy": "2.4.6"})
    why = why_they_may_differ(gpu, here, saved_config=False)
    assert why.startswith("possible causes: host gpu-box there, vm here; device cuda there, cpu here; precision bf16 "
                          "there, fp32 here; torch 2.14.1+cu130 there, 2.14.1 here; bf16 autocast"), why
    edited = why_they_may_differ(run("edited", params=800), here, saved_config=True)
    assert edited == (f"possible causes: the saved config's model has 900 parameters, the run trained 800: "
                      f"{tmp_path / 'edited' / '.hydra' / 'config.yaml'} was changed after the run (edited by hand?)")
    assert "is not what its overrides.yaml compose" in why_they_may_differ(run("same"), here, saved_config=True)
    assert why_they_may_differ(run("same2"), here, saved_config=False) == "same machine, threads and library versions?"


@pytest.mark.parametrize("case", ["override", "edited"])
def test_a_rerun_with_fewer_epochs_is_one_line_with_both_counts(tmp_path, monkeypatch, case):
    """A re-run that trained fewer epochs than the run records (an override of trainer.max_epochs, or
    a saved config edited to fewer after the run) printed pandas' 'Empty DataFrame / Columns: [] /
    Index: []', then 'reproduced metrics differ' with causes that named no epoch count."""
    import pandas as pd

    from mnist_sweep import reproduce

    run, out = tmp_path / "run", tmp_path / "out"
    (run / ".hydra").mkdir(parents=True)
    OmegaConf.save(make_cfg(*TINY, f"trainer.max_epochs={1 if case == 'edited' else 3}"), run / ".hydra" / "config.yaml")
    (run / "result.json").write_text('{"status": "complete", "precision": "fp32"}')
    row = ",".join("0.5" for _ in COMPARED)
    (run / "metrics.csv").write_text(f"epoch,{','.join(COMPARED)}\n" + "".join(f"{e},{row}\n" for e in (1, 2, 3)))

    def rerun(config_dir, out_dir, extra, select):  # what train leaves in its run dir, trained for 1 epoch
        (out_dir / ".hydra").mkdir(parents=True)
        OmegaConf.save(make_cfg(*TINY, "trainer.max_epochs=1"), out_dir / ".hydra" / "config.yaml")
        OmegaConf.save(["trainer.max_epochs=1"] if case == "override" else [], out_dir / ".hydra" / "overrides.yaml")
        (out_dir / "metrics.csv").write_text(f"epoch,{','.join(COMPARED)}\n1,{row}\n")
        return pd.read_csv(out_dir / "metrics.csv")

    monkeypatch.setattr(reproduce, "rerun", rerun)
    proc = run_inproc(["mnist_sweep.reproduce", str(run), "--out", str(out)], cwd=tmp_path)
    assert proc.returncode == 1 and "Empty DataFrame" not in proc.stdout + proc.stderr, proc.stdout
    line = assert_one_line_error(proc, f"error: {run}: the re-run trained 1 epoch and {run / 'metrics.csv'} records 3, "
                                       f"so epochs 2-3 cannot be compared (re-run in {out}); ")
    assert line.endswith("trainer.max_epochs is 3 in the run's saved config and 1 in the re-run's, set by its override "
                         "trainer.max_epochs=1") if case == "override" else \
        f"{run / '.hydra' / 'config.yaml'} says trainer.max_epochs=1, fewer than its metrics.csv records" in line, line


@pytest.mark.parametrize("case", ["truncated", "edited", "pruned"])
def test_a_rerun_with_more_epochs_than_recorded_says_so_unless_the_run_was_pruned(tmp_path, monkeypatch, case):
    """A run whose metrics.csv was cut short (or whose saved config was edited to more epochs) re-ran
    3 epochs, compared the 1 recorded and said '1 epoch reproduced exactly'. A pruned run's re-run
    trains on: its recorded epochs are compared, as before."""
    import pandas as pd

    from mnist_sweep import reproduce

    run, out = tmp_path / "run", tmp_path / "out"
    (run / ".hydra").mkdir(parents=True)
    OmegaConf.save(make_cfg(*TINY, "trainer.max_epochs=3"), run / ".hydra" / "config.yaml")
    status, trained = {"truncated": ("complete", 3), "edited": ("complete", 1), "pruned": ("pruned", 1)}[case]
    (run / "result.json").write_text(json.dumps({"status": status, "precision": "fp32", "epochs": trained}))
    row = ",".join("0.5" for _ in COMPARED)
    (run / "metrics.csv").write_text(f"epoch,{','.join(COMPARED)}\n1,{row}\n")

    def rerun(config_dir, out_dir, extra, select):  # the saved config trained again: 3 epochs
        (out_dir / ".hydra").mkdir(parents=True)
        OmegaConf.save(make_cfg(*TINY, "trainer.max_epochs=3"), out_dir / ".hydra" / "config.yaml")
        OmegaConf.save([], out_dir / ".hydra" / "overrides.yaml")
        (out_dir / "metrics.csv").write_text(f"epoch,{','.join(COMPARED)}\n" + "".join(f"{e},{row}\n" for e in (1, 2, 3)))
        return pd.read_csv(out_dir / "metrics.csv")

    monkeypatch.setattr(reproduce, "rerun", rerun)
    proc = run_inproc(["mnist_sweep.reproduce", str(run), "--out", str(out)], cwd=tmp_path)
    if case == "pruned":
        assert proc.returncode == 0 and f"{run}: 1 epoch reproduced exactly" in proc.stdout, proc.stdout + proc.stderr
        return
    assert proc.returncode == 1 and "reproduced exactly" not in proc.stdout, proc.stdout
    line = assert_one_line_error(proc, f"error: {run}: the re-run trained 3 epochs and {run / 'metrics.csv'} records 1, "
                                       f"so epochs 2-3 cannot be compared (re-run in {out}); ")
    assert line.endswith("its result.json says the run trained 3 epochs: metrics.csv was changed after the run (cut short "
                         "or edited?); restore it from a copy of the run dir") if case == "truncated" else \
        f"{run / '.hydra' / 'config.yaml'} says trainer.max_epochs=3, more than its metrics.csv records" in line, line


def test_a_rerun_that_fails_quotes_its_line_once(tmp_path):
    """'the re-run failed with exit code 2: error: .../MNIST/raw/...: missing': its 'error: ' twice."""
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    OmegaConf.save(make_cfg(*TINY, f"data.root={tmp_path / 'no_data'}"), run / ".hydra" / "config.yaml")
    (run / "result.json").write_text('{"status": "complete", "precision": "fp32"}')
    (run / "metrics.csv").write_text(f"epoch,{','.join(COMPARED)}\n1,{','.join('0.5' for _ in COMPARED)}\n")
    proc = run_inproc(["mnist_sweep.reproduce", str(run), "--out", str(tmp_path / "out")], cwd=tmp_path)
    last = assert_one_line_error(proc, "the re-run failed with exit code", "no_data")
    assert "code 2: error:" not in last and "exit code 2: " in last, last


@pytest.mark.parametrize("command", ["reproduce", "confirm"])
@pytest.mark.parametrize("status, error, says", [
    ("running", "", "trial 0 (running): is still training (or its worker died"),
    ("failed", "CUDA out of memory", "trial 0 (failed): its run stopped (CUDA out of memory), no finished run to"),
    ("rejected", "model.max_params: 25,000 > 20,000", "trial 0 (rejected): was never trained, refused before launch "
                                                      "(model.max_params: 25,000 > 20,000), nothing to"),
])
def test_a_trial_without_a_finished_run_says_why(tmp_path, command, status, error, says):
    """A running or failed trial was 'was never trained, nothing to reproduce', as a rejected one was:
    the one still training was not told to wait, the failed one's error not shown."""
    for rows, fix in [(f'1,0,{status},"{error}",\n', "; no trial has finished yet: resume the sweep (its command again) or wait"),
                      (f'1,1,complete,,\n2,0,{status},"{error}",\n', "; pick a complete trial")]:  # it said so with none
        (tmp_path / "leaderboard.csv").write_text("rank,trial,status,error,trial_dir\n" + rows)
        before = snapshot(tmp_path)
        proc = run_inproc([f"mnist_sweep.{command}", "leaderboard.csv", "--trial", "0", "--out", str(tmp_path / "out")],
                          cwd=tmp_path)
        assert assert_one_line_error(proc, says).endswith(fix)
        assert snapshot(tmp_path) == before


def test_a_run_copied_from_another_machine_reads_its_relative_data_root_in_the_default_root(tmp_path, monkeypatch, caplog):
    """data.root=mnist read in a start dir that is not on this machine (hydra.runtime.cwd of a run dir
    copied from another): the re-run read /that/dir/mnist, 'missing; run fetch --root /that/dir/mnist'.
    It reads the default data root now ($MNIST_SWEEP_DATA, else <repo>/data), saying so."""
    from mnist_sweep.mnist_files import default_root

    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    OmegaConf.save(make_cfg(*TINY, "data.root=mnist"), run / ".hydra" / "config.yaml")
    OmegaConf.save({"hydra": {"runtime": {"cwd": str(tmp_path / "elsewhere" / "home")}}}, run / ".hydra" / "hydra.yaml")
    (run / "result.json").write_text('{"status": "complete", "precision": "fp32"}')
    (run / "metrics.csv").write_text(f"epoch,{','.join(COMPARED)}\n1,{','.join('0.5' for _ in COMPARED)}\n")
    monkeypatch.chdir(tmp_path)
    assert selection(run / ".hydra")[-1] == "data.root=null"
    [said] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert f"its relative data.root 'mnist' was read in {tmp_path / 'elsewhere' / 'home'}, not on this machine" in said
    proc = run_inproc(["mnist_sweep.reproduce", str(run), "--out", str(tmp_path / "out")], cwd=tmp_path,
                      env={"MNIST_SWEEP_DATA": str(default_root().resolve())})
    assert "data.root=null" in proc.stdout and (tmp_path / "out" / "metrics.csv").is_file(), proc.stdout + proc.stderr
    assert proc.returncode == 1 and "reproduced metrics differ" in proc.stderr  # the recorded 0.5s were made up


def test_a_run_dir_without_its_saved_config_says_why(tmp_path):
    """A run trained with hydra.output_subdir=null (refused since): 'no leaderboard.csv and no .hydra/
    in this directory; give a sweep dir, ...', as if it were no run."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "result.json").write_text('{"status": "complete"}')
    proc = run_inproc(["mnist_sweep.reproduce", "run"], cwd=tmp_path)
    assert_one_line_error(proc, "error: run/.hydra: missing", "hydra.output_subdir=null?", "cannot reproduce it")


def test_confirms_out_dir_names_the_runs_in_it(tmp_path):
    """confirm's --out (CONFIG/seed_N run dirs) was 'no leaderboard.csv and no .hydra/ in this directory':
    it names the runs to give, as predict does."""
    trial = fake_sweep(tmp_path) / "trial_0000"
    (tmp_path / "confirmed" / "trial_0000").mkdir(parents=True)
    trial.rename(tmp_path / "confirmed" / "trial_0000" / "seed_1")
    proc = run_inproc(["mnist_sweep.reproduce", "confirmed"], cwd=tmp_path)
    assert_one_line_error(proc, "error: confirmed: holds 1 run dir, is none itself; give it: "
                          "confirmed/trial_0000/seed_1")


@pytest.mark.parametrize("rank", [[], ["--rank", "1"]])
def test_a_sweep_dir_whose_table_is_not_written_yet_says_so(tmp_path, rank):
    """A sweep in its first trial (or killed -9 in it: trial_0000/.hydra, no leaderboard.csv) said 'holds 1
    run dir, is none itself; give it: killed/trial_0000', a run that never finished; export and confirm
    said what it is, and how to rebuild its table."""
    trial = fake_sweep(tmp_path) / "trial_0000"
    (tmp_path / "killed").mkdir()
    trial.rename(tmp_path / "killed" / "trial_0000")
    (tmp_path / "killed" / "storage.json").write_text("{}")
    proc = run_inproc(["mnist_sweep.reproduce", "killed", *rank], cwd=tmp_path)
    assert_one_line_error(proc, "error: killed: no leaderboard.csv yet: no trial has ended (the first still training, "
                          "or the sweep stopped in it); see its trials in the sweep's storage: "
                          "python -m mnist_sweep.leaderboard killed --refresh")


@pytest.mark.parametrize("inside", [".hydra", ".hydra/config.yaml", "metrics.csv"])
def test_a_path_inside_a_run_dir_names_the_run_dir(tmp_path, inside):
    """RUN/.hydra said 'no leaderboard.csv and no .hydra/ in this directory', RUN/metrics.csv 'not a
    leaderboard (no column rank, ...); give a leaderboard.csv': neither named the run dir to give."""
    trial = fake_sweep(tmp_path) / "trial_0000"
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.reproduce", str(trial / inside)], cwd=tmp_path)
    assert_one_line_error(proc, f"error: {trial / inside}: is a", f"in a run dir, not a run dir; give the run dir it is in, {trial}")
    assert snapshot(tmp_path) == before
    (trial / "board.csv").write_text((tmp_path / "sw" / "leaderboard.csv").read_text())  # a table kept there still reads
    assert_one_line_error(run_inproc(["mnist_sweep.reproduce", str(trial / "board.csv"), "--rank", "9"], cwd=tmp_path),
                          "--rank 9: ", "has 3 rows")


def finished_fake_trial(tmp_path: Path) -> Path:
    """A sweep dir whose rank 1 is a finished run (saved config, result.json, a metrics.csv to compare), untrained."""
    run = tmp_path / "sw" / "trial_0000"
    (run / ".hydra").mkdir(parents=True)
    OmegaConf.save(make_cfg(*TINY), run / ".hydra" / "config.yaml")
    (run / "result.json").write_text('{"status": "complete", "precision": "fp32"}')
    (run / "metrics.csv").write_text(f"epoch,{','.join(COMPARED)}\n1,{','.join('0.5' for _ in COMPARED)}\n")
    (tmp_path / "sw" / "leaderboard.csv").write_text(f"rank,trial,status,trial_dir\n1,0,complete,{run}\n")
    return tmp_path / "sw"


def unwritable(monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    """Every dir's write test (rundir.write_problem) refused as a read-only dir refuses it (root too), or as a disk
    with no block free does ("no space left": an empty file made, its bytes refused)."""
    import errno
    import tempfile

    real_write = os.write

    def read_only(dir, prefix, **kwargs):  # noqa: A002, ANN001, ANN003, ANN202
        raise OSError(errno.EROFS, "Read-only file system", f"{dir}/{prefix}mzq2c1yr")

    def full(fd: int, data: bytes) -> int:
        if ".write-test-" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    if case == "read-only":
        monkeypatch.setattr(tempfile, "NamedTemporaryFile", read_only)
    else:
        monkeypatch.setattr(os, "write", full)


@pytest.mark.parametrize("case", ["read-only", "no space left"])
def test_an_out_dir_that_cannot_be_written_is_refused_before_the_rerun_naming_out(tmp_path, monkeypatch, case):
    """The re-run started ('$ python -m mnist_sweep.train ...') and its own check refused the dir: 'error: SW/trial_0000/.hydra:
    the re-run failed with exit code 2: hydra.run.dir: ...', the trial's path first and --out called hydra.run.dir.
    (A file in --out's place, a name too long, the flag's own check names.)"""
    sw = finished_fake_trial(tmp_path)
    (tmp_path / "ro").mkdir()
    out = tmp_path / "ro" / "rep"
    unwritable(monkeypatch, case)
    before = sorted(tmp_path.rglob("*"))  # ro's mtime changes: rep made and removed
    proc = run_inproc(["mnist_sweep.reproduce", str(sw), "--rank", "1", "--out", str(out)], cwd=tmp_path)
    line = assert_one_line_error(proc, f"error: --out: {out}: ", "Read-only file system; choose a writable directory"
                                 if case == "read-only" else "No space left on device; free space on its disk")
    assert "hydra.run.dir" not in line and "$ " not in proc.stdout, proc.stdout
    assert sorted(tmp_path.rglob("*")) == before
