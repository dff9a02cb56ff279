"""A re-run against the run it reproduces: every epoch's metrics side by side, and where they differ,
what differs between the two runs that may explain it (host, device, threads, precision, library
versions, a saved config that is not what trained: edited by hand, or conf/ changed since).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from mnist_sweep import results
from mnist_sweep.text import plural

COMPARED = ["lr", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"]
SHOWN = ("val_acc", "test_acc", "train_loss")  # side by side in the printed table, recorded then re-run
SETUP = ("host", "device", "threads", "precision")  # what result.json records about where and how a run trained


def compare(recorded: pd.DataFrame, reproduced: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Side-by-side table over the recorded epochs (a pruned trial recorded fewer) and whether all match;
    a re-run with fewer epochs has no table (``epoch_counts`` says why)."""
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


def epoch_counts(recorded: Path, rerun: Path, n_recorded: int, n_rerun: int) -> str | None:
    """None where the re-run's epochs compare with the run's: as many, or more where the run was
    pruned (its re-run, outside a sweep, trains on; the pruned run's epochs are compared). Else one
    line with both counts and why (``_why_counts``): the recorded epochs alone matching said
    'reproduced exactly' of a run whose metrics.csv was cut short or whose config was edited."""
    result = results.read(recorded)
    trained = result.get("epochs") if isinstance(result.get("epochs"), int) else None
    if n_rerun == n_recorded or (n_rerun > n_recorded and result.get("status") != "complete"
                                 and trained in (None, n_recorded)):  # pruned, or no result.json to tell
        return None
    short, long = sorted((n_recorded, n_rerun))
    lost = f"epoch {long}" if long == short + 1 else f"epochs {short + 1}-{long}"
    head = (f"the re-run trained {plural(n_rerun, 'epoch')} and {recorded / 'metrics.csv'} records {n_recorded}, "
            f"so {lost} cannot be compared (re-run in {rerun})")
    return f"{head}; {why}" if (why := _why_counts(recorded, rerun, n_recorded, n_rerun, trained)) else head


def _why_counts(recorded: Path, rerun: Path, n_recorded: int, n_rerun: int, trained: int | None) -> str | None:
    """Why the two counts differ: trainer.max_epochs where the two configs differ (the re-run's
    override that set it named), a metrics.csv shorter than its result.json says the run trained, a
    saved config that says another count than metrics.csv holds, or a re-run that stopped early."""
    a, b = _max_epochs(recorded), _max_epochs(rerun)
    if a is not None and b is not None and a != b:
        given = [o for o in _overrides(rerun) if o.lstrip("+").split("=", 1)[0] == "trainer.max_epochs"]
        return (f"trainer.max_epochs is {a} in the run's saved config and {b} in the re-run's"
                + (f", set by its override {given[-1]}" if given else ""))
    if trained is not None and trained != n_recorded:
        return (f"its result.json says the run trained {plural(trained, 'epoch')}: metrics.csv was changed after the run "
                "(cut short or edited?); restore it from a copy of the run dir")
    if a is not None and a != n_recorded:
        return (f"{recorded / '.hydra' / 'config.yaml'} says trainer.max_epochs={a}, {'fewer' if a < n_recorded else 'more'} "
                "than its metrics.csv records: one of the two was changed after the run (edited by hand?); restore it "
                "from a copy of the run dir")
    if b is not None and n_rerun < b:
        return f"the re-run stopped after {n_rerun} of its {b} epochs"
    return None


def _max_epochs(run_dir: Path) -> int | None:
    """A run dir's saved trainer.max_epochs, None where it cannot be read as a number."""
    try:
        value = results.read_config(run_dir).trainer.max_epochs
    except Exception:  # noqa: BLE001 - a damaged or partial saved config: the counts alone are said
        return None
    return value if isinstance(value, int) else None


def _overrides(run_dir: Path) -> list[str]:
    """The overrides a run's command line gave (``.hydra/overrides.yaml``), [] where there are none to read."""
    from omegaconf import OmegaConf

    try:
        return [str(o) for o in OmegaConf.load(run_dir / ".hydra" / "overrides.yaml")]
    except Exception:  # noqa: BLE001 - missing or damaged: no override is named
        return []
