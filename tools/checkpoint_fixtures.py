#!/usr/bin/python3
"""Checkpoint files in the layouts users download, written by Python's torch.save, plus every tensor as
.npy for comparison (tests/models/checkpoint_test.cpp).

Usage: checkpoint_fixtures.py write OUTDIR      -> OUTDIR/nested.pth, OUTDIR/flat.safetensors, OUTDIR/expected/*.npy
       checkpoint_fixtures.py verify FILE.pth GROUP.KEY SUM -> torch.load(FILE)[GROUP][KEY] must sum to SUM
"""
import argparse
import collections
import json
import struct
import sys

import numpy as np
import torch


def save_expected(folder, name, tensor):
    np.save(f"{folder}/expected/{name}.npy", np.ascontiguousarray(tensor.detach().float().numpy()))


def write(folder):
    import os
    os.makedirs(f"{folder}/expected", exist_ok=True)
    g = torch.Generator().manual_seed(0)
    base = torch.randn(6, 4, generator=g)
    state = collections.OrderedDict()
    state["module.encoder.weight"] = torch.nn.Parameter(torch.randn(3, 5, generator=g))
    state["module.encoder.view"] = base[::2, 1:]            # a strided view of a shared storage
    state["module.encoder.transposed"] = base.t()           # same storage, other strides
    state["module.half"] = torch.randn(7, generator=g).half()
    state["module.bf16"] = torch.randn(2, 2, generator=g).bfloat16()
    state["module.bn.num_batches_tracked"] = torch.tensor(12345678901, dtype=torch.int64)
    state["module.double"] = torch.randn(2, 3, generator=g, dtype=torch.float64)
    state._metadata = {"": {"version": 1}}
    checkpoint = {
        "base_model": state,
        "optimizer": {"state": {0: {"step": 3, "exp_avg": torch.ones(2)}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1], "amsgrad": False}]},
        "epoch": 300,
        "metrics": {"acc": 0.5, "name": "x" * 300, "none": None, "big": 2 ** 40, "neg": -7},
        "args": argparse.Namespace(lr=0.1, name="run"),
    }
    torch.save(checkpoint, f"{folder}/nested.pth")
    for key, tensor in state.items():
        save_expected(folder, "base_model." + key, tensor)
    save_expected(folder, "optimizer.state.0.exp_avg", torch.ones(2))

    # safetensors, written by hand (json header + raw little-endian bytes)
    tensors = {"blocks.0.attn.qkv.weight": torch.randn(6, 2, generator=g), "cls_token": torch.randn(1, 1, 2, generator=g)}
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        raw = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
        np.save(f"{folder}/expected/st.{name}.npy", t.numpy())
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    with open(f"{folder}/flat.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def verify(path, key, expected_sum):
    group, _, name = key.partition(".")  # "<group>.<state-dict key>"
    # weights_only: what torch.load does by default since PyTorch 2.6; cfm's files must pass it.
    value = torch.load(path, weights_only=True)[group][name]
    total = float(value.double().sum())
    if abs(total - float(expected_sum)) > 1e-6 * max(1.0, abs(total)):
        raise SystemExit(f"sum {total} != {expected_sum}")
    print("ok", total)


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        verify(sys.argv[2], sys.argv[3], sys.argv[4])
