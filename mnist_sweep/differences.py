"""A re-run against the run it reproduces: every epoch's metrics side by side, and where they differ,
what differs between the two runs that may explain it (host, device, threads, precision, library
versions, a saved config that is not what trained: edited by hand, or conf/ changed since).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from mnist_sweep import results

COMPARED = ["lr", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"]
SHOWN = ("val_acc", "test_acc", "train_loss")  # side by side in the printed table, recorded then re-run
SETUP = ("host", "device", "threads", "precision")  # what result.json records about where and how a run trained


def compare(recorded: pd.DataFrame, reproduced: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Side-by-side table over the recorded epochs (a pruned trial recorded fewer) and whether all match."""
    n = len(recorded)
    rec, rep = recorded.head(n).reset_index(drop=True), reproduced.head(n).reset_index(drop=True)
    if len(rep) < n:
        return pd.DataFrame(), False
    a, b = rec[COMPARED].apply(pd.to_numeric), rep[COMPARED].apply(pd.to_numeric)
    same = ((a == b) | (a.isna() & b.isna())).all(axis=1)  # no validation split (data.val_size=0): empty in both
    shown = [c for c in SHOWN if a[c].notna().any() or b[c].notna().any()]  # a metric neither run has: no NaN columns
    table = pd.DataFrame({"epoch": rec["epoch"], **{k: v for c in shown for k, v in ((c, rec[c]), (f"{c}_rerun", rep[c]))},
                          "match": same.map({True: "yes", False: "NO"})})
    return table, bool(same.all())


def printed(table: pd.DataFrame) -> str:
    """``compare``'s table as reproduce prints it; where neither run had a validation split
    (data.val_size=0), a line saying so instead of val_acc columns of NaN."""
    text = table.to_string(index=False)
    if table.empty or "val_acc" in table:
        return text
    return text + "\nno validation split (data.val_size=0): no val_acc to compare; every other metric compared"


def why_they_may_differ(recorded: Path, rerun: Path, saved_config: bool) -> str:
    """What the two runs' result.json files record differently (host, device, threads, precision,
    versions, parameters), in one line; ``saved_config``: the re-run trained the saved config, not
    what its overrides compose from conf/ now. Without any, the question that remains."""
    a, b = results.read(recorded), results.read(rerun)
    seen = [f"{k} {a[k]} there, {b.get(k)} here" for k in SETUP if a.get(k) is not None and a.get(k) != b.get(k)]
    va, vb = a.get("versions") or {}, b.get("versions") or {}
    seen += [f"{k} {va[k]} there, {vb.get(k)} here" for k in sorted(va) if va[k] != vb.get(k)]
    if a.get("precision") == "bf16" and any(a.get(k) != b.get(k) for k in ("host", "device")):
        seen.append("bf16 autocast rounds as the hardware and its kernels do, so its metrics differ across machines")
    if a.get("params") is not None and b.get("params") is not None and a["params"] != b["params"]:
        seen.append(f"the saved config's model has {b['params']:,} parameters, the run trained {a['params']:,}: "
                    f"{recorded / '.hydra' / 'config.yaml'} was changed after the run (edited by hand?)")
    elif saved_config:
        seen.append(f"{recorded / '.hydra' / 'config.yaml'} is not what its overrides.yaml compose from conf/ now "
                    "(edited by hand after the run, or conf/ changed since)")
    if not seen:
        return "same machine, threads and library versions?"
    return "possible causes: " + "; ".join(seen)
