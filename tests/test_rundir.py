"""mnist_sweep.rundir: the run and sweep dir guards, whatever config a run is composed from."""
from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import TINY, assert_one_line_error, make_cfg, run_inproc, snapshot
from mnist_sweep.rundir import GUARD, guarded


def saved_trial_config(tmp_path: Path) -> Path:
    """A trial's saved ``.hydra/config.yaml`` as Hydra writes it: the composed config, no hydra node."""
    d = tmp_path / "trial_0000" / ".hydra"
    d.mkdir(parents=True)
    OmegaConf.save(make_cfg(*TINY), d / "config.yaml")
    return d


def finished_run(tmp_path: Path) -> Path:
    d = tmp_path / "r1"
    (d / ".hydra").mkdir(parents=True)
    for name in ("result.json", "model.pt", "metrics.csv", ".hydra/config.yaml"):
        (d / name).write_text("kept")
    return d


def test_a_saved_trial_config_into_a_finished_run_dir_is_refused(tmp_path):
    """Training a trial's saved config (reproduce's printed command, confirm's runs) had no
    OutputDirCheck (the saved config has no hydra node) and replaced a finished run's files."""
    config_dir, run = saved_trial_config(tmp_path), finished_run(tmp_path)
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.train", "--config-path", str(config_dir), "--config-name", "config",
                       f"hydra.run.dir={run}"], cwd=tmp_path)
    assert_one_line_error(proc, "hydra.run.dir", str(run), "finished run")
    assert snapshot(tmp_path) == before


def test_a_saved_trial_config_into_a_path_under_a_file_is_one_line(tmp_path):
    config_dir = saved_trial_config(tmp_path)
    (tmp_path / "afile").write_text("")
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.train", "--config-path", str(config_dir), "--config-name", "config",
                       f"hydra.run.dir={tmp_path}/afile/x"], cwd=tmp_path)
    assert_one_line_error(proc, "hydra.run.dir", f"{tmp_path}/afile/x", "Not a directory")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("source", ["conf", "saved"])
def test_a_sweep_into_a_run_dir_is_refused(tmp_path, source):
    """A sweep into a finished single run's dir added a leaderboard, a storage and trial dirs
    beside the run's files."""
    run = finished_run(tmp_path)
    select = (["--config-path", str(saved_trial_config(tmp_path)), "--config-name", "config"]
              if source == "saved" else [])
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.train", "-m", *select, *TINY, "hydra.sweeper.n_trials=1", "hydra.sweeper.params=null",
                       f"hydra.sweep.dir={run}"] if source == "conf" else
                      ["mnist_sweep.train", "-m", *select, f"hydra.sweep.dir={run}"], cwd=tmp_path)
    assert_one_line_error(proc, "hydra.sweep.dir", str(run), "result.json", "new directory")
    assert snapshot(tmp_path) == before


def test_a_sweep_into_a_dir_of_runs_is_refused_and_a_sweep_dir_resumes(tmp_path):
    """hydra.sweep.dir=outputs/runs started a sweep among the runs there: its leaderboard.csv above them
    made each a 'trial' of it, and export of one said 'one run dir, not a sweep; give its sweep dir'."""
    from mnist_sweep.rundir import OutputDirCheck, RunDirs

    runs = tmp_path / "runs"
    finished_run(runs)
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.train", "-m", *TINY, "hydra.sweeper.n_trials=1", "hydra.sweeper.params=null",
                       f"hydra.sweep.dir={runs}"], cwd=tmp_path)
    assert_one_line_error(proc, f"hydra.sweep.dir: {runs} holds run dirs that are no sweep's trials ({runs}/r1, ...)",
                          "choose a new directory for the sweep")
    assert snapshot(tmp_path) == before
    sweep = tmp_path / "sw"  # its own trials, a seed in one: resumed, with or without its storage record
    for d in (sweep / "trial_0000", sweep / "trial_0001" / "seed_2"):
        (d / ".hydra").mkdir(parents=True)
        (d / ".hydra" / "config.yaml").write_text("kept")
    cfg = OmegaConf.create({"hydra": {"sweeper": {}, "sweep": {"dir": str(sweep)}, "output_subdir": ".hydra"}})
    OutputDirCheck._check_sweep(cfg)
    (sweep / "storage.json").write_text("{}")
    finished_run(sweep)  # r1: not a trial, but the dir is a sweep's: its own business
    OutputDirCheck._check_sweep(cfg)
    RunDirs.reset()


