#!/usr/bin/python3
"""Loads a C++-written mapping-network checkpoint into the official FeatureProjectionMLP (restated from
CFM's models/feature_transfer_nets.py) with torch.load + load_state_dict, and runs it on an input.

Usage: mapping_reference.py CHECKPOINT.pth IN_FEATURES OUT_FEATURES INPUT.npy OUTPUT.npy
"""
import sys

import numpy as np
import torch


class FeatureProjectionMLP(torch.nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        hidden = (in_features + out_features) // 2
        self.input = torch.nn.Linear(in_features, hidden)
        self.projection = torch.nn.Linear(hidden, hidden)
        self.output = torch.nn.Linear(hidden, out_features)
        self.act_fcn = torch.nn.GELU()

    def forward(self, x):
        x = self.act_fcn(self.input(x))
        x = self.act_fcn(self.projection(x))
        return self.output(x)


def main():
    model = FeatureProjectionMLP(int(sys.argv[2]), int(sys.argv[3]))
    # strict, and weights_only as torch.load defaults to since PyTorch 2.6
    model.load_state_dict(torch.load(sys.argv[1], weights_only=True))
    with torch.no_grad():
        out = model(torch.from_numpy(np.load(sys.argv[4])))
    np.save(sys.argv[5], out.numpy())


if __name__ == "__main__":
    main()
