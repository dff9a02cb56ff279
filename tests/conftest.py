"""Shared fixtures: the real conf/ composed with Hydra's compose API, shrunk to tiny runs."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from mnist_sweep import PROJECT_ROOT

CONF = PROJECT_ROOT / "conf"
# Tiny, seeded, one epoch: a few seconds on a 2-core CPU.
TINY = [
    "data.train_limit=512", "data.val_size=256", "data.test_limit=256", "data.batch_size=64",
    "trainer.max_epochs=1", "trainer.progress=false",
]


def make_cfg(*overrides: str) -> DictConfig:
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
        return compose("config", overrides=list(overrides))


@pytest.fixture
def cfg():
    return make_cfg


def run(args: list[str], cwd: Path, timeout: int = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m <args>`` in ``cwd`` with the project's interpreter."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Non-zero exit, no traceback, and a last stderr line that names what was wrong."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    hint = "Set the environment variable HYDRA_FULL_ERROR=1"  # Hydra's pointer to the debug switch
    lines = [l for l in proc.stderr.strip().splitlines() if l.strip() and not l.startswith(hint)]
    assert len(lines) == 1, proc.stderr
    last = lines[-1]
    for needle in needles:
        assert needle in last, last
    return last
