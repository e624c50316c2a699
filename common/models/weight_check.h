// Strict weight loading: every tensor a backbone needs must be present with the right shape. The official
// code loads Point-MAE non-strictly, so a prefix mistake silently leaves random weights (checklist §8.18);
// here the whole list of missing, mis-shaped and unexpected keys goes into one error.
#pragma once

#include <string>
#include <vector>

#include "common/models/checkpoint/state_dict.h"

namespace cfm {

struct ExpectedTensor {
  std::string key;
  std::vector<std::int64_t> shape;
};

// `allowed_extra` are prefixes of keys that may be present and are ignored (decoder, head, pruned blocks).
void check_weights(const StateDict& weights, const std::vector<ExpectedTensor>& expected,
                   const std::vector<std::string>& allowed_extra, const std::string& path,
                   const std::string& model);

// The tensors of one pre-norm transformer block below `prefix` (norm1, attn.qkv, attn.proj, norm2,
// mlp.fc1, mlp.fc2), shared by the ViT and Point-MAE layouts; Point-MAE's qkv has no bias.
void append_transformer_block(std::vector<ExpectedTensor>& expected, const std::string& prefix,
                              std::int64_t dim, std::int64_t mlp_hidden, bool qkv_bias);

// `key` with every occurrence of `piece` removed (e.g. "module." from DataParallel checkpoints).
std::string remove_all(std::string key, const std::string& piece);

// Tensor `key`, or a FormatError naming the file and the model it was expected for.
const at::Tensor& required_tensor(const StateDict& weights, const std::string& key, const std::string& path,
                                  const std::string& model);

}  // namespace cfm
