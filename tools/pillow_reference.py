#!/usr/bin/python3
"""Reference transforms computed with Pillow and NumPy, as the official CFM code computes them
(cfm-method.md §2): torchvision SquarePad in 'edge' mode (numpy edge padding), then PIL resize.

Usage: pillow_reference.py rgb|gt INPUT.png SIZE OUTPUT.png
  rgb: convert('RGB'), SquarePad edge, resize BICUBIC
  gt:  convert('L'),   SquarePad edge, resize NEAREST (no threshold: the raw 8-bit values)
Used by the C++ parity tests (tests/data/resample_test.cpp); needs Debian's python3-pil and python3-numpy.
"""
import sys

import numpy as np
from PIL import Image


def square_pad_edge(image):
    w, h = image.size
    m = max(w, h)
    left, top = (m - w) // 2, (m - h) // 2
    array = np.asarray(image)
    pad = ((top, m - h - top), (left, m - w - left)) + (((0, 0),) if array.ndim == 3 else ())
    return Image.fromarray(np.pad(array, pad, mode="edge"))


def main():
    mode, source, size, target = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    image = Image.open(source)
    if mode == "rgb":
        out = square_pad_edge(image.convert("RGB")).resize((size, size), Image.BICUBIC)
    elif mode == "gt":
        out = square_pad_edge(image.convert("L")).resize((size, size), Image.NEAREST)
    else:
        raise SystemExit("unknown mode " + mode)
    out.save(target)


if __name__ == "__main__":
    main()
