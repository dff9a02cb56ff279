"""mnist_sweep.pruning.ProjectionPruner on studies built by hand: it prunes only what cannot reach
the bar, learns the late gain from finished trials of the same length, and counts seed noise."""
from __future__ import annotations

import optuna
import pytest

from mnist_sweep.pruning import ProjectionPruner, late_gain, noise


def study_with(curves: list[list[float]], epochs: int | None = None) -> optuna.Study:
    """A study whose finished trials reported ``curves`` (accuracy per epoch, from epoch 1)."""
    study = optuna.create_study(direction="maximize")
    for curve in curves:
        t = study.ask()
        t.set_user_attr("max_epochs", epochs or len(curve))
        for epoch, v in enumerate(curve, 1):
            t.report(v, epoch)
        study.tell(t, curve[-1])
    return study


def running(study: optuna.Study, curve: list[float], epochs: int, target: float = 0.994,
            **attrs) -> optuna.trial.FrozenTrial:
    t = study.ask()
    for key, value in {"max_epochs": epochs, "n_val": 10_000, "target_acc": target, **attrs}.items():
        t.set_user_attr(key, value)
    for epoch, v in enumerate(curve, 1):
        t.report(v, epoch)
    return study.get_trials(deepcopy=False)[-1]


# Two finished 6-epoch trials: the late gain from epoch 3 is at most 0.004 (0.990 -> 0.994).
FINISHED = [[0.97, 0.98, 0.990, 0.992, 0.993, 0.994], [0.96, 0.975, 0.985, 0.987, 0.988, 0.989]]


def test_noise_is_the_binomial_standard_deviation():
    assert noise(0.994, 10_000) == pytest.approx((0.994 * 0.006 / 10_000) ** 0.5)
    assert noise(0.994, 1_000) > noise(0.994, 10_000)


def test_late_gain_comes_from_finished_trials_of_the_same_length():
    study = study_with(FINISHED)
    finished = study.get_trials(deepcopy=False)
    assert late_gain(finished, 3, 6) == pytest.approx(0.004)
    assert late_gain(finished, 3, 12) is None  # no 12-epoch trial finished: nothing learned, nothing pruned
    assert late_gain(finished, 9, 6) is None


@pytest.mark.parametrize("now, pruned", [
    (0.970, True),    # 0.970 + 0.004 + 2 sigma (~0.0034) < 0.994: cannot reach the target
    (0.988, False),   # 0.988 + 0.004 + ~0.0022 > 0.994: still can
    (0.9895, False),  # below the median of the finished trials at epoch 3 (0.9875 .. 0.990) is not a reason
])
def test_to_target_prunes_only_what_cannot_reach_the_target(now, pruned):
    study = study_with(FINISHED)
    trial = running(study, [0.95, 0.96, now], epochs=6)
    assert ProjectionPruner(to_target=True).prune(study, trial) is pruned


def test_without_a_target_the_bar_is_the_best_finished_trial():
    study = study_with(FINISHED)
    assert ProjectionPruner().prune(study, running(study, [0.95, 0.96, 0.975], epochs=6)) is True
    assert ProjectionPruner().prune(study, running(study, [0.95, 0.96, 0.989], epochs=6)) is False


def test_nothing_is_pruned_before_the_startup_trials_or_the_warmup():
    study = study_with(FINISHED[:1])
    assert ProjectionPruner(to_target=True).prune(study, running(study, [0.5, 0.5, 0.5], epochs=6)) is False
    study = study_with(FINISHED)
    assert ProjectionPruner(to_target=True, n_warmup_steps=4).prune(study, running(study, [0.5, 0.5, 0.5], 6)) is False


def test_more_noise_allowed_prunes_less():
    study = study_with(FINISHED)
    trial = running(study, [0.95, 0.96, 0.984], epochs=6)  # 0.984 + 0.004 + 2 sigma ~ 0.9905 < 0.994
    assert ProjectionPruner(to_target=True, sigmas=2).prune(study, trial) is True
    assert ProjectionPruner(to_target=True, sigmas=6).prune(study, trial) is False


def test_nothing_is_pruned_before_the_learning_rate_peaks():
    """A trial at a hopeless 0.5 is left alone until its OneCycle peak (peak_epoch), then pruned."""
    study = study_with(FINISHED)
    assert ProjectionPruner(to_target=True).prune(study, running(study, [0.5] * 3, 6, peak_epoch=4)) is False
    assert ProjectionPruner(to_target=True).prune(study, running(study, [0.5] * 4, 6, peak_epoch=4)) is True


def test_a_repeat_learns_the_late_gain_from_its_own_configs_first_seed_too():
    """The held parent (RUNNING) gained 0.009 after epoch 5; the finished trials only 0.001: a
    repeat at 0.986 can still reach 0.994 on its own config's curve, a stranger at 0.986 cannot."""
    study = study_with(FINISHED)
    parent = study.ask()
    parent.set_user_attr("max_epochs", 6)
    for epoch, v in enumerate([0.96, 0.975, 0.983, 0.985, 0.986, 0.995], 1):
        parent.report(v, epoch)
    curve = [0.95, 0.96, 0.975, 0.98, 0.986]
    seed = running(study, curve, epochs=6, race_bar=0.994, repeat_of=parent.number)
    assert ProjectionPruner(to_target=True).prune(study, seed) is False
    stranger = running(study, curve, epochs=6)
    assert ProjectionPruner(to_target=True).prune(study, stranger) is True


def test_a_repeat_is_raced_only_from_halfway_between_its_peak_and_its_end():
    """Peak at epoch 2, warm-up 3 steps, 6 epochs: a first seed may be pruned from epoch 3, a
    repeat (race_bar set) only from epoch 5 (ceil((3 + 6) / 2)), however hopeless it looks."""
    study = study_with(FINISHED)
    pruner = ProjectionPruner(to_target=True)
    for epochs_reported, repeat_pruned, first_pruned in [(4, False, True), (5, True, True)]:
        seed = running(study, [0.5] * epochs_reported, 6, peak_epoch=2, race_bar=0.994)
        first = running(study, [0.5] * epochs_reported, 6, peak_epoch=2)
        assert (pruner.prune(study, seed), pruner.prune(study, first)) == (repeat_pruned, first_pruned)
    assert pruner.earliest(running(study, [0.5], 20, peak_epoch=6, race_bar=0.99)) == 13
