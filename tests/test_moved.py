"""A sweep dir moved (mv), copied (cp -r) or reached through a link since it ran: its own trial
dirs and storage file are read in the dir given, wherever the sweep recorded them."""
from __future__ import annotations

import shutil
from pathlib import Path

import optuna
import pandas as pd
from omegaconf import OmegaConf
from optuna.trial import create_trial

from conftest import run_inproc
from mnist_sweep import leaderboard, results, sweeps


def make_sweep(d: Path, n: int = 2, fmt: str | None = None) -> Path:
    """A sweep dir as a sweep leaves it, without training: optuna.db, storage.json, leaderboard.csv
    and one trial_NNNN/ per complete trial (its user attrs naming the dir by absolute path); with
    ``fmt`` (hydra.sweeper.trial_dir), dirs of that name, each with its .hydra/hydra.yaml as Hydra saves it."""
    d.mkdir()
    study = optuna.create_study(study_name="s", storage=f"sqlite:///{d / 'optuna.db'}", direction="maximize")
    for i in range(n):
        t = d / (fmt or "trial_{number:04d}").format(number=i)
        t.mkdir()
        if fmt:
            (t / ".hydra").mkdir()
            OmegaConf.save({"hydra": {"mode": "MULTIRUN", "sweeper": {"trial_dir": fmt}}}, t / ".hydra" / "hydra.yaml")
        study.add_trial(create_trial(value=0.5 + i / 10, user_attrs={"trial_dir": str(t)}))
    leaderboard.write_for_sweep(study, d)
    return d


def test_a_copied_sweep_reads_its_own_trial_dirs_not_the_originals(tmp_path, capsys):
    """cp -r a b: b's leaderboard.csv names a's trial dirs, which export, confirm and reproduce read
    (a's files, silently); with a gone (mv), reproduce said 'trial dir deleted or moved?'."""
    orig = make_sweep(tmp_path / "a")
    shutil.copytree(orig, tmp_path / "b")
    for given in (tmp_path / "b", tmp_path / "b" / "leaderboard.csv"):
        board = leaderboard.read(given)
        assert sorted(board.trial_dir) == [str(tmp_path / "b" / "trial_0000"), str(tmp_path / "b" / "trial_0001")]
        assert f"recorded in {orig}" in capsys.readouterr().err
    shutil.move(orig, tmp_path / "c")  # moved: the dir given holds the trials; the recorded ones are gone
    assert all(Path(d).parent == tmp_path / "c" for d in leaderboard.read(tmp_path / "c").trial_dir)


def test_a_copied_sweep_with_its_own_trial_dir_format_reads_its_own_trial_dirs(tmp_path, capsys):
    """hydra.sweeper.trial_dir='run-{number}': only trial_* dirs were read in the dir given, so a copy
    read the original's run-N dirs (and a moved one's were 'deleted or moved?'); the format is read
    from the trials' saved .hydra/hydra.yaml now."""
    orig = make_sweep(tmp_path / "a", fmt="run-{number}")
    shutil.copytree(orig, tmp_path / "b")
    assert sorted(leaderboard.read(tmp_path / "b").trial_dir) == [str(tmp_path / "b" / "run-0"), str(tmp_path / "b" / "run-1")]
    assert f"recorded in {orig}" in capsys.readouterr().err
    proc = run_inproc(["mnist_sweep.leaderboard", "b", "--refresh", "--columns", "trial_dir"], cwd=tmp_path)
    assert proc.returncode == 0 and str(tmp_path / "b" / "run-1") in proc.stdout, proc.stdout + proc.stderr
    assert sorted(leaderboard.read(orig).trial_dir) == [str(orig / "run-0"), str(orig / "run-1")]  # the original: its own


def test_two_sweep_dirs_of_one_shared_study_each_name_the_others_trials_where_they_ran(tmp_path, capsys):
    """MNIST_SWEEP_STORAGE shared, hydra.sweep.dir=a then =b: b's table read a's trials as b/trial_0000
    (missing), with 'moved or copied since', and reproduce b --trial 0 said 'no such trial dir'."""
    study = optuna.create_study(study_name="s", storage=f"sqlite:///{tmp_path / 'shared.db'}", direction="maximize")
    for i, d in enumerate((tmp_path / "a", tmp_path / "b")):
        t = d / f"trial_{i:04d}"
        (t / ".hydra").mkdir(parents=True)
        OmegaConf.save({"hydra": {"mode": "MULTIRUN", "sweeper": {"trial_dir": "trial_{number:04d}"},
                                  "runtime": {"output_dir": str(t)}}}, t / ".hydra" / "hydra.yaml")
        study.add_trial(create_trial(value=0.5 + i / 10, user_attrs={"trial_dir": str(t)}))
        leaderboard.write_for_sweep(study, d)
    board = leaderboard.read(tmp_path / "b")
    assert sorted(board.trial_dir) == [str(tmp_path / "a" / "trial_0000"), str(tmp_path / "b" / "trial_0001")]
    assert "note:" not in capsys.readouterr().err
    shutil.copytree(tmp_path / "b", tmp_path / "c")  # a copy of b still reads only what it holds
    assert sorted(leaderboard.read(tmp_path / "c").trial_dir) == [str(tmp_path / "c" / n) for n in ("trial_0000", "trial_0001")]
    assert "it lacks trial_0000" in capsys.readouterr().err


