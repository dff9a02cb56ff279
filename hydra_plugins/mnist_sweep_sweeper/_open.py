"""Opening the sweep's study: created where the start found none (exclusively: a study another sweep
created since that read is joined, never taken for this sweep's own), loaded otherwise; retried while
workers race to create the schema, an old schema upgraded, and one line for every way it fails."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import optuna

from hydra_plugins.mnist_sweep_sweeper import _faults
from hydra_plugins.mnist_sweep_sweeper._log import log
from mnist_sweep import open_hints
from mnist_sweep.errors import StorageError, SweepError, unusable_path
from mnist_sweep.storage import JOURNAL_SCHEME, URL_FORMS, local_path, mask_url, open_storage, redact


def open_study(
    url: str | None, study_name: str, sampler: Any, pruner: Any, directions: list[str],
    heartbeat_interval: int | None, grace_period: int | None, new: bool = False,
    on_joined: Callable[[], None] | None = None,
) -> optuna.Study:
    """Create or load the study; an old (Optuna 2.10) SQLite schema is upgraded in place. ``new``: the start found
    no such study, so this sweep creates it, and only it: where another sweep created it since (two started at
    once on one new name), it is loaded and ``on_joined`` told, so that this sweep's undo (``_undo.Start``) never
    deletes it; ``new`` also words a full disk's line (``_faults.at_open``)."""
    path = local_path(url) if url else None
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SweepError(unusable_path(e, "hydra.sweeper.storage")) from None
        if url.startswith(JOURNAL_SCHEME):
            _faults.mend_journal(path)  # a record cut off by a killed writer: Optuna would append onto it
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    for attempt in range(1, 6):
        try:
            storage = open_storage(url, heartbeat_interval=heartbeat_interval, grace_period=grace_period, upgrade=True,
                                   claims=True) if url else None
            return optuna.create_study(
                study_name=study_name, storage=storage, sampler=sampler, pruner=pruner,
                directions=directions, load_if_exists=not new,
            )
        except optuna.exceptions.DuplicatedStudyError:  # another sweep created it since the start's read: joined
            log.info("study %s was created by another sweep since this one read its storage; joining it", study_name)
            new = False
            if on_joined is not None:
                on_joined()
        except (IntegrityError, OperationalError, ProgrammingError) as e:
            # Workers started at once on an empty database race to create its tables and the
            # study; the loser finds them on a second try (SQLite: "already exists", "locked").
            racing = isinstance(e, IntegrityError) or any(w in str(e) for w in ("already exists", "locked"))  # not a URL's
            if attempt == 5 or not racing:
                _raise_open_error(url, e, new)
            log.info("storage busy being created by another worker (%s); retrying", type(e).__name__)
            time.sleep(0.5 * attempt)
        except Exception as e:  # noqa: BLE001 - sqlalchemy/optuna raise many types; report one line
            _raise_open_error(url, e, new)
    raise AssertionError("unreachable")


def _raise_open_error(url: str | None, e: Exception, new: bool = False) -> None:
    """One line for every way a storage fails to open; the storage module's own (a URL it refuses) as it is."""
    if isinstance(e, StorageError):  # already one masked line with its fix
        raise SweepError(f"hydra.sweeper.storage: {e}") from None
    if (line := _faults.at_open(e, mask_url(url), new)) is not None:  # not the URL: its disk
        raise SweepError(line) from None
    if url and local_path(url) is None:  # a server's: the readers' hint (no answer, no password, no such database)
        raise SweepError(open_hints.cannot_open("hydra.sweeper.storage:", mask_url(url), e, is_file=False)) from None
    raise SweepError(f"hydra.sweeper.storage: cannot open '{mask_url(url)}' ({type(e).__name__}: "
                     f"{redact((str(e).splitlines() or [type(e).__name__])[0])}); {URL_FORMS}") from None
