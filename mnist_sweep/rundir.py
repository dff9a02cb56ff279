"""The run and sweep directories: ``OutputDirCheck`` (a Hydra callback, named on every train
command line by ``guarded``, so a run composed from any config, a trial's saved one too, gets it)
refuses, before any work, an output dir that cannot be written, already holds a finished run
(a sweep dir: any training run; a run dir: a sweep) or lies inside a run's dir, or a run that would save its config elsewhere than ``.hydra/``
(hydra.output_subdir: no reader could reproduce it), and remembers which of a run's own files the
run dir held, so that a run failing or interrupted before its first epoch removes only what it
created itself (``undo_run_dir``): never a file of the user's, nor one written there meanwhile."""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mnist_sweep.board_paths import FILENAME as TABLE
from mnist_sweep.board_paths import run_dirs
from mnist_sweep.config.lines import unresolved_line
from mnist_sweep.config.syntax import shell_override
from mnist_sweep.errors import MnistSweepError, not_an_output_dir, one_line, unusable_path
from mnist_sweep.moved import is_trial_name
from mnist_sweep.overrides import INFO_FLAGS
from mnist_sweep.shell import locale_escaped
from mnist_sweep.storage import STORAGE_RECORD

# OutputDirCheck for every composition: conf/config.yaml names it too, but a trial's saved
# .hydra/config.yaml (what reproduce and confirm train) has no hydra node, so no callbacks.
GUARD = "++hydra.callbacks.output_dir._target_=mnist_sweep.rundir.OutputDirCheck"
RUN_FILES = ("result.json", "metrics.csv", "model.pt", ".hydra/config.yaml")  # what a single run writes
SWEEP_FILES = (STORAGE_RECORD, TABLE)  # what only a sweep writes in its dir


def in_a_run(path: Path, what: str = "run dir") -> str | None:
    """A file or dir inside a run dir given for the run dir (its model.pt, metrics.csv, .hydra/ or
    .hydra/config.yaml), in one line naming the run dir to give; None where it is none of these. predict
    said 'no .hydra/config.yaml, not a run or trial dir' for RUN/.hydra, reproduce 'not a readable CSV'
    for RUN/model.pt, naming no run dir (predict, reproduce; export and confirm take no run dir)."""
    if not path.exists() or (path / RUN_FILES[-1]).is_file():
        return None
    up = path.resolve().parents if ".." in path.parts else path.parents  # RUN/.hydra/.. is RUN itself
    run = next((d for d in list(up)[:2] if (d / RUN_FILES[-1]).is_file()), None)
    kind = "a directory" if path.is_dir() else "a file"
    return f"{path}: is {kind} in a run dir, not a {what}; give the run dir it is in, {run}" if run else None


def runs_in(d: Path) -> str | None:
    """A dir that is no run but holds runs one or two levels down (a Hydra multirun's, confirm's --out:
    CONFIG/seed_N), in one line naming them to give; None where it holds none. confirm's --out was
    'no .hydra/config.yaml, not a run or trial dir' in predict, 'no leaderboard.csv and no .hydra/' in reproduce."""
    runs = run_dirs(d)
    if not runs:
        return None
    return (f"{d}: holds {len(runs)} run dir{'s' * (len(runs) > 1)}, is none itself; give {'one of them' if len(runs) > 1 else 'it'}: "
            f"{', '.join(map(str, runs[:3]))}{', ...' if len(runs) > 3 else ''}")


def guarded(args: list[str]) -> list[str]:
    """A train command line (Hydra's arguments) with ``OutputDirCheck`` added as a Hydra override,
    whatever config it composes; Hydra's informational commands stay as they are."""
    if GUARD in args or any(a in INFO_FLAGS or a.startswith(("--cfg=", "--info=")) for a in args):
        return list(args)
    return [*args, GUARD]


