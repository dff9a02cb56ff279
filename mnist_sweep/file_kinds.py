"""What an image file is that PIL cannot decode, by its first bytes: a phone's HEIC/HEIF photo (no
decoder in Pillow), a vector drawing (SVG, PDF: no pixels). predict names it and how to make it a PNG,
where it said only 'not an image (it begins b'...')'. Ground floor: imports nothing of the package."""
from __future__ import annotations

import shlex
from pathlib import Path

HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")  # ISO BMFF 'ftyp' brands


def undecodable(path: Path) -> str:
    """After 'PATH: ': what the file is and how to give it as an image; "" for any other file."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return ""
    name = shlex.quote(path.name)  # pasteable: a name with spaces quoted
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return ("a HEIC/HEIF photo (a phone's default), which Pillow cannot decode; convert it to PNG or JPEG "
                f"(e.g. heif-convert {name} digit.png, or set the phone's camera to 'Most Compatible')")
    if b"<svg" in head.lower() or (path.suffix.lower() == ".svg" and head.lstrip().startswith(b"<")):
        return f"an SVG drawing (vectors, not pixels); render it to PNG (e.g. rsvg-convert -w 280 {name} -o digit.png)"
    if head.startswith(b"%PDF-"):
        return f"a PDF, not an image; render its page to PNG (e.g. pdftoppm -png -r 100 -singlefile {name} digit)"
    return ""
