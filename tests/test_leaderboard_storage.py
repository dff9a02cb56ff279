"""leaderboard --storage URL without --study reads the storage's only study, as report does; it was
'--study: required with --storage', even before saying the storage file does not exist."""
from __future__ import annotations

import optuna

from conftest import assert_one_line_error, run_inproc


def _storage(tmp_path, *names: str) -> str:
    url = f"sqlite:///{tmp_path}/optuna.db"
    for name in names:
        study = optuna.create_study(study_name=name, storage=url)
        study.tell(study.ask(), 0.5)
    return url


def test_the_only_study_of_a_storage_needs_no_name(tmp_path):
    proc = run_inproc(["mnist_sweep.leaderboard", "--storage", _storage(tmp_path, "quick")], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "1 trials: 1 complete" in proc.stdout or "1 trial: 1 complete" in proc.stdout, proc.stdout


def test_a_storage_of_several_studies_names_them(tmp_path):
    proc = run_inproc(["mnist_sweep.leaderboard", "--storage", _storage(tmp_path, "a", "b")], cwd=tmp_path)
    assert_one_line_error(proc, "holds 2 studies (a, b); pick one with --study")


def test_a_missing_storage_file_is_named_first(tmp_path):
    proc = run_inproc(["mnist_sweep.leaderboard", "--storage", f"sqlite:///{tmp_path}/nope.db"], cwd=tmp_path)
    assert_one_line_error(proc, f"{tmp_path}/nope.db", "no such SQLite file")
    assert not (tmp_path / "nope.db").exists()
