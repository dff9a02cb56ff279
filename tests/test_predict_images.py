"""predict on image files a user may hold: pipes and devices named as images, links to nothing,
32-bit float and integer images (normalized, other ranges), LAB. No training: a run dir made by
test_predict.made_run."""
from __future__ import annotations

import os
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import Forked, run_inproc
from mnist_sweep import predict
from test_predict import made_run, one_error

EIGHT = (np.arange(28 * 28).reshape(28, 28) % 256).astype(np.uint8)  # every level, the border dark


def test_a_fifo_with_no_writer_is_refused_before_it_is_opened(tmp_path):
    """open() of a named pipe waits for a writer: predict hung forever; it is one line now. A process
    of its own (a fork of this one), so a hang is a timeout, not a test that never ends."""
    made_run(tmp_path / "run")
    os.mkfifo(tmp_path / "digit.png")
    child = Forked(["mnist_sweep.predict", str(tmp_path / "run"), str(tmp_path / "digit.png")], tmp_path, split=True)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 2 and out == "", (out, err)
    assert err.splitlines() == [
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
        proc = run_inproc(["mnist_sweep.predict", str(tmp_path / "run"), f"/dev/fd/{r}"], cwd=tmp_path)
    finally:
        writer.join()
        os.close(r)
    assert proc.returncode == 0 and proc.stdout.startswith(f"/dev/fd/{r}: "), proc


def test_a_float_image_of_mnist_normalized_pixels_reads_as_its_8_bit_twin(tmp_path, capsys):
    """data.normalize's output saved as a float TIFF (-0.42 to 2.82) was taken as 0-255 levels:
    every pixel 0 to 3 of 255, nearly black."""
    Image.fromarray(EIGHT).save(tmp_path / "8.png")
    Image.fromarray(((EIGHT / 255 - 0.1307) / 0.3081).astype(np.float32)).save(tmp_path / "normalized.tiff")
    img = predict.load_image(tmp_path / "normalized.tiff", "no")
    assert torch.equal(img.x, predict.load_image(tmp_path / "8.png", "no").x)
    assert img.levels == "float pixels read as MNIST-normalized"
    made_run(tmp_path / "run")
    assert predict.main([str(tmp_path / "run"), str(tmp_path / "normalized.tiff")]) == 0
    assert "[float pixels read as MNIST-normalized" in capsys.readouterr().out


@pytest.mark.parametrize("mode, pixels", [("F", EIGHT / 127.5 - 1), ("I", EIGHT.astype(np.int64) * 1000 - 5000)],
                         ids=["floats -1..1", "int32 -5000..250000"])
def test_a_32_bit_image_of_another_range_is_stretched_and_says_so(tmp_path, mode, pixels):
    """Floats in [-1, 1] were clipped (the negative half black), 32-bit integers over 65535 clipped white."""
    Image.fromarray(EIGHT).save(tmp_path / "8.png")
    Image.fromarray(pixels.astype(np.float32 if mode == "F" else np.int32), mode=mode).save(tmp_path / "odd.tiff")
    img = predict.load_image(tmp_path / "odd.tiff", "no")
    assert torch.equal(img.x, predict.load_image(tmp_path / "8.png", "no").x)
    assert img.levels == f"pixels {pixels.min():g} to {pixels.max():g} stretched to 0-255"


def test_a_float_image_with_nan_pixels_or_one_value_is_one_line(tmp_path, capsys):
    """NaN pixels were made 0: the strokes vanished and the image was called blank."""
    made_run(tmp_path / "run")
    Image.fromarray(np.where(EIGHT > 100, np.nan, 0).astype(np.float32)).save(tmp_path / "nan.tiff")
    line = one_error(capsys, [str(tmp_path / "run"), str(tmp_path / "nan.tiff")])
    assert line.endswith("nan.tiff: has NaN or infinite pixels (a float image); save the digit with finite values, "
                         "e.g. in [0, 1] or 0-255"), line
    Image.fromarray(np.full((28, 28), 300, np.float32)).save(tmp_path / "flat.tiff")  # no range to stretch
    assert "flat.tiff: blank (every pixel is 300)" in one_error(capsys, [str(tmp_path / "run"), str(tmp_path / "flat.tiff")])


def test_a_lab_image_reads_as_its_lightness(tmp_path):
    """PIL converts LAB to nothing: a LAB TIFF was 'not a readable image (conversion from LAB to RGB ...)'."""
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255
    Image.fromarray(digit).save(tmp_path / "8.png")
    Image.fromarray(digit).convert("RGB").convert("LAB").save(tmp_path / "lab.tiff")
    assert Image.open(tmp_path / "lab.tiff").mode == "LAB"
    assert torch.equal(predict.load_image(tmp_path / "lab.tiff").x, predict.load_image(tmp_path / "8.png").x)


def test_a_torch_tensor_file_is_named_as_one(tmp_path, capsys):
    """A digit tensor saved with torch.save said 'not an image (it begins b'PK\\x03\\x04...')': its zip's bytes."""
    made_run(tmp_path / "run")
    torch.save(torch.from_numpy(EIGHT), tmp_path / "digit.pt")
    line = one_error(capsys, [str(tmp_path / "run"), str(tmp_path / "digit.pt")])
    assert line.endswith("digit.pt: a PyTorch file (torch.save), not an image; save one digit as an image, e.g. "
                         "PIL.Image.fromarray(digit_uint8_28x28).save('digit.png')"), line


@pytest.mark.parametrize("name, head, said", [
    ("IMG 1.HEIC", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", "a HEIC/HEIF photo (a phone's default), which Pillow cannot "
     "decode; convert it to PNG or JPEG (e.g. heif-convert 'IMG 1.HEIC' digit.png"),
    ("seven.svg", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "an SVG drawing (vectors, not "
     "pixels); render it to PNG (e.g. rsvg-convert -w 280 seven.svg -o digit.png)"),
    ("scan.pdf", b"%PDF-1.7\n%\xe2\xe3\n", "a PDF, not an image; render its page to PNG (e.g. pdftoppm")],
    ids=["heic", "svg", "pdf"])
def test_an_image_pil_has_no_decoder_for_is_named(tmp_path, capsys, name, head, said):
    """An iPhone's HEIC photo, an SVG or a PDF said 'not an image (it begins b'...')', an image called none."""
    made_run(tmp_path / "run")
    (tmp_path / name).write_bytes(head + bytes(64))
    line = one_error(capsys, [str(tmp_path / "run"), str(tmp_path / name)])
    assert line.startswith(f"error: {tmp_path / name}: {said}"), line


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_an_image_cut_off_after_its_header_is_named_so(tmp_path, capsys, fmt):
    """A JPEG cut off in a copy said 'not a readable image (OSError: cannot load this image); give a
    PNG/JPEG of one digit', to one who gave a JPEG; its header read, the line names its format and the cut."""
    made_run(tmp_path / "run")
    Image.fromarray(np.tile(EIGHT, (4, 4))).save(tmp_path / "full", format=fmt)
    data = (tmp_path / "full").read_bytes()
    (tmp_path / "cut").write_bytes(data[:len(data) // 2])
    line = one_error(capsys, [str(tmp_path / "run"), str(tmp_path / "cut")])
    assert line.startswith(f"error: {tmp_path / 'cut'}: a {fmt} whose pixels cannot be decoded (cut off or damaged?: ")
    assert line.endswith("); copy it again, or save it again"), line
