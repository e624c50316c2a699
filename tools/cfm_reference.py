#!/usr/bin/python3
"""Independent Python reference of CFM's feature pipeline (docs/method.md §3), written from the official
code's structure with plain torch, for the C++ parity tests (tests/cfm/features_parity_test.cpp).

Usage: cfm_reference.py --vit W.pth --point-mae P.pth --rgb rgb.npy --cloud cloud.npy --out DIR
                        [--vit-heads H] [--pm-heads H] [--groups G] [--group-size K] [--layers L] [--bn-batch-stats]
rgb.npy: 3 x I x I normalised image; cloud.npy: 3 x S x S organized cloud. Writes the same .npy files as
`cfm features`. Eval mode (BN running statistics, no DropPath); --bn-batch-stats uses batch statistics.
"""
import argparse
import math
import os

import numpy as np
import torch
import torch.nn.functional as F


def load_vit(path):
    sd = torch.load(path, map_location="cpu", weights_only=True)  # cfm writes plain tensor dicts
    if "teacher" in sd:
        sd = sd["teacher"]
    return {k.replace("module.", "").replace("backbone.", ""): v.float() for k, v in sd.items()}


def load_point_mae(path):
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    base = {k.replace("module.", ""): v for k, v in ckpt["base_model"].items()}
    out = {}
    for k, v in base.items():
        for prefix in ("MAE_encoder.", "base_model."):
            if k.startswith(prefix):
                k = k[len(prefix):]
        out[k] = v.float() if v.is_floating_point() else v
    return out


