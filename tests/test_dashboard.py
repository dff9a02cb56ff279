"""python -m mnist_sweep.dashboard: optuna-dashboard on a sweep's storage, over HTTP and in Chromium."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from conftest import _env
from test_report import FLAGS
from mnist_sweep import PROJECT_ROOT, dashboard

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def served(swept):
    """The dashboard's WSGI app on the e2e sweep's storage, in a thread."""
    tmp, _, _ = swept
    port = free_port()
    server = dashboard.server(dashboard.storage_url(str(tmp / "e2e")), port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tmp, port
    server.shutdown()


def test_api_lists_the_study_and_its_trials_with_leaderboard_attrs(served):
    tmp, port = served
    studies = get_json(port, "/api/studies")["study_summaries"]
    assert [s["study_name"] for s in studies] == ["e2e"]
    detail = get_json(port, f"/api/studies/{studies[0]['study_id']}")
    trials = detail["trials"]
    assert len(trials) >= 5
    attrs = [{a["key"]: a["value"] for a in t["user_attrs"]} for t in trials]
    statuses = {a["status"] for a in attrs}
    assert {"complete", "rejected"} <= statuses
    complete = [a for a in attrs if a["status"] == "complete"]
    assert all({"test_acc_final", "epochs", "params", "val_acc"} <= set(a) for a in complete)


def test_objectives_are_named_and_rejected_candidates_say_so(served):
    """The objective is named (not "Objective 0"), and a candidate refused before training, which
    Optuna lists as PRUNED, carries a note and its status, unlike a trial the pruner stopped."""
    tmp, port = served
    study_id = get_json(port, "/api/studies")["study_summaries"][0]["study_id"]
    detail = get_json(port, f"/api/studies/{study_id}")
    assert detail["objective_names"] == ["val_acc"]
    rejected = [t for t in detail["trials"] if {"key": "status", "value": "rejected"} in t["user_attrs"]]
    assert rejected and all(t["state"] == "Pruned" for t in rejected)
    assert all("Rejected before training" in t["note"]["body"] for t in rejected)
    others = [t for t in detail["trials"] if t not in rejected]
    assert others and not any(t["note"]["body"] for t in others)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_cli_serves_a_page_that_lists_the_study(swept, tmp_path):
    tmp, _, _ = swept
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mnist_sweep.dashboard", str(tmp / "e2e"), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(None))
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/dashboard" in line, line
        for _ in range(50):  # the server is up once the API answers
            try:
                get_json(port, "/api/meta")
                break
            except OSError:
                time.sleep(0.2)
        flags = [*FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000"]
        dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", f"http://127.0.0.1:{port}/dashboard"],
                             capture_output=True, text=True, timeout=120)
        assert "e2e" in dom.stdout, dom.stdout[-2000:] + dom.stderr[-2000:]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_bad_targets_one_line_and_nothing_created(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "afile").write_text("")
    cases = [
        ([str(tmp_path / "nope")], "no such sweep dir"),
        ([str(tmp_path / "afile")], "afile: is a file, not a sweep dir"),
        ([str(tmp_path / "empty")], "no storage.json, optuna.db or journal.log in this dir (a sweep on PostgreSQL: give "
                                    "its URL without the password, which $MNIST_SWEEP_STORAGE or PGPASSWORD gives)"),
        ([f"sqlite:///{tmp_path}/missing.db"], "no such SQLite file"),
        ([str(tmp_path / "empty"), "--port", "0"], "--port"),
        ([str(tmp_path / "empty"), "--port", "x"], "--port"),
        (["postgresql://u@127.0.0.1:1/db"], "cannot open (OperationalError"),  # a server that does not answer
        # served, ps and the shell's history showing the password (its docs said to pass "$MNIST_SWEEP_STORAGE")
        (["postgresql://u:hunter2@127.0.0.1:1/db"], "'postgresql://u:***@127.0.0.1:1/db' has its password in clear "
         "text, which ps and the shell's history show; export MNIST_SWEEP_STORAGE='<the full URL>' and give "
         "'postgresql://u@127.0.0.1:1/db' (its password is read there)"),
    ]
    for argv, needle in cases:
        try:
            code = dashboard.main(argv)
        except SystemExit as e:  # argparse's errors exit
            code = e.code
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and needle in err[0] and err[0].startswith("error: "), (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "empty"]
    assert list((tmp_path / "empty").iterdir()) == []


def test_make_dashboard_without_a_sweep_says_how_to_give_make_one(tmp_path, capsys, monkeypatch):
    """make dashboard, its default SWEEP missing, said 'give outputs/sweeps/NAME': the module's argument,
    which make passes itself. The Makefile names its variable (MNIST_SWEEP_DASHBOARD_VIA); a direct call
    keeps the module's wording."""
    recipe = next(line for line in (PROJECT_ROOT / "Makefile").read_text().splitlines() if "-m mnist_sweep.dashboard" in line)
    assert f"{dashboard.VIA}='make dashboard SWEEP=' " in recipe and "$(SWEEP)" in recipe
    assert dashboard.main([str(tmp_path / "nope")]) == 2
    assert "no such sweep dir; give outputs/sweeps/NAME or a storage URL" in capsys.readouterr().err
    monkeypatch.setenv(dashboard.VIA, "make dashboard SWEEP=")
    assert dashboard.main([str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == (f"error: {tmp_path / 'nope'}: no such sweep dir; run make dashboard "
                                       "SWEEP=outputs/sweeps/NAME (a sweep dir or a storage URL)\n")


def test_a_file_of_a_sweep_dir_is_its_sweep_dir_or_names_it(tmp_path):
    """leaderboard.csv (which report, reproduce and export take for the dir) and optuna.db were 'is a
    file, not a sweep dir; give outputs/sweeps/NAME'."""
    sweep = tmp_path / "sw"
    sweep.mkdir()
    import optuna

    (sweep / "leaderboard.csv").write_text("rank\n")
    optuna.create_study(study_name="s", storage=f"sqlite:///{sweep}/optuna.db")
    assert dashboard.storage_url(str(sweep / "leaderboard.csv")) == dashboard.storage_url(str(sweep))
    with pytest.raises(Exception, match=f"optuna.db: is a file, not a sweep dir; give its sweep dir, {sweep}, or a"):
        dashboard.storage_url(str(sweep / "optuna.db"))


def test_a_file_beside_trial_dirs_names_the_sweep_dir_as_the_leaderboard_does(tmp_path):
    """A sweep whose table and storage record are not written yet (its first trial running): its
    report.html was 'is a file, not a sweep dir; give outputs/sweeps/NAME', where the leaderboard
    named the sweep dir (both now ask board_paths.sweep_holding)."""
    from mnist_sweep.errors import LeaderboardError
    from mnist_sweep.leaderboard import read

    sweep = tmp_path / "sw"
    (sweep / "trial_0000").mkdir(parents=True)
    (sweep / "report.html").write_text("<html></html>\n")
    with pytest.raises(LeaderboardError, match=f"give the sweep dir holding it, {sweep}$"):
        read(sweep / "report.html")
    with pytest.raises(Exception, match=f"report.html: is a file, not a sweep dir; give its sweep dir, {sweep}, or a"):
        dashboard.storage_url(str(sweep / "report.html"))


def test_port_in_use_is_one_line(swept, capsys):
    tmp, _, _ = swept
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert dashboard.main([str(tmp / "e2e"), "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--port {port}" in err[0]


@pytest.mark.parametrize("damage", ["storage moved", "storage.json damaged"])
def test_a_sweep_dirs_lost_storage_names_a_way_out_the_dashboard_has(tmp_path, capsys, damage):
    """The line told the user to 'give --storage URL --study NAME', flags the dashboard does not have."""
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    record = {"study_name": "s", "storage": f"sqlite:///{tmp_path}/moved.db", "cwd": str(tmp_path)}
    (sweep / "storage.json").write_text("{" if damage == "storage.json damaged" else json.dumps(record))
    assert dashboard.main([str(sweep)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "give the storage URL instead of the sweep dir" in err[0], err
    assert "--storage" not in err[0] and "--study" not in err[0]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["storage.json", "sweep"]


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_storage_with_no_study_is_one_line_not_an_empty_dashboard(tmp_path, kind):
    """A storage no sweep wrote (an empty Optuna database, a journal.log of lines Optuna cannot
    read): it served an empty dashboard."""
    import optuna

    from mnist_sweep.errors import StorageError

    if kind == "sqlite":
        url = f"sqlite:///{tmp_path}/optuna.db"
        optuna.storages.RDBStorage(url)  # the schema, no study
    else:
        (tmp_path / "journal.log").write_text("not a journal\n")
        url = f"journal:///{tmp_path}/journal.log"
    with pytest.raises(StorageError, match=r"^dashboard: .* holds no study; give a sweep dir"):
        dashboard.app(url)  # before any server: without the check, main would serve the empty dashboard


def test_a_trial_run_or_parent_dir_says_what_it_is_as_the_leaderboard_does(tmp_path):
    """A trial dir (a run dir, a dir of sweep dirs) was 'no storage.json, optuna.db or journal.log in
    this dir (a sweep on PostgreSQL: give its URL ...)', naming neither the sweep dir nor what it was."""
    from mnist_sweep.errors import StorageError

    sweep = tmp_path / "sweeps" / "sw"
    (sweep / "trial_0000" / ".hydra").mkdir(parents=True)
    (sweep / "leaderboard.csv").write_text("rank\n")
    (tmp_path / "run" / ".hydra").mkdir(parents=True)
    for target, line in [
        (sweep / "trial_0000", f"{sweep / 'trial_0000'}: one run dir, not a sweep; give its sweep dir, {sweep}"),
        (tmp_path / "run", f"{tmp_path / 'run'}: one run dir, not a sweep, and no leaderboard.csv above it; give a sweep dir"),
        (tmp_path / "sweeps", f"{tmp_path / 'sweeps'}: holds the sweep dirs {sweep}; give one of them"),
    ]:
        with pytest.raises(StorageError) as e:
            dashboard.storage_url(str(target))
        assert str(e.value).startswith(line), e.value
