"""Live optuna-dashboard for a sweep: ``python -m mnist_sweep.dashboard <sweep dir | storage URL> [--port N]``.

Serves on 127.0.0.1 only (the dashboard can also rename or delete studies: keep it local; reach
it from elsewhere through an SSH tunnel). Works while the sweep runs: it reads the same storage.
The trials carry the leaderboard's user attributes (status, params, val/test accuracy, epochs);
the sweeper names the objectives (``val_acc``, or ``trainer.objectives``) and notes each candidate
rejected before training (Optuna lists it as PRUNED, like a trial the pruner stopped).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from mnist_sweep.board_paths import FILENAME, no_table, sweep_holding, sweeps_here, sweeps_in
from mnist_sweep.commandline import CliParser, exit_code_of
from mnist_sweep.errors import StorageError, one_line
from mnist_sweep import results, sweeps
from mnist_sweep.storage import STORAGE_ENV, has_clear_password, mask_url, open_for_reading, without_password

HOST = "127.0.0.1"
GIVE = "give the storage URL instead of the sweep dir"  # the dashboard has no --storage/--study
VIA = "MNIST_SWEEP_DASHBOARD_VIA"  # set by `make dashboard` to 'make dashboard SWEEP=': how its caller gives the target


def storage_url(target: str) -> str:
    """The storage URL for a sweep dir (the one it recorded, else its optuna.db or journal.log) or a
    URL; a missing SQLite or journal file is refused, never created."""
    if "://" in target:
        if has_clear_password(target):  # as leaderboard --storage: ps and the shell's history show it
            raise StorageError(f"'{mask_url(target)}' has its password in clear text, which ps and the shell's history "
                               f"show; export {STORAGE_ENV}='<the full URL>' and give '{without_password(target)}' "
                               "(its password is read there)")
        sweeps.check_exists(target, flag="target", fix="give a sweep dir or an existing storage")
        return target
    d = Path(target)
    if d.name == FILENAME and d.is_file():  # its sweep dir, as report, reproduce and export take it
        d = d.parent
    if not d.is_dir():
        why = "is a file, not a sweep dir" if d.exists() else "no such sweep dir"
        here = sweep_holding(d) if d.exists() else None  # the dir the leaderboard names for it too
        if via := os.environ.get(VIA):  # make dashboard: the make variable to set, not the module's argument
            raise StorageError(f"{target}: {why}; run {via}{here or 'outputs/sweeps/NAME'} (a sweep dir or a storage URL)")
        give = f"its sweep dir, {here}," if here else "outputs/sweeps/NAME"
        raise StorageError(f"{target}: {why}; give {give} or a storage URL")
    found = sweeps.find_storage(d, GIVE)
    if found is None and (memory := sweeps.in_memory_trial(d)):
        raise StorageError(f"{target}: its trials ran in an in-memory study (hydra.sweeper.storage=null, recorded in "
                           f"{memory}), which no storage kept after its sweep: nothing to serve; its report.html and "
                           "leaderboard.csv hold its trials")
    if found is None and ((d / ".hydra").is_dir() or (d / results.FILENAME).exists() or sweeps_in(d)):
        raise StorageError(f"{target}: {no_table(d)}")  # a run or trial dir, a dir of sweep dirs: as the leaderboard says
    if found is None:
        raise StorageError(
            f"{target}: no storage.json, optuna.db or journal.log in this dir (a sweep on PostgreSQL: give its "
            f"URL without the password, which ${STORAGE_ENV} or PGPASSWORD gives)"
        )
    url = found[0]
    sweeps.check_exists(url, flag=f"{target}: its storage", fix=f"moved or deleted? {GIVE}")
    return url


def app(url: str) -> Any:
    """The dashboard's WSGI app on the storage (an old schema is refused, not upgraded)."""
    from optuna_dashboard import wsgi

    storage = open_for_reading(url, "dashboard:")
    try:
        studies = storage.get_all_studies()
    except Exception as e:  # noqa: BLE001 - a database error after opening (locked meanwhile): one line
        raise StorageError(f"dashboard: {mask_url(url)}: cannot read its studies ({type(e).__name__}: "
                           f"{one_line(str(e))}); run the command again in a moment") from None
    if not studies:  # a sweep creates its study with the storage: this is no sweep's
        raise StorageError(f"dashboard: {mask_url(url)} holds no study; give a sweep dir (outputs/sweeps/NAME) "
                           "or the storage URL a sweep wrote")
    return wsgi(storage)


def server(url: str, port: int) -> Any:
    """A WSGI server for the dashboard on 127.0.0.1:``port`` (not yet serving)."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:  # one line per request would flood the console
            pass

    application = app(url)
    try:
        return make_server(HOST, port, application, handler_class=Quiet)
    except OSError as e:
        raise StorageError(f"--port {port}: cannot listen on {HOST}:{port} ({e.strerror or e}); pick another --port") from None


def serve(url: str, port: int) -> None:
    httpd = server(url, port)
    print(f"optuna-dashboard for {mask_url(url)} at http://{HOST}:{port}/dashboard (Ctrl-C stops)", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="python -m mnist_sweep.dashboard", description=__doc__.splitlines()[0], missing=sweeps_here)
    p.add_argument("target", help=f"a sweep dir (outputs/sweeps/NAME) or its {FILENAME}, or an Optuna storage URL")
    p.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default 8080)")
    args = p.parse_args(argv)
    if not 1 <= args.port <= 65535:
        p.error(f"--port: must be in 1..65535, got {args.port}")
    return exit_code_of(lambda: serve(storage_url(args.target), args.port))


if __name__ == "__main__":
    sys.exit(main())
