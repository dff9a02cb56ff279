"""results: the atomic writer's file modes (the umask, not mkstemp's 0600), the Pareto mask, and
the ground floor's imports."""
from __future__ import annotations

import ast
import os
import stat
from contextlib import contextmanager
from pathlib import Path

import optuna
import pandas as pd
import pytest

from mnist_sweep import leaderboard, report, results


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_write_gives_the_umasks_mode(tmp_path, mask, expected):
    with umask(mask):
        results.atomic_write(tmp_path / "new.txt", lambda p: p.write_text("x"))
        (tmp_path / "old.txt").write_text("old")
        results.atomic_write(tmp_path / "old.txt", lambda p: p.write_text("new"))  # replacing a file
        assert results.current_umask() == mask
    assert mode(tmp_path / "new.txt") == expected and mode(tmp_path / "old.txt") == expected
    assert (tmp_path / "old.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.txt", "old.txt"]  # no temporary left


def test_atomic_write_removes_a_killed_writers_old_temporary_of_the_same_file(tmp_path):
    """A SIGKILL between mkstemp and the rename leaves ``.curves.png.XXXX.tmp``; the next write of
    that file removes it once an hour old, and keeps a younger one (a writer running beside) and
    other files' temporaries."""
    old, young, other = (tmp_path / n for n in (".c[1].png.a.tmp", ".c[1].png.b.tmp", ".other.png.c.tmp"))
    for p in (old, young, other):
        p.write_text("partial")
    os.utime(old, (0, 0))
    os.utime(other, (0, 0))
    results.atomic_write(tmp_path / "c[1].png", lambda p: p.write_text("png"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["c[1].png", young.name, other.name])


def test_umask_without_proc_is_read_and_left_unchanged(monkeypatch):
    def no_proc(*args, **kwargs):
        raise OSError("no /proc here")

    monkeypatch.setattr(results, "open", no_proc, raising=False)  # the module's open: /proc/self/status
    with umask(0o027):
        assert results.current_umask() == 0o027
        assert os.umask(0o027) == 0o027  # still what it was


def test_a_failed_write_leaves_nothing(tmp_path):
    def fail(p: Path) -> None:
        p.write_text("half")
        raise RuntimeError("disk full")

    (tmp_path / "f.csv").write_text("old")
    with pytest.raises(RuntimeError):
        results.atomic_write(tmp_path / "f.csv", fail)
    assert [p.name for p in tmp_path.iterdir()] == ["f.csv"] and (tmp_path / "f.csv").read_text() == "old"


def test_leaderboard_and_report_files_get_0644_under_umask_022(tmp_path):
    """The real writers: the sweeper's hooks (leaderboard.write_for_sweep, report.write_for_sweep's build)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sweep_dir = tmp_path / "sweep"
    study = optuna.create_study(study_name="m", storage=f"sqlite:///{tmp_path / 'optuna.db'}", direction="maximize")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with umask(0o022):
        board = leaderboard.write_for_sweep(study, sweep_dir)
        page = report.build(sweep_dir, study=study)
    assert board.name == "leaderboard.csv" and page.name == "report.html"
    for name in ("leaderboard.csv", "storage.json", "report.html"):
        assert mode(sweep_dir / name) == 0o644, name


@pytest.mark.slow  # needs the tiny sweep (built once per session)
def test_a_real_sweeps_files_get_the_umasks_mode(tiny_sweep):
    expected = 0o666 & ~results.current_umask()  # the sweep ran in this process (or a child): same umask
    trial = tiny_sweep.dir / f"trial_{int(tiny_sweep.board.trial.iloc[0]):04d}"
    for path in (tiny_sweep.dir / "leaderboard.csv", tiny_sweep.dir / "storage.json", trial / "result.json",
                 trial / "metrics.csv", trial / "model.pt"):
        assert mode(path) == expected, path


def test_pareto_mask():
    acc = pd.Series([0.90, 0.95, 0.93, 0.95, 0.80], index=[10, 11, 12, 13, 14])
    params = pd.Series([5000, 9000, 9000, 12000, 5000], index=acc.index)
    mask = results.pareto_mask(acc, params)
    assert list(mask.index) == [10, 11, 12, 13, 14] and mask.dtype == bool
    assert list(mask) == [True, True, False, False, False]  # 13: same accuracy, more parameters
    ties = results.pareto_mask(pd.Series([0.9, 0.9]), pd.Series([100, 100]))
    assert list(ties) == [True, True]  # equal points do not dominate each other


def test_results_imports_nothing_of_the_package_but_the_ground_floors_errors_target_and_yaml_tags():
    tree = ast.parse(Path(results.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom):
            imported |= {f"{n.module}.{a.name}" if n.module == "mnist_sweep" else str(n.module) for a in n.names}
    assert {m for m in imported if m.split(".")[0] == "mnist_sweep"} <= {"mnist_sweep.errors", "mnist_sweep.target",
                                                                        "mnist_sweep.yaml_tags"}
