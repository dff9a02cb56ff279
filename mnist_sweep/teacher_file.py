"""A distilled run's teacher file: the SHA-256 of a teacher's model.pt, and how the file there now differs from
the one a run learnt from (result.json's ``teacher.sha256``), said once for reproduce, confirm's reuse, export and
a resumed sweep."""
from __future__ import annotations

import hashlib
from pathlib import Path


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def change(weights: Path, recorded: str) -> str | None:
    """How ``weights`` (a teacher's model.pt) is not the file a run learnt from (``recorded``: its sha256):
    'PATH: gone, and the run was distilled from it (sha256 ...)', 'PATH has changed since the run was distilled
    from it (sha256 ... now, ... recorded)'; None where it is that file."""
    try:
        now = sha256(weights)
    except OSError as e:
        why = "gone" if isinstance(e, (FileNotFoundError, NotADirectoryError)) else f"unreadable ({e.strerror})"
        return f"{weights}: {why}, and the run was distilled from it (sha256 {recorded[:12]}...)"
    if now == recorded:
        return None
    return f"{weights} has changed since the run was distilled from it (sha256 {now[:12]}... now, {recorded[:12]}... recorded)"
