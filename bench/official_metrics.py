#!/usr/bin/python3
"""Times the official CFM metrics (docs/method.md §5.7, §6: utils/metrics_utils.py with SciPy's labelling and
scikit-learn's roc_auc_score, restated here since the official repository cannot be fetched on this machine)
on the maps that `build/bench/cfm_metrics_benchmark --save DIR` wrote (bench/official_comparison.sh compares
the values with cfm's).

Usage: official_metrics.py DIR [--runs R]      -> prints one JSON line (seconds: best of R runs)

Restated as the official code does it: the three per-image normalisations, 8-connected GT components
(scipy.ndimage.label, 3x3 ones), OK pixels pooled and sorted, 99 thresholds at np.linspace positions, PRO as
the mean over components of the fraction strictly above each threshold (components kept sorted and
counted with searchsorted, the cheap way), the (1, 1) end point, the truncated trapezoid; I-AUROC and
P-AUROC with roc_auc_score. The curve is computed once and integrated at the four limits.
"""
import json
import os
import sys
import time

import numpy as np
from scipy.ndimage import label
from sklearn.metrics import roc_auc_score

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from metrics_reference import trapezoid  # noqa: E402  (the truncated trapezoid, as the official code)


def normalise(maps):
    pro_maps, pixel_scores, image_scores = [], [], []
    for m in maps:
        mean_nz = m[m != 0].mean()
        mean_all = m.mean()
        pro_maps.append(m / mean_nz)
        pixel_scores.append(m / np.sqrt(mean_all))
        image_scores.append(m.max() / np.sqrt(mean_nz))
    return pro_maps, np.stack(pixel_scores), np.array(image_scores)


def pro_curve(pro_maps, masks, num_thresholds=99):
    structure = np.ones((3, 3), dtype=int)
    components, ok = [], []
    for m, g in zip(pro_maps, masks):
        labels, count = label(g != 0, structure=structure)
        ok.append(m[labels == 0])
        for c in range(1, count + 1):
            components.append(np.sort(m[labels == c]))
    ok = np.sort(np.concatenate(ok))
    n = len(ok)
    fprs, pros = [], []
    for pos in np.linspace(0, n - 1, num=num_thresholds).astype(int):
        threshold = ok[pos]
        fprs.append(1 - (pos + 1) / n)
        pros.append(np.mean([1 - np.searchsorted(c, threshold, side="right") / len(c) for c in components]))
    fprs.append(1.0)
    pros.append(1.0)
    order = np.argsort(fprs, kind="stable")
    return np.array(fprs)[order], np.array(pros)[order]


def official_metrics(maps, masks):
    pro_maps, pixel_scores, image_scores = normalise(maps)
    labels = np.array([int(g.any()) for g in masks])
    fprs, pros = pro_curve(pro_maps, masks)
    out = {f"aupro@{limit}": trapezoid(fprs, pros, limit) / limit for limit in (0.3, 0.1, 0.05, 0.01)}
    out["p_auroc"] = roc_auc_score((masks != 0).astype(int).ravel(), pixel_scores.ravel())
    out["i_auroc"] = roc_auc_score(labels, image_scores)
    return out


def main():
    folder = sys.argv[1]
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 3
    maps = np.load(f"{folder}/maps.npy").astype(np.float32)
    masks = np.load(f"{folder}/masks.npy") != 0
    best, values = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        values = official_metrics(maps, masks)
        best = min(best, time.perf_counter() - start)
    print(json.dumps({"maps": len(maps), "seconds": best, "metrics": values}))


if __name__ == "__main__":
    main()
