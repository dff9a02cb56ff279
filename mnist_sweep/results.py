"""The result schema: what a run writes to ``result.json``, its writer and reader, the one
atomic-write helper that every file a run or sweep rewrites goes through, and the Pareto mask
the leaderboard and the plots share.

Readers (leaderboard, confirm, the sweeper's copy into the storage) use the key lists here, so the schema lives
in one place. The ground floor (with ``errors`` and ``target``): it imports nothing else of the package."""
from __future__ import annotations

import contextlib
import glob
import json
import logging
import math
import os
import platform
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mnist_sweep.target import reached

FILENAME = "result.json"
# What a leaderboard row takes from result.json ...
RESULT_KEYS = ("val_acc", "test_acc_final", "test_acc_best", "epoch_reached_target", "reached_target", "epochs", "wall_s",
               "train_s", "s_per_epoch", "precision")
# ... and what the sweeper copies into the storage with each trial (the leaderboard's fallback).
STORED_KEYS = ("params", "seed", *RESULT_KEYS)
NUMBERS = tuple(k for k in (*STORED_KEYS, "value", "val_acc_best", "target_acc") if k not in ("reached_target", "precision"))
SHOWN_KEYS = ("val_acc", "test_acc_final", "epochs")  # also flat user attrs of a trial (optuna-dashboard)

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where Linux shows it (``/proc/self/status``,
    since 4.7); else set and restored under a lock (``os.umask`` is process-wide: another thread
    creating a file in between would get mode 0)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` then rename over ``path``: readers see the old file or the new one. The
    temporary name is unique, so two processes writing the same file never collide. The file gets
    the mode any new file would (0o666 less the umask: 0644 under umask 022), not mkstemp's 0600.
    A temporary of ``path`` that a killed writer left (``STALE_S`` old) is removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)  # an unusable directory fails here, naming itself
    remove_stale(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"))
    try:  # a directory it cannot create files in names ``path``, not the temporary name tried there
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(path)) from None
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except OSError as e:  # a full disk names the file being written, not its temporary name
        Path(tmp).unlink(missing_ok=True)
        if e.filename not in (None, tmp) or e.errno is None:  # no errno: a writer's own words (PIL's), kept
            raise
        raise OSError(e.errno, e.strerror, str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pareto_mask(acc: pd.Series, params: pd.Series) -> pd.Series:
    """True where no other point has at least the accuracy with at most the parameters (and beats it in one)."""
    return pd.Series([not ((acc >= a) & (params <= p) & ((acc > a) | (params < p))).any() for a, p in zip(acc, params)],
                     index=acc.index, dtype=bool)


def versions() -> dict[str, str]:
    from importlib.metadata import version

    import hydra
    import numpy
    import optuna
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": version("torchvision"),  # from its metadata: importing it loads its models and ops
        "hydra": hydra.__version__,
        "optuna": optuna.__version__,
        "numpy": numpy.__version__,
    }


@dataclass(frozen=True)
class RunInfo:
    """What result.json records about a run besides its metrics."""

    select_on: str  # val | test
    target_acc: float
    n_params: int
    seed: int
    device: str
    threads: int
    precision: str = "fp32"  # fp32 | bf16 (autocast)
    test_every_epoch: bool = True  # trainer.test_every_epoch
    teacher: dict[str, Any] | None = None  # trainer.teacher: path, sha256, params, alpha, temperature (distill.Teacher)


def summarize(rows: Sequence[dict[str, Any]], run: RunInfo, wall_s: float, status: str = "complete") -> dict[str, Any]:
    """result.json's content from the per-epoch rows."""
    select_on, target_acc, every_epoch = run.select_on, run.target_acc, run.test_every_epoch
    m = pd.DataFrame(list(rows))  # every_epoch false: the test set only at the final epoch, so the epoch it reached is unknown
    hit = [i for i in m.index if reached(m.test_acc[i], target_acc)]
    final = m.iloc[-1]
    return {
        "status": status,
        "selection_metric": f"{select_on}_acc",
        "value": float(final[f"{select_on}_acc"]),
        "params": run.n_params,
        "val_acc": None if math.isnan(final.val_acc) else float(final.val_acc),
        "val_acc_best": None if m.val_acc.isna().all() else float(m.val_acc.max()),
        "test_acc_final": float(final.test_acc),
        "test_acc_best": float(m.test_acc.max()) if every_epoch else None,
        "target_acc": target_acc,
        "epoch_reached_target": int(m.epoch[hit[0]]) if len(hit) and every_epoch else None,
        "reached_target": reached(final.test_acc, target_acc),
        "epochs": int(final.epoch),
        "wall_s": round(wall_s, 2),
        "train_s": round(float(m.train_s.sum()), 2) if "train_s" in m else None,  # training steps only
        "s_per_epoch": round(float(m.epoch_s.mean()), 3),  # training and evaluation: this machine's speed
        "seed": run.seed,
        "device": run.device,
        "threads": run.threads,
        "precision": run.precision,
        "test_every_epoch": every_epoch,
        "host": socket.gethostname(),
        "versions": versions(), **({"teacher": dict(run.teacher)} if run.teacher else {}),  # a distilled run's alone
    }


def write_metrics(out_dir: Path, rows: Sequence[dict[str, Any]]) -> None:
    atomic_write(Path(out_dir) / "metrics.csv", lambda p: pd.DataFrame(list(rows)).to_csv(p, index=False))


def write(out_dir: Path, result: dict[str, Any]) -> None:
    atomic_write(Path(out_dir) / FILENAME, lambda p: p.write_text(json.dumps(result, indent=2) + "\n"))


def read(run_dir: str | Path | None) -> dict[str, Any]:
    """A run or trial dir's result.json, or {} when there is none (not launched, failed early, deleted)."""
    return load(run_dir)[0] if run_dir else {}


_WARNED: set[str] = set()  # damaged result.json files warned about in this process


def read_or_stored(run_dir: str | Path | None, stored: dict[str, Any] | None) -> dict[str, Any]:
    """A trial dir's result.json, else ``stored``, the storage's copy (the dir gone, or the file damaged),
    which also gives a key the file lacks (deleted by hand): one warning naming it, once per process, as the
    sweeper rewrites its leaderboard after every trial (the copy replaced it, or the key showed empty, unwarned)."""
    res, why = load(run_dir) if run_dir else ({}, None)
    path, stored = str(Path(run_dir or ".") / FILENAME), stored or {}
    lacks = [k for k, v in stored.items() if v is not None and k not in res] if res else []
    why = why or (f"no {', '.join(lacks)} in it (edited by hand?)" if lacks else None)
    if why and why != "no such file" and path not in _WARNED:
        _WARNED.add(path)
        logging.getLogger(__name__).warning("%s: %s; %s (restore it from a copy of the trial dir)", path, why,
                                            "the storage's copy of its numbers is shown" if stored else "no numbers shown")
    return {**stored, **res} if res else stored


def problem(run_dir: str | Path) -> str | None:
    """Why a run dir's result.json cannot be read (``load``), in a few words; None when it can."""
    return load(run_dir)[1]


def load(run_dir: str | Path) -> tuple[dict[str, Any], str | None]:
    """(result.json's dict or {}, why it cannot be read or None); a NUMBERS value that is text, NaN or inf is damage."""
    try:
        data = json.loads((Path(run_dir) / FILENAME).read_text())
    except OSError as e:
        return {}, "no such file" if isinstance(e, FileNotFoundError) else f"unreadable ({e.strerror or type(e).__name__})"
    except ValueError as e:  # UnicodeDecodeError too; an empty or binary file in every command's words
        from mnist_sweep.errors import empty_or_binary
        why = f"not valid JSON ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        return {}, empty_or_binary(Path(run_dir) / FILENAME, "JSON") or why
    if not isinstance(data, dict):
        return {}, f"not a JSON object (a {type(data).__name__})"
    bad = next((k for k in NUMBERS if (v := data.get(k)) is not None
                and (type(v) not in (int, float) or not -2**63 < v < 2**63)), None)  # NaN fails the range too
    return (data, None) if bad is None else ({}, f"{bad} {data[bad]!r} is not a finite number (edited by hand?)")


def read_config(run_dir: str | Path) -> Any:
    """A run or trial dir's saved ``.hydra/config.yaml`` (an OmegaConf DictConfig, unresolved);
    MnistSweepError naming the file when it cannot be read or is not a YAML mapping."""
    import yaml
    from omegaconf import DictConfig, OmegaConf

    from mnist_sweep.errors import MnistSweepError, empty_or_binary
    from mnist_sweep.yaml_tags import not_a_config

    path = Path(run_dir) / ".hydra" / "config.yaml"
    again = "train the config again or pick another run or trial"
    fix = f"the saved config is damaged; {again}"
    if what := empty_or_binary(path, "YAML"):  # an empty one read as {}: 'no model, ... section'
        raise MnistSweepError(f"{path}: {what}; {fix}")
    try:
        cfg = OmegaConf.load(path)
    except OSError as e:
        raise MnistSweepError(f"{path}: unreadable ({e.strerror or type(e).__name__}); {fix}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or type(e).__name__
        raise MnistSweepError(f"{path}: not valid YAML ({problem}{where}); {fix}") from None
    except Exception as e:  # noqa: BLE001 - OmegaConf refusing what YAML read (a tagged value, a bad key type, ...)
        raise MnistSweepError(f"{path}: {not_a_config(e, again)}") from None
    if not isinstance(cfg, DictConfig):
        raise MnistSweepError(f"{path}: not a YAML mapping of config keys; {fix}")
    return cfg


def run_data_root(run_dir: str | Path, root: str | None) -> str | None:
    """A saved run's ``data.root`` as the run read it: a relative one joined to the directory the run
    started in (``hydra.runtime.cwd`` in its ``.hydra/hydra.yaml``); where that is not recorded, left
    relative (read from the current directory); where that dir is not on this machine (copied from
    another), None: the default data root (SHA-256 checked either way); each with one warning."""
    from omegaconf import OmegaConf

    if not isinstance(root, str) or not root or root.startswith("~") or Path(root).is_absolute():
        return root
    hydra_yaml = Path(run_dir) / ".hydra" / "hydra.yaml"
    try:
        cwd = OmegaConf.select(OmegaConf.load(hydra_yaml), "hydra.runtime.cwd")
    except Exception:  # noqa: BLE001 - missing, unreadable or damaged: the run's start dir is unknown
        cwd = None
    if isinstance(cwd, str) and Path(cwd).is_absolute():
        if not (Path(cwd) / root).exists():
            logging.getLogger(__name__).warning("%s: its relative data.root '%s' was read in %s, not on this machine (copied from "
                                                "another?); reading the default data root ($MNIST_SWEEP_DATA, else <repo>/data)",
                                                hydra_yaml, root, cwd)
            return None
        return str(Path(cwd) / root)
    logging.getLogger(__name__).warning("%s: missing or without hydra.runtime.cwd (where the run started), so its relative "
                                        "data.root '%s' is read from the current directory, %s", hydra_yaml, root, Path.cwd())
    return root


STALE_S = 3600.0  # a staging dir or temporary this old is a killed writer's (every writer here takes seconds)


def remove_stale(paths: Iterable[Path], age_s: float = STALE_S) -> None:
    """What a killed writer left (a staging dir, a temporary file) once ``age_s`` old: a writer
    running beside keeps its own (younger); one gone already, or not ours to remove, is left."""
    for stale in paths:
        with contextlib.suppress(OSError):
            if time.time() - stale.lstat().st_mtime > age_s:
                shutil.rmtree(stale) if stale.is_dir() and not stale.is_symlink() else stale.unlink()


def stored(result: dict[str, Any]) -> dict[str, Any]:
    """The part of a result kept in the Optuna storage."""
    return {k: result[k] for k in STORED_KEYS if k in result}


SELECTION_METRICS = ("val_acc", "test_acc_final")  # objectives that are a run's selection metric


def seed_summary(runs: list[dict[str, Any]], names: list[str] | None = None) -> dict[str, Any]:
    """A config over its seeds (hydra.sweeper.repeats). Each run is ``{"values": [objectives] or
    None, "val": selection metric, "state": "complete" | "pruned"}``; a pruned seed's ``val`` is its
    last epoch's. Returns ``values`` (each objective's mean over the complete seeds; an objective
    named in ``names`` as a selection metric, over every seed), ``n_seeds``, ``val_mean`` and
    ``val_sem`` (standard error of the mean, None for one seed)."""
    vals = [float(r["val"]) for r in runs]
    mean = sum(vals) / len(vals)
    sem = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1) / len(vals)) if len(vals) > 1 else None
    complete = [r["values"] for r in runs if r.get("state") == "complete" and r.get("values")]
    values = [sum(v[i] for v in complete) / len(complete) for i in range(len(complete[0]))] if complete else []
    for i, name in enumerate(names or []):
        if name in SELECTION_METRICS and i < len(values):
            values[i] = mean
    return {"values": values, "n_seeds": len(vals), "val_mean": mean, "val_sem": sem}
