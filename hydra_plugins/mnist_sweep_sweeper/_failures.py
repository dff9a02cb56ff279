"""When failed trials stop a sweep: too many of them (``max_failure_rate``), or a start where every
trial fails the same way, which is a config or set-up error, not bad luck of the search."""
from __future__ import annotations

import optuna

from mnist_sweep.errors import SweepError
from mnist_sweep.storage import status_of

SAME_ERROR_AT_START = 3  # this many trials failed alike, none finished: stop
NOT_A_SETUP_ERROR = ("DivergedError",)  # a search may well start in a region that diverges


def check(study: optuna.Study, max_failure_rate: float, n_trials: int, since: int | None = None) -> None:
    """Raise SweepError (one line, naming the error) when failures should stop the sweep: more
    than ``max_failure_rate`` of ``n_trials``, or the first trials from number ``since`` on (this
    run's) all failed with the same error. ``max_failure_rate=1.0`` turns both rules off."""
    trials = study.get_trials(deepcopy=False)
    failed = [t for t in trials if status_of(t) == "failed"]
    if len(failed) > max_failure_rate * n_trials:
        raise SweepError(
            f"hydra.sweeper.max_failure_rate: {len(failed)} trials failed, more than "
            f"{max_failure_rate} x {n_trials} trials; last error: {failed[-1].user_attrs.get('error')}"
        )
    if since is None or max_failure_rate >= 1.0:
        return
    ours = [t for t in trials if t.number >= since]
    failed = [t for t in ours if status_of(t) == "failed"]
    if len(failed) < SAME_ERROR_AT_START or any(status_of(t) in ("complete", "pruned") for t in ours):
        return
    errors = {str(t.user_attrs.get("error")) for t in failed[:SAME_ERROR_AT_START]}
    if len(errors) == 1 and not errors.pop().startswith(NOT_A_SETUP_ERROR):
        raise SweepError(
            f"hydra.sweeper: the first {SAME_ERROR_AT_START} trials of this run all failed with the same error "
            f"and none finished, so the sweep stops: {failed[0].user_attrs.get('error')}; fix it and run again "
            "(the study is kept), or set hydra.sweeper.max_failure_rate=1.0 to go on regardless"
        )
