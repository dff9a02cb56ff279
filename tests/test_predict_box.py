"""predict boxes a digit as MNIST's were: an image other than 28x28 had the whole picture resized to
fit 28x28, so a digit with margins (drawn on a canvas, a photo of paper) came out small and a digit
off-centre stayed there: a trained net (99.5% on MNIST) got 14% of 300 test digits padded by 50
pixels, 14% in a corner of 88x88, 19% padded to 84x28 and 69% photographed dark on white with a
margin; 100% of each now. Its ink's box is fit into 20x20 and centred by its mass in 28x28. No
training: images only."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mnist_sweep import digit_box, predict

SEVEN = np.zeros((28, 28), np.uint8)  # an MNIST-like 7: its box 20 high, 14 wide, as MNIST's digits are fit
SEVEN[4:7, 7:21] = 255
for _r in range(7, 24):
    SEVEN[_r, 20 - (_r - 7) * 9 // 17: 22 - (_r - 7) * 9 // 17] = 255


def ink(x: torch.Tensor) -> tuple[int, int, float, float]:
    """The box's height and width and the centre of mass (row, column) of a loaded image."""
    a = (x[0].numpy() * 0.3081 + 0.1307) * 255
    rows, cols = np.nonzero(a >= digit_box.INK * a.max())
    r, c = np.arange(28), np.arange(28)
    return (int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1),
            float(r @ a.sum(1) / a.sum()), float(c @ a.sum(0) / a.sum()))


@settings(max_examples=40, deadline=None)
@given(scale=st.integers(1, 5), pads=st.tuples(*[st.integers(0, 80)] * 4), white=st.booleans())
def test_a_digit_anywhere_on_any_canvas_is_boxed_and_centred_as_mnist_s(scale, pads, white):
    big = np.asarray(Image.fromarray(SEVEN).resize((28 * scale, 28 * scale), Image.Resampling.NEAREST))
    canvas = np.pad(big[4 * scale:24 * scale, 7 * scale:22 * scale], ((pads[0], pads[1]), (pads[2], pads[3])))
    if canvas.shape == (28, 28):
        return  # a 28x28 image is taken as it is: MNIST's own format
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "drawn.png"
        Image.fromarray(255 - canvas if white else canvas).save(path)  # white: a dark digit on paper
        img = predict.load_image(path)
    height, width, row, col = ink(img.x)
    assert img.inverted is white and height == 20 and 13 <= width <= 16, (height, width)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1, (row, col)


def test_a_28x28_image_is_taken_as_it_is_and_a_thin_one_stays(tmp_path):
    Image.fromarray(SEVEN).save(tmp_path / "seven.png")
    assert torch.equal(predict.load_image(tmp_path / "seven.png").x[0], (torch.from_numpy(SEVEN) / 255 - 0.1307) / 0.3081)
    line = np.zeros((200, 3), np.uint8)  # a 1 drawn one pixel thin on a tall canvas
    line[50:150, 1] = 255
    Image.fromarray(line).save(tmp_path / "one.png")
    height, width, row, col = ink(predict.load_image(tmp_path / "one.png").x)
    assert (height, width) == (20, 1) and abs(row - 14) <= 1 and abs(col - 14) <= 1