def test_a_partial_copy_reads_only_the_trial_dirs_it_holds(tmp_path, capsys):
    """cp -r a b, then b's trial_0001 removed (or left out of an rsync): b read a's trial_0001 silently,
    reproduce and export trained and exported the original's files. It is missing in b now, said so."""
    orig = make_sweep(tmp_path / "a")
    copy = tmp_path / "b"
    shutil.copytree(orig, copy)
    shutil.rmtree(copy / "trial_0001")
    board = leaderboard.read(copy)
    assert sorted(board.trial_dir) == [str(copy / "trial_0000"), str(copy / "trial_0001")]
    assert "it lacks trial_0001 (missing here, not read from there)" in capsys.readouterr().err
    for command in ("mnist_sweep.reproduce", "mnist_sweep.export"):
        proc = run_inproc([command, "b", "--trial", "1", *(["--out", "x/experiment/t.yaml"] if "export" in command else [])],
                          cwd=tmp_path)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.splitlines()[-1].startswith(f"error: trial 1 (complete): {copy / 'trial_0001'}: no such trial dir")
    proc = run_inproc(["mnist_sweep.leaderboard", "b", "--refresh", "--columns", "trial_dir"], cwd=tmp_path)
    assert proc.returncode == 0 and str(copy / "trial_0001") in proc.stdout, proc.stdout + proc.stderr


def test_a_table_saved_in_a_dir_without_its_sweep_reads_the_recorded_trial_dirs(tmp_path, capsys):
    """leaderboard a --out c/leaderboard.csv: c holds no sweep (no storage record, no trial dir), so
    its rows' dirs are a's, not missing in c."""
    orig = make_sweep(tmp_path / "a")
    (tmp_path / "c").mkdir()
    assert leaderboard.main([str(orig), "--out", str(tmp_path / "c" / "leaderboard.csv")]) == 0
    assert sorted(leaderboard.read(tmp_path / "c").trial_dir) == [str(orig / "trial_0000"), str(orig / "trial_0001")]


def test_the_original_a_link_to_it_and_a_merged_table_keep_their_trial_dirs(tmp_path, capsys):
    """Only a sweep dir's own table moves: the original, a link to it and a merge (rows of several
    sweeps) read the dirs they record, and say nothing."""
    orig = make_sweep(tmp_path / "a")
    (tmp_path / "link").symlink_to(orig)
    for given in (orig, tmp_path / "link"):
        assert sorted(leaderboard.read(given).trial_dir) == [str(orig / "trial_0000"), str(orig / "trial_0001")]
    merged, other = tmp_path / "b", make_sweep(tmp_path / "c")
    shutil.copytree(orig, merged)
    assert leaderboard.main([str(orig), str(other), "--out", str(tmp_path / "m.csv")]) == 0  # a and its link: read once
    shutil.copy(tmp_path / "m.csv", merged / "leaderboard.csv")  # a merge saved as another dir's table
    assert sorted({Path(d).parent for d in leaderboard.read(merged).trial_dir}) == [orig, other]
    assert "note:" not in capsys.readouterr().err


