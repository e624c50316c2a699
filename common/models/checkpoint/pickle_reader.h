// A small interpreter for the pickle programs torch.save writes (protocol 2, also the protocol-4 opcodes
// Python may emit), enough for state dicts and whole training checkpoints: dicts and OrderedDicts,
// lists, tuples, numbers, strings, None, tensors rebuilt by torch._utils._rebuild_tensor_v2 /
// _rebuild_parameter over shared storages, and any other class as an opaque object (skipped).
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cfm::pickle {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum class Kind { None, Bool, Int, Float, String, Tensor, List, Tuple, Dict, Global, Object, Storage };
  Kind kind = Kind::None;
  bool boolean = false;
  std::int64_t integer = 0;
  double real = 0;
  std::string text;                                    // String; Global/Object: "module.name"
  at::Tensor tensor;                                   // Tensor; Storage: the flat storage
  std::vector<ValuePtr> items;                         // List, Tuple
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // Dict (in insertion order)
};

// Returns the storage tensor (1-D, `numel` elements of `scalar_type`) for a persistent id.
using StorageLoader =
    std::function<at::Tensor(const std::string& key, at::ScalarType type, std::int64_t numel)>;

// Runs the pickle program in `bytes`. `where` names the file in errors (FormatError).
ValuePtr unpickle(const std::string& bytes, const StorageLoader& load_storage, const std::string& where);

}  // namespace cfm::pickle
