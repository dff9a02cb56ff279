"""predict on images with an alpha channel and on images of one level: a fully transparent image
said 'blank (every pixel is 0)', faint half-transparent strokes vanished as blank, and a flat 16-bit
image was 'every pixel is 255'. No training: a run dir made by test_predict.made_run."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from mnist_sweep import predict
from mnist_sweep.errors import MnistSweepError
from test_predict import made_run, one_error

STROKES = np.zeros((28, 28), bool)
STROKES[6:22, 12:16] = True  # a 1
STROKES[6:9, 9:16] = True


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_a_fully_transparent_image_says_so(tmp_path, capsys, mode):
    made_run(tmp_path / "run")
    Image.new(mode, (28, 28)).save(tmp_path / "clear.png", **({"transparency": 0} if mode == "P" else {}))
    line = one_error(capsys, [str(tmp_path / "run"), str(tmp_path / "clear.png")])
    assert line == (f"error: {tmp_path / 'clear.png'}: fully transparent (alpha 0 everywhere: nothing in it shows); "
                    "give an image of one digit, its strokes opaque"), line


def test_a_fully_transparent_image_over_a_picture_says_how_to_show_it(tmp_path):
    """The digit is in its colour channels, hidden by an alpha of 0 everywhere (a mask gone wrong)."""
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[STROKES, :3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "hidden.png")
    with pytest.raises(MnistSweepError, match=r"fully transparent \(alpha 0 everywhere.*colour channels hold a "
                                              r"picture under it: save it without transparency"):
        predict.load_image(tmp_path / "hidden.png")


def test_faint_half_transparent_strokes_read_as_the_opaque_ones(tmp_path):
    """Black strokes at alpha 100 (all under 128) were laid on black, as if light: 'blank (every pixel is 0)'."""
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[STROKES, 3] = 100
    Image.fromarray(rgba, "RGBA").save(tmp_path / "faint.png")
    Image.fromarray(np.where(STROKES, 0, 255).astype(np.uint8)).save(tmp_path / "opaque.png")
    faint, opaque = predict.load_image(tmp_path / "faint.png"), predict.load_image(tmp_path / "opaque.png")
    assert faint.inverted and torch.equal(faint.x, opaque.x)


@pytest.mark.parametrize("mode, value, says", [("I;16", 1000, "1000"), ("I", 70000, "70000"), ("F", 0.5, "0.5")])
def test_an_image_of_one_level_names_the_level_it_holds(tmp_path, capsys, mode, value, says):
    """A flat 16-bit image of 1000 was 'every pixel is 255' (scaled by its brightest), a flat 70000 'is 0'."""
    made_run(tmp_path / "run")
    img = Image.new(mode, (28, 28), value)
    img.save(tmp_path / "flat.tiff")
    line = one_error(capsys, [str(tmp_path / "run"), str(tmp_path / "flat.tiff")])
    assert line == f"error: {tmp_path / 'flat.tiff'}: blank (every pixel is {says}); give an image of one digit", line