@pytest.mark.parametrize("marker", ["storage.json", "leaderboard.csv"])
def test_a_run_into_a_sweep_dir_is_refused(tmp_path, marker):
    """A run given a sweep dir as hydra.run.dir trained into it: its metrics.csv, train.log and
    .hydra/ beside the trials, and a later resume of the sweep refused it as 'holds a training run'."""
    sweep = tmp_path / "sweeps" / "q"
    (sweep / "trial_0000").mkdir(parents=True)
    (sweep / marker).write_text("kept")
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.train", *TINY, f"hydra.run.dir={sweep}"], cwd=tmp_path)
    assert_one_line_error(proc, "hydra.run.dir", str(sweep), f"a sweep dir ({marker})", "new directory")
    assert snapshot(tmp_path) == before


def test_guarded_adds_the_check_once_and_leaves_informational_commands_alone():
    assert guarded(["a=1"]) == ["a=1", GUARD]
    assert guarded(["a=1", GUARD]) == ["a=1", GUARD]  # a helper worker's copy of the command line
    assert guarded(["--cfg", "job"]) == ["--cfg", "job"]


def test_a_run_failing_before_its_first_epoch_removes_the_dirs_made_above_its_run_dir(tmp_path):
    """hydra.run.dir=new/deeper/run: the run dir was removed, new/ and new/deeper/ were left empty
    (reproduce --out a/b/c and confirm's runs too)."""
    (tmp_path / "kept").mkdir()
    proc = run_inproc(["mnist_sweep.train", *TINY, f"hydra.run.dir={tmp_path / 'kept' / 'new' / 'deeper' / 'run'}"],
                      cwd=tmp_path, env={"MNIST_SWEEP_DATA": str(tmp_path / "no_data")})
    assert_one_line_error(proc, "no_data")
    assert [p.name for p in tmp_path.rglob("*")] == ["kept"]  # the dir that was there stays


def test_a_run_whose_dir_fills_up_is_one_line_and_the_same_command_runs_again(tmp_path, monkeypatch):
    """A full disk (or a dir made read-only) while a single run writes: it was an OSError traceback."""
    import errno

    from mnist_sweep import cli

    def full(st, out_dir, **kwargs):  # noqa: ANN001, ANN003, ANN202
        raise OSError(errno.ENOSPC, "No space left on device", str(out_dir / "model.pt"))

    monkeypatch.setattr(cli, "train", full)
    args = ["mnist_sweep.train", f"hydra.run.dir={tmp_path / 'run'}", *TINY]
    assert_one_line_error(run_inproc(args, cwd=tmp_path), "run/model.pt: No space left on device", "free space",
                          "run the same command again")


@pytest.mark.parametrize("where", ["run", "sweep"])
@pytest.mark.parametrize("too_long", ["name", "path"])
def test_an_output_dir_with_a_name_too_long_is_one_line_and_leaves_nothing(tmp_path, where, too_long):
    """A name over the file system's 255 bytes: one line saying so, nothing made (the dirs above
    it too); the check's OSError had become Hydra's warning and the run went on to a traceback.
    A path over PATH_MAX, each name short: a sweep was an OSError traceback (the sweep dir check's
    is_dir), a run's line said 'at most 255 bytes a name' of names of 250."""
    long = "x" * 300 if too_long == "name" else "/".join(["x" * 250] * 17)
    args = ([*TINY, f"hydra.run.dir={tmp_path}/deep/{long}/run"] if where == "run" else
            ["-m", "hydra.sweeper.n_trials=1", f"hydra.sweep.dir={tmp_path}/deep/{long}"])
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.train", *args], cwd=tmp_path)
    assert proc.returncode == 2
    line = assert_one_line_error(proc, f"hydra.{where}.dir: ", "File name too long", "choose a shorter path")
    assert ("at most 255 bytes a name" in line) == (too_long == "name") and ("over the system's limit" in line) != (
        too_long == "name"), line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("where", ["run", "sweep"])
