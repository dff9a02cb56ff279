"""sweeps: where a sweep's study lives (recorded, found again from anywhere, opened read-only,
never created) and its trial dirs' files."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import optuna
import pandas as pd
import pytest

from mnist_sweep import moved, plots, sweeps
from mnist_sweep.errors import LeaderboardError


def package_imports(module) -> set[str]:
    """The mnist_sweep modules a module imports (at any depth of its code)."""
    out = set()
    for n in ast.walk(ast.parse(Path(module.__file__).read_text())):
        if isinstance(n, ast.Import):
            out |= {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom) and n.module:
            out |= {f"{n.module}.{a.name}" if n.module == "mnist_sweep" else n.module for a in n.names}
    return {m for m in out if m.split(".")[0] == "mnist_sweep"}


def test_imports_point_down():
    assert package_imports(sweeps) <= {"mnist_sweep.results", "mnist_sweep.errors", "mnist_sweep.storage", "mnist_sweep.moved",
                                       "mnist_sweep.similar",  # the ground floor's close_matches: --study P1 finds p1
                                       "mnist_sweep.csv_rows",  # the ground floor's read_whole: a cut metrics.csv named
                                       "mnist_sweep.open_hints"}  # the ground floor's unset_env: an old sweep's $MNIST_SWEEP_STORAGE
    assert package_imports(moved) <= {"mnist_sweep.storage"}
    assert package_imports(plots) == {"mnist_sweep.results", "mnist_sweep.text"}  # pareto_mask, percent: the ground floor


@pytest.mark.slow  # needs the tiny sweep (built once per session)
def test_storage_is_recorded_with_an_absolute_path(tiny_sweep):
    record = json.loads((tiny_sweep.dir / sweeps.STORAGE_RECORD).read_text())
    assert record["study_name"] == "tiny"
    assert record["storage"] == f"sqlite:///{tiny_sweep.db}"  # the sweep gave sqlite:///db/optuna.db (relative)
    assert record["cwd"] == str(tiny_sweep.cwd)


def _old_sweep(tmp_path, trial: str) -> None:
    """A sweep from before storage.json: one trial's hydra.yaml with the default storage interpolation."""
    hydra_dir = tmp_path / "sweep" / trial / ".hydra"
    hydra_dir.mkdir(parents=True)
    (hydra_dir / "hydra.yaml").write_text(
        "hydra:\n  sweeper:\n    study_name: old\n"
        "    storage: ${oc.env:MNIST_SWEEP_STORAGE,sqlite:///outputs/sweeps/${hydra.sweeper.study_name}/optuna.db}\n"
        f"  runtime:\n    cwd: {tmp_path / 'repo'}\n")


def test_older_sweeps_are_found_through_a_trials_hydra_yaml(tmp_path, monkeypatch):
    """No storage.json (a sweep from before it existed): the default storage interpolation in a
    trial's saved hydra.yaml, resolved, with its relative SQLite path taken against the sweep's cwd."""
    monkeypatch.delenv("MNIST_SWEEP_STORAGE", raising=False)
    _old_sweep(tmp_path, "trial_0003")
    url, name, source = sweeps.find_storage(tmp_path / "sweep")
    assert url == f"sqlite:///{tmp_path / 'repo' / 'outputs' / 'sweeps' / 'old' / 'optuna.db'}"
    assert name == "old" and source.endswith("trial_0003/.hydra/hydra.yaml")
    monkeypatch.setenv("MNIST_SWEEP_STORAGE", "postgresql://me:secret@db:5432/sweeps")  # what the sweep would have used
    url, _, _ = sweeps.find_storage(tmp_path / "sweep")
    assert url == "postgresql://me:secret@db:5432/sweeps"  # the password comes from the environment, never a file


def test_an_older_sweep_read_without_its_storage_variable_names_it(tmp_path, monkeypatch):
    """An old sweep on PostgreSQL (no storage.json; its hydra.yaml's storage ${oc.env:MNIST_SWEEP_STORAGE,sqlite:...})
    read without $MNIST_SWEEP_STORAGE said only 'no such SQLite file .../optuna.db; moved or deleted?'."""
    monkeypatch.delenv("MNIST_SWEEP_STORAGE", raising=False)
    _old_sweep(tmp_path, "trial_0000")
    with pytest.raises(LeaderboardError) as e:
        sweeps.study_of_sweep(tmp_path / "sweep")
    assert "optuna.db; its trials' hydra.sweeper.storage reads $MNIST_SWEEP_STORAGE, not set here (a sweep on " \
           "PostgreSQL had it): export MNIST_SWEEP_STORAGE='URL' as the sweep had it, or give --storage URL --study NAME" \
           in str(e.value), str(e.value)
    assert not (tmp_path / "repo").exists()


