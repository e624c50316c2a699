// Reading and writing the weight files users download, as they are (docs/architecture.md §8, "Python
// checkpoints"): PyTorch's zip `.pth` (torch.save since 1.6) and safetensors.
//
//   cfm::StateDict weights = cfm::read_checkpoint("pretrain.pth");
//   // nested dictionaries are flattened with '.': "base_model.encoder.first_conv.0.weight"
//
// Non-tensor entries (epoch numbers, optimizer hyper-parameters, argparse namespaces...) are skipped.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

namespace cfm {

using StateDict = std::map<std::string, at::Tensor>;

// Detects the format from the file's first bytes. Throws IoError / FormatError naming the file.
StateDict read_checkpoint(const std::string& path);
StateDict read_torch_zip_checkpoint(const std::string& path);
StateDict read_safetensors(const std::string& path);

// Writes a `torch.save`-compatible zip file of {group: {key: tensor}} (group "" = top level), readable by
// Python's torch.load, e.g. {"base_model": {...}} for Point-MAE's layout.
void write_torch_checkpoint(const std::string& path, const std::map<std::string, StateDict>& groups);

// Keys of `weights` below `prefix.` with the prefix removed (e.g. the "base_model" sub-dictionary).
StateDict sub_dict(const StateDict& weights, const std::string& prefix);

}  // namespace cfm
