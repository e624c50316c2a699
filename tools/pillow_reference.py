#!/usr/bin/python3
"""Reference transforms computed with Pillow and NumPy, as the official CFM code computes them
(docs/method.md §2): torchvision SquarePad in 'edge' mode (numpy edge padding), then PIL resize.

Usage: pillow_reference.py rgb|gt INPUT.png SIZE OUTPUT.png
  rgb: convert('RGB'), SquarePad edge, resize BICUBIC
  gt:  convert('L'),   SquarePad edge, resize NEAREST (no threshold: the raw 8-bit values)
       pillow_reference.py variants INPUT.png OUTDIR
  writes INPUT in several PNG flavours (palette, grey+alpha, RGBA, 16-bit grey, 16-bit RGB, gamma chunk,
  interlaced) as OUTDIR/<name>.png, with Pillow's convert('RGB') and convert('L') of each as
  OUTDIR/<name>.rgb.png and OUTDIR/<name>.l.png (plain 8-bit files).
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


def write_variants(source, folder):
    rgb = Image.open(source).convert("RGB")
    array = np.asarray(rgb).astype(np.uint16)
    variants = {
        "palette": rgb.convert("P", palette=Image.ADAPTIVE, colors=64),
        "grey_alpha": rgb.convert("LA"),
        "rgba": rgb.convert("RGBA"),
        "grey16": Image.fromarray((array[:, :, 0] * 3).astype(np.uint16)),
        "interlaced": rgb,
    }
    for name, image in variants.items():
        path = f"{folder}/{name}.png"
        image.save(path, interlace=1) if name == "interlaced" else image.save(path)
        decoded = Image.open(path)
        decoded.convert("RGB").save(f"{folder}/{name}.rgb.png")
        decoded.convert("L").save(f"{folder}/{name}.l.png")
    # 16-bit RGB cannot come from Pillow's own writer; build it from raw big-endian rows with a gamma chunk
    # (zlib + struct), so that colour-management chunks are exercised too.
    import struct, zlib
    h, w = array.shape[:2]
    big = (array * 257).astype(">u2")
    raw = b"".join(b"\0" + big[y].tobytes() for y in range(h))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)) +
           chunk(b"gAMA", struct.pack(">I", 100000)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    with open(f"{folder}/rgb16_gamma.png", "wb") as f:
        f.write(png)
    decoded = Image.open(f"{folder}/rgb16_gamma.png")
    decoded.convert("RGB").save(f"{folder}/rgb16_gamma.rgb.png")
    decoded.convert("L").save(f"{folder}/rgb16_gamma.l.png")


def main():
    if sys.argv[1] == "variants":
        write_variants(sys.argv[2], sys.argv[3])
        return
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
