"""Completed trials per minute with 1, 2 and 4 sweep workers on one PostgreSQL study.

Each arrangement starts N copies of the same ``python -m mnist_sweep.train -m`` command at once
(separate processes, as on separate machines) against a fresh database on the test server
(scripts/pg-test-server), on a tiny workload with no pruning, and reports completed trials per
minute and the mean seconds one trial trained (which grows once workers outnumber cores).

    .venv/bin/python bench/workers.py [--workers 1 2 4] [--trials 16] [--train-limit 2000]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd
import psycopg
from sqlalchemy.engine import make_url


def fresh_db(admin_url: str) -> str:
    name = f"bench_workers_{uuid.uuid4().hex[:8]}"
    conn = psycopg.connect(admin_url, autocommit=True)
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    p.add_argument("--trials", type=int, default=16)
    p.add_argument("--train-limit", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--pg", default=os.environ.get("MNIST_SWEEP_TEST_PG") or Path("/tmp/mnist_sweep_pg/url").read_text().strip())
    args = p.parse_args()
    workload = [
        f"data.train_limit={args.train_limit}", "data.val_size=1000", "data.test_limit=1000",
        f"trainer.max_epochs={args.epochs}", "trainer.progress=false", "hydra/sweeper/pruner=none",
        f"hydra.sweeper.n_trials={args.trials}", "hydra.sweeper.workers=1", "hydra.sweeper.n_jobs=1",
        "hydra.sweeper.on_sweep_end=null",
    ]
    print(f"workload: {' '.join(workload)}")
    for n in args.workers:
        with tempfile.TemporaryDirectory() as tmp:
            name = f"w{n}"
            env = {**os.environ, "MNIST_SWEEP_STORAGE": fresh_db(args.pg)}
            cmd = [sys.executable, "-m", "mnist_sweep.train", "-m", f"hydra.sweep.dir={tmp}/{name}",
                   f"hydra.sweeper.study_name={name}", *workload]
            t0 = time.perf_counter()
            procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                     for _ in range(n)]
            errors = [p.communicate()[1] for p in procs]
            wall = time.perf_counter() - t0
            if any(p.returncode for p in procs):
                sys.exit(f"{n} workers: a worker failed: {[e.strip().splitlines()[-3:] for e in errors]}")
            board = pd.read_csv(Path(tmp) / name / "leaderboard.csv")
            done = board[board.status == "complete"]
            print(f"{n} workers: {len(done)} complete in {wall:6.1f} s = {60 * len(done) / wall:5.1f} trials/min; "
                  f"mean trial train time {done.wall_s.mean():5.1f} s; hosts/pids {board.host.nunique()}/{n}",
                  flush=True)


if __name__ == "__main__":
    main()
