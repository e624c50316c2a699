#!/usr/bin/python3
# Usage: tools/shape_prior_baseline.py EVAL_DIR OUT_DIR; then cfm metrics --maps OUT_DIR --gt EVAL_DIR/gt
# (EVAL_DIR is the output of `cfm eval`; its maps-3d/ give the 3D-valid pixels).
# Chance-level reference for the pixel metrics: the anomaly map CFM would produce if both discrepancies
# were the same constant on every pixel with a 3D feature (masked product = the 3D-valid mask), smoothed
# exactly like CFM (5 x 5x5 then 3 x 7x7 zero-padded mean filters). It knows where the object is but
# nothing about anomalies.
import sys, os, glob, numpy as np
from PIL import Image
ev, out = sys.argv[1:3]
def box(m, k, passes):
    r = k // 2
    for _ in range(passes):
        p = np.pad(m, r)
        acc = np.zeros_like(m)
        for dy in range(k):
            for dx in range(k):
                acc += p[dy:dy + m.shape[0], dx:dx + m.shape[1]]
        m = acc / (k * k)
    return m
for f in glob.glob(f"{ev}/maps-3d/*/*.tiff"):
    d = f.split('/')[-2]; n = os.path.basename(f)
    s3 = np.array(Image.open(f), dtype=np.float64)
    m = box(box((s3 > 0).astype(np.float64), 5, 5), 7, 3).astype(np.float32)
    os.makedirs(f"{out}/{d}", exist_ok=True)
    Image.fromarray(m, mode='F').save(f"{out}/{d}/{n}")
