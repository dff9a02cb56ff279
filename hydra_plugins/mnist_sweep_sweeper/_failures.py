"""When failed trials stop a sweep: too many of them (``max_failure_rate``), or a start where every
trial fails the same way, which is a config or set-up error, not bad luck of the search. And why
candidates were rejected before launch: ``max_rejected``'s line, and a sweep that trained nothing."""
from __future__ import annotations

import math
import re
from collections import Counter

import optuna

from mnist_sweep.config.tiers import narrower_searches
from mnist_sweep.errors import SweepError, SweepStopped
from mnist_sweep.storage import status_of
from mnist_sweep.text import plural

SAME_ERROR_AT_START = 3  # this many trials failed alike, none finished: stop
NOT_COMPOSED_AT_START = 20  # this many candidates of a run rejected, each because it did not compose, none passed: stop
NOT_A_SETUP_ERROR = ("DivergedError",)  # a search may well start in a region that diverges


def check(study: optuna.Study, max_failure_rate: float, n_trials: int, since: int | None = None) -> None:
    """Raise SweepStopped (one line, naming the error) when failures should stop the sweep: more
    than ``max_failure_rate`` of ``n_trials``, or the first trials from number ``since`` on (this
    run's) all failed with the same error. ``max_failure_rate=1.0`` turns both rules off."""
    trials = study.get_trials(deepcopy=False)
    failed = [t for t in trials if status_of(t) == "failed"]
    allowed = math.floor(max_failure_rate * n_trials)  # as counts: 'more than 0.0 x 1 trial' read as no count at all
    if len(failed) > allowed:
        raise SweepStopped(
            f"hydra.sweeper.max_failure_rate: {plural(len(failed), 'trial')} failed, more than the {allowed:,} allowed "
            f"({max_failure_rate * 100:g}% of {plural(n_trials, 'trial')}); last error: {failed[-1].user_attrs.get('error')}; the "
            "study is kept: to go on, raise hydra.sweeper.max_failure_rate (failures count over the whole study; 1.0: "
            "never stop) and run again"
        )
    if since is None or max_failure_rate >= 1.0:
        return
    ours = [t for t in trials if t.number >= since]
    failed = [t for t in ours if status_of(t) == "failed"]
    if len(failed) < SAME_ERROR_AT_START or any(status_of(t) in ("complete", "pruned") for t in ours):
        return
    errors = {str(t.user_attrs.get("error")) for t in failed[:SAME_ERROR_AT_START]}
    if len(errors) == 1 and not errors.pop().startswith(NOT_A_SETUP_ERROR):
        raise SweepStopped(
            f"hydra.sweeper: the first {SAME_ERROR_AT_START} trials of this run all failed with the same error "
            f"and none finished, so the sweep stops: {failed[0].user_attrs.get('error')}; fix it and run again "
            "(the study is kept), or set hydra.sweeper.max_failure_rate=1.0 to go on regardless"
        )


def check_composed(reasons: list[str], rejected: int, passed: int) -> None:
    """Raise SweepStopped (one line, the commonest reason) when the first NOT_COMPOSED_AT_START
    candidates of this run were all rejected because they did not compose (``reasons``: one per
    such candidate) and none passed to launch (``passed``): a config that cannot work, such as a
    mistyped option in an experiment's defaults list, which ``max_rejected`` took minutes to stop.
    A space where some choices do not compose together passes some candidates among its first;
    one rejected for another cause (the budget) among them turns the rule off for the run."""
    if passed or rejected != NOT_COMPOSED_AT_START or len(reasons) != rejected:
        return
    (top, n), = Counter(reasons).most_common(1)
    others = "" if n == rejected else f" ({n} of them; the rest differ)"
    raise SweepStopped(f"hydra.sweeper.params: the first {NOT_COMPOSED_AT_START} candidates did not compose: {top}{others}; "
                     "fix the config file or option it names, or take it out of the search space, and run again "
                     "(the study is kept)")


BUDGET = "model.max_params"
_BUDGET_RE = re.compile(r"over the budget model\.max_params=([\d,]+)")


def _cause(error: str) -> str:
    """What rejected a candidate: the budget, the key its error names (``model.padding[3]`` as
    ``model.padding``), or the error itself."""
    if _BUDGET_RE.search(error):
        return BUDGET
    head, sep, _ = error.partition(": ")
    return re.sub(r"\[\d+\]", "", head) if sep and " " not in head else error



def narrower(trials: list[optuna.trial.FrozenTrial]) -> str:
    """The shipped searches made for the budget the rejected of ``trials`` were over (tiers.narrower_searches)."""
    errors = (str(t.user_attrs.get("error")) for t in trials if status_of(t) == "rejected")
    budget = next((m.group(1) for e in errors if (m := _BUDGET_RE.search(e))), None)
    return narrower_searches(int(budget.replace(",", ""))) if budget else ""


def why_rejected(trials: list[optuna.trial.FrozenTrial]) -> tuple[str, str]:
    """The key behind the most common cause among the rejected of ``trials``, and a clause saying
    it with its fix: for the budget, the smallest candidate's size; else one of its errors."""
    rejected = [t for t in trials if status_of(t) == "rejected"]
    errors = [str(t.user_attrs.get("error")) for t in rejected]
    if not errors:
        return "hydra.sweeper", "none of them rejected"
    (cause, n), = Counter(map(_cause, errors)).most_common(1)
    share = f"{n} of the {len(rejected)}" if n < len(rejected) else f"all {n}"
    if cause == BUDGET:
        sizes = [int(t.user_attrs["params"]) for t in rejected if isinstance(t.user_attrs.get("params"), int)]
        budget = next((m.group(1) for e in errors if (m := _BUDGET_RE.search(e))), "?")
        smallest = f", the smallest with {min(sizes):,} parameters" if sizes else ""
        return BUDGET, (f"{share} over the budget {BUDGET}={budget}{smallest}; raise {BUDGET} or search smaller "
                        f"widths{narrower(rejected)}")
    example = next(e for e in errors if _cause(e) == cause)
    key = cause if " " not in cause else "hydra.sweeper.precheck"  # a precheck's own error names no key
    return key, f"{share} by {example}; narrow the search space to candidates that pass"


def check_trained(study: optuna.Study) -> None:
    """A sweep ends with a study none of whose candidates was launched (each rejected, or the same
    as a rejected one): one line saying why, not a sweep that seems to have succeeded."""
    trials = study.get_trials(deepcopy=False)
    if not trials or any(status_of(t) not in ("rejected", "duplicate") for t in trials):
        return
    key, why = why_rejected(trials)
    rejected = sum(status_of(t) == "rejected" for t in trials)
    raise SweepError(f"{key}: no trial was trained: the study's {plural(rejected, 'distinct candidate')} {'was' if rejected == 1 else 'were'} rejected "
                     f"before launch, {why}")


def reason(e: BaseException) -> str:
    """An exception as a trial's error column words it: ``Type: message``, or ``Type`` alone; an
    interrupt as what stopped it (Ctrl-C raises KeyboardInterrupt with no message: it read
    'KeyboardInterrupt: ')."""
    if isinstance(e, KeyboardInterrupt):
        return f"interrupted ({e})" if str(e) else "interrupted (Ctrl-C or SIGINT)"
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
