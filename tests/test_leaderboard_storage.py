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


def test_a_storage_url_given_as_a_path_names_the_sweep_dirs_that_used_it(tmp_path):
    """Two sweeps on one storage, and its URL given where a sweep dir goes: it read 'sqlite:/shared/s.db:
    no such file or directory' (the URL's slashes collapsed as a path's) in the leaderboard, the report and confirm."""
    import json

    for name, cwd in (("A", tmp_path), ("B", tmp_path / "elsewhere")):  # B ran elsewhere, with an absolute URL
        (tmp_path / "outputs" / "sweeps" / name).mkdir(parents=True)
        (tmp_path / "outputs" / "sweeps" / name / "storage.json").write_text(json.dumps(
            {"study_name": name, "storage": "sqlite:///shared/s.db" if name == "A" else f"sqlite:///{tmp_path}/shared/s.db",
             "cwd": str(cwd)}))
    dirs = "give a sweep dir that used it: outputs/sweeps/A, outputs/sweeps/B"
    proc = run_inproc(["mnist_sweep.leaderboard", "sqlite:///shared/s.db"], cwd=tmp_path)
    assert_one_line_error(proc, f"sqlite:///shared/s.db: a storage URL, not a path; {dirs}, or read the storage itself: "
                                "--storage 'sqlite:///shared/s.db' --study NAME")
    for args in (["mnist_sweep.report", "sqlite:///shared/s.db"], ["mnist_sweep.confirm", "sqlite:///shared/s.db"]):
        assert_one_line_error(run_inproc(args, cwd=tmp_path), f"sqlite:///shared/s.db: a storage URL, not a path; {dirs}")
    proc = run_inproc(["mnist_sweep.leaderboard", "postgresql://me:hunter2@db/x"], cwd=tmp_path)
    assert_one_line_error(proc, "postgresql://me:***@db/x: a storage URL, not a path; give a sweep dir")
    assert "hunter2" not in proc.stderr
