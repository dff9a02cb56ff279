"""mnist_sweep.target: a config whose mean over seeds is exactly the target reaches it everywhere the
target is judged (the float mean can come out a hair below: 0.9939999999999999 against 0.994)."""
from __future__ import annotations

import optuna
import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hydra_plugins.mnist_sweep_sweeper import _progress, _study
from mnist_sweep import results, trial_rows
from mnist_sweep.target import reached, shortfall

HAIR = (0.9943, 0.9943, 0.9934)  # three seeds on 10,000 validation images, mean 9,940 images: the target 0.994


def mean_of(accs: tuple[float, ...]) -> float:
    """The mean a repeated config is judged on, as the sweep computes it."""
    return results.seed_summary([{"val": a, "values": [a], "state": "complete"} for a in accs])["val_mean"]


def test_a_mean_exactly_at_the_target_reaches_it():
    mean = mean_of(HAIR)
    assert mean < 0.994  # the float a hair below: what a plain comparison refused
    assert reached(mean, 0.994) and shortfall(mean, 0.994) <= 0
    assert not reached(0.9939, 0.994) and shortfall(0.9939, 0.994) > 0  # one image short stays short


@settings(max_examples=300, deadline=None)
@given(n=st.sampled_from([100, 1_000, 5_000, 10_000, 50_000, 60_000, 70_000]), data=st.data())
@example(n=10_000, data=None)
def test_reached_agrees_with_the_counts(n, data):
    """Whatever the split and seeds, reached says what the image counts say: a mean of at least the
    target's count of images reaches it, one image fewer does not."""
    if data is None:
        counts, goal = [9943, 9943, 9934], 9940
    else:
        k = data.draw(st.integers(1, 20))
        goal = data.draw(st.integers(0, n))
        counts = data.draw(st.lists(st.integers(max(0, goal - 3), min(n, goal + 3)), min_size=k, max_size=k))
    mean, target = mean_of(tuple(c / n for c in counts)), goal / n
    assert reached(mean, target) == (sum(counts) >= goal * len(counts))


def test_the_sweep_leaderboard_and_progress_line_call_it_feasible():
    """The constraint the sweep stores, the progress line and the leaderboard's feasible column."""
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    _study.constrain(trial, {"value": mean_of(HAIR), "target_acc": 0.994})
    study.tell(trial, mean_of(HAIR))
    old = study.ask()  # a study that stored the hair as its constraint before: read as feasible too
    old.set_constraint("target", 0.994 - mean_of(HAIR))
    study.tell(old, mean_of(HAIR))
    assert 0.994 - mean_of(HAIR) > 0
    done = study.get_trials()
    assert all(t.constraints["target"] <= 0 for t in done[:1])  # what Optuna's samplers compare with 0
    assert [_progress._feasibility(t) for t in done] == [" (feasible)", " (feasible)"]
    assert [r["feasible"] for r in trial_rows.rows_from_study(study)] == [True, True]


def test_result_json_reached_target():
    rows = [{"epoch": e, "test_acc": a, "val_acc": a, "train_s": 1.0, "epoch_s": 1.0} for e, a in ((1, 0.99), (2, 0.994 - 1e-16))]
    info = results.RunInfo(select_on="val", target_acc=0.994, n_params=1, seed=1, device="cpu", threads=1)
    res = results.summarize(pd.DataFrame(rows).to_dict("records"), info, wall_s=1.0)
    assert res["reached_target"] is True and res["epoch_reached_target"] == 2
