"""What a resumed study must keep: its directions and each parameter's distribution; the sweep dir's
finished trial dirs, each a trial of the study; and the sweep dir, claimed for the study. Checked on
the study as its storage holds it, read without writing (``read``, ``open_checked``), before the study is
opened and the sweep dir written: a run that does not fit the study records nothing in either, and
a refused start leaves the sweep dir as it was. And a study with nothing left to do
(``complete``), whether its report is older than its trials (``stale``), and the plain settings a
resume gives otherwise than the study's last trial (``changed_settings``), or searches newly (``_new_keys``)."""
from __future__ import annotations

import errno
import json
import math
import os
import re
import shlex
import tempfile
from pathlib import Path
from typing import Any, Callable, NamedTuple

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import TrialState

from hydra_plugins.mnist_sweep_sweeper import _optuna
from hydra_plugins.mnist_sweep_sweeper._liveness import counts_toward_total
from hydra_plugins.mnist_sweep_sweeper._log import log
from hydra_plugins.mnist_sweep_sweeper._new_keys import APART, last_finished, newly_searched
from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace, describe
from hydra_plugins.mnist_sweep_sweeper._teacher import retrained
from mnist_sweep import results
from mnist_sweep.config.sweeper_checks import check_sweep_dir
from mnist_sweep.errors import SweepError
from mnist_sweep.open_hints import cannot_open, no_answer
from mnist_sweep.storage import local_path, mask_url, open_storage, sqlite_path

NEW_STUDY = "give a new hydra.sweep.dir (and hydra.sweeper.study_name) for a new study"


class Stored(NamedTuple):
    """The study as its storage holds it before the sweep opens it, read without writing (``read``):
    ``readable`` False where this read cannot take the storage (a file that is no storage yet, an old
    schema, a server that does not answer); ``study`` None where there is none (or not readable);
    ``there`` whether the study is in the storage, True where that could not be read (kept, as a
    resume: ``_undo.Start``)."""

    readable: bool
    study: optuna.Study | None
    there: bool


def read(url: str | None, study_name: str) -> Stored:
    """The study as its storage holds it: the sweep's start reads it once, for its checks
    (``open_checked``) and for whether the study is new (``_undo.Start``)."""
    if not url or ((path := local_path(url)) is not None and not path.exists()):
        return Stored(True, None, False)
    from mnist_sweep.sweeps import not_a_storage

    if path is not None and not_a_storage(url):  # opening it writes Optuna's schema: open_study's to refuse or do
        return Stored(False, None, path.stat().st_size > 0)  # a file of the user's that is not empty: never undone
    try:
        study = optuna.load_study(study_name=study_name, storage=open_storage(url))
    except KeyError:  # no such study in the storage yet
        return Stored(True, None, False)
    except Exception as e:  # noqa: BLE001 - open_study opens it (an old schema upgraded) or says why in one line
        if no_answer(e):  # a server that took the connection and never answered: once is enough waiting
            raise SweepError(cannot_open("hydra.sweeper.storage:", mask_url(url), e, is_file=False)) from None
        return Stored(False, None, True)
    return Stored(True, study, True)


def open_checked(open_study: Callable[[], optuna.Study], stored: Stored, study_name: str, space: SearchSpace,
                 directions: list[str], sweep_dir: Path, trial_dir: str,
                 objectives: list[str] | None = None) -> optuna.Study:
    """The study, opened by ``open_study`` once the run has passed every check of a sweep's start
    against it (``check_opened``): on the study as its storage holds it (``stored``, from ``read``:
    no file created, no schema upgraded, no study created), so a refused start records nothing and
    leaves the sweep dir as it was; on the opened study only where it cannot be read so (an old
    schema the sweep upgrades, a file that is no storage yet, a server that does not answer), or where the read
    found none: another sweep may have created it since, with its own directions and space (joined, not undone)."""
    if stored.readable:
        check_opened(stored.study, study_name, space, directions, sweep_dir, trial_dir, objectives)
    study = open_study()
    if not stored.readable or stored.study is None:
        check_opened(study, study_name, space, directions, sweep_dir, trial_dir, objectives)
    return study


def check_stored(url: str | None, study_name: str, space: SearchSpace, directions: list[str], sweep_dir: Path,
                 trial_dir: str, objectives: list[str] | None = None) -> None:
    """A dry run's checks of the run against its study, the start's (``check_opened``), on the study read
    without writing: a resume the sweep refuses (another choice, direction or objective) is refused by
    its dry run too; a storage this read cannot take is left to the sweep, as ``open_checked`` leaves it."""
    if (stored := read(url, study_name)).readable:
        check_opened(stored.study, study_name, space, directions, sweep_dir, trial_dir, objectives)


