"""A finished run's or trial's weights, loaded back: its saved config, the net built from it with
``model.pt`` loaded, and the test images it was evaluated on. Shared by ``export`` and ``predict``."""
from __future__ import annotations

import errno
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from omegaconf import DictConfig

from mnist_sweep import data as mdata
from mnist_sweep import mnist_files, results
from mnist_sweep.board_paths import sweep_dirs
from mnist_sweep import model as mmodel
from mnist_sweep.errors import MnistSweepError, dangling_link, not_of_kind
from mnist_sweep.shell import argument
from mnist_sweep.rundir import in_a_run, runs_in

if TYPE_CHECKING:
    from mnist_sweep.config.settings import Settings


@dataclass
class Run:
    """A run dir with its config, result and the network in eval mode (CPU, NCHW)."""

    dir: Path
    cfg: DictConfig
    result: dict[str, Any]
    model: torch.nn.Module


def load(run_dir: str | Path, what: str = "run dir") -> Run:
    """The run in ``run_dir`` (``.hydra/config.yaml`` + ``model.pt``); MnistSweepError naming the
    missing piece otherwise."""
    d = Path(run_dir)
    config = d / ".hydra" / "config.yaml"
    if not d.is_dir():
        why = f"is a file, not a {what}" if d.exists() else f"no such {what}"
        raise MnistSweepError(in_a_run(d, what) or _an_onnx(d, what) or  # its model.pt or result.json: the run dir named
                              f"{d}: {why}; give a run dir (outputs/runs/...) or a trial dir (outputs/sweeps/NAME/trial_NNNN)")
    for f in (config, d / "model.pt"):
        _regular(f)
    if not config.is_file():
        if (d / "leaderboard.csv").is_file():
            one = _rank_one(d)
            raise MnistSweepError(f"{d}: a sweep dir, not a run; give one of its trial dirs ({d}/trial_NNNN, the "
                                  f"leaderboard's trial_dir column)" + (f", e.g. its rank 1: {argument(one)}" if one else ""))
        if line := runs_in(d):  # confirm's, a multirun's
            raise MnistSweepError(line)
        raise MnistSweepError(in_a_run(d, what) or  # its .hydra/
                              f"{d}: no .hydra/config.yaml, not a run or trial dir; give the dir a training run wrote")
    weights = d / "model.pt"
    result = results.read(d)
    if not weights.is_file():
        why = ("it was pruned before its last epoch, and model.pt is saved at the end" if result.get("status") == "pruned"
               else "the run did not finish, or trained with trainer.save_checkpoint=false")
        raise MnistSweepError(f"{d}: no model.pt ({why}); pick a complete run")
    cfg = results.read_config(d)
    spec = _check(cfg, config).model  # as train builds it: keys a run from an older version lacks take their defaults
    cfg.data.root = results.run_data_root(d, cfg.data.get("root"))  # a relative one: from where the run started
    try:
        model = mmodel.build(spec)
    except MnistSweepError:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged or foreign config
        raise MnistSweepError(f"{config}: cannot build the model from it ({type(e).__name__}: {e})") from None
    model.load_state_dict(_weights(weights, model, config))
    model.eval()
    return Run(d, cfg, result, model)


def _rank_one(sweep: Path) -> Path | None:
    """The sweep's rank 1 run dir (the table's first complete trial, read in the sweep dir given, a moved
    one's too), None where it has no model.pt there, there is none or the table cannot be read."""
    import pandas as pd

    try:
        board = pd.read_csv(sweep / "leaderboard.csv", usecols=["status", "trial_dir"])
        dirs = [sweep / Path(str(t)).name for t in board.loc[board["status"] == "complete", "trial_dir"].dropna()]
    except Exception:  # noqa: BLE001 - a damaged table: the line without the example
        return None
    return next((d for d in dirs[:1] if (d / "model.pt").is_file()), None)


