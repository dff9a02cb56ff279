"""Knowledge distillation (``trainer.teacher``): a finished run's net as the teacher of the one training.

The teacher is a run dir (its ``model.pt`` and ``.hydra/config.yaml``, loaded by ``checkpoint.load``), a
relative path read from the current directory as ``data.root`` is. It is loaded once per run, before the
data and the seed (the student's initial weights are untouched), onto the run's device in its memory
format, in eval mode; every refusal is one line naming trainer.teacher. Its parameters are not the
student's: model.max_params counts the trained (deployed) net alone.

The loss (Hinton et al.) on each augmented batch, the teacher run under no_grad and the run's autocast:
``(1 - alpha) * CE(student, y, label_smoothing) + alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T))``.
Without a teacher the loss is the plain cross-entropy, the same ops as before distillation existed.

Honest validation: the student's validation images must not be among the teacher's training images. Both
splits are drawn by ``data.split_indices`` (a ``randperm`` of the 60,000 training images seeded with
data.split_seed: the first data.val_size are validation, the next data.train_limit, or all the rest, train),
so the two index sets are drawn here and compared: a teacher with the student's data.split_seed and a
data.val_size at least the student's never overlaps; any other overlaps unless its images happen to miss.
A student with data.val_size=0 (the test set, no selection) takes any teacher: none trains on test images.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from mnist_sweep import checkpoint
from mnist_sweep.config.ranges import TRAIN_IMAGES
from mnist_sweep.config.settings import DataSettings, Settings, validate
from mnist_sweep.data import split_indices
from mnist_sweep.errors import ConfigError, MnistSweepError
from mnist_sweep.shell import locale_escaped
from mnist_sweep.teacher_file import sha256

log = logging.getLogger("mnist_sweep.train")
LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # (student logits, images, labels) -> loss


@dataclass
class Teacher:
    """A loaded teacher and what result.json records of it."""

    model: torch.nn.Module
    path: str  # trainer.teacher as given
    sha256: str  # of its model.pt
    n_params: int
    alpha: float
    temperature: float

    def record(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "params": self.n_params, "alpha": self.alpha,
                "temperature": self.temperature}


def record(teacher: Teacher | None) -> dict[str, Any] | None:
    """result.json's ``teacher`` (None: the key is left out)."""
    return None if teacher is None else teacher.record()


def load(st: Settings, device: torch.device, fmt: torch.memory_format) -> Teacher | None:
    """trainer.teacher loaded, checked (a run dir with a model.pt that loads into its config's model, no
    training image among the student's validation images), on ``device``; None without one."""
    ts = st.trainer
    if ts.teacher is None:
        return None
    run, digest, theirs = opened(ts.teacher, st.data)
    n_params = theirs.n_params
    model = run.model.to(device, memory_format=fmt).requires_grad_(False).eval()
    log.info("distilling from %s (%s params, not the student's; alpha %g, temperature %g)", run.dir, f"{n_params:,}",
             ts.distill_alpha, ts.distill_temperature)
    return Teacher(model, ts.teacher, digest, n_params, ts.distill_alpha, ts.distill_temperature)


def opened(given: str, data: DataSettings | None) -> tuple[checkpoint.Run, str, Settings]:
    """The teacher run dir ``given`` loaded on the CPU, the sha256 of its model.pt and its validated config; refused
    in one line naming trainer.teacher where it does not load or (``data``: the student's) trained on the student's
    validation images. A sweep's start calls it once per teacher (None: the student's split is not known yet)."""
    if escaped := locale_escaped(given):  # PYTHONUTF8=0 in C: result.json, the log and export would hold the escapes
        raise ConfigError(f"trainer.teacher: {given}: {escaped}")
    try:
        run = checkpoint.load(Path(given).expanduser())
        digest = sha256(run.dir / "model.pt")
    except (MnistSweepError, OSError, RuntimeError) as e:  # RuntimeError: pathlib's ~user of no user
        why = str(e) if isinstance(e, MnistSweepError) else f"{getattr(e, 'filename', None) or given}: {e}"
        raise ConfigError(f"trainer.teacher: {why}") from None
    theirs = validate(run.cfg)
    refuse_leak(run.dir, data, theirs.data)
    return run, digest, theirs


def refuse_leak(where: Path, student: DataSettings | None, teacher: DataSettings) -> None:
    """The teacher in ``where`` (its data settings ``teacher``) refused in one line (``leak_line``, ConfigError)
    where it trained on the student's validation images; None: the student's split is not known yet."""
    if student is not None and student.val_size and (n := leaked(student, teacher)):
        raise ConfigError(leak_line(where, n, student, teacher))


def leaked(student: DataSettings, teacher: DataSettings) -> int:
    """How many of the student's validation images are among the teacher's training images."""
    _, val = split_indices(TRAIN_IMAGES, student.val_size, student.train_limit, student.split_seed)
    trained, _ = split_indices(TRAIN_IMAGES, teacher.val_size, teacher.train_limit, teacher.split_seed)
    return int(torch.isin(val, trained).sum())


def leak_line(where: Path, n: int, student: DataSettings, teacher: DataSettings) -> str:
    """The refusal of a teacher that trained on the student's validation images, with the fixes."""
    mine = f"data.val_size={student.val_size} data.split_seed={student.split_seed}"
    theirs = f"data.val_size={teacher.val_size} data.split_seed={teacher.split_seed}"
    limit = f" data.train_limit={teacher.train_limit}" if teacher.train_limit is not None else ""
    adopt = f", hold out the teacher's own split ({theirs})" if teacher.val_size else ""
    return (f"trainer.teacher: {where} trained on {n:,} of this run's {student.val_size:,} validation images (it ran "
            f"with {theirs}{limit}; this run has {mine}), so val_acc would not be an honest estimate; give a teacher "
            f"trained with data.split_seed={student.split_seed} and data.val_size>={student.val_size}{adopt}, or train "
            "with data.val_size=0 trainer.select_on=test (the test set, no selection)")


def kd_loss(student: torch.Tensor, teacher: torch.Tensor, y: torch.Tensor, alpha: float, temperature: float,
            label_smoothing: float = 0.0) -> torch.Tensor:
    """(1 - alpha) * cross-entropy + alpha * T^2 * KL(teacher's softened distribution || the student's)."""
    ce = F.cross_entropy(student, y, label_smoothing=label_smoothing)
    s = F.log_softmax(student.float() / temperature, dim=1)
    t = F.log_softmax(teacher.float() / temperature, dim=1)
    kl = F.kl_div(s, t, log_target=True, reduction="batchmean")
    return (1 - alpha) * ce + alpha * temperature**2 * kl


def criterion(label_smoothing: float, teacher: Teacher | None = None) -> LossFn:
    """The training loss, called as ``loss(out, x, y)`` inside the run's autocast: the plain cross-entropy,
    or with a teacher its distillation loss (the teacher's logits of the same batch, under no_grad)."""
    if teacher is None:
        return lambda out, x, y: F.cross_entropy(out, y, label_smoothing=label_smoothing)

    def distilled(out: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            logits = teacher.model(x)
        return kd_loss(out, logits, y, teacher.alpha, teacher.temperature, label_smoothing)

    return distilled