def check_opened(study: optuna.Study | None, study_name: str, space: SearchSpace, directions: list[str],
                 sweep_dir: Path, trial_dir: str, objectives: list[str] | None = None) -> None:
    """The run against the study (None: a new one): its directions and searched keys, and the sweep
    dir's finished trial dirs."""
    finished = _finished_numbers(sweep_dir, trial_dir)  # listed first: each trial there was asked before it ran
    if study is not None:
        check_study(study, space, directions, objectives)
    numbers = {t.number for t in study.get_trials(deepcopy=False)} if study is not None and finished else set()
    if foreign := sorted(set(finished) - numbers):
        raise foreign_run(sweep_dir / trial_dir.format(number=foreign[0]), study_name)


def foreign_run(trial_dir: Path, study_name: str) -> SweepError:
    """A trial dir that holds a finished run of a trial the study lacks: another study's (the sweep
    dir's storage.json or storage file deleted, another storage given)."""
    return SweepError(f"{trial_dir}: already holds a finished run but the study '{study_name}' has no such trial; "
                      "the storage does not belong to this sweep dir: use a new hydra.sweep.dir")


def _finished_numbers(sweep_dir: Path, trial_dir: str) -> list[int]:
    """The trial numbers whose dirs (named by the format ``trial_dir``) in ``sweep_dir`` hold a result.json."""
    found = []
    for p in sweep_dir.iterdir() if sweep_dir.is_dir() else ():
        numbers = [int(n) for n in set(re.findall(r"\d+", p.name)) if trial_dir.format(number=int(n)) == p.name]
        if numbers and (p / "result.json").exists():
            found.append(numbers[0])
    return found


def check_study(study: optuna.Study, space: SearchSpace, directions: list[str],
                objectives: list[str] | None = None) -> None:
    """The run's directions and objectives, then each searched key, against what the study was created with."""
    check_directions(study, directions)
    check_objectives(study, objectives)
    recorded: dict[str, BaseDistribution] = {}
    for t in study.get_trials(deepcopy=False):
        recorded.update(t.distributions)  # the latest trial's last
    for name, new in space.distributions.items():  # Optuna refuses another kind or other choices at the
        old = recorded.get(name)                    # first trial, left failed in the storage at every resume
        if old is None or (why := _optuna.incompatible(old, new)) is None:
            continue
        raise SweepError(
            f"hydra.sweeper.params.{name}: the study '{study.study_name}' searched it as {describe(old)}, this run "
            f"as {describe(new)}, and Optuna cannot change that within a study ({why.rstrip('.')}); keep "
            f"'{name}={describe(old)}' to resume, or {NEW_STUDY}"
        )


def check_directions(study: optuna.Study, directions: list[str]) -> None:
    """An existing study keeps the directions it was created with: Optuna loads it with those and
    ignores the run's, so another direction (or mode: pareto's two objectives on a one-objective
    study) would be optimized the wrong way, or every trial failed by ``tell``."""
    had = [d.name.lower() for d in study.directions]
    asked = [str(d).lower() for d in directions]
    if had == asked:
        return
    raise SweepError(
        f"hydra.sweeper.direction: the study '{study.study_name}' was created to {_spelled(had)}, this run "
        f"asks to {_spelled(asked)}, and Optuna cannot change a study's directions; resume it with "
        f"hydra.sweeper.direction={_spelled(had)} (its own hparams_search), or {NEW_STUDY}"
    )


def check_objectives(study: optuna.Study, objectives: list[str] | None) -> None:
    """An existing study keeps what its values are (its metric names, recorded by its first run): a
    mode with the same direction but another objective (``smallest``'s params resumed by ``fastest``'s
    train_s) told Optuna seconds beside parameter counts, and the leaderboard ranked them together."""
    had = list(study.metric_names or [])
    if not had or not objectives or had == list(objectives) or len(had) != len(objectives):
        return  # a study named before metric names were recorded; another count: check_directions says so
    raise SweepError(
        f"trainer.objectives: the study '{study.study_name}' optimizes {','.join(had)}, this run would optimize "
        f"{','.join(objectives)}, and the two kinds of values would be ranked together; resume it with "
        f"trainer.objectives=[{','.join(had)}] (its own hparams_search), or {NEW_STUDY}"
    )


def _spelled(directions: list[str]) -> str:
    """One direction as itself, several as the override's list: ``[maximize,minimize]``."""
    return directions[0] if len(directions) == 1 else f"[{','.join(directions)}]"