def test_a_moved_sweeps_refresh_and_report_read_the_storage_in_it(tmp_path):
    """mv a b: storage.json names a/optuna.db; refresh and report said 'moved or deleted? give
    --storage' though b holds its optuna.db."""
    shutil.move(make_sweep(tmp_path / "a"), tmp_path / "b")
    proc = run_inproc(["mnist_sweep.leaderboard", "b", "--refresh", "--columns", "trial_dir"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"records the storage {tmp_path / 'a' / 'optuna.db'}, which is gone" in proc.stderr
    assert str(tmp_path / "b" / "trial_0000") in proc.stdout
    proc = run_inproc(["mnist_sweep.report", "b"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "b" / "report.html").is_file() and not (tmp_path / "a").exists()


def test_a_copied_sweep_reads_its_own_storage_not_the_originals(tmp_path):
    """cp -r a b, then a's sweep went on: b's refresh showed a's trials (its storage.json names a's file)."""
    orig = make_sweep(tmp_path / "a")
    shutil.copytree(orig, tmp_path / "b")
    optuna.load_study(study_name="s", storage=f"sqlite:///{orig / 'optuna.db'}").add_trial(create_trial(value=0.9))
    url, name, _ = sweeps.find_storage(tmp_path / "b")
    assert (url, name) == (f"sqlite:///{tmp_path / 'b' / 'optuna.db'}", "s")
    proc = run_inproc(["mnist_sweep.leaderboard", "b", "--refresh"], cwd=tmp_path)
    assert proc.returncode == 0 and "2 trials: 2 complete" in proc.stdout, proc.stdout + proc.stderr
    assert "another sweep dir's" in proc.stderr
    assert sweeps.find_storage(orig)[0] == f"sqlite:///{orig / 'optuna.db'}"  # the original: its own, no note


def test_a_copy_in_a_dir_named_with_a_percent_sign_reads_its_own_storage(tmp_path):
    """cp -r a 'b 100%': the copy's storage URL was written with the path as it is, so SQLAlchemy
    (which decodes %-escapes) and the read-only check looked for another file; it is escaped now."""
    orig = make_sweep(tmp_path / "a")
    copy = tmp_path / "b 100%20"
    shutil.copytree(orig, copy)
    url, name, _ = sweeps.find_storage(copy)
    assert (url, name) == (f"sqlite:///{tmp_path}/b 100%2520/optuna.db", "s")
    assert len(optuna.load_study(study_name=name, storage=url).trials) == 2
    (copy / "storage.json").unlink()  # no record: the dir's own optuna.db, escaped the same way
    assert sweeps.find_storage(copy)[0] == url


def test_a_storage_outside_the_sweep_dir_is_read_where_it_is(tmp_path):
    """A sweep whose storage sits outside it (a shared db/optuna.db) keeps it, whatever its dir holds."""
    (tmp_path / "db").mkdir()
    study = optuna.create_study(study_name="s", storage=f"sqlite:///{tmp_path / 'db' / 'optuna.db'}")
    (tmp_path / "sw").mkdir()
    leaderboard.write_for_sweep(study, tmp_path / "sw")
    shutil.copy(tmp_path / "db" / "optuna.db", tmp_path / "sw" / "optuna.db")
    assert sweeps.find_storage(tmp_path / "sw")[0] == f"sqlite:///{tmp_path / 'db' / 'optuna.db'}"


def _smallest_with_nothing_feasible(d: Path, with_column: bool) -> None:
    """A `smallest` sweep's table (value = params, minimized) whose trials all fell short of the target:
    its ranking (nearest the target first) says nothing of the direction."""
    cols = "rank,trial,status,feasible,params,val_acc,value" + (",direction" if with_column else "") + ",trial_dir\n"
    end = ",minimize," if with_column else ","
    d.mkdir()
    (d / "leaderboard.csv").write_text(cols + f"1,0,complete,False,11356,0.9,11356{end}\n"
                                       f"2,1,complete,False,8314,0.8,8314{end}\n")


def test_a_merged_study_whose_ranking_tells_no_direction_keeps_the_one_it_recorded(tmp_path):
    """A smallest-mode study with nothing feasible, merged with an accuracy sweep, took the other's
    direction (maximize): 11,356 params ranked above 8,314. Its table records the direction now;
    an older table's comes from its sweep's storage."""
    acc = tmp_path / "acc"
    acc.mkdir()
    (acc / "leaderboard.csv").write_text("rank,trial,status,params,val_acc,value,trial_dir\n"
                                         "1,0,complete,900,0.95,0.95,\n2,1,complete,800,0.9,0.9,\n")
    _smallest_with_nothing_feasible(tmp_path / "new", with_column=True)
    _smallest_with_nothing_feasible(tmp_path / "old", with_column=False)
    optuna.create_study(study_name="s", storage=f"sqlite:///{tmp_path / 'old' / 'optuna.db'}", direction="minimize")
    for small in ("new", "old"):
        proc = run_inproc(["mnist_sweep.leaderboard", "acc", small, "--out", f"{small}.csv"], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        merged = pd.read_csv(tmp_path / f"{small}.csv")
        assert list(merged[merged.sweep == small].params) == [8314, 11356], small
        assert list(merged[merged.sweep == "acc"].params) == [900, 800]


def test_a_sweeps_table_records_its_direction(tmp_path):
    """leaderboard.csv has a direction column (maximize or minimize) for a one-objective study."""
    make_sweep(tmp_path / "a")
    assert set(pd.read_csv(tmp_path / "a" / "leaderboard.csv").direction) == {"maximize"}


def test_a_copied_sweeps_refresh_shows_its_own_trials_numbers(tmp_path):
    """--refresh on a copy took each trial's numbers from the original's result.json."""
    orig = make_sweep(tmp_path / "a", n=1)
    results.write(orig / "trial_0000", {"params": 1111})
    shutil.copytree(orig, tmp_path / "b")
    results.write(tmp_path / "b" / "trial_0000", {"params": 2222})
    proc = run_inproc(["mnist_sweep.leaderboard", "b", "--refresh", "--out", "b.csv"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert list(pd.read_csv(tmp_path / "b.csv").params) == [2222]