class RunDirs:
    """What the run dir held before this run (None when this run created it), the dirs above it
    that did not exist yet (deepest first), and the sweep dir when this invocation created it."""

    path: Path | None = None
    before: set[str] | None = None
    log: str = "train.log"  # the job's log (hydra.job.name + .log)
    new_parents: tuple[Path, ...] = ()
    new_sweep: Path | None = None
    new_sweep_parents: tuple[Path, ...] = ()  # the dirs above the new sweep dir that did not exist yet

    @classmethod
    def reset(cls) -> None:
        cls.path = cls.before = cls.new_sweep = None
        cls.log = "train.log"
        cls.new_parents = cls.new_sweep_parents = ()


def _remove_new_parents(parents: tuple[Path, ...] | None = None) -> None:
    """The dirs made above the run dir (or ``parents``), deepest first, each while empty."""
    for p in RunDirs.new_parents if parents is None else parents:
        try:
            p.rmdir()
        except OSError as e:
            if e.errno not in (errno.ENOENT, errno.ENAMETOOLONG):  # one never made: those above may be ours
                return


RUN_WRITES = (".hydra", "metrics.csv", "result.json", "model.pt", "curves.png")  # and the job's log


def _listing(d: Path) -> set[str]:
    """What of a run's own files ``d`` holds: ``RUN_WRITES``, the job's log, their atomic-write
    temporaries and what ``.hydra/`` holds; nothing else (hydra.run.dir=. is a dir of the user's, where
    other programs and the user write while the run trains)."""
    names = (*RUN_WRITES, RunDirs.log)
    found: set[str] = set()
    with contextlib.suppress(OSError):  # unreadable: none found, none removed
        for p in d.iterdir() if d.is_dir() else ():
            if p.name in names or (p.name.endswith(".tmp") and p.name.startswith(tuple(f".{n}." for n in names))):
                found.add(p.name)
                if p.is_dir() and not p.is_symlink():
                    found |= {str(q.relative_to(d)) for q in p.rglob("*")}
    return found