def test_an_output_dir_that_does_not_resolve_is_one_line_naming_it(tmp_path, where):
    """hydra.run.dir=${oc.env:NOPE}: the check's error had become Hydra's multi-line warning,
    then Hydra's own line named no key."""
    args = ([*TINY, "hydra.run.dir=${oc.env:MNIST_SWEEP_NOPE}/run"] if where == "run" else
            ["-m", "hydra.sweeper.n_trials=1", "hydra.sweep.dir=${oc.env:MNIST_SWEEP_NOPE}"])
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.train", *args], cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, f"error: hydra.{where}.dir: ${{oc.env:MNIST_SWEEP_NOPE}}",
                          "environment variable MNIST_SWEEP_NOPE is not set")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("where", ["run", "sweep"])
def test_an_empty_output_dir_is_refused_not_taken_for_the_current_one(tmp_path, where):
    """hydra.run.dir=$OUT with OUT unset: the run wrote .hydra/, metrics.csv, model.pt and
    result.json into the directory it started in (the repo root, often)."""
    args = [*TINY, "hydra.run.dir=''"] if where == "run" else ["-m", "hydra.sweeper.n_trials=1", "hydra.sweep.dir=''"]
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.train", *args], cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, f"error: hydra.{where}.dir: empty (an unset shell variable?); give a directory")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("where", ["run", "sweep"])
def test_a_home_dir_written_with_a_tilde_is_refused_not_made_here(tmp_path, monkeypatch, where):
    """hydra.run.dir='~/runs/x' (quoted, as the grammar's line for a bare ~ said to write it) trained into
    ./~/runs/x: Hydra expands no ~, and a dir named ~ is one rm -r away from the home dir."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    args = [*TINY, "hydra.run.dir='~/runs/x'"] if where == "run" else [
        "-m", *TINY, "hydra.sweeper.n_trials=1", "hydra.sweeper.params=null", "hydra.sweep.dir='~/sw'"]  # named first
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.train", *args], cwd=tmp_path)
    assert proc.returncode == 2
    path = f"{tmp_path}/home/runs/x" if where == "run" else f"{tmp_path}/home/sw"
    assert_one_line_error(proc, f"error: hydra.{where}.dir: ~/", f"Hydra does not expand ~ (nor does the shell in quotes): "
                          f"it would make a dir named ~ in {tmp_path}; give the path itself: \"hydra.{where}.dir={path}\"")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("where", ["run", "sweep", "cwd", "reproduce"])
def test_an_output_dir_whose_path_is_not_utf8_is_refused_before_writing(tmp_path, where):
    """hydra.sweep.dir='sw\\xe9' (a Latin-1 name) ended its first trial in a UnicodeEncodeError traceback
    (leaderboard.csv cannot hold the byte), a run's last lines in '--- Logging error ---' reports; a relative
    dir below a non-UTF-8 cwd too, and reproduce's default --out there (its re-run was refused after it started).
    One line naming the byte now, nothing written."""
    bad = "\udce9"  # os.fsdecode(b"\xe9")
    cwd = tmp_path / f"w{bad}" if where in ("cwd", "reproduce") else tmp_path
    cwd.mkdir(exist_ok=True)
    if where == "reproduce":
        trial = saved_trial_config(tmp_path).parent
        (trial / "result.json").write_text('{"status": "complete"}')
        (trial / "metrics.csv").write_text("epoch,lr,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc\n1,0.1,1,0.5,1,0.5,1,0.5\n")
    args = (["-m", *TINY, "hydra.sweeper.n_trials=1", "hydra.sweeper.params=null", f"hydra.sweep.dir='sw{bad}'"]
            if where == "sweep" else [*TINY, f"hydra.run.dir='r{bad}'" if where == "run" else "hydra.run.dir=r"])
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.reproduce", str(trial)] if where == "reproduce" else ["mnist_sweep.train", *args], cwd=cwd)
    if where == "reproduce":
        assert_one_line_error(proc, "error: --out (default outputs/reproduce/trial_0000_", "not a UTF-8 path (byte \\xe9)",
                              "choose a UTF-8 path")
        assert snapshot(tmp_path) == before
        return
    key, name = ("hydra.sweep.dir", f"sw{bad}") if where == "sweep" else ("hydra.run.dir", f"r{bad}" if where == "run" else "r")
    assert_one_line_error(proc, f"error: {key}: {cwd / name}".replace(bad, "\\udce9"), "not a UTF-8 path (byte \\xe9)",
                          "choose a UTF-8 path")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("where", ["run", "sweep", "saved"])
@pytest.mark.parametrize("subdir", ["null", "cfg"])
def test_a_run_that_would_save_no_config_in_hydra_is_refused_before_writing(tmp_path, where, subdir):
    """hydra.output_subdir=null trained a run with no .hydra/config.yaml (cfg: saved where no reader
    looks): reproduce, confirm, export and predict could never use it. Refused in one line now."""
    select = ["--config-path", str(saved_trial_config(tmp_path)), "--config-name", "config"] if where == "saved" else []
    args = (["-m", *TINY, "hydra.sweeper.n_trials=1", "hydra.sweeper.params=null", f"hydra.sweep.dir={tmp_path}/sw"]
            if where == "sweep" else [*select, *TINY, f"hydra.run.dir={tmp_path}/run"])
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.train", *args, f"hydra.output_subdir={subdir}"], cwd=tmp_path)
    assert_one_line_error(proc, f"error: hydra.output_subdir={subdir}: every run saves its resolved config in .hydra/",
                          "leave hydra.output_subdir out")
    assert snapshot(tmp_path) == before and not (tmp_path / "run").exists() and not (tmp_path / "sw").exists()


@pytest.mark.parametrize("where", ["run", "sweep"])
def test_an_output_subdir_that_does_not_resolve_is_named_not_the_run_dir(tmp_path, where):
    """hydra.output_subdir=${nope}: the line named hydra.run.dir (hydra.sweep.dir for a sweep), set right."""
    args = ([*TINY, f"hydra.run.dir={tmp_path}/run"] if where == "run" else
            ["-m", *TINY, "hydra.sweeper.n_trials=1", "hydra.sweeper.params=null", f"hydra.sweep.dir={tmp_path}/sw"])
    before = snapshot(tmp_path)
    proc = run_inproc(["mnist_sweep.train", *args, "hydra.output_subdir=${nope}"], cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, "error: hydra.output_subdir: ${nope}: cannot resolve (no key nope in the config)")
    assert snapshot(tmp_path) == before


def test_only_a_path_inside_a_run_dir_is_sent_to_it(tmp_path, monkeypatch):
    """rundir.in_a_run, which predict and reproduce ask: RUN/.hydra/.. is the run itself, and '..' from
    inside a run dir holds it, is not in it; a dir beside the run's files is in it."""
    from mnist_sweep.rundir import in_a_run

    run = finished_run(tmp_path)
    (run / "sub").mkdir()
    assert in_a_run(run) is None and in_a_run(run / ".hydra" / "..") is None and in_a_run(tmp_path) is None
    assert in_a_run(run / "missing") is None  # predict and reproduce say 'no such ...' as before
    assert in_a_run(run / "sub") == f"{run / 'sub'}: is a directory in a run dir, not a run dir; give the run dir it is in, {run}"
    monkeypatch.chdir(run)
    assert in_a_run(Path("..")) is None and in_a_run(Path("model.pt")).endswith("give the run dir it is in, .")