def rank_ones_here() -> str:
    """``; e.g. each sweep's rank 1 here: outputs/sweeps/quick/trial_0004`` for predict given no run dir (each sweep
    dir's in outputs/sweeps, the first three, with its model.pt), or nothing where there is none."""
    ones = [argument(one) for s in sweep_dirs(Path("outputs", "sweeps"))[:3] if (one := _rank_one(s))]
    return f"; e.g. each sweep's rank 1 here: {', '.join(ones)}" if ones else ""


def _an_onnx(p: Path, what: str) -> str | None:
    """An ONNX file that export wrote, given for its run: one line naming the run dir it records
    (metadata ``source_run``); it was 'is a file, not a run dir', naming none. None for any other path."""
    if p.suffix.lower() != ".onnx" or not p.is_file():
        return None
    try:
        import onnx

        meta = {m.key: m.value for m in onnx.load(str(p), load_external_data=False).metadata_props}
    except Exception:  # noqa: BLE001 - not an ONNX model after all: said as any file is
        return None
    run = meta.get("source_run")
    give = f"the run dir it was exported from, {argument(run)}" if run and Path(run).is_dir() else "the run dir it was exported from"
    return (f"{p}: an ONNX model, not a {what}; give {give} (or run the file with onnxruntime: its metadata_props "
            "say how to feed it)")


def _regular(path: Path) -> None:
    """A file the run wrote that is there but is no file (a directory, a dangling or looping link,
    a device) is one line saying so; it was 'no model.pt (the run did not finish ...)'."""
    if path.is_file() or not (path.exists() or path.is_symlink()):
        return
    if path.is_dir():
        why = "a directory, not a file"
    elif not path.exists():  # a link, to nothing or to itself
        why = (f"a link that loops ({path.readlink()})" if _loops(path)
               else dangling_link(None, path.readlink()))
    else:
        why = "not a regular file"
    raise MnistSweepError(f"{path}: {why}; restore the file the run wrote (copy the run dir again), or train the run again")


def _loops(path: Path) -> bool:
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 raises RuntimeError for a loop
        return True
    except OSError as e:
        return e.errno == errno.ELOOP
    return False


def _check(cfg: DictConfig, config: Path) -> Settings:
    """The saved config validated as train validates it (its Settings returned): edited by hand (a bad value, a renamed
    key, a missing section), it is one line naming the file; it was a model error naming no file,
    a TypeError traceback (data.test_limit: abc), or a silently wrong test set (test_limit: -5)."""
    from mnist_sweep.config.settings import validate

    fix = "restore the file the run wrote (edited by hand?), or train the run again"
    if missing := [s for s in ("model", "optimizer", "scheduler", "data", "trainer") if s not in cfg]:
        raise MnistSweepError(f"{config}: no {', '.join(missing)} section; {fix}")
    try:
        return validate(cfg)
    except MnistSweepError as e:
        raise MnistSweepError(f"{config}: {e}; {fix}") from None