class OutputDirCheck(Callback):
    """Hydra callback: stop with one line, before any work, when the run or sweep dir cannot be
    written or already holds a finished run; remember what the run dir held."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:  # Hydra turns a callback's exception into a warning and goes on: refuse here
            self._check_run(config)
        except OSError as e:  # a name too long, a loop of links, ...
            _refuse(unusable_path(e, "hydra.run.dir"))
        except OmegaConfBaseException as e:  # hydra.run.dir=${oc.env:NOPE}
            _refuse(unresolved_line(config, e, "hydra.run.dir"))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            self._check_sweep(config)
        except OSError as e:
            _refuse(_long_study_name(config, e) or unusable_path(e, "hydra.sweep.dir"))
        except OmegaConfBaseException as e:
            _refuse(unresolved_line(config, e, "hydra.sweep.dir"))

    @staticmethod
    def _check_run(config: DictConfig) -> None:
        _check_output_subdir(config)
        d = _named(config.hydra.run.dir, "hydra.run.dir")
        if (d / "result.json").exists():
            _refuse(f"hydra.run.dir: {d} already holds a finished run (result.json); choose a new directory")
        if swept := [f for f in SWEEP_FILES if (d / f).is_file()]:
            _refuse(f"hydra.run.dir: {d} is a sweep dir ({swept[0]}), and a run there would mix its files with "
                    "the sweep's; choose a new directory")
        job = OmegaConf.select(config, "hydra.job.name", default=None, throw_on_resolution_failure=False)
        RunDirs.log = f"{job or 'train'}.log"
        RunDirs.path, RunDirs.before = d, (_listing(d) if d.exists() else None)
        RunDirs.new_parents = tuple(a for a in d.parents if not a.exists())
        _check_writable(config.hydra.run.dir, "hydra.run.dir")

    @staticmethod
    def _check_sweep(config: DictConfig) -> None:
        _check_output_subdir(config)
        if config.hydra.sweeper.get("dry_run"):
            return  # a dry run writes nothing, so needs no dir
        d = _named(config.hydra.sweep.dir, "hydra.sweep.dir")
        held = [f for f in RUN_FILES if (d / f).exists()] if d.is_dir() else []
        if held:
            _refuse(f"hydra.sweep.dir: {d} holds a training run ({held[0]}), not a sweep; "
                    "choose a new directory for the sweep")
        if not held and not any((d / f).exists() for f in (*SWEEP_FILES, "optuna.db", "journal.log")) and (others := [
                r for r in run_dirs(d) if not is_trial_name(r.relative_to(d).parts[0], d)]):  # outputs/runs: not its trials
            _refuse(f"hydra.sweep.dir: {d} holds run dirs that are no sweep's trials ({others[0]}, ...), and its readers would "
                    "take them for the sweep's (export, reproduce); choose a new directory for the sweep")
        RunDirs.new_sweep = None if d.exists() else d
        RunDirs.new_sweep_parents = () if d.exists() else tuple(a for a in d.parents if not a.exists())
        _check_writable(config.hydra.sweep.dir, "hydra.sweep.dir", config)


def _long_study_name(config: DictConfig, e: OSError) -> str | None:
    """The line naming hydra.sweeper.study_name where the sweep dir named after it is too long a name: the
    line named hydra.sweep.dir, a key the user had not set ('File name too long; choose a shorter path')."""
    name = OmegaConf.select(config, "hydra.sweeper.study_name", default=None)
    written = str(OmegaConf.to_container(config.hydra.sweep, resolve=False).get("dir"))  # outputs/sweeps/${...}
    if e.errno != errno.ENAMETOOLONG or not isinstance(name, str) or len(os.fsencode(name)) <= 255 \
            or "${hydra.sweeper.study_name}" not in written:
        return None
    return one_line(f"hydra.sweeper.study_name: {len(os.fsencode(name)):,} bytes, and the sweep dir is named after it "
                    f"({written}), over a file name's 255 bytes; give a shorter name, or a hydra.sweep.dir of your own")


# What an unwritable place raises: no space, no quota, a read-only or immutable file system, no permission.
UNWRITABLE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def unwritable(e: OSError, out_dir: Path, key: str = "hydra.run.dir") -> str | None:
    """The one line for a run whose output dir filled up or became read-only while it ran, else
    None. What it finished is kept; the same command runs it again into the same dir."""
    if e.errno not in UNWRITABLE:
        return None
    where = e.filename or f"{key}: {out_dir}"
    return one_line(f"{where}: {e.strerror or type(e).__name__}; free space or make {key} writable (or choose "
                    "another), then run the same command again")


def _check_output_subdir(config: DictConfig) -> None:
    """A run is self-describing: Hydra saves its resolved config in ``.hydra/`` of its dir, where
    reproduce, confirm, export, predict and the sweep's readers look; elsewhere or nowhere
    (hydra.output_subdir=null), the run could never be reproduced: refused before anything is written."""
    try:
        sub = config.hydra.get("output_subdir")
    except OmegaConfBaseException as e:  # hydra.output_subdir=${nope}: get() names no key, the callers their dir
        _refuse(unresolved_line(config, e, "hydra.output_subdir"))
    if sub is None or Path(str(sub)) != Path(".hydra"):
        _refuse(f"hydra.output_subdir={'null' if sub is None else sub}: every run saves its resolved config in .hydra/ "
                "of its dir (reproduce, confirm, export and predict read it there); leave hydra.output_subdir out")


def _named(path: str, key: str) -> Path:
    """The output dir, resolved; an empty one (an unset shell variable: hydra.run.dir=$OUT) is refused,
    not taken for the current dir."""
    if not str(path).strip():
        _refuse(f"{key}: empty (an unset shell variable?); give a directory, e.g. {key}=outputs/mine ({key}=. for this one)")
    if str(path).startswith("~") and (home := os.path.expanduser(str(path))) != str(path):  # '~/runs': quoted for Hydra
        _refuse(f"{key}: {path}: Hydra does not expand ~ (nor does the shell in quotes): it would make a dir named "
                f"{str(path).split('/')[0]} in {Path.cwd()}; give the path itself: {shell_override(f'{key}=', home)}")
    resolved = Path(path).resolve()
    if line := locale_escaped(resolved) or not_an_output_dir(resolved):  # PYTHONUTF8=0 in C; RUN/sub; a trial dir's outputs/
        _refuse(f"{key}: {resolved}: {line}")
    return resolved


def _refuse(message: str) -> None:
    print(f"error: {one_line(message)}", file=sys.stderr)
    sys.exit(2)


WRITE_TEST = 16384  # bytes the check writes: Hydra's .hydra/ files and train.log's start, about 10 KB


def write_problem(path: str | Path, keep: bool = True) -> OSError | None:
    """The OSError making ``path`` and writing ``WRITE_TEST`` bytes in it raises, else None; what it
    made of the path is removed again where that failed (or where not ``keep``), each dir while empty."""
    d = Path(path).absolute()
    made = [p for p in (d, *d.parents) if not os.path.lexists(p)]  # deepest first; os.path never raises
    error = None
    try:
        d.mkdir(parents=True, exist_ok=True)
        try:
            with tempfile.NamedTemporaryFile(dir=d, prefix=".write-test-") as f:  # unique: workers may start together
                if os.write(f.fileno(), bytes(WRITE_TEST)) < WRITE_TEST:  # a full disk still makes an empty file: Hydra's
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # .hydra/config.yaml was its traceback then
        except OSError as e:  # the dir is named, not the temporary file the test tried in it
            raise OSError(e.errno, e.strerror, str(d)) from None
    except OSError as e:
        error = e
    for p in made if error is not None or not keep else []:  # what mkdir made of the path, each while empty
        with contextlib.suppress(OSError):
            p.rmdir()
    return error


def _check_writable(path: str, key: str, config: DictConfig | None = None) -> None:
    if (e := write_problem(path)) is not None:
        _refuse((config is not None and _long_study_name(config, e)) or unusable_path(e, key))


def check_out(path: Path, flag: str = "--out", keep: bool = False) -> None:
    """``flag``'s dir, which a command's run will be trained into, refused in one line naming ``flag`` where
    it cannot be written (a file in its place, read-only, a full disk): before anything trains, nothing left made
    (``keep``: the dir made, where it can be written)."""
    if (e := write_problem(path, keep=keep)) is not None:
        raise MnistSweepError(unusable_path(e, flag))


def undo_new_sweep_dir() -> None:
    """Remove the sweep dir a refused sweep created, while it holds nothing but Hydra's multirun.yaml,
    then the dirs it made above it (outputs/, outputs/sweeps/ in a fresh directory), each while empty."""
    d = RunDirs.new_sweep
    if d is None or not d.is_dir():
        return
    if all(p.name == "multirun.yaml" or p.is_dir() for p in d.rglob("*")):
        shutil.rmtree(d, ignore_errors=True)
        _remove_new_parents(RunDirs.new_sweep_parents)


def undo_run_dir(out_dir: Path) -> None:
    """Remove what this run wrote to ``out_dir``: its own files (``_listing``) that were not there
    before, then the dir if the run created it and nothing else was put in it meanwhile (nothing the
    user had or wrote there while the run trained is touched)."""
    out_dir = out_dir.resolve()
    if RunDirs.path != out_dir:
        return  # not the dir OutputDirCheck saw: leave it alone
    created = sorted(_listing(out_dir) - (RunDirs.before or set()), key=lambda p: -p.count(os.sep))
    for rel in created:
        p = out_dir / rel
        try:
            p.rmdir() if p.is_dir() and not p.is_symlink() else p.unlink()
        except OSError:
            pass
    if RunDirs.before is None:
        with contextlib.suppress(OSError):  # not empty: what another program or the user put there stays
            out_dir.rmdir()
            _remove_new_parents()  # hydra.run.dir=new/deeper/run made new/ and new/deeper/ too
