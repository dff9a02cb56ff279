"""The ``python -m mnist_sweep.train`` entry point: everything around the training loop.

- ``main(argv)`` runs in-process (tests call it with bad inputs) and returns the exit code. It
  checks the command line before Hydra writes anything (mnist_sweep.overrides): one
  ``error: ...`` line and exit 2 for a bad one.
- ``task`` is the Hydra task; the sweeper and hydra-joblib-launcher reach it by its importable
  name (``mnist_sweep.cli.task``): a task defined in ``__main__`` would be pickled by value.
- A run's config is validated once: the Settings ``main`` validated are handed to the task when
  the task's config is the one validated (a sweep's jobs validate their own).
"""
from __future__ import annotations

import logging
import math
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import hydra
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from mnist_sweep import PROJECT_ROOT, children, library_warnings
from mnist_sweep.children import interrupt as _terminate  # SIGTERM as Ctrl-C
from mnist_sweep.commandline import broken_pipe_status, exit_status
from mnist_sweep.config.settings import Settings, validate
from mnist_sweep.cpus import warn_threads
from mnist_sweep.errors import MnistSweepError
from mnist_sweep.logs import LOG_ONLY, quiet_info_console
from mnist_sweep.orphans import stop_with_sweep
from mnist_sweep.overrides import PROG, Checked, check_command_line, composition_error, run_config
from mnist_sweep.rundir import RunDirs, guarded, undo_new_sweep_dir, undo_run_dir, unwritable
from mnist_sweep.shell import quoted_examples
from mnist_sweep.storage import install_log_redaction

log = logging.getLogger(__name__)
FULL_ERROR = "HYDRA_FULL_ERROR"


def peak_epoch(st: Settings) -> int:
    """The epoch a OneCycle schedule's learning rate peaks (0 for the others): before it, a
    trial's accuracy is no guide for a pruner."""
    if st.scheduler.name != "onecycle":
        return 0
    return math.ceil(float(st.scheduler.kwargs.get("pct_start", 0.3)) * st.trainer.max_epochs)


class _Validated:
    """What ``main`` validated for this process's run (see ``settings_for``)."""

    checked: Checked = Checked()


def settings_for(cfg: DictConfig) -> Settings:
    """The run's Settings: those ``main`` validated when ``cfg`` is that config, else validated now."""
    done = _Validated.checked
    if done.settings is not None and done.config == run_config(cfg):
        return done.settings
    return validate(cfg)


