"""Every error a user can cause, in one place.

Each message is a single line naming the key or file, what was wrong and how to fix it.
Entry points print ``error: <message>`` and exit non-zero instead of a traceback.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

from hydra.errors import CompactHydraException


class MnistSweepError(Exception):
    """Base class: a problem the user can fix (bad config, bad file). Its text never holds a
    password: whatever a message quotes (a URL, a database driver's error) is redacted."""

    exit_code = 2

    def __str__(self) -> str:
        return one_line(super().__str__())


class ConfigError(MnistSweepError):
    """A config value is missing, of the wrong type or out of range."""


class ModelConfigError(ConfigError):
    """The model section describes an invalid architecture."""


class ParamBudgetExceeded(ModelConfigError):
    """The model has more parameters than ``model.max_params`` allows."""

    def __init__(self, params: int, budget: int) -> None:
        super().__init__(params, budget)
        self.params = params
        self.budget = budget

    @property
    def user_attrs(self) -> dict[str, int]:
        """What the sweeper records for a rejected candidate."""
        return {"params": self.params}

    def __str__(self) -> str:
        return (
            f"model has {self.params:,} parameters, over the budget model.max_params={self.budget:,}; "
            "shrink model widths or raise model.max_params"
        )


class DataError(MnistSweepError):
    """The MNIST files are missing, truncated, corrupt or unreadable."""


class DivergedError(MnistSweepError):
    """Training produced a NaN or infinite loss."""


class LeaderboardError(MnistSweepError):
    """A path given as a leaderboard/sweep is not one, or a row asked for is not there."""


class StorageError(MnistSweepError):
    """An Optuna storage cannot be opened or needs an upgrade that a read-only command won't do."""


class ReproductionMismatch(MnistSweepError):
    """A reproduced run's metrics differ from the recorded ones."""

    exit_code = 1


class SweepError(MnistSweepError, CompactHydraException):
    """Bad search space, storage or sweep state; Hydra prints only the message."""


class CliParser(argparse.ArgumentParser):
    """argparse with one ``error: ...`` line (and exit 2) instead of the usage block on bad arguments."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {_redact(message)} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        """Parsed flags, each checked against its schema (mnist_sweep.schema.CLI_FLAGS)."""
        ns = super().parse_args(args, namespace)
        from mnist_sweep.schema import check_cli

        bad = check_cli(self.prog, ns)
        if bad:
            self.error(bad)
        return ns


def one_line(text: object) -> str:
    """``text`` as one printable line: passwords redacted, newlines and other control characters
    (a user's input quoted back) escaped."""
    from mnist_sweep.storage import redact

    clean = redact(str(text))
    if clean.isprintable():
        return clean
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in clean)


_redact = one_line


def exit_status(e: SystemExit) -> int:
    """The process exit status a ``SystemExit`` stands for, as the interpreter maps it."""
    return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)


def exit_code_of(body: Callable[[], object]) -> int:
    """Run a CLI body: 0, or the error's exit code after one ``error: ...`` line on stderr."""
    try:
        body()
    except MnistSweepError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:  # an output path that cannot be written (or an input that cannot be read)
        print(f"error: {_redact(unusable_path(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


def unusable_path(e: OSError, key: str | None = None) -> str:
    """``[key: ]PATH: reason; fix`` for an OSError on a path."""
    where = f"{key}: " if key else ""
    what = f"{e.filename}: {e.strerror or type(e).__name__}" if e.filename else (str(e) or type(e).__name__)
    return f"{where}{what}; choose a writable directory or fix its permissions"
