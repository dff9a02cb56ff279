"""The ``python -m mnist_sweep.train`` entry point: everything around the training loop.

- ``main(argv)`` runs in-process (tests call it with bad inputs) and returns the exit code.
- Before Hydra writes anything, the command line is checked: override syntax, unknown options
  and keys, the schema's types, ranges and cross-key rules (``schema.validate``) for a run, the
  sweeper's keys (``checks.check_sweeper``) for a sweep. One ``error: ...`` line, exit 2.
- ``OutputDirCheck`` (a Hydra callback, named in conf/config.yaml) refuses an unwritable output
  dir or one holding a finished run, and remembers what the run dir held before the run, so a run
  that fails before its first epoch removes only what it created itself.
- ``task`` is the Hydra task; the sweeper and hydra-joblib-launcher reach it by its importable
  name (``mnist_sweep.cli.task``): a task defined in ``__main__`` would be pickled by value.
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import hydra
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from mnist_sweep import PROJECT_ROOT
from mnist_sweep.errors import MnistSweepError, exit_status, one_line, unusable_path
from mnist_sweep.storage import install_log_redaction

log = logging.getLogger(__name__)
PROG = "python -m mnist_sweep.train"


# --------------------------------------------------------------------------- output dirs
class _RunDir:
    """What the run dir held before this run: None when this run created it."""

    path: Path | None = None
    before: set[str] | None = None


def _listing(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*")}


class OutputDirCheck(Callback):
    """Hydra callback: stop with one line, before any work, when the run or sweep dir cannot be
    written or already holds a finished run; remember what the run dir held."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        d = Path(config.hydra.run.dir).resolve()
        if (d / "result.json").exists():
            _refuse(f"hydra.run.dir: {d} already holds a finished run (result.json); choose a new directory")
        _RunDir.path, _RunDir.before = d, (_listing(d) if d.exists() else None)
        _check_writable(config.hydra.run.dir, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _check_writable(config.hydra.sweep.dir, "hydra.sweep.dir")


def _refuse(message: str) -> None:
    print(f"error: {one_line(message)}", file=sys.stderr)
    sys.exit(2)


def _check_writable(path: str, key: str) -> None:
    d = Path(path)
    existed = d.exists()
    try:
        d.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=d, prefix=".write-test-"):  # unique: workers may start together
            pass
    except OSError as e:
        if not existed and d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
        _refuse(unusable_path(e, key))


def undo_run_dir(out_dir: Path) -> None:
    """Remove what this run wrote to ``out_dir``: the whole dir if the run created it, else only
    the files that were not there before (nothing the user had is touched)."""
    out_dir = out_dir.resolve()
    if _RunDir.path != out_dir:
        return  # not the dir OutputDirCheck saw: leave it alone
    if _RunDir.before is None:
        shutil.rmtree(out_dir, ignore_errors=True)
        return
    created = sorted(_listing(out_dir) - _RunDir.before, key=lambda p: -p.count(os.sep))
    for rel in created:
        p = out_dir / rel
        try:
            p.rmdir() if p.is_dir() and not p.is_symlink() else p.unlink()
        except OSError:
            pass


# --------------------------------------------------------------------------- one-line errors
def _one_line(message: str) -> str:
    """Hydra's multi-line composition errors as one line (option lists joined, search path dropped)."""
    parts: list[str] = []
    for line in message.splitlines():
        if line.startswith(("Config search path", "Set the environment variable HYDRA_FULL_ERROR")):
            break
        if line.startswith("\t") and parts:
            parts[-1] += (", " if not parts[-1].endswith(":") else " ") + line.strip()
        elif line.strip() and not line.startswith("    "):
            parts.append(line.strip().rstrip("."))
    return "; ".join(parts)


def composition_error(e: BaseException) -> str:
    """One line for an exception raised while composing: a schema type error names its key."""
    from mnist_sweep.schema import hydra_error_line

    return one_line(hydra_error_line(e) or _one_line(str(e)) or type(e).__name__)


def _config_source(argv: list[str]) -> tuple[str, str, list[str]] | None:
    """(primary config dir, config name, extra search-path dirs) the command line picks; None for
    a relative --config-path. ``--config-dir`` adds a dir to the search path (the primary config
    stays conf/), as in Hydra."""
    conf, name, extra = str(PROJECT_ROOT / "conf"), "config", []
    it = iter(argv)
    for arg in it:
        for flags, kind in ((("--config-path", "-cp"), "path"), (("--config-dir", "-cd"), "dir"), (("--config-name", "-cn"), "name")):
            for flag in flags:
                if arg == flag or arg.startswith(flag + "="):
                    value = arg.split("=", 1)[1] if "=" in arg else next(it, "")
                    if kind == "path":
                        if not os.path.isabs(value):
                            return None
                        conf = value
                    elif kind == "dir":
                        extra.append(os.path.abspath(value))
                    else:
                        name = value
    return conf, name, extra


