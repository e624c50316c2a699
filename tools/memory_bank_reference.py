#!/usr/bin/python3
"""Independent Python reference of cfm's memory-bank baseline (docs/method.md §11), written from M3DM's
DoubleRGBPointFeatures_add with plain torch, for the C++ parity test
(tests/memory_bank/memory_bank_parity_test.cpp).

    memory_bank_reference.py --bank memory_bank_<class>.pth --train F1 F2 ... --test T1 T2 ... --out DIR
                             [--recipe m3dm|per_bank]

Each F/T is a folder written by `cfm features --inputs` (rgb_map, centers, xyz_group_feats, cloud_input).
The bank file gives the coreset rows (their selection is tested elsewhere); this script recomputes the
normalisation statistics from the training features and checks that every bank row is a normalised
training patch, then scores each test folder with the add fusion. Writes DIR/<i>.npy (the S x S map of
test folder i) and prints JSON: the statistics recomputed, the largest distance of a bank row to its
nearest training patch, and the image scores.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cfm_reference import interpolate  # noqa: E402  (3-NN inverse squared distance, docs/method.md §3.7)


def patches(folder):
    """RGB tokens (h*w x C) and the 56 x 56 pooled 3D features (3136 x C3) of one sample, as M3DM builds them."""
    rgb_map = torch.from_numpy(np.load(os.path.join(folder, "rgb_map.npy")))
    cloud = torch.from_numpy(np.load(os.path.join(folder, "cloud_input.npy")))
    centres = torch.from_numpy(np.load(os.path.join(folder, "centers.npy")))
    feats = torch.from_numpy(np.load(os.path.join(folder, "xyz_group_feats.npy")))
    grid = cloud.shape[-1]
    flat = cloud.reshape(3, -1)
    nonzero = torch.nonzero(torch.all(flat != 0, dim=0)).squeeze(1)
    points = flat[:, nonzero].transpose(0, 1).contiguous()
    xyz_full = torch.zeros(1, feats.shape[0], grid * grid)
    xyz_full[:, :, nonzero] = interpolate(points, centres, feats).transpose(0, 1)
    xyz = torch.nn.AdaptiveAvgPool2d((56, 56))(torch.nn.AvgPool2d(3, stride=1)(xyz_full.view(1, -1, grid, grid)))
    return rgb_map.reshape(rgb_map.shape[0], -1).T, xyz.reshape(xyz.shape[1], -1).T, grid


def gaussian_blur(image, sigma=4.0):
    radius = int(4 * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-x * x / (2 * sigma * sigma))
    k = (k / k.sum()).float()
    padded = F.pad(image, (radius, radius, radius, radius), mode="replicate")
    rows = F.conv2d(padded, k.view(1, 1, 1, -1))
    return F.conv2d(rows, k.view(1, 1, -1, 1))


def single_score(patch, bank, grid):
    """M3DM's compute_single_s_s_map."""
    dist = torch.cdist(patch, bank)
    min_val, min_idx = torch.min(dist, dim=1)
    s_idx = torch.argmax(min_val)
    s_star = torch.max(min_val)
    m_test = patch[s_idx].unsqueeze(0)
    m_star = bank[min_idx[s_idx]].unsqueeze(0)
    _, nn_idx = torch.topk(torch.cdist(m_star, bank), k=3, largest=False)
    m_star_knn = torch.linalg.norm(m_test - bank[nn_idx[0, 1:]], dim=1)
    d = torch.sqrt(torch.tensor(patch.shape[1], dtype=torch.float32))
    w = 1 - (torch.exp(s_star / d) / torch.sum(torch.exp(m_star_knn / d)))
    side = int(math.sqrt(patch.shape[0]))
    s_map = F.interpolate(min_val.view(1, 1, side, side), size=(grid, grid), mode="bilinear", align_corners=False)
    return (w * s_star).item(), gaussian_blur(s_map)[0, 0]


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--bank", required=True)
    a.add_argument("--train", nargs="+", required=True)
    a.add_argument("--test", nargs="+", required=True)
    a.add_argument("--out", required=True)
    a.add_argument("--recipe", default="m3dm", choices=["m3dm", "per_bank"])
    args = a.parse_args()
    torch.set_grad_enabled(False)
    bank = torch.load(args.bank, weights_only=True)
    train = [patches(f) for f in args.train]
    rgb_lib = torch.cat([t[0] for t in train])
    xyz_lib = torch.cat([t[1] for t in train])
    if args.recipe == "m3dm":  # M3DM's run_coreset, cross-wired as it is
        stats = {"xyz_mean": torch.mean(xyz_lib), "xyz_std": torch.std(rgb_lib),
                 "rgb_mean": torch.mean(xyz_lib), "rgb_std": torch.std(rgb_lib)}
    else:
        stats = {"xyz_mean": torch.mean(xyz_lib), "xyz_std": torch.std(xyz_lib),
                 "rgb_mean": torch.mean(rgb_lib), "rgb_std": torch.std(rgb_lib)}
    stats = {k: v.item() for k, v in stats.items()}
    # Every bank row is a training patch normalised with the bank file's statistics.
    worst = 0.0
    for modality, lib in (("xyz", xyz_lib), ("rgb", rgb_lib)):
        normalised = (lib - bank[modality + "_mean"].item()) / bank[modality + "_std"].item()
        rows = bank[modality + "_bank"].float()
        for first in range(0, rows.shape[0], 256):
            # Direct differences: the matrix-product expansion cdist uses by default is ~1e-2 off at 0.
            d = torch.cdist(rows[first:first + 256], normalised, compute_mode="donot_use_mm_for_euclid_dist")
            worst = max(worst, d.min(dim=1).values.max().item())
    os.makedirs(args.out, exist_ok=True)
    scores = []
    xyz_bank, rgb_bank = bank["xyz_bank"].float(), bank["rgb_bank"].float()
    for i, folder in enumerate(args.test):
        rgb, xyz, grid = patches(folder)
        s_xyz, map_xyz = single_score((xyz - bank["xyz_mean"].item()) / bank["xyz_std"].item(), xyz_bank, grid)
        s_rgb, map_rgb = single_score((rgb - bank["rgb_mean"].item()) / bank["rgb_std"].item(), rgb_bank, grid)
        scores.append(s_xyz + s_rgb)
        np.save(os.path.join(args.out, f"{i}.npy"), (map_xyz + map_rgb).numpy())
    print(json.dumps({"stats": stats, "bank_rows_max_distance": worst, "scores": scores}))


if __name__ == "__main__":
    main()
