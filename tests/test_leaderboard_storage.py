"""leaderboard --storage URL without --study reads the storage's only study, as report does; it was
'--study: required with --storage', even before saying the storage file does not exist."""
from __future__ import annotations

import optuna

from conftest import assert_one_line_error, run_inproc


def _storage(tmp_path, *names: str) -> str:
    url = f"sqlite:///{tmp_path}/optuna.db"
    for name in names:
        study = optuna.create_study(study_name=name, storage=url)
        study.tell(study.ask(), 0.5)
    return url


def test_the_only_study_of_a_storage_needs_no_name(tmp_path):
    proc = run_inproc(["mnist_sweep.leaderboard", "--storage", _storage(tmp_path, "quick")], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "1 trials: 1 complete" in proc.stdout or "1 trial: 1 complete" in proc.stdout, proc.stdout


def test_a_storage_of_several_studies_names_them(tmp_path):
    proc = run_inproc(["mnist_sweep.leaderboard", "--storage", _storage(tmp_path, "a", "b")], cwd=tmp_path)
    assert_one_line_error(proc, "holds 2 studies (a, b); pick one with --study")


def test_a_missing_storage_file_is_named_first(tmp_path):
    proc = run_inproc(["mnist_sweep.leaderboard", "--storage", f"sqlite:///{tmp_path}/nope.db"], cwd=tmp_path)
    assert_one_line_error(proc, f"{tmp_path}/nope.db", "no such SQLite file")
    assert not (tmp_path / "nope.db").exists()


def test_a_storage_url_given_as_a_path_names_the_sweep_dirs_that_used_it(tmp_path):
    """Two sweeps on one storage, and its URL given where a sweep dir goes: it read 'sqlite:/shared/s.db:
    no such file or directory' (the URL's slashes collapsed as a path's) in the leaderboard, the report and confirm."""
    import json

    for name, cwd in (("A", tmp_path), ("B", tmp_path / "elsewhere")):  # B ran elsewhere, with an absolute URL
        (tmp_path / "outputs" / "sweeps" / name).mkdir(parents=True)
        (tmp_path / "outputs" / "sweeps" / name / "storage.json").write_text(json.dumps(
            {"study_name": name, "storage": "sqlite:///shared/s.db" if name == "A" else f"sqlite:///{tmp_path}/shared/s.db",
             "cwd": str(cwd)}))
    dirs = "give a sweep dir that used it: outputs/sweeps/A, outputs/sweeps/B"
    proc = run_inproc(["mnist_sweep.leaderboard", "sqlite:///shared/s.db"], cwd=tmp_path)
    assert_one_line_error(proc, f"sqlite:///shared/s.db: a storage URL, not a path; {dirs}, or read the storage itself: "
                                "--storage 'sqlite:///shared/s.db' --study NAME")
    for args in (["mnist_sweep.report", "sqlite:///shared/s.db"], ["mnist_sweep.confirm", "sqlite:///shared/s.db"]):
        assert_one_line_error(run_inproc(args, cwd=tmp_path), f"sqlite:///shared/s.db: a storage URL, not a path; {dirs}")
    proc = run_inproc(["mnist_sweep.leaderboard", "postgresql://me:hunter2@db/x"], cwd=tmp_path)
    assert_one_line_error(proc, "postgresql://me:***@db/x: a storage URL, not a path; give a sweep dir")
    assert "hunter2" not in proc.stderr


def test_a_postgresql_sweep_read_without_its_password_says_where_the_password_goes(tmp_path, pg_url):
    """A sweep dir on PostgreSQL records its storage without the password; read in a shell without
    $MNIST_SWEEP_STORAGE (or with another URL in it), the server's 'no password supplied' ended 'is the
    database server running and the URL right?', as did a wrong password: both were."""
    import json

    from sqlalchemy.engine import make_url

    from mnist_sweep.storage import without_password

    url = make_url(pg_url)
    optuna.create_study(study_name="pg", storage=pg_url)
    (tmp_path / "sw").mkdir()
    (tmp_path / "sw" / "storage.json").write_text(json.dumps({"study_name": "pg", "storage": without_password(pg_url),
                                                              "cwd": str(tmp_path)}))
    no_pw = {"PGPASSWORD": "", "PGPASSFILE": str(tmp_path / "no.pgpass")}
    other = url.set(database="another").render_as_string(hide_password=False)
    for env, says in (({}, "no password reached the server: export MNIST_SWEEP_STORAGE='<the URL with its password>'"),
                      ({"MNIST_SWEEP_STORAGE": other}, "no password reached the server ($MNIST_SWEEP_STORAGE holds "
                                                       f"another URL, {url.set(database='another')})")):
        proc = run_inproc(["mnist_sweep.leaderboard", "sw", "--refresh"], cwd=tmp_path, env={**no_pw, **env})
        line = assert_one_line_error(proc, "fe_sendauth: no password supplied", says, "or PGPASSWORD, or add the password")
        assert "server running" not in line and url.password not in proc.stdout + proc.stderr
    wrong = url.set(password="wrong-pw").render_as_string(hide_password=False)
    proc = run_inproc(["mnist_sweep.leaderboard", "--study", "pg"], cwd=tmp_path, env={**no_pw, "MNIST_SWEEP_STORAGE": wrong})
    line = assert_one_line_error(proc, "password authentication failed", "; the server refused the user name or password; "
                                       "check the one in $MNIST_SWEEP_STORAGE, PGPASSWORD or ~/.pgpass")
    assert "wrong-pw" not in line and "server running" not in line


def test_a_database_name_the_server_lacks_is_named(tmp_path, pg_url):
    """A typo in the URL's database name: the server answered 'database "..." does not exist' and the line
    asked whether the database server was running."""
    from sqlalchemy.engine import make_url

    url = make_url(pg_url).set(database="sweepz").render_as_string(hide_password=False)
    proc = run_inproc(["mnist_sweep.leaderboard", "--study", "pg"], cwd=tmp_path, env={"MNIST_SWEEP_STORAGE": url})
    line = assert_one_line_error(proc, "; the server answers but has no database 'sweepz'; check the database name")
    assert "server running" not in line and make_url(pg_url).password not in proc.stdout + proc.stderr


def test_a_database_without_optunas_tables_is_refused_and_left_as_it_was(tmp_path, pg_url):
    """The leaderboard or dashboard pointed at a PostgreSQL database no sweep used (a wrong name on the
    server, an application's own database) created Optuna's 13 tables in it before 'holds no study'."""
    import psycopg

    def tables() -> list:
        with psycopg.connect(pg_url) as con:
            return con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()

    from mnist_sweep.storage import without_password

    for args in (["mnist_sweep.leaderboard"], ["mnist_sweep.dashboard", without_password(pg_url)]):
        proc = run_inproc(args, cwd=tmp_path, env={"MNIST_SWEEP_STORAGE": pg_url})
        assert_one_line_error(proc, ": the database has no Optuna tables, so no sweep ran on it (nothing was written")
        assert tables() == []


def test_a_server_that_never_answers_is_one_line_after_the_timeout(tmp_path, monkeypatch):
    """A host that takes the connection and says nothing (a hung server, another service's port): libpq
    waited forever and the leaderboard hung without a word (a machine that is off: minutes)."""
    import socket
    import threading

    from mnist_sweep import open_hints, storage

    monkeypatch.setattr(storage, "CONNECT_TIMEOUT_S", 1)
    monkeypatch.setattr(open_hints, "CONNECT_TIMEOUT_S", 1)
    done: list = []
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(4)  # never accepted, never answered
        url = f"postgresql://u@127.0.0.1:{mute.getsockname()[1]}/db"
        reader = threading.Thread(target=lambda: done.append(
            run_inproc(["mnist_sweep.leaderboard", "--storage", url, "--study", "s"], cwd=tmp_path)))
        reader.start()
        reader.join(30)  # without the timeout it waits here; closing the socket then ends it
    reader.join()
    assert done and "timeout expired" in done[0].stderr, "no answer in 30 s"
    assert_one_line_error(done[0], f"--storage {url}: cannot open (", "timeout expired",
                          "; no answer in 1 s: is a PostgreSQL server running at that host and port?")


def test_a_url_given_without_its_password_takes_it_from_the_environment(tmp_path, pg_url, monkeypatch):
    """--storage postgresql://me@db/x with the password in $MNIST_SWEEP_STORAGE, as the refusal of a clear-text
    one says to give it: 'no password supplied' in the leaderboard, the report and the dashboard (a sweep
    dir's record alone took the password from there)."""
    from mnist_sweep.storage import open_for_reading, without_password

    optuna.create_study(study_name="pg", storage=pg_url)
    bare = without_password(pg_url)
    env = {"MNIST_SWEEP_STORAGE": pg_url, "PGPASSWORD": "", "PGPASSFILE": str(tmp_path / "no.pgpass")}
    proc = run_inproc(["mnist_sweep.leaderboard", "--storage", bare, "--study", "pg"], cwd=tmp_path, env=env)
    assert proc.returncode == 0 and "0 trials" in proc.stdout, proc.stderr
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert [s.study_name for s in open_for_reading(bare, "dashboard:").get_all_studies()] == ["pg"]


def test_a_storage_files_path_given_for_its_url_gives_the_url(tmp_path):
    """``--storage outputs/sweeps/q/optuna.db`` said 'not a storage URL; e.g. sqlite:///outputs/sweeps/NAME/optuna.db';
    the same path in $MNIST_SWEEP_STORAGE, with no flag given, said '--storage PATH: cannot open (ArgumentError: Could
    not parse SQLAlchemy URL ...)' in the leaderboard and 'hydra.sweeper.storage: PATH: cannot open' in a sweep: now
    the URL of that file (sqlite:/// or journal:///, by its first bytes), and where the value came from."""
    from conftest import TINY

    _storage(tmp_path, "q")
    (tmp_path / "j.log").write_text('{"op_code": 0}\n')
    give = "a file's path, not a storage URL: give "
    proc = run_inproc(["mnist_sweep.leaderboard", "--storage", "optuna.db"], cwd=tmp_path)
    assert assert_one_line_error(proc) == f"error: --storage: optuna.db: {give}sqlite:///optuna.db (see python -m " \
                                          "mnist_sweep.leaderboard --help)"
    proc = run_inproc(["mnist_sweep.leaderboard"], cwd=tmp_path, env={"MNIST_SWEEP_STORAGE": "j.log"})
    assert assert_one_line_error(proc) == ("error: --storage (default $MNIST_SWEEP_STORAGE): j.log: "
                                           f"{give}journal:///j.log (see python -m mnist_sweep.leaderboard --help)")
    proc = run_inproc(["mnist_sweep.train", "-m", *TINY, "hydra.sweeper.n_trials=1", f"hydra.sweep.dir={tmp_path}/s"],
                      cwd=tmp_path, env={"MNIST_SWEEP_STORAGE": "optuna.db"})
    assert_one_line_error(proc, "error: hydra.sweeper.storage ($MNIST_SWEEP_STORAGE): optuna.db: cannot open "
                          "(ArgumentError: ", f"); {give}sqlite:///optuna.db")
    assert proc.returncode == 2 and not (tmp_path / "s").exists()


def test_a_study_name_not_there_lists_the_sweeps_studies_and_the_flag_that_picks_one(tmp_path):
    """--study nope on a sweep dir (leaderboard --refresh, report) listed 'rep, rep.repeats' (the side study of
    its seeds, no sweep's) and said 'give --storage URL --study NAME for one of them', of a study in this storage."""
    import json

    sweep = tmp_path / "sw"
    sweep.mkdir()
    url = f"sqlite:///{sweep}/optuna.db"
    for name in ("rep", "rep.repeats"):
        optuna.create_study(study_name=name, storage=url)
    (sweep / "storage.json").write_text(json.dumps({"study_name": "rep", "storage": url, "cwd": str(tmp_path)}))
    (sweep / "leaderboard.csv").write_text("rank,trial,status,trial_dir\n")
    line = f"error: --study nope: no such study in {url} (its studies: rep); give one of them with --study"
    proc = run_inproc(["mnist_sweep.leaderboard", str(sweep), "--refresh", "--study", "nope"], cwd=tmp_path)
    assert assert_one_line_error(proc) == line
    proc = run_inproc(["mnist_sweep.report", str(sweep), "--study", "nope"], cwd=tmp_path)
    assert assert_one_line_error(proc).startswith(line + ", or --no-study")
    proc = run_inproc(["mnist_sweep.leaderboard", "--storage", url, "--study", "nope"], cwd=tmp_path)
    assert assert_one_line_error(proc) == f"error: --study nope: no such study in {url} (its studies: rep); give one of " \
                                          "them with --study"
    assert sorted(p.name for p in sweep.iterdir()) == ["leaderboard.csv", "optuna.db", "storage.json"]


def test_the_storage_read_from_the_environment_is_named_as_its_source(tmp_path):
    """leaderboard with no arguments reads $MNIST_SWEEP_STORAGE, and its line said '--storage URL: holds 2 studies ...',
    a flag the user never gave; the line names the variable as the flag's check does, and once where it cannot open."""
    env = {"MNIST_SWEEP_STORAGE": _storage(tmp_path, "a", "b")}
    proc = run_inproc(["mnist_sweep.leaderboard"], cwd=tmp_path, env=env)
    assert assert_one_line_error(proc) == (f"error: --storage (default $MNIST_SWEEP_STORAGE) {env['MNIST_SWEEP_STORAGE']}: "
                                           "holds 2 studies (a, b); pick one with --study")
    proc = run_inproc(["mnist_sweep.leaderboard", "--storage", env["MNIST_SWEEP_STORAGE"]], cwd=tmp_path, env=env)
    assert assert_one_line_error(proc).startswith(f"error: --storage {env['MNIST_SWEEP_STORAGE']}: holds 2 studies")
    env = {"MNIST_SWEEP_STORAGE": "postgres://me@localhost:1/db"}  # cannot open: it said '... (default $X) ($X) postgres://'
    line = assert_one_line_error(run_inproc(["mnist_sweep.leaderboard"], cwd=tmp_path, env=env))
    assert line.startswith("error: --storage (default $MNIST_SWEEP_STORAGE) postgres://me@localhost:1/db: cannot open"), line
