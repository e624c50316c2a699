#!/usr/bin/python3
"""Independent reference of CFM's metrics (docs/method.md §5.7, §6) with NumPy, restating the official
code: CFM's per-image normalisations, the 99-threshold AU-PRO (utils/metrics_utils.py), the MVTec 3D-AD
all-thresholds PRO curve, the truncated trapezoid, and AUROC by brute-force pair counting (ties half).

Usage: metrics_reference.py MAPS.npy MASKS.npy [--exact] [--raw]   -> prints JSON
MAPS.npy: I x H x W float32 smoothed maps; MASKS.npy: I x H x W uint8 (non-zero = anomalous).
"""
import bisect
import json
import sys

import numpy as np


def label_8(mask):
    labels = np.zeros(mask.shape, dtype=np.int64)
    count = 0
    h, w = mask.shape
    for y in range(h):
        for x in range(w):
            if mask[y, x] and not labels[y, x]:
                count += 1
                labels[y, x] = count
                stack = [(y, x)]
                while stack:
                    cy, cx = stack.pop()
                    for dy in (-1, 0, 1):
                        for dx in (-1, 0, 1):
                            yy, xx = cy + dy, cx + dx
                            if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not labels[yy, xx]:
                                labels[yy, xx] = count
                                stack.append((yy, xx))
    return labels, count


def regions_and_ok(maps, masks):
    regions, ok = [], []
    for m, g in zip(maps, masks):
        labels, count = label_8(g != 0)
        ok.append(m[labels == 0])
        for c in range(1, count + 1):
            regions.append(m[labels == c])
    return regions, np.sort(np.concatenate(ok))


def pro_official(maps, masks, num_thresholds=99):
    regions, ok = regions_and_ok(maps, masks)
    n = len(ok)
    fprs, pros = [], []
    for pos in np.linspace(0, n - 1, num=num_thresholds).astype(int):
        th = ok[pos]
        fprs.append(1 - (pos + 1) / n)
        pros.append(np.mean([np.mean(r > th) for r in regions]))
    fprs.append(1.0)
    pros.append(1.0)
    order = np.argsort(fprs, kind="stable")
    return np.array(fprs)[order], np.array(pros)[order]


def pro_exact(maps, masks):
    regions_fp, regions_pro, scores = [], [], []
    all_regions = []
    for m, g in zip(maps, masks):
        labels, count = label_8(g != 0)
        all_regions.append((m, labels, count))
    total_regions = sum(c for _, _, c in all_regions)
    n_ok = sum(int((labels == 0).sum()) for _, labels, _ in all_regions)
    fp_changes, pro_changes = [], []
    for m, labels, count in all_regions:
        fp = np.where(labels == 0, 1.0 / n_ok, 0.0)
        pro = np.zeros(m.shape)
        for c in range(1, count + 1):
            pro[labels == c] = 1.0 / (total_regions * (labels == c).sum())
        fp_changes.append(fp.ravel())
        pro_changes.append(pro.ravel())
        scores.append(m.ravel())
    scores = np.concatenate(scores)
    order = np.argsort(scores, kind="stable")[::-1]
    fprs = np.cumsum(np.concatenate(fp_changes)[order])
    pros = np.cumsum(np.concatenate(pro_changes)[order])
    sorted_scores = scores[order]
    keep = np.append(np.diff(sorted_scores) != 0, True)
    fprs = np.clip(fprs[keep], None, 1.0)
    pros = np.clip(pros[keep], None, 1.0)
    return np.concatenate(([0.0], fprs, [1.0])), np.concatenate(([0.0], pros, [1.0]))


def trapezoid(x, y, x_max):
    finite = np.logical_and(np.isfinite(x), np.isfinite(y))
    x, y = x[finite], y[finite]
    correction = 0.0
    if x_max not in x:
        ins = bisect.bisect(x, x_max)
        y_interp = y[ins - 1] + ((y[ins] - y[ins - 1]) * (x_max - x[ins - 1]) / (x[ins] - x[ins - 1]))
        correction = 0.5 * (y_interp + y[ins - 1]) * (x_max - x[ins - 1])
    mask = x <= x_max
    x, y = x[mask], y[mask]
    return np.sum(0.5 * (y[1:] + y[:-1]) * (x[1:] - x[:-1])) + correction


def auroc(scores, labels):
    pos, neg = scores[labels == 1].astype(np.float64), scores[labels == 0].astype(np.float64)
    if len(pos) == 0 or len(neg) == 0:
        return None
    wins = 0.0
    for chunk in np.array_split(pos, max(1, len(pos) // 256)):
        wins += np.sum(chunk[:, None] > neg[None, :]) + 0.5 * np.sum(chunk[:, None] == neg[None, :])
    return wins / (len(pos) * len(neg))


def main():
    maps = np.load(sys.argv[1]).astype(np.float32)
    masks = np.load(sys.argv[2])
    exact, raw = "--exact" in sys.argv, "--raw" in sys.argv
    pro_maps, pixel_maps, image_scores = [], [], []
    for m in maps:
        if raw:
            pro_maps.append(m)
            pixel_maps.append(m)
            image_scores.append(m.max())
        else:
            mean_nz = m.astype(np.float64)[m != 0].mean()
            mean_all = m.astype(np.float64).mean()
            # float32 map / float64 scalar: NumPy 1 divided in float32 (value-based casting), NumPy 2 in
            # float64 (NEP 50). The official code ran on NumPy 1; spell its float32 division out so this
            # reference gives the same numbers under both.
            pro_maps.append(m / np.float32(mean_nz))
            pixel_maps.append(m / np.float32(np.sqrt(mean_all)))
            image_scores.append(np.float32(m.max() / np.sqrt(mean_nz)))
    labels = np.array([int(g.any()) for g in masks])
    fprs, pros = pro_exact(pro_maps, masks) if exact else pro_official(pro_maps, masks)
    out = {"i_auroc": auroc(np.array(image_scores), labels),
           "p_auroc": auroc(np.concatenate([p.ravel() for p in pixel_maps]), (masks != 0).astype(int).ravel())}
    for limit in (0.3, 0.1, 0.05, 0.01):
        out[f"aupro@{limit}"] = trapezoid(fprs, pros, limit) / limit
    print(json.dumps(out))


if __name__ == "__main__":
    main()
