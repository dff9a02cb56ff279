"""A CSV file's rows checked against its header: ``short_row`` finds a row cut off (while copied, or by a
hand edit), which pandas reads with its missing fields empty, and ``read_csv_once`` reads a file once, so
that the check judges the bytes the table came from. Used by every reader of a CSV a run or sweep wrote."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd


def short_row(data: bytes) -> str | None:
    """``row N has K of the M columns (cut off while copied, or edited by hand?)`` for a CSV file's bytes
    ``data`` (those pandas read: ``read_csv_once``) whose first row is shorter than its header, which pandas
    reads with the missing fields empty, or ``the file ends in row N, with no line break (...)`` for a last
    row cut off in its last field (its overrides): every row written ends with one, and the cut row read as
    whole, the rows after it as gone (a leaderboard cut in its first row showed 1 trial and the rest 'still
    training'). None where there is neither (or the bytes are no text: the reader says why)."""
    import csv
    import io

    try:
        text = data.decode("utf-8")
        rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]  # blank lines: pandas skips them too
    except (UnicodeDecodeError, csv.Error):
        return None
    header = rows[0] if rows else []
    for i, row in enumerate(rows[1:], start=1):
        if len(row) < len(header):
            return f"row {i} has {len(row)} of the {len(header)} columns (cut off while copied, or edited by hand?)"
    if len(rows) > 1 and not text.endswith(("\n", "\r")):
        return f"the file ends in row {len(rows) - 1}, with no line break (cut off while copied, or edited by hand?)"
    return None


def read_csv_once(path: Any) -> tuple[pd.DataFrame, bytes]:
    """(the CSV file ``path`` as pandas reads it, the bytes it read): the file is read once, and a check of
    its rows (``short_row``) judges the bytes the table came from, not the file as it is a moment later."""
    import io

    from pandas.io.common import infer_compression

    data = Path(path).read_bytes()  # a .csv.gz decompressed as pandas does for a path (its rows then unchecked)
    return pd.read_csv(io.BytesIO(data), compression=infer_compression(str(path), "infer")), data


def read_whole(path: Any) -> pd.DataFrame:
    """The CSV file ``path`` as pandas reads it; a ValueError saying which row (``short_row``) where one is cut off."""
    frame, data = read_csv_once(path)
    if why := short_row(data):
        raise ValueError(why)
    return frame