INSIDE = {  # a command whose output dir would be inside a trial's dir: (arguments, cwd is the trial dir, the key named)
    "run": (["mnist_sweep.train", *TINY, "hydra.run.dir=T/sub"], False, "hydra.run.dir"),
    "sweep": (["mnist_sweep.train", "-m", *TINY, "hydra.sweeper.n_trials=1", "hydra.sweeper.params=null",
               "hydra.sweep.dir=T/sub"], False, "hydra.sweep.dir"),
    "train in it": (["mnist_sweep.train", *TINY], True, "hydra.run.dir"),
    "reproduce in it": (["mnist_sweep.reproduce", "."], True, "--out (default outputs/reproduce/trial_0000_"),
    "reproduce --out": (["mnist_sweep.reproduce", "T", "--out", "T/again"], False, "--out: T/again"),
    "confirm --out": (["mnist_sweep.confirm", "T", "--out", "T/c"], False, "--out: T/c"),
}


@pytest.mark.parametrize("case", INSIDE)
def test_an_output_dir_inside_a_run_dir_is_refused_before_writing(tmp_path, case):
    """hydra.run.dir=TRIAL/sub, or reproduce run in a trial dir (its default outputs/reproduce/...), nested a run in
    a run: the leaderboard and report, which scan run dirs, misread both. One line naming the run dir now, nothing written."""
    trial = saved_trial_config(tmp_path).parent
    (trial / "result.json").write_text('{"status": "complete"}')
    (trial / "metrics.csv").write_text("epoch,lr,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc\n1,0.1,1,0.5,1,0.5,1,0.5\n")
    args, in_it, key = INSIDE[case]
    before = snapshot(tmp_path)
    proc = run_inproc([a.replace("T", str(trial)) if a.startswith("T") or "=T/" in a else a for a in args],
                      cwd=trial if in_it else tmp_path)
    assert_one_line_error(proc, f"error: {key.replace('T/', f'{trial}/')}", f"inside the run dir {trial} (it holds result.json)",
                          "give a dir outside it")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("where", ["run", "sweep"])