def claim_sweep_dir(config: Any, sweep_dir: Path, url: str | None, study_name: str) -> None:
    """Record the study in the sweep dir (``storage.json``) unless a record is there, in one atomic
    step; where one is, check the dir again. Two sweeps of different studies started at once into
    one dir both passed the check at their start, before either had recorded its study, and each
    wrote its trials into the other's trial dirs."""
    if not url or (url.startswith("sqlite") and sqlite_path(url) is None):
        return
    from mnist_sweep.sweeps import STORAGE_RECORD, portable_url

    cwd = Path.cwd()
    record = {"study_name": study_name, "storage": portable_url(url, cwd), "cwd": str(cwd)}
    text = json.dumps(record, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(dir=sweep_dir, prefix=f".{STORAGE_RECORD}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~results.current_umask())  # as any new file (0644 under umask 022), not mkstemp's 0600
        try:
            os.link(tmp, sweep_dir / STORAGE_RECORD)  # whole or not at all; an existing record stays as it is
        except OSError as e:  # a file system without hard links (some FUSE or SMB mounts): created exclusively
            if isinstance(e, FileExistsError) or e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            with open(sweep_dir / STORAGE_RECORD, "x") as f:  # an existing record stays as it is here too
                f.write(text)
    except FileExistsError:
        check_sweep_dir(config)  # another study's record: one line naming it
    finally:
        os.unlink(tmp)


def complete(study: optuna.Study, left: int, n_trials: int, capped: bool) -> bool:
    """Whether the study has nothing left to do (``left`` trials to go, none running or queued);
    if so, say so and how to train more."""
    if left or study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
        return False
    counted = sum(counts_toward_total(t) for t in study.get_trials(deepcopy=False))  # n_trials is the study's total:
    above = f" above {counted} (the trials it has)" if counted > n_trials else ""  # raising 3 to 5 of 5 trained none
    more = "widen the search space (n_trials is capped at its configs)" if capped else f"raise hydra.sweeper.n_trials{above}"
    log.info("study %s is complete: its n_trials (%d) are done; to train more, %s", study.study_name, n_trials, more)
    return True


def within_space(study: optuna.Study, points: dict[str, list[Any]], n_trials: int) -> int:
    """n_trials at most the study's counted trials plus the configs of the space (``points``: each
    key's values) it has not trained: a resume may narrow the space to configs the study lacks.
    A trial with other keys (a conditional key left out) is not matched: the count stays an upper bound."""
    counted = [t for t in study.get_trials(deepcopy=False) if counts_toward_total(t)]
    tried = {tuple(sorted(t.params.items())) for t in counted
             if set(t.params) == set(points) and all(v in points[k] for k, v in t.params.items())}
    return min(n_trials, len(counted) + math.prod(len(v) for v in points.values()) - len(tried))


def stale(report: Path, study: optuna.Study) -> bool:
    """Whether ``report`` is missing or older than the study's last finished trial."""
    ends = [t.datetime_complete.timestamp() for t in study.get_trials(deepcopy=False) if t.datetime_complete]
    return not report.exists() or report.stat().st_mtime < max(ends, default=0.0)


DISPLAY_ONLY = ("trainer.progress",)  # settings that change nothing a trial records


def _plain(overrides: list[str], searched: set[str]) -> dict[str, str]:
    """``key=value`` overrides as a dict, less the searched keys and the display-only ones."""
    pairs = (o.partition("=") for o in overrides)
    return {k: v for k, eq, v in pairs if eq and k.lstrip("+") not in searched and k.lstrip("+") not in DISPLAY_ONLY}


def changed_settings(study: optuna.Study, space: SearchSpace) -> str | None:
    """The warning for a resume whose plain overrides (``data.train_limit=400``, ``trainer.max_epochs=5``)
    differ from those of the study's last finished trial: its trials would be ranked beside the earlier
    ones, trained another way, without a word. None where they agree, the study is new or a custom
    space adds overrides of its own (they are not this run's to compare)."""
    last = last_finished(study, space)
    if last is None:
        return None
    searched = set(last.params) | {k.lstrip("+") for k in space.distributions}
    try:
        before = _plain(shlex.split(last.user_attrs["overrides"]), searched)
    except ValueError:  # an overrides record that does not split: nothing to compare
        return None
    now = _plain([f"{k}={v}" for k, v in space.fixed.items()], searched)
    changed = [k for k in sorted(set(before) | set(now), key=lambda k: k.lstrip("+")) if before.get(k) != now.get(k)]
    if not changed:
        return None
    said = [f"{k}={now[k]}" if k in now else f"no {k} (its default)" for k in changed]
    had = [f"{k}={before[k]}" if k in before else f"no {k}" for k in changed]
    return (f"study {study.study_name}: this run gives {', '.join(said)} where its trial {last.number} had "
            f"{', '.join(had)}; {APART} (or the study's settings to resume it as it was)")


def resume_warnings(study: optuna.Study, space: SearchSpace) -> list[str]:
    """A resume's warnings on trials to be ranked beside others trained otherwise: plain settings changed
    (``changed_settings``), keys searched that the study never searched (``_new_keys.newly_searched``), a teacher
    trained again under the same path (``_teacher.retrained``)."""
    return [w for w in (changed_settings(study, space), newly_searched(study, space), retrained(study, space)) if w]
