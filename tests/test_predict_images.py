"""predict on image files a user may hold: pipes and devices named as images, links to nothing.
No training: a run dir made by test_predict.made_run."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
from PIL import Image

from mnist_sweep import PROJECT_ROOT
from test_predict import made_run, one_error

EIGHT = (np.arange(28 * 28).reshape(28, 28) % 256).astype(np.uint8)  # every level, the border dark


def predict_proc(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mnist_sweep.predict", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}, **kw)


def test_a_fifo_with_no_writer_is_refused_before_it_is_opened(tmp_path):
    """open() of a named pipe waits for a writer: predict hung forever; it is one line now."""
    made_run(tmp_path / "run")
    os.mkfifo(tmp_path / "digit.png")
    proc = predict_proc([str(tmp_path / "run"), str(tmp_path / "digit.png")])
    assert proc.returncode == 2 and proc.stdout == "", proc
    assert proc.stderr.splitlines() == [
        f"error: {tmp_path / 'digit.png'}: a named pipe (FIFO), not a regular file (reading it could wait forever); "
        "give an image file, or pipe the image in as - (... | python -m mnist_sweep.predict RUN_DIR -)"]


def test_a_device_is_refused_and_a_link_to_nothing_named_so(tmp_path, capsys):
    made_run(tmp_path / "run")
    assert "/dev/null: a character device, not a regular file" in one_error(capsys, [str(tmp_path / "run"), "/dev/null"])
    (tmp_path / "digit.png").symlink_to(tmp_path / "scans" / "digit.png")
    line = one_error(capsys, [str(tmp_path / "run"), str(tmp_path / "digit.png")])
    assert line.endswith(f"digit.png: a link to {tmp_path / 'scans' / 'digit.png'}, which does not exist; fix the "
                         "link or give the image file itself"), line


def test_a_pipe_the_shell_hands_over_is_read(tmp_path):
    """predict RUN <(curl -s URL): the shell's /dev/fd/N is a pipe with its writer; it is read as '-' is."""
    made_run(tmp_path / "run")
    Image.fromarray(EIGHT).save(tmp_path / "digit.png")
    r, w = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(w, (tmp_path / "digit.png").read_bytes()), os.close(w)))
    writer.start()
    try:
        proc = predict_proc([str(tmp_path / "run"), f"/dev/fd/{r}"], pass_fds=(r,))
    finally:
        writer.join()
        os.close(r)
    assert proc.returncode == 0 and proc.stdout.startswith(f"/dev/fd/{r}: "), proc