def test_an_existing_output_dir_that_cannot_be_written_is_named_not_the_test_file_tried_in_it(tmp_path, monkeypatch, where):
    """A read-only (or full) existing dir was named by the temporary file the write test tried in it:
    'hydra.sweep.dir: DIR/.write-test-mzq2c1yr: Read-only file system'."""
    import errno
    import tempfile

    def refused(dir, prefix, **kwargs):  # noqa: A002, ANN001, ANN003, ANN202 - as a read-only dir refuses it
        raise OSError(errno.EROFS, "Read-only file system", f"{dir}/{prefix}mzq2c1yr")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refused)
    (tmp_path / "out").mkdir()
    args = ["mnist_sweep.train", *(["-m"] if where == "sweep" else []), f"hydra.{where}.dir={tmp_path / 'out'}", *TINY]
    line = assert_one_line_error(run_inproc(args, cwd=tmp_path), f"error: hydra.{where}.dir: {tmp_path / 'out'}: "
                                 "Read-only file system; choose a writable directory")
    assert ".write-test" not in line and (tmp_path / "out").is_dir()


@pytest.mark.parametrize("where", ["run", "sweep"])
def test_a_dir_on_a_disk_with_no_space_left_is_refused_before_hydra_writes(tmp_path, monkeypatch, where):
    """A full disk still makes an empty file, so the write test passed; Hydra then wrote .hydra/config.yaml
    itself: an OSError traceback (exit 1) and a 0-byte config.yaml and train.log left in the new run dir.
    The test writes bytes: one line, and the dirs it made are gone."""
    import errno
    import os

    real = os.write

    def full(fd: int, data: bytes) -> int:  # what a disk with no block free does with a write
        if ".write-test-" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(os, "write", full)
    out = tmp_path / "full" / "out"
    args = ["mnist_sweep.train", *(["-m", "hydra.sweeper.n_trials=1"] if where == "sweep" else []),
            f"hydra.{where}.dir={out}", *TINY]
    assert_one_line_error(run_inproc(args, cwd=tmp_path), f"error: hydra.{where}.dir: {out}: No space left on device; "
                          "free space on its disk")
    assert list(tmp_path.iterdir()) == []
