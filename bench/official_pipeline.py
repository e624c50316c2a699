#!/usr/bin/python3
"""Times the official CFM pipeline's steps (docs/method.md §3-5: cfm_inference.py and cfm_training.py,
restated with plain torch from tools/cfm_reference.py since the official repository cannot be fetched here)
on the inputs `build/bench/cfm_pipeline_benchmark --dir DIR` wrote; writes its maps beside cfm's
(inputs/<i>/official_map.npy) and its losses for bench/official_comparison.sh to compare.

Usage: official_pipeline.py DIR [--epochs E] [--threads T]     -> prints one JSON line

As the official code runs on a CPU: one sample at a time; ViT and Point-MAE forwards; FPS (the pointnet2
CUDA kernel's loop in NumPy, the only part that has no CPU original); KNN from the full N x G distance
matrix; interpolation from fully sorted distance rows; AvgPool2d + AdaptiveAvgPool2d; both mapping networks
on all 50,176 pixels; normalised discrepancies; 5 + 3 zero-padded mean filters by conv2d. Training
re-extracts every sample's features in every epoch (no cache), stacks the batch, runs the networks on every
pixel, masks, and takes one Adam step per batch. Backbones in eval mode (BatchNorm running statistics, no
DropPath), as cfm's default, so maps and losses can be compared. Threads: torch's defaults unless given.
"""
import argparse
import glob
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import cfm_reference as ref  # noqa: E402
from mapping_reference import FeatureProjectionMLP, anomaly_map  # noqa: E402

GRID = 224


def features(vit, point_mae, rgb, cloud):
    rgb_map = ref.vit_forward(vit, rgb, 12, 12)
    flat = cloud.reshape(3, -1)
    nonzero = torch.nonzero(torch.all(flat != 0, dim=0)).squeeze(1)
    points = flat[:, nonzero].transpose(0, 1).contiguous()
    centres, _, feats = ref.point_mae_forward(point_mae, points, 6, 1024, 128, 12, False)
    return ref.align(rgb_map, points, nonzero, centres, feats, GRID)


def training_loss(to_3d, to_2d, rgb, xyz):
    keep = ~(xyz.sum(dim=-1) == 0)
    cos = torch.nn.CosineSimilarity(dim=-1, eps=1e-6)
    loss_3d = 1 - cos(to_3d(rgb)[keep], xyz[keep]).mean()
    loss_2d = 1 - cos(to_2d(xyz)[keep], rgb[keep]).mean()
    return loss_3d, loss_2d


def main():
    a = argparse.ArgumentParser()
    a.add_argument("dir")
    a.add_argument("--epochs", type=int, default=2)
    a.add_argument("--threads", type=int, default=0)
    args = a.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    vit = ref.load_vit(glob.glob(f"{args.dir}/weights/*vit*.pth")[0])
    point_mae = ref.load_point_mae(glob.glob(f"{args.dir}/weights/*pointmae*.pth")[0])
    to_3d, to_2d = FeatureProjectionMLP(768, 1152), FeatureProjectionMLP(1152, 768)
    to_3d.load_state_dict(torch.load(f"{args.dir}/mappers-initial/CFM_2Dto3D.pth", weights_only=True))
    to_2d.load_state_dict(torch.load(f"{args.dir}/mappers-initial/CFM_3Dto2D.pth", weights_only=True))
    folders = sorted(glob.glob(f"{args.dir}/inputs/*"), key=lambda p: int(os.path.basename(p)))
    inputs = [(torch.from_numpy(np.load(f"{f}/rgb_input.npy")), torch.from_numpy(np.load(f"{f}/cloud_input.npy")))
              for f in folders]

    with torch.no_grad():
        anomaly_map(to_3d, to_2d, *features(vit, point_mae, *inputs[0]), GRID)  # warm-up, as cfm's
        start, maps = time.perf_counter(), []
        for rgb, cloud in inputs:
            maps.append(anomaly_map(to_3d, to_2d, *features(vit, point_mae, rgb, cloud), GRID)[0].numpy())
        inference = (time.perf_counter() - start) / len(inputs)
    for folder, m in zip(folders, maps):
        np.save(f"{folder}/official_map.npy", m)

    optimizer = torch.optim.Adam(list(to_3d.parameters()) + list(to_2d.parameters()))
    losses, epoch_seconds = [], []
    for _ in range(args.epochs):
        start = time.perf_counter()
        patches = [features(vit, point_mae, rgb, cloud) for rgb, cloud in inputs]  # re-extracted each epoch
        rgb = torch.stack([p[0] for p in patches])
        xyz = torch.stack([p[1] for p in patches])
        loss_3d, loss_2d = training_loss(to_3d, to_2d, rgb, xyz)
        optimizer.zero_grad()
        loss_3d.backward()
        loss_2d.backward()
        optimizer.step()
        losses.append(float(loss_3d + loss_2d))
        epoch_seconds.append(time.perf_counter() - start)

    print(json.dumps({
        "threads": torch.get_num_threads(),
        "inference_seconds_per_sample": inference,
        "train_seconds_per_sample_epoch": sum(epoch_seconds) / len(epoch_seconds) / len(inputs),
        "train_epoch_loss": losses,
    }))


if __name__ == "__main__":
    main()
