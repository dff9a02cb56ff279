"""A sweep dir moved (mv), copied (cp -r) or reached through a link since it ran: its own trial
dirs and storage file are read in the dir given, wherever the sweep recorded them."""
from __future__ import annotations

import shutil
from pathlib import Path

import optuna
from optuna.trial import create_trial

from conftest import run_inproc
from mnist_sweep import leaderboard, sweeps


def make_sweep(d: Path, n: int = 2) -> Path:
    """A sweep dir as a sweep leaves it, without training: optuna.db, storage.json, leaderboard.csv
    and one trial_NNNN/ per complete trial (its user attrs naming the dir by absolute path)."""
    d.mkdir()
    study = optuna.create_study(study_name="s", storage=f"sqlite:///{d / 'optuna.db'}", direction="maximize")
    for i in range(n):
        (d / f"trial_{i:04d}").mkdir()
        study.add_trial(create_trial(value=0.5 + i / 10, user_attrs={"trial_dir": str(d / f"trial_{i:04d}")}))
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


def test_the_original_a_link_to_it_and_a_merged_table_keep_their_trial_dirs(tmp_path, capsys):
    """Only a sweep dir's own table moves: the original, a link to it and a merge (rows of several
    sweeps) read the dirs they record, and say nothing."""
    orig = make_sweep(tmp_path / "a")
    (tmp_path / "link").symlink_to(orig)
    for given in (orig, tmp_path / "link"):
        assert sorted(leaderboard.read(given).trial_dir) == [str(orig / "trial_0000"), str(orig / "trial_0001")]
    merged = tmp_path / "b"
    shutil.copytree(orig, merged)
    assert leaderboard.main([str(orig), str(tmp_path / "link"), "--out", str(tmp_path / "m.csv")]) == 0
    shutil.copy(tmp_path / "m.csv", merged / "leaderboard.csv")  # a merge saved as another dir's table
    assert all(Path(d).parent == orig for d in leaderboard.read(merged).trial_dir)
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


def test_a_storage_outside_the_sweep_dir_is_read_where_it_is(tmp_path):
    """A sweep whose storage sits outside it (a shared db/optuna.db) keeps it, whatever its dir holds."""
    (tmp_path / "db").mkdir()
    study = optuna.create_study(study_name="s", storage=f"sqlite:///{tmp_path / 'db' / 'optuna.db'}")
    (tmp_path / "sw").mkdir()
    leaderboard.write_for_sweep(study, tmp_path / "sw")
    shutil.copy(tmp_path / "db" / "optuna.db", tmp_path / "sw" / "optuna.db")
    assert sweeps.find_storage(tmp_path / "sw")[0] == f"sqlite:///{tmp_path / 'db' / 'optuna.db'}"