def test_an_older_sweep_with_its_own_trial_dir_names_is_found_through_a_trials_hydra_yaml(tmp_path, monkeypatch):
    """hydra.sweeper.trial_dir='run-{number:04d}' and no storage.json: only trial_*/ was looked in, so
    the study was not found (leaderboard --refresh: 'no storage'); a dir of another name is not a trial's."""
    monkeypatch.delenv("MNIST_SWEEP_STORAGE", raising=False)
    for name, study in (("notes", "other"), ("run-0003", "custom")):
        hydra_dir = tmp_path / "sweep" / name / ".hydra"
        hydra_dir.mkdir(parents=True)
        (hydra_dir / "hydra.yaml").write_text(
            f"hydra:\n  mode: MULTIRUN\n  sweeper:\n    study_name: {study}\n    trial_dir: run-{{number:04d}}\n"
            f"    storage: sqlite:///db/{study}.db\n  runtime:\n    cwd: {tmp_path / 'repo'}\n")
    url, name, source = sweeps.find_storage(tmp_path / "sweep")
    assert url == f"sqlite:///{tmp_path / 'repo' / 'db' / 'custom.db'}" and name == "custom", (url, name)
    assert source.endswith("run-0003/.hydra/hydra.yaml")


def test_recorded_postgres_url_has_no_password(tmp_path, monkeypatch):
    class Storage:
        url = "postgresql://me:secret@db:5432/sweeps"

    class Study:
        study_name = "big"
        _storage = Storage()

    sweeps.record_storage(Study(), tmp_path)
    text = (tmp_path / sweeps.STORAGE_RECORD).read_text()
    assert "secret" not in text and "postgresql://me@db:5432/sweeps" in text
    monkeypatch.setenv("MNIST_SWEEP_STORAGE", Storage.url)
    assert sweeps.find_storage(tmp_path)[0] == Storage.url
    monkeypatch.delenv("MNIST_SWEEP_STORAGE")
    assert sweeps.find_storage(tmp_path)[0] == "postgresql://me@db:5432/sweeps"  # PGPASSWORD or ~/.pgpass then