def _weights(weights: Path, model: torch.nn.Module, config: Path) -> dict[str, torch.Tensor]:
    """``model.pt``'s state dict, checked against ``model``: a file torch cannot read (truncated,
    damaged, not a checkpoint, a pickled object), weights of another architecture and NaN or
    infinite weights are each one line saying which."""
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - zip reader, unpickler, EOF: all mean a damaged file
        if found := re.search(r"Unsupported global: GLOBAL (\S+)", str(e)):  # readable, but not as weights only
            raise MnistSweepError(f"{weights}: holds a pickled Python object ({found[1]}), not only weights (a whole "
                                  "model saved with torch.save(model)?); save model.state_dict() instead, or give the "
                                  "model.pt a training run wrote") from None
        if isinstance(e, PermissionError):  # the system's refusal (torch's reader raises EINVAL for a cut-off zip)
            raise MnistSweepError(f"{weights}: cannot be read ({e.strerror}); make it readable (chmod u+r)") from None
        reason = (str(e).strip().splitlines() or [""])[0].split(". ")[0] or type(e).__name__  # its first sentence
        fix = "copy it again from the run that wrote it, or train the run again"
        with open(weights, "rb") as f:  # torch writes a zip archive (PK), before 1.6 a pickle (0x80)
            head = f.read(8)
        if not head.startswith((b"PK", b"\x80")):  # empty or neither: as every command words it ('EOFError', '101')
            raise MnistSweepError(f"{weights}: {not_of_kind(weights, 'a PyTorch checkpoint')}; {fix}") from None
        raise MnistSweepError(f"{weights}: damaged (truncated?) or not a PyTorch checkpoint ({reason}); {fix}") from None
    expected = model.state_dict()
    state = _unwrapped(state, expected)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise MnistSweepError(f"{weights}: not a model's state dict (holds a {type(state).__name__}); "
                              "give the model.pt a training run wrote")
    missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    shapes = [f"{k} {list(state[k].shape)} vs {list(v.shape)}" for k, v in expected.items()
              if k in state and state[k].shape != v.shape]
    if missing or extra or shapes:
        diff = "; ".join(f"{what}: {', '.join(keys[:3])}{', ...' if len(keys) > 3 else ''}" for what, keys in
                         (("missing", missing), ("unexpected", extra), ("other shape", shapes)) if keys)
        raise MnistSweepError(f"{weights}: weights of another model than {config} builds ({diff}); the run dir's "
                              "model.pt and config.yaml must come from the same run: copy the pair together")
    if broken := [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]:
        raise MnistSweepError(f"{weights}: NaN or infinite weights in {', '.join(broken[:3])}"
                              f"{', ...' if len(broken) > 3 else ''} (the training diverged?); every prediction would "
                              "be meaningless: train the run again (a lower optimizer.lr)")
    return state


WRAPPER_PREFIXES = ("module.", "_orig_mod.")  # nn.DataParallel / DistributedDataParallel's, torch.compile's
HOLDERS = ("state_dict", "model_state_dict", "model")  # a training checkpoint's key for the weights


def _unwrapped(state: Any, expected: dict[str, torch.Tensor]) -> Any:
    """The state dict of the net itself: taken out of a training checkpoint ({"state_dict": ...,
    "epoch": ...}), its keys without the prefixes a wrapper adds (``module.`` of DataParallel and
    DDP, ``_orig_mod.`` of torch.compile, nested in either order) where the net has no such key;
    they were 'weights of another model'. Anything else is returned as it is, for the checks."""
    if isinstance(state, dict) and not all(isinstance(v, torch.Tensor) for v in state.values()):
        inner = [state[k] for k in HOLDERS if isinstance(state.get(k), dict)]
        state = inner[0] if inner else state
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        return state

    def bare(key: str) -> str:
        while key not in expected and key.startswith(WRAPPER_PREFIXES):
            key = key.split(".", 1)[1]
        return key

    stripped = {bare(k): v for k, v in state.items()}
    return stripped if len(stripped) == len(state) else state  # two keys made one: shown as they are


def test_set(cfg: DictConfig) -> tuple[torch.Tensor, torch.Tensor, int, str]:
    """(normalized images, labels, images in the full test set, where they come from) exactly as
    the run saw them: its data.root and data.test_limit (the first N images)."""
    root = cfg.data.get("root") or str(mnist_files.default_root())
    x, y = mnist_files.t10k_arrays(root)  # the training files are not needed: a missing one is not named
    y = y.clone()  # the process's cached labels stay as read
    total = len(y)
    limit = cfg.data.get("test_limit")
    if limit is not None:
        x, y = x[:limit], y[:limit]
    what = (f"the first {len(y):,} of the {total:,} test images (the run's data.test_limit={limit})"
            if limit is not None and limit < total else f"all {total:,} test images")
    return mdata.normalize(x), y, total, what


@torch.no_grad()
def logits(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 1000,
           memory_format: torch.memory_format = torch.contiguous_format) -> torch.Tensor:
    """The model's outputs for ``x``, batch by batch, as training evaluated it."""
    model.eval()
    model = model.to(memory_format=memory_format)
    return torch.cat([model(x[i : i + batch_size].contiguous(memory_format=memory_format))
                      for i in range(0, len(x), batch_size)])
