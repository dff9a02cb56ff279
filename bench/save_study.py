"""Copy a study's SQLite storage as a consistent backup, with every trial still open in it failed as
``lost`` in the copy, as if its worker had died at the save: the sweep that resumes the copy (on any
host) then replaces those runs and revives a config that was repeating, as after a killed worker.
The source is left as it is. Used by ``bench/searches.sh save``.

    python bench/save_study.py outputs/sweeps/search_smallest/optuna.db DEST/optuna.db
"""
from __future__ import annotations

import argparse
import logging
import sqlite3

import optuna
from optuna.trial import TrialState

from hydra_plugins.mnist_sweep_sweeper._liveness import fail_open


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", help="the study's optuna.db")
    ap.add_argument("dest", help="the copy to write (replaced)")
    args = ap.parse_args(argv)
    src, dest = sqlite3.connect(f"file:{args.src}?mode=ro", uri=True), sqlite3.connect(args.dest)
    src.backup(dest)
    src.close()
    dest.close()
    optuna.logging.set_verbosity(logging.WARNING)
    storage = optuna.storages.RDBStorage(f"sqlite:///{args.dest}")
    for summary in optuna.get_all_study_summaries(storage):
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            fail_open(storage, t, "lost", "running when the study was saved (bench/searches.sh save)")
            print(f"{summary.study_name}: trial {t.number} was running; failed as lost in the copy")
    storage.remove_session()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
