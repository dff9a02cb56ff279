"""The printed leaderboard: column selection, status filter, sort order and cell formats."""
from __future__ import annotations

import io

import pandas as pd
import pytest

from mnist_sweep.errors import LeaderboardError
from mnist_sweep.table import check_numbers, filter_status, select_columns, show, sort_by


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame({"rank": [1, 2, 3], "trial": [4, 0, 7], "status": ["complete", "pruned", "failed"],
                         "params": [9000, 15000, None], "val_acc": [0.9941, 0.9902, None],
                         "hp.model.c1": [8, 12, 10], "hp.optimizer.lr": [0.1, 0.05, 0.2], "host": ["a", "b", "c"]})


def test_default_columns_then_hp_then_globs_in_order(df):
    assert select_columns(df) == ["rank", "trial", "status", "params", "val_acc"]
    assert select_columns(df, hp=True)[-2:] == ["hp.model.c1", "hp.optimizer.lr"]
    assert select_columns(df, extra=["hp.model.*", "host"])[-2:] == ["hp.model.c1", "host"]
    with pytest.raises(LeaderboardError, match="--columns nope: no such column; available: rank"):
        select_columns(df, extra=["nope"])


def test_status_filter_keeps_the_named_statuses_and_names_a_bad_one(df):
    assert filter_status(df, ["complete", "failed"]).trial.tolist() == [4, 7]
    assert filter_status(df, None) is df
    with pytest.raises(LeaderboardError, match="--status done: not a status; use one or more of complete"):
        filter_status(df, ["done"])


def test_sort_accuracy_high_first_others_low_first_missing_last(df):
    assert sort_by(df, "val_acc").trial.tolist() == [4, 0, 7]
    assert sort_by(df, "params").trial.tolist() == [4, 0, 7]
    assert sort_by(df, "params:desc").trial.tolist() == [0, 4, 7]
    assert sort_by(df, "trial").trial.tolist() == [0, 4, 7]
    for spec in ("trial:up", "trial:"):  # 'trial:' sorted by the default order, silently
        with pytest.raises(LeaderboardError, match=f"--sort {spec}: order must be asc or desc, as in --sort trial:desc"):
            sort_by(df, spec)
    with pytest.raises(LeaderboardError, match="--sort x: no column x"):
        sort_by(df, "x")


def test_show_formats_accuracies_as_percent_and_missing_as_blank(df):
    text = show(df, top=3, columns=["trial", "val_acc", "params"])
    lines = text.splitlines()
    assert len(lines) == 4 and "99.41%" in lines[1] and "99.02%" in lines[2]
    assert lines[3].split() == ["7"]  # failed: no accuracy, no params
    assert len(show(df, top=1).splitlines()) == 2


@pytest.mark.parametrize(("column", "value", "words"), [
    ("epochs", "inf", "epochs inf in row 2 is not a whole number"),  # an OverflowError traceback
    ("epochs", "1e30", "epochs 1e+30 in row 2 is not a whole number"),  # a TypeError traceback (unsafe cast)
    ("params", "1.5", "params 1.5 in row 2 is not a whole number"),  # shown rounded
    ("val_acc", "-inf", "val_acc -inf in row 2 is not a finite number"),  # shown as -inf%
])
def test_a_leaderboard_csv_with_no_finite_number_is_one_line(tmp_path, column, value, words):
    row = {"rank": 2, "trial": 1, "status": "complete", "params": 900, "val_acc": 0.9, "epochs": 2, "trial_dir": ""}
    text = pd.DataFrame([{**row, "rank": 1, "trial": 0}, {**row, column: value}]).to_csv(index=False)
    df = pd.read_csv(io.StringIO(text))  # as leaderboard.read reads a CSV
    with pytest.raises(LeaderboardError, match="; fix the file") as e:
        check_numbers(df, "lb.csv")
    assert str(e.value).startswith(f"lb.csv: {words}"), e.value
    check_numbers(df.iloc[:1], "lb.csv")  # the good row passes


def test_the_row_check_judges_the_bytes_the_table_was_read_from(tmp_path, monkeypatch):
    """short_row read the CSV again after pandas had: a table cut off when pandas read it, whole a moment
    later (rewritten beside the reader), printed its cut row as a trial with empty fields, unrefused."""
    from mnist_sweep import leaderboard, table

    path = tmp_path / "leaderboard.csv"
    whole = "rank,trial,status,params,val_acc,trial_dir\n1,0,complete,900,0.9,\n2,1,complete,800,0.8,\n"
    path.write_text(whole[:-12])  # cut in row 2
    real = pd.read_csv

    def then_rewritten(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        frame = real(*args, **kwargs)
        path.write_text(whole)
        return frame

    monkeypatch.setattr(table.pd, "read_csv", then_rewritten)
    with pytest.raises(LeaderboardError, match="row 2 has 3 of the 6 columns"):
        leaderboard.read(path)
    import gzip

    (tmp_path / "b.csv.gz").write_bytes(gzip.compress(whole.encode()))  # compressed, read as pandas reads a path
    assert list(leaderboard.read(tmp_path / "b.csv.gz")["params"]) == [900, 800]
