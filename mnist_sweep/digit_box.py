"""A digit placed in 28x28 as MNIST's were made: its ink's bounding box fit into 20x20 (aspect ratio
kept, antialiased), then centred in 28x28 by its centre of mass (LeCun et al.'s MNIST page). predict
gives it any image other than 28x28 once the background is black: a digit drawn small on a large
canvas, off-centre or filling the picture reads as the digits the net was trained on.
Ground floor: numpy and PIL only."""
from __future__ import annotations

from typing import Any

import numpy as np

SIZE, BOX = 28, 20  # MNIST: 28x28 images, each digit's bounding box fit into 20x20
INK = 0.25  # a pixel at or over this share of the brightest is the digit's (the box); fainter: noise or antialiasing


def fit(gray: Any) -> Any:
    """The 8-bit grayscale image (PIL, mode L, background black, not blank) as a 28x28 PIL image."""
    from PIL import Image

    a = np.asarray(gray)
    ink = a >= max(INK * int(a.max()), 1)  # the ink: its faint edge and noise left out (a mask: 1 byte a pixel)
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    if len(rows):
        gray = gray.crop((int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1))
    w, h = gray.size
    size = (max(1, round(w * BOX / max(w, h))), max(1, round(h * BOX / max(w, h))))  # a side never below 1 pixel
    if gray.size != size:
        gray = gray.resize(size, Image.Resampling.LANCZOS)
    patch = np.asarray(gray, dtype=np.float64)
    mass = patch.sum()
    cy, cx = ((np.arange(size[1]) @ patch.sum(1)) / mass, (np.arange(size[0]) @ patch.sum(0)) / mass) if mass else (
        (size[1] - 1) / 2, (size[0] - 1) / 2)
    left = min(max(round(SIZE / 2 - cx), 0), SIZE - size[0])  # its centre of mass on pixel 14, as MNIST's, inside 28x28
    top = min(max(round(SIZE / 2 - cy), 0), SIZE - size[1])
    square = Image.new("L", (SIZE, SIZE), 0)
    square.paste(gray, (left, top))
    return square
