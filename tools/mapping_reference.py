#!/usr/bin/python3
"""The official mapping networks (FeatureProjectionMLP and FeatureProjectionMLP_big, restated from CFM's
models/feature_transfer_nets.py) and anomaly map (docs/method.md §5 steps 2-6), for parity tests and the
official-pipeline benchmark. Checkpoints written by cfm load with torch.load + load_state_dict (strict).

Usage:
  mapping_reference.py CHECKPOINT.pth IN_FEATURES OUT_FEATURES INPUT.npy OUTPUT.npy [--big]
      runs one network on INPUT's rows
  mapping_reference.py map TO_3D.pth TO_2D.pth RGB.npy XYZ.npy GRID OUTPUT.npy [--big]
      the smoothed anomaly map of GRID x GRID pixels from their RGB and point features (rows in raster
      order; a point row of zeros is a 3D-empty pixel), saved with the two networks' predictions as
      OUTPUT.npy (map), OUTPUT-xyz_pred.npy and OUTPUT-rgb_pred.npy
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F


class FeatureProjectionMLP(torch.nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        hidden = (in_features + out_features) // 2
        self.act_fcn = torch.nn.GELU()
        self.input = torch.nn.Linear(in_features, hidden)
        self.projection = torch.nn.Linear(hidden, hidden)
        self.output = torch.nn.Linear(hidden, out_features)

    def forward(self, x):
        x = self.act_fcn(self.input(x))
        x = self.act_fcn(self.projection(x))
        return self.output(x)


class FeatureProjectionMLP_big(torch.nn.Module):  # noqa: N801 (the official class name)
    def __init__(self, in_features, out_features):
        super().__init__()
        hidden = (in_features + out_features) // 2
        self.act_fcn = torch.nn.GELU()
        self.input = torch.nn.Linear(in_features, hidden)
        self.projection_a = torch.nn.Linear(hidden, hidden)
        self.projection_b = torch.nn.Linear(hidden, hidden)
        self.projection_c = torch.nn.Linear(hidden, hidden)
        self.projection_d = torch.nn.Linear(hidden, hidden)
        self.projection_e = torch.nn.Linear(hidden, hidden)
        self.output = torch.nn.Linear(hidden, out_features)

    def forward(self, x):
        x = self.act_fcn(self.input(x))
        for layer in (self.projection_a, self.projection_b, self.projection_c, self.projection_d,
                      self.projection_e):
            x = self.act_fcn(layer(x))
        return self.output(x)


def load_network(path, in_features, out_features, big):
    model = (FeatureProjectionMLP_big if big else FeatureProjectionMLP)(in_features, out_features)
    # strict, and weights_only as torch.load defaults to since PyTorch 2.6
    model.load_state_dict(torch.load(path, weights_only=True))
    return model.eval()


def smooth(s, grid):
    x = s.view(1, 1, grid, grid)
    for _ in range(5):
        x = F.conv2d(x, torch.ones(1, 1, 5, 5) / 25, padding=2)
    for _ in range(3):
        x = F.conv2d(x, torch.ones(1, 1, 7, 7) / 49, padding=3)
    return x.view(grid, grid)


def anomaly_map(to_3d, to_2d, rgb_patch, xyz_patch, grid):
    """The official scoring of one sample: returns the smoothed map and the two predictions."""
    xyz_pred, rgb_pred = to_3d(rgb_patch), to_2d(xyz_patch)
    mask = xyz_patch.sum(dim=-1) == 0
    s3d = torch.norm(F.normalize(xyz_pred, dim=-1) - F.normalize(xyz_patch, dim=-1), dim=-1)
    s2d = torch.norm(F.normalize(rgb_pred, dim=-1) - F.normalize(rgb_patch, dim=-1), dim=-1)
    s3d[mask], s2d[mask] = 0, 0
    s = s2d * s3d
    s[mask] = 0
    return smooth(s, grid), xyz_pred, rgb_pred


def main():
    args = [a for a in sys.argv[1:] if a != "--big"]
    big = "--big" in sys.argv[1:]
    with torch.no_grad():
        if args[0] == "map":
            to_3d_path, to_2d_path, rgb_path, xyz_path, grid, out = args[1:7]
            rgb, xyz = torch.from_numpy(np.load(rgb_path)), torch.from_numpy(np.load(xyz_path))
            to_3d = load_network(to_3d_path, rgb.shape[1], xyz.shape[1], big)
            to_2d = load_network(to_2d_path, xyz.shape[1], rgb.shape[1], big)
            s, xyz_pred, rgb_pred = anomaly_map(to_3d, to_2d, rgb, xyz, int(grid))
            np.save(out, s.numpy())
            np.save(out[:-4] + "-xyz_pred.npy", xyz_pred.numpy())
            np.save(out[:-4] + "-rgb_pred.npy", rgb_pred.numpy())
        else:
            model = load_network(args[0], int(args[1]), int(args[2]), big)
            np.save(args[4], model(torch.from_numpy(np.load(args[3]))).numpy())


if __name__ == "__main__":
    main()
