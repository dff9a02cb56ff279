"""docs/sweeps.md's table of trial statuses for Optuna API users: in ``study.trials_dataframe()`` a duplicate
shows as COMPLETE and a candidate rejected before training as PRUNED, and only ``user_attrs_status`` tells them
apart. The table lists every status the sweeper records (a new one must be documented), and its pandas line
keeps exactly the trials that trained, on a study the sweeper's own functions told."""
from __future__ import annotations

import re

import optuna
from optuna.trial import TrialState

from mnist_sweep import PROJECT_ROOT

PLUGIN = PROJECT_ROOT / "hydra_plugins" / "mnist_sweep_sweeper"
SIDE_ONLY = {"queued", "cancelled"}  # a further seed's trial of the side study NAME.repeats, never the study's own


def section() -> str:
    text = (PROJECT_ROOT / "docs" / "sweeps.md").read_text()
    return text.split("### Reading the study with Optuna's API", 1)[1].split("\n## ", 1)[0]


def recorded_statuses() -> set[str]:
    """Every status value the sweeper writes into a trial's user attrs."""
    code = "\n".join(p.read_text() for p in PLUGIN.glob("*.py"))
    found = set(re.findall(r'mark\(\w+, "(\w+)"|set_user_attr\("status", "(\w+)"\)|"status": "(\w+)"|fail_open\([^)]*?"(\w+)"', code))
    return {s for group in found for s in group if s}


def test_the_table_lists_every_status_the_sweeper_records():
    table = [line for line in section().splitlines() if line.startswith("| `")][1:]  # the header row names the column
    documented = {s for line in table for s in re.findall(r"`(\w+)`", line.split("|")[1])}
    recorded = recorded_statuses()
    assert {"complete", "pruned", "duplicate", "rejected", "failed", "lost", "running", "repeating"} <= recorded
    assert documented == recorded - SIDE_ONLY, documented ^ (recorded - SIDE_ONLY)
    assert all(f"`{s}`" in section() for s in SIDE_ONLY)


def test_the_pandas_line_keeps_the_trials_that_trained():
    from hydra_plugins.mnist_sweep_sweeper import _study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    told = {}
    for status in ("complete", "pruned"):
        trial = study.ask()
        trial.suggest_int("model.c1", 4, 16)
        _study.mark(trial, status)
        study.tell(trial, 0.99) if status == "complete" else study.tell(trial, state=TrialState.PRUNED)
        told[status] = trial
    _study.tell_duplicate(study, study.ask(), study.trials[0])
    _study.tell_rejected(study, study.ask(), "model.max_params: 25,000 parameters, over the budget of 20,000")
    df = study.trials_dataframe()
    assert df.set_index("user_attrs_status")["state"].to_dict() == {  # what state alone says
        "complete": "COMPLETE", "pruned": "PRUNED", "duplicate": "COMPLETE", "rejected": "PRUNED"}
    line = next(line.strip() for line in section().splitlines() if line.strip().startswith("trained = "))
    scope = {"df": df}
    exec(line, scope)  # noqa: S102 - the docs' own line, run as a user pastes it
    assert list(scope["trained"]["number"]) == [told["complete"].number, told["pruned"].number]