def override_error(argv: list[str]) -> str | None:
    """One line for the first problem Hydra or the schema would find in the command line (syntax,
    unknown option or key, type, range, cross-key rule, sweeper key), found by composing the plain
    overrides once up front, before anything is written; else None."""
    from hydra import compose, initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    if any(a in ("--help", "-h", "--hydra-help", "--info", "-i", "--cfg", "-c", "--shell-completion", "-sc")
           or a.startswith(("--cfg=", "--info=")) for a in argv):
        return None  # Hydra's own informational commands
    source = _config_source(argv)
    if source is None:
        return None
    multirun = "-m" in argv or "--multirun" in argv
    parser = OverridesParser.create()
    plain = []
    skip_next = False
    for arg in argv:
        if skip_next:
            skip_next = False
            continue
        if arg in ("--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd"):
            skip_next = True
            continue
        if "=" not in arg or arg.startswith("-"):
            continue
        try:
            (override,) = parser.parse_overrides([arg])
        except OverrideParseException as e:
            lines = [line.strip() for line in str(e).splitlines() if line.strip() and not line.startswith("See ")]
            return one_line(f"{arg}: {lines[-1]}")
        if not override.is_sweep_override():
            plain.append(arg)
        elif not multirun:
            return one_line(f"{arg}: a sweep expression needs -m (multirun)")
    try:
        searchpath = [f"hydra.searchpath=[{','.join('file://' + d for d in source[2])}]"] if source[2] else []
        with initialize_config_dir(version_base="1.3", config_dir=source[0]):
            cfg = compose(source[1], overrides=[*searchpath, *plain], return_hydra_config=True)
    except Exception as e:  # noqa: BLE001 - any composition error, reported in one line
        return composition_error(e)
    try:
        if multirun:
            if "MnistOptunaSweeper" in str(cfg.hydra.sweeper.get("_target_", "")):
                from hydra_plugins.mnist_sweep_sweeper.checks import check_sweeper

                check_sweeper(cfg)
        else:
            from mnist_sweep.schema import validate

            validate(cfg)
    except MnistSweepError as e:
        return str(e)
    except Exception as e:  # noqa: BLE001 - an interpolation that cannot be resolved, and the like
        return composition_error(e)
    return None


# --------------------------------------------------------------------------- the task
@hydra.main(version_base="1.3", config_path=str(PROJECT_ROOT / "conf"), config_name="config")
def task(cfg: DictConfig) -> float | list[float]:
    """Train one config (one run, or one sweep trial); returns the objective(s)."""
    from mnist_sweep.train import train
    from mnist_sweep.trial import gpu_slot, pruning_hook, worker_index

    install_log_redaction()
    hc = HydraConfig.get()
    out_dir = Path(hc.runtime.output_dir)
    try:
        hook, slot = None, 0
        if hc.mode == RunMode.MULTIRUN:
            hook = pruning_hook(hc.sweeper, int(cfg.trainer.max_epochs))
            slot = gpu_slot(hc.job.num, hc.sweeper.get("n_jobs") or 1, worker_index())
        result = train(cfg, out_dir, on_epoch=hook, slot=slot)
        objectives = cfg.trainer.get("objectives")
        return [float(result[o]) for o in objectives] if objectives else result["value"]
    except MnistSweepError as e:
        if hc.mode == RunMode.MULTIRUN:
            raise  # the sweeper records the trial as failed/rejected and goes on
        log.debug("run failed", exc_info=True)
        if not (out_dir / "metrics.csv").exists():  # failed before any epoch: leave nothing of ours behind
            undo_run_dir(out_dir)
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    """``python -m mnist_sweep.train [overrides]``, in-process: the exit code (0 on success).

    SIGTERM is handled like Ctrl-C: the sweeper marks the trials in flight as lost, rewrites the
    leaderboard and stops its helper workers; finished trials keep their dirs and records.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    bad = override_error(args)
    if bad:
        print(f"error: {bad}", file=sys.stderr)
        return 2
    saved_argv = sys.argv
    in_main_thread = hasattr(signal, "SIGTERM") and _is_main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    sys.argv = [sys.argv[0] if argv is None else PROG, *args]
    _RunDir.path = _RunDir.before = None
    try:
        task()
        return 0
    except SystemExit as e:
        return exit_status(e)
    except KeyboardInterrupt:
        print("interrupted: finished runs and trials are kept; run the same command again to resume", file=sys.stderr)
        return 130
    finally:
        sys.argv = saved_argv
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
        GlobalHydra.instance().clear()


def _is_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
