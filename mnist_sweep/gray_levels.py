"""A decoded image's pixels as 8-bit grayscale, for predict: a transparent background made the colour
that contrasts with the strokes (an image with nothing visible, alpha 0 everywhere, refused in one
line); 16-bit grayscale scaled down by its brightest pixel; 32-bit pixels read by their range
(``FLOATS``); LAB read as its lightness. An image of one level everywhere is refused as blank,
naming the level the file holds."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mnist_sweep import data as mdata
from mnist_sweep.errors import MnistSweepError

FLOATS = ("a 32-bit float image (mode F, a TIFF numpy code saved) is read by its range: pixels in [0, 1] "
          f"are scaled to 0-255; MNIST-normalized ones ((x/255 - {mdata.MEAN})/{mdata.STD}, -0.42 to 2.82) are "
          "un-normalized; 0-255 is taken as it is; any other range is stretched, its lowest pixel to "
          "black and its highest to white (the line says so); NaN or infinite pixels are refused")
NORMALIZED = ((0 - mdata.MEAN) / mdata.STD, (1 - mdata.MEAN) / mdata.STD)  # data.normalize's range: -0.42 to 2.82


def blank(p: Path, level: str) -> MnistSweepError:
    """The line for an image of one level everywhere: no strokes, though the network would still name a digit."""
    return MnistSweepError(f"{p}: blank (every pixel is {level}); give an image of one digit")


def _transparent(im: Any, p: Path) -> Any:
    """An image with an alpha channel over the colour that contrasts with its strokes (their mean
    lightness weighted by their opacity: faint, half-transparent strokes count too), as 8-bit gray."""
    from PIL import Image

    im = im.convert("RGBA")
    alpha = np.asarray(im.getchannel("A"), dtype=np.float64) / 255
    if not alpha.any():  # nothing shows: compositing gives a blank image, named as one with no digit
        hidden = any(lo != hi for lo, hi in im.convert("RGB").getextrema())  # colours that vary: a picture under it
        fix = ("its colour channels hold a picture under it: save it without transparency (flatten it, or "
               "PIL: Image.open(f).convert('RGB').save('digit.png'))" if hidden else
               "give an image of one digit, its strokes opaque")
        raise MnistSweepError(f"{p}: fully transparent (alpha 0 everywhere: nothing in it shows); {fix}")
    lum = np.asarray(im.convert("L"), dtype=np.float64)
    dark_strokes = float((lum * alpha).sum() / alpha.sum()) < 128
    back = Image.new("RGBA", im.size, (255, 255, 255, 255) if dark_strokes else (0, 0, 0, 255))
    return Image.alpha_composite(back, im).convert("L")


def to_gray(im: Any, p: Path) -> tuple[Any, str]:
    """A decoded image as 8-bit grayscale, and how its levels were read when not as 0-255 ("" else):
    a transparent background becomes the colour that contrasts with the strokes; 16-bit grayscale is
    scaled down (PIL's convert would clip it to white), 32-bit pixels by ``levels``; LAB's lightness
    is its gray (PIL converts LAB to nothing)."""
    from PIL import Image

    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        return _transparent(im, p), ""
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):  # 16-bit: as 32-bit integers (0-65535)
        a, how = levels(np.asarray(im, dtype=np.float64), im.mode[0], p)
    elif im.mode == "LAB":
        return im.getchannel("L"), ""
    else:
        return im.convert("L"), ""
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), mode="L"), how


def levels(a: np.ndarray, mode: str, p: Path) -> tuple[np.ndarray, str]:
    """32-bit pixels (mode I: integers, F: floats) as 0-255, and how they were read ("" for 0-255):
    floats in [0, 1] times 255; floats with negatives within data.normalize's range as MNIST-normalized
    (undone); values in 0-255 as they are; integers up to 65535 (16-bit) scaled by the brightest; any
    other range stretched, its lowest to 0 and highest to 255. NaN or infinite pixels are refused; so
    is one value everywhere, named as the file holds it (scaled, it read 'every pixel is 0' or 255)."""
    if not np.isfinite(a).all():
        raise MnistSweepError(f"{p}: has NaN or infinite pixels (a float image); save the digit with finite values, "
                              "e.g. in [0, 1] or 0-255")
    low, high = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if high == low:
        raise blank(p, f"{low:g}")
    if mode == "F" and 0 <= low and high <= 1:
        return a * 255, ""
    if mode == "F" and NORMALIZED[0] - 1e-4 <= low < 0 and high <= NORMALIZED[1] + 1e-4:
        return (a * mdata.STD + mdata.MEAN) * 255, "float pixels read as MNIST-normalized"
    if 0 <= low and high <= 255:
        return a, ""
    if mode == "I" and 0 <= low and high <= 65535:
        return a * (255 / high), ""  # by the brightest, not 65535: a 12-bit 0-4095 was read as 0-15, all black
    return (a - low) * (255 / (high - low)), f"pixels {low:g} to {high:g} stretched to 0-255"