def train(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """mnist_sweep.training.train, imported when a run starts: torch, matplotlib and pandas cost
    about 2 s, which a command line refused in one line (or --help) never pays."""
    from mnist_sweep.training import train as run

    return run(*args, **kwargs)


@hydra.main(version_base="1.3", config_path=str(PROJECT_ROOT / "conf"), config_name="config")
def task(cfg: DictConfig) -> float | list[float]:
    """Train one config (one run, or one sweep trial); returns the objective(s)."""
    from mnist_sweep.next_steps import next_steps
    from mnist_sweep.trial import gpu_slot, pruning_hook, worker_index

    install_log_redaction()
    hc = HydraConfig.get()
    out_dir = Path(hc.runtime.output_dir)
    for line in (_Validated.checked.warning or "").splitlines() if hc.mode != RunMode.MULTIRUN else []:
        log.warning("%s", quoted_examples(line), extra=LOG_ONLY)  # main said them before the dir existed
    try:
        with stop_with_sweep():  # a sweep's job in a process of its own (joblib's loky workers): ended with its sweep
            hook, slot, st = None, 0, settings_for(cfg)
            warn_threads(st.trainer.threads)  # trainer.threads=4 on 2 CPUs: slower, without a word
            if hc.mode == RunMode.MULTIRUN:
                hook = pruning_hook(hc.sweeper, st.trainer.max_epochs,
                                    {"n_val": st.data.val_size or st.data.test_limit or 10_000, "target_acc": st.trainer.target_acc,
                                     "peak_epoch": peak_epoch(st)})
                slot = gpu_slot(hc.job.num, hc.sweeper.get("n_jobs") or 1, worker_index())
            result = train(st, out_dir, on_epoch=hook, slot=slot)
            if hc.mode != RunMode.MULTIRUN:
                for line in next_steps(out_dir, result):
                    log.info("%s", line)
            objectives = cfg.trainer.get("objectives")
            return [float(result[o]) for o in objectives] if objectives else result["value"]
    except OSError as e:  # the run dir full or read-only (a sweep's job: the sweeper stops on it)
        if hc.mode == RunMode.MULTIRUN or (line := unwritable(e, out_dir)) is None:
            raise
        if not (out_dir / "metrics.csv").exists():  # failed before any epoch: leave nothing of ours behind
            undo_run_dir(out_dir)
        print(f"error: {line}", file=sys.stderr)
        sys.exit(2)
    except MnistSweepError as e:
        if hc.mode == RunMode.MULTIRUN:
            raise  # the sweeper records the trial as failed/rejected and goes on
        log.debug("run failed", exc_info=True)
        if not (out_dir / "metrics.csv").exists():  # failed before any epoch: leave nothing of ours behind
            undo_run_dir(out_dir)
        print(f"error: {quoted_examples(str(e))}", file=sys.stderr)
        sys.exit(e.exit_code)


def main(argv: list[str] | None = None) -> int:
    """``python -m mnist_sweep.train [overrides]``, in-process: the exit code (0 on success).

    SIGTERM is handled like Ctrl-C: the sweeper marks the trials in flight as lost, rewrites the
    leaderboard and stops its helper workers; finished trials keep their dirs and records.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    multirun = [a for a in args if starts_a_sweep(a)]  # Hydra's override for -m too: checked as the sweep it starts
    args = ["-m"] * bool(multirun) + [a for a in args if a not in multirun]  # `-m` after overrides, too
    args = flags_first(args)  # `--config-dir DIR` after overrides, too
    library_warnings.quiet(sweep=bool(multirun))  # Hydra's and, before it builds a pruner, Optuna's (by their words)
    try:
        checked = check_command_line(args)
    except KeyboardInterrupt:  # Ctrl-C in the checks (composing, importing torch: seconds) was a traceback
        print(children.BEFORE_START, file=sys.stderr)
        return 130
    if checked.error:
        print(f"error: {quoted_examples(checked.error)}", file=sys.stderr)
        return 2
    for line in (checked.warning or "").splitlines():  # one line a warning
        print(f"warning: {quoted_examples(line)}", file=sys.stderr)
    args = args if checked.argv is None else checked.argv  # --help: without the overrides it cannot compose
    _Validated.checked = checked
    saved_argv = sys.argv
    in_main_thread = hasattr(signal, "SIGTERM") and _is_main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    ctrl_c = in_main_thread and signal.getsignal(signal.SIGINT) is signal.default_int_handler  # not one ignored
    previous_int = signal.signal(signal.SIGINT, children.ctrl_c) if ctrl_c else None  # recorded: see the sweep loop
    sys.argv = [sys.argv[0] if argv is None else PROG, *guarded(args)]
    RunDirs.reset()
    quiet_info_console()  # --info logs through a handler of Hydra's own: quiet too once stdout's reader has gone
    full_error = os.environ.get(FULL_ERROR)
    os.environ[FULL_ERROR] = "1"  # Hydra raises instead of printing its own (multi-line) report
    try:
        task()
        return 0
    except SystemExit as e:
        return exit_status(e)
    except (MnistSweepError, HydraException, OmegaConfBaseException) as e:
        undo_new_sweep_dir()
        line, code = (str(e), e.exit_code) if isinstance(e, MnistSweepError) else (composition_error(e), 2)
        print(f"error: {quoted_examples(line)}", file=sys.stderr)
        return code
    except BrokenPipeError as e:  # `--help | head`: quiet, 141
        return broken_pipe_status(e)
    except KeyboardInterrupt:
        print(interrupted_line(bool(multirun)), file=sys.stderr)
        return 130
    finally:
        if full_error is None:
            os.environ.pop(FULL_ERROR, None)
        else:
            os.environ[FULL_ERROR] = full_error
        sys.argv = saved_argv
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
        if ctrl_c:
            signal.signal(signal.SIGINT, previous_int)
        GlobalHydra.instance().clear()
        _Validated.checked = Checked()


def starts_a_sweep(arg: str) -> bool:
    """``-m``, ``--multirun``, or an override Hydra reads as ``hydra.mode=MULTIRUN``, however spelled: with ``+`` or
    ``++``, quoted (``hydra.mode='MULTIRUN'``), ``RunMode.MULTIRUN`` or ``2`` (read as Hydra reads it: its override
    grammar, then OmegaConf's enum node). A value Hydra refuses (``multirun``) is not: composing names it."""
    if arg in ("-m", "--multirun"):
        return True
    if arg.startswith("-") or "hydra.mode" not in arg:
        return False
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    try:
        (override,) = OverridesParser.create().parse_overrides([arg])
        if override.key_or_group != "hydra.mode" or override.is_delete() or override.is_sweep_override():
            return False
        return OmegaConf.merge(OmegaConf.structured(_Mode), {"mode": override.value()}).mode == RunMode.MULTIRUN
    except Exception:  # not an override, or a value Hydra refuses: the command-line check says so
        return False


@dataclass
class _Mode:
    """The node Hydra sets ``hydra.mode`` on (HydraConf's ``mode``)."""

    mode: Optional[RunMode] = None


def flags_first(args: list[str]) -> list[str]:
    """``args`` with Hydra's flags (and their values) before the overrides, where Hydra's parser would
    otherwise refuse them: an override after a flag's value (``-m model.c1=8 --config-dir DIR
    hparams_search=mine``) was 'unrecognized arguments: hparams_search=mine', and overrides before a
    last ``--config-dir DIR`` left the override main adds (``guarded``) unrecognized in Hydra's usage
    block. Unchanged where Hydra parses them already, or where the order would read otherwise."""
    from hydra._internal.utils import get_args_parser

    from mnist_sweep.config.syntax import VALUE_FLAGS

    def refuse(message: str) -> None:
        raise ValueError(message)

    parser = get_args_parser()
    parser.error = refuse  # type: ignore[method-assign]
    try:
        wanted = parser.parse_intermixed_args(args)
    except (ValueError, TypeError):  # a flag misused: the command-line check says so in its words
        return args
    if _parsed(parser, args) == wanted and (not args or args[-1].startswith("-") or args[-1] in wanted.overrides):
        return args
    flags, overrides, it = [], [], iter(args)
    for arg in it:
        if not arg.startswith("-"):
            overrides.append(arg)
            continue
        flags.append(arg)
        if arg in VALUE_FLAGS and arg not in ("--info", "-i") and (value := next(it, None)) is not None:
            flags.append(value)
    return [*flags, *overrides] if _parsed(parser, [*flags, *overrides]) == wanted else args


def _parsed(parser: Any, args: list[str]) -> Any:
    """Hydra's parse of ``args``, None where it refuses them."""
    try:
        return parser.parse_args(args)
    except (ValueError, TypeError):
        return None


def interrupted_line(multirun: bool) -> str:
    """What an interrupt left: a sweep resumes from its finished trials; one run does not resume
    (it trains from its first epoch again), and one stopped before its first epoch ended leaves nothing."""
    d = RunDirs.path
    if multirun or d is None:
        return "interrupted: finished runs and trials are kept; run the same command again to resume"
    if not (d / "metrics.csv").exists():
        undo_run_dir(d)
        return "interrupted before the first epoch ended: nothing kept; run the same command again to train"
    return (f"interrupted: the run in {d} did not finish (its epochs so far are in metrics.csv and train.log; no "
            "result.json or model.pt); a run does not resume: the same command trains it again from its first epoch")


def _is_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":  # a second copy of this module as __main__ would not be the task Hydra runs
    print("error: mnist_sweep.cli is not an entry point; run python -m mnist_sweep.train [overrides]", file=sys.stderr)
    sys.exit(2)
