"""Image folders: one subfolder per class of PNG/JPG images, read with their own channels.

Grayscale gives 1 channel, grayscale + alpha 2, RGB 3, RGBA 4; palette and 1-bit images are
only encodings of those and are expanded losslessly; 16-bit grayscale is scaled by 65535.
Nothing is resized or converted to fit a model: every image of a folder must share one size
and channel count, and the spec check (:mod:`fedmarket.data_fit`) then compares that shape
with the project's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fedmarket.datasets import Dataset
from fedmarket.errors import DataError

__all__ = ["read_image_folder", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def read_image_folder(path: str | Path) -> Dataset:
    """One subfolder per class of PNG/JPG images, read as C×H×W in [0, 1] with their own channels.

    Grayscale gives 1 channel, RGB 3, RGBA 4; every image must have the same size and channel
    count (nothing is resized or converted to fit: the model spec says what it reads).
    """
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"image folder '{root}' does not exist")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"image folder '{root}' has no class subfolders")
    files = {
        c: sorted(f for f in c.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES) for c in classes
    }
    if not any(files.values()):
        raise DataError(f"image folder '{root}' has no {'/'.join(IMAGE_SUFFIXES)} images")
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise DataError(
            f"reading the image folder '{root}' needs Pillow, which is not installed "
            "(pip install pillow), or convert the images to an .npz with arrays x and y"
        ) from None

    numeric = all(c.name.isdigit() for c in classes)
    images: list[np.ndarray] = []
    labels: list[int] = []
    for index, folder in enumerate(classes):
        label = int(folder.name) if numeric else index
        for file in files[folder]:
            try:
                with Image.open(file) as image:
                    pixels = _pixels(image)
            except (OSError, UnidentifiedImageError) as exc:
                raise DataError(f"cannot read image '{file}': {exc}") from exc
            if images and pixels.shape != images[0].shape:
                have, first = pixels.shape, images[0].shape
                raise DataError(
                    f"image '{file}' is {have[0]}x{have[1]}x{have[2]} (channels x height x "
                    f"width), the others are {first[0]}x{first[1]}x{first[2]}; images are never "
                    "converted, so give them one size and channel count"
                )
            images.append(pixels)
            labels.append(label)
    return Dataset(np.stack(images), np.asarray(labels, dtype=np.int64), str(root))


# Pillow modes read as they are: grayscale (1), grayscale + alpha (2), RGB (3), RGBA (4).
# Palette and bilevel images are only encodings of those, so they are expanded losslessly.
_IMAGE_MODES = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}
_EXPANDED = {"1": "L", "P": "RGBA", "PA": "RGBA"}


def _pixels(image: Any) -> np.ndarray:
    """C×H×W float32 in [0, 1], keeping the image's own channels; 16-bit gray scaled by 65535."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        top = 65535.0
        gray = np.asarray(image, dtype=np.float64)
        return (gray / top).astype(np.float32)[None]
    if mode in _EXPANDED:
        keep = "RGB" if mode == "P" and "transparency" not in image.info else _EXPANDED[mode]
        image, mode = image.convert(keep), keep
    if mode not in _IMAGE_MODES:
        raise OSError(f"its mode {mode} is not grayscale, RGB or RGBA; save it as one of those")
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    return pixels[None] if pixels.ndim == 2 else np.transpose(pixels, (2, 0, 1))