def vit_forward(sd, rgb, heads, layers):
    x = F.conv2d(rgb[None], sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=sd["patch_embed.proj.weight"].shape[-1])
    b, c, h, w = x.shape
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([sd["cls_token"].expand(b, -1, -1), x], dim=1) + sd["pos_embed"]
    for i in range(layers):
        p = f"blocks.{i}."
        y = F.layer_norm(x, (c,), sd[p + "norm1.weight"], sd[p + "norm1.bias"], 1e-6)
        B, N, C = y.shape
        qkv = F.linear(y, sd[p + "attn.qkv.weight"], sd[p + "attn.qkv.bias"]).reshape(B, N, 3, heads, C // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        q = q * (C // heads) ** -0.5
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        y = (attn @ v).transpose(1, 2).reshape(B, N, C)
        x = x + F.linear(y, sd[p + "attn.proj.weight"], sd[p + "attn.proj.bias"])
        y = F.layer_norm(x, (c,), sd[p + "norm2.weight"], sd[p + "norm2.bias"], 1e-6)
        y = F.linear(F.gelu(F.linear(y, sd[p + "mlp.fc1.weight"], sd[p + "mlp.fc1.bias"])), sd[p + "mlp.fc2.weight"], sd[p + "mlp.fc2.bias"])
        x = x + y
    x = F.layer_norm(x, (c,), sd["norm.weight"], sd["norm.bias"], 1e-6)
    return x[:, 1:].transpose(1, 2).reshape(c, h, w)


def furthest_point_sample(points, count):
    """The pointnet2 CUDA kernel's loop, in float32 on the CPU."""
    pts = points.numpy().astype(np.float32)
    n = pts.shape[0]
    temp = np.full(n, 1e10, dtype=np.float32)
    mag = (pts[:, 0] * pts[:, 0] + pts[:, 1] * pts[:, 1] + pts[:, 2] * pts[:, 2]).astype(np.float32)
    usable = mag > np.float32(1e-3)
    idx = [0]
    old = 0
    for _ in range(1, count):
        diff = pts - pts[old]
        d = (diff[:, 0] * diff[:, 0] + diff[:, 1] * diff[:, 1] + diff[:, 2] * diff[:, 2]).astype(np.float32)
        temp = np.where(usable, np.minimum(d, temp), temp)
        candidates = np.where(usable, temp, np.float32(-1))
        old = int(np.argmax(candidates))  # first index of the maximum
        idx.append(old)
    return torch.tensor(idx, dtype=torch.int64)


def knn(points, centres, k):
    dist = torch.norm(points[None, :, :] - centres[:, None, :], dim=-1)  # G x N, explicit differences
    return dist.topk(k, dim=1, largest=False, sorted=True).indices


def batch_norm(x, sd, prefix, batch_stats):
    if batch_stats:
        return F.batch_norm(x, None, None, sd[prefix + "weight"], sd[prefix + "bias"], True, 0.1, 1e-5)
    return F.batch_norm(x, sd[prefix + "running_mean"], sd[prefix + "running_var"], sd[prefix + "weight"], sd[prefix + "bias"], False, 0.1, 1e-5)


def point_mae_forward(sd, points, heads, groups, group_size, layers, batch_stats):
    centre_idx = furthest_point_sample(points, groups)
    centres = points[centre_idx]
    idx = knn(points, centres, group_size)
    neighborhood = points[idx] - centres[:, None, :]
    bg, n, _ = neighborhood.shape
    f = neighborhood.transpose(2, 1)
    f = F.conv1d(f, sd["encoder.first_conv.0.weight"], sd["encoder.first_conv.0.bias"])
    f = F.relu(batch_norm(f, sd, "encoder.first_conv.1.", batch_stats))
    f = F.conv1d(f, sd["encoder.first_conv.3.weight"], sd["encoder.first_conv.3.bias"])
    g = torch.max(f, dim=2, keepdim=True)[0]
    f = torch.cat([g.expand(-1, -1, n), f], dim=1)
    f = F.conv1d(f, sd["encoder.second_conv.0.weight"], sd["encoder.second_conv.0.bias"])
    f = F.relu(batch_norm(f, sd, "encoder.second_conv.1.", batch_stats))
    f = F.conv1d(f, sd["encoder.second_conv.3.weight"], sd["encoder.second_conv.3.bias"])
    x = torch.max(f, dim=2, keepdim=False)[0][None]  # 1 x G x C
    pos = F.linear(F.gelu(F.linear(centres, sd["pos_embed.0.weight"], sd["pos_embed.0.bias"])), sd["pos_embed.2.weight"], sd["pos_embed.2.bias"])[None]
    fetch = {12: [3, 7, 11], 8: [1, 4, 7], 4: [1, 2, 3]}.get(layers, [layers - 1])
    C = x.shape[-1]
    features = []
    for i in range(layers):
        p = f"blocks.blocks.{i}."
        x = x + pos
        y = F.layer_norm(x, (C,), sd[p + "norm1.weight"], sd[p + "norm1.bias"], 1e-5)
        B, N, _ = y.shape
        qkv = F.linear(y, sd[p + "attn.qkv.weight"]).reshape(B, N, 3, heads, C // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * (C // heads) ** -0.5).softmax(dim=-1)
        y = (attn @ v).transpose(1, 2).reshape(B, N, C)
        x = x + F.linear(y, sd[p + "attn.proj.weight"], sd[p + "attn.proj.bias"])
        y = F.layer_norm(x, (C,), sd[p + "norm2.weight"], sd[p + "norm2.bias"], 1e-5)
        x = x + F.linear(F.gelu(F.linear(y, sd[p + "mlp.fc1.weight"], sd[p + "mlp.fc1.bias"])), sd[p + "mlp.fc2.weight"], sd[p + "mlp.fc2.bias"])
        if i in fetch:
            features.append(F.layer_norm(x, (C,), sd["norm.weight"], sd["norm.bias"], 1e-5))
    feats = torch.cat(features, dim=-1)[0].transpose(0, 1)  # C3 x G
    return centres, centre_idx, feats


def square_distance(src, dst):
    dist = -2 * torch.matmul(src, dst.permute(1, 0))
    dist += torch.sum(src ** 2, -1).view(-1, 1)
    dist += torch.sum(dst ** 2, -1).view(1, -1)
    return dist


def interpolate(points, centres, feats):
    dists = square_distance(points, centres)
    dists, idx = dists.sort(dim=-1)
    dists, idx = dists[:, :3], idx[:, :3]
    dist_recip = 1.0 / (dists + 1e-8)
    weight = dist_recip / torch.sum(dist_recip, dim=1, keepdim=True)
    return torch.sum(feats.transpose(0, 1)[idx] * weight[:, :, None], dim=1)  # N x C


def align(rgb_map, points, nonzero, centres, feats, grid):
    """Both feature maps on the grid x grid pixels (grid² x C each), as the official code aligns them."""
    per_point = interpolate(points, centres, feats)
    full = torch.zeros(feats.shape[0], grid * grid)
    full[:, nonzero] = per_point.transpose(0, 1)
    full = full.view(1, -1, grid, grid)
    full = torch.nn.AvgPool2d(3, stride=1)(full)
    full = torch.nn.AdaptiveAvgPool2d((grid, grid))(full)
    xyz_patch = full.reshape(feats.shape[0], -1).T
    rgb_patch = F.interpolate(rgb_map[None], size=grid, mode="bilinear", align_corners=False).reshape(rgb_map.shape[0], -1).T
    return rgb_patch, xyz_patch


def main():
    a = argparse.ArgumentParser()
    for name in ("--vit", "--point-mae", "--rgb", "--cloud", "--out"):
        a.add_argument(name, required=True)
    a.add_argument("--vit-heads", type=int, default=12)
    a.add_argument("--pm-heads", type=int, default=6)
    a.add_argument("--groups", type=int, default=1024)
    a.add_argument("--group-size", type=int, default=128)
    a.add_argument("--layers", type=int, default=12)
    a.add_argument("--bn-batch-stats", action="store_true")
    args = a.parse_args()
    torch.set_grad_enabled(False)
    rgb = torch.from_numpy(np.load(args.rgb))
    cloud = torch.from_numpy(np.load(args.cloud))
    grid = cloud.shape[-1]
    rgb_map = vit_forward(load_vit(args.vit), rgb, args.vit_heads, args.layers)
    flat = cloud.reshape(3, -1)
    nonzero = torch.nonzero(torch.all(flat != 0, dim=0)).squeeze(1)
    points = flat[:, nonzero].transpose(0, 1).contiguous()
    centres, centre_idx, feats = point_mae_forward(load_point_mae(args.point_mae), points, args.pm_heads, args.groups,
                                                   args.group_size, args.layers, args.bn_batch_stats)
    rgb_patch, xyz_patch = align(rgb_map, points, nonzero, centres, feats, grid)
    os.makedirs(args.out, exist_ok=True)
    for name, value in {"rgb_map": rgb_map, "centers": centres, "center_idx": centre_idx, "xyz_group_feats": feats,
                        "rgb_patch": rgb_patch, "xyz_patch": xyz_patch, "mask": xyz_patch.sum(dim=1) == 0}.items():
        np.save(os.path.join(args.out, name + ".npy"), np.ascontiguousarray(value.numpy()))


if __name__ == "__main__":
    main()
