"""The leaderboard of a sweep with distilled trials (trainer.teacher): a teacher column, each trial's teacher path
from its result.json, only where some trial has one; a plain sweep's columns are unchanged."""
from __future__ import annotations

import json


def test_the_leaderboard_has_a_teacher_column_only_where_a_trial_was_distilled(tmp_path, capsys):
    """The leaderboard read result.json's RESULT_KEYS alone: a distilled sweep's table looked like a plain one."""
    import optuna
    from optuna.trial import create_trial

    from mnist_sweep import leaderboard

    def study(*teachers):
        s = optuna.create_study(direction="maximize")
        for i, taught in enumerate(teachers):
            d = tmp_path / f"{len(teachers)}_{i}"
            d.mkdir()
            rec = {"teacher": {"path": taught, "sha256": "0" * 64, "params": 15064, "alpha": 0.5, "temperature": 4.0}}
            (d / "result.json").write_text(json.dumps({"status": "complete", "val_acc": 0.9 + i / 100, "epochs": 1,
                                                       "params": 900, **(rec if taught else {})}))
            s.add_trial(create_trial(value=0.9 + i / 100, user_attrs={"trial_dir": str(d), "params": 900}))
        return leaderboard.frame(leaderboard.rows_from_study(s))

    plain = study(None, None)
    assert "teacher" not in plain.columns
    board = study("runs/a", None, "runs/b").set_index("trial")
    assert board["teacher"].fillna("").to_dict() == {0: "runs/a", 1: "", 2: "runs/b"}
    assert list(board.columns)[-3:] == ["error", "trial_dir", "overrides"]  # beside the result columns, not after
    from mnist_sweep.table import select_columns
    assert "teacher" in select_columns(board) and "teacher" not in select_columns(plain)
    from mnist_sweep.table import show
    header, *lines = show(board.reset_index(), 10).splitlines()
    assert header.split()[-1] == "teacher" and [l.split()[-1] for l in lines][::2] == ["runs/b", "runs/a"]
    assert "nan" not in show(board.reset_index(), 10).lower()


def test_the_reports_table_shows_the_teacher_column_too():
    """report.html's table took the leaderboard's CORE columns and hp.* alone: a distilled sweep's report (a fixed
    trainer.teacher, no hp.trainer.teacher) looked like a plain one's."""
    import pandas as pd

    from mnist_sweep.report import _table

    rows = {"rank": [1, 2], "trial": [0, 1], "status": ["complete", "complete"], "params": [900, 950],
            "val_acc": [0.91, 0.9]}
    html = _table(pd.DataFrame({**rows, "teacher": ["runs/t", None]}))
    assert "<th>teacher</th>" in html and "<td>runs/t</td>" in html and "nan" not in html.lower()
    assert "teacher" not in _table(pd.DataFrame(rows))