def test_a_sweep_dirs_own_database_and_a_damaged_record(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_SWEEP_STORAGE", raising=False)
    assert sweeps.find_storage(tmp_path) is None
    (tmp_path / "journal.log").write_text("")
    assert sweeps.find_storage(tmp_path) == (f"journal:///{tmp_path / 'journal.log'}", None, str(tmp_path / "journal.log"))
    (tmp_path / sweeps.STORAGE_RECORD).write_text("{not json")
    with pytest.raises(LeaderboardError, match="storage.json: unreadable or damaged"):
        sweeps.find_storage(tmp_path)


@pytest.mark.parametrize("text, says", [('{"study_name": "s"}', "no 'storage' key (edited by hand?)"),
                                        ('{"storage": "sqlite:///x.db"}', "no 'study_name' key (edited by hand?)"),
                                        ("[]", "not a JSON object (edited by hand?)"),
                                        ("null", "not a JSON object (edited by hand?)")])
def test_a_storage_record_missing_a_key_names_it(tmp_path, monkeypatch, text, says):
    """A storage.json with a key deleted by hand, or not an object, was 'unreadable or damaged'."""
    monkeypatch.delenv("MNIST_SWEEP_STORAGE", raising=False)
    (tmp_path / sweeps.STORAGE_RECORD).write_text(text)
    with pytest.raises(LeaderboardError, match=rf"storage.json: {re.escape(says)}; delete it \(the next trial"):
        sweeps.find_storage(tmp_path)


def test_studies_are_opened_never_created(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_SWEEP_STORAGE", raising=False)
    monkeypatch.chdir(tmp_path)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    with pytest.raises(LeaderboardError, match="no such SQLite file"):
        sweeps.load_study(f"sqlite:///{tmp_path / 'missing.db'}", "x")
    assert not (tmp_path / "missing.db").exists()
    optuna.create_study(study_name="a", storage=url)
    assert sweeps.load_study(url, None).study_name == "a"  # the only study
    with pytest.raises(LeaderboardError, match="--study b: no such study"):
        sweeps.load_study(url, "b")
    optuna.create_study(study_name="tiny_mnist", storage=url)
    with pytest.raises(LeaderboardError, match=r"--study tiny-mnist: no such study .*\(its studies: a, tiny_mnist\); "
                       r"did you mean --study tiny_mnist\?$"):  # it listed them and left the user to spot it
        sweeps.load_study(url, "tiny-mnist")
    optuna.delete_study(study_name="tiny_mnist", storage=url)
    optuna.create_study(study_name="b", storage=url)
    with pytest.raises(LeaderboardError, match=r"holds 2 studies \(a, b\); pick one with --study"):
        sweeps.load_study(url, None)
    (tmp_path / "sweep").mkdir()
    with pytest.raises(LeaderboardError, match="no Optuna storage recorded for this sweep.*give X, or Y"):
        sweeps.study_of_sweep(tmp_path / "sweep", give="give X", also=", or Y")

    class Study:  # what the sweeper's hook records
        study_name = "b"
        _storage = type("Storage", (), {"url": "sqlite:///optuna.db"})()  # relative: made absolute

    sweeps.record_storage(Study(), tmp_path / "sweep")
    monkeypatch.chdir(tmp_path / "sweep")
    assert sweeps.study_of_sweep(tmp_path / "sweep").study_name == "b"
    assert sweeps.study_of_sweep(tmp_path / "sweep", study_name="a").study_name == "a"
    (tmp_path / "optuna.db").rename(tmp_path / "moved.db")
    with pytest.raises(LeaderboardError, match=f"storage.json: .*no such SQLite file .*{re.escape(sweeps.RECORDED_FIX)}, or Y"):
        sweeps.study_of_sweep(tmp_path / "sweep", also=", or Y")
    assert not (tmp_path / "optuna.db").exists()


def test_trial_dir_files_of_the_best_rows(tmp_path):
    def trial(n: int, files: bool) -> str:
        d = tmp_path / f"trial_{n:04d}"
        (d / ".hydra").mkdir(parents=True)
        if files:
            (d / "result.json").write_text(json.dumps({"trial": n}))
            (d / ".hydra" / "config.yaml").write_text(f"model:\n  c3: {n}\n")
            pd.DataFrame({"epoch": [1], "val_acc": [0.5], "test_acc": [0.5]}).to_csv(d / "metrics.csv", index=False)
        return str(d)

    board = pd.DataFrame({"trial": [3, 1, 2, 0], "status": ["complete", "complete", "complete", "rejected"],
                          "trial_dir": [trial(3, False), trial(1, True), trial(2, True), None]})
    result, config = sweeps.best_trial_files(board)
    assert result == {"trial": 1} and config.model.c3 == 1  # trial 3's dir has lost its files
    assert list(sweeps.top_metrics(board, 5)) == ["trial 1", "trial 2"]
    assert list(sweeps.top_metrics(board, 2)) == ["trial 1"]  # the top 2 complete rows: trial 3 has none
    assert sweeps.best_trial_files(board[board.status == "rejected"]) is None


def test_a_storage_with_no_study_does_not_say_pick_one(tmp_path):
    """A journal file (or database) holding no study said 'holds 0 studies (none); pick one with --study'."""
    (tmp_path / "journal.log").write_text("not a journal line\n")
    with pytest.raises(LeaderboardError) as e:
        sweeps.load_study(f"journal:///{tmp_path / 'journal.log'}", None)
    assert "holds no study, so no sweep ran on it" in str(e.value) and "--study" not in str(e.value)


def test_a_sweep_dir_of_an_in_memory_study_says_so_in_each_reader(tmp_path, capsys):
    """hydra.sweeper.storage=null: report and leaderboard --refresh said 'no trial .hydra/hydra.yaml' (there
    is one) and to give --storage URL, the dashboard 'a sweep on PostgreSQL: give its URL'; none exists."""
    from mnist_sweep import dashboard, leaderboard, report

    d = tmp_path / "m"
    (d / "trial_0000" / ".hydra").mkdir(parents=True)
    (d / "trial_0000" / ".hydra" / "hydra.yaml").write_text(
        "hydra:\n  mode: MULTIRUN\n  sweeper:\n    storage: null\n    study_name: m\n    trial_dir: trial_{number:04d}\n")
    (d / "leaderboard.csv").write_text("rank,trial,status,trial_dir\n1,0,complete,\n")
    for main, argv, fix in [(report.main, [str(d)], "use --no-study to build the report from leaderboard.csv alone"),
                            (leaderboard.main, [str(d), "--refresh"], "read its leaderboard.csv as it is (no --refresh)"),
                            (dashboard.main, [str(d)], "nothing to serve")]:
        assert main(argv) == 2
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith(f"error: {d}: its trials ran in an in-memory study (hydra.sweeper.storage=null, "
                               f"recorded in {d}/trial_0000/.hydra/hydra.yaml)") and fix in line, line
    assert sorted(p.name for p in d.iterdir()) == ["leaderboard.csv", "trial_0000"]
