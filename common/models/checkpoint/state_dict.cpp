#include "common/models/checkpoint/state_dict.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/torch.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "common/models/checkpoint/pickle_reader.h"
#include "common/util/error.h"
#include "common/util/whole_file.h"

namespace cfm {
namespace {

std::string first_bytes(const std::string& path, std::size_t n) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, "cannot open checkpoint file");
  std::string head(n, '\0');
  in.read(head.data(), static_cast<std::streamsize>(n));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return head;
}

std::string key_text(const pickle::ValuePtr& key) {
  if (key->kind == pickle::Value::Kind::String) return key->text;
  if (key->kind == pickle::Value::Kind::Int) return std::to_string(key->integer);
  return "";
}

// torch::pickle_save's container and pickle, without its type tags: LibTorch's pickler wraps typed dicts
// in torch.jit._pickle.restore_type_tag, a global that torch.load refuses by default since PyTorch 2.6
// (weights_only=True), so files carrying it would not load in the official Python code. Untagged, the
// pickle uses only what Python's own torch.save writes (dict, _rebuild_tensor_v2, storages).
std::vector<char> torch_save_bytes(const c10::IValue& value) {
  std::vector<char> pickle;
  torch::jit::Pickler pickler(
      [&](const char* bytes, std::size_t size) { pickle.insert(pickle.end(), bytes, bytes + size); },
      /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
      /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(value);
  pickler.stop();
  std::vector<char> container;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* bytes, std::size_t size) {
    const char* begin = static_cast<const char*>(bytes);
    if (size > 0) container.insert(container.end(), begin, begin + size);
    return size;
  });
  torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(), pickler.tensorData(), writer);
  writer.writeEndOfFile();
  return container;
}

// Nested dictionaries become dotted keys; everything that is not a tensor or a dictionary is skipped.
void flatten(const pickle::ValuePtr& value, const std::string& prefix, StateDict& out) {
  if (value->kind == pickle::Value::Kind::Tensor) {
    out[prefix] = value->tensor;
  } else if (value->kind == pickle::Value::Kind::Dict) {
    for (const auto& [key, item] : value->entries) {
      std::string name = key_text(key);
      if (!name.empty()) flatten(item, prefix.empty() ? name : prefix + "." + name, out);
    }
  }
}

}  // namespace

StateDict read_torch_zip_checkpoint(const std::string& path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    throw FormatError(
        path, "not a readable PyTorch zip checkpoint (" + std::string(e.what_without_backtrace()) + ")");
  }
  if (!reader->hasRecord("data.pkl"))
    throw FormatError(path, "PyTorch zip checkpoint without data.pkl (a TorchScript archive?)");
  auto [pickle_data, pickle_size] = reader->getRecord("data.pkl");
  std::string program(static_cast<const char*>(pickle_data.get()), pickle_size);
  auto load_storage = [&](const std::string& key, at::ScalarType type, std::int64_t numel) {
    std::string record = "data/" + key;
    if (!reader->hasRecord(record)) throw FormatError(path, "missing tensor record " + record);
    auto [data, size] = reader->getRecord(record);
    at::Tensor storage = torch::empty({numel}, torch::TensorOptions().dtype(type));
    std::size_t bytes = static_cast<std::size_t>(numel) * storage.element_size();
    if (size < bytes) throw FormatError(path, "tensor record " + record + " is truncated");
    std::memcpy(storage.data_ptr(), data.get(), bytes);
    return storage;
  };
  StateDict out;
  try {
    flatten(pickle::unpickle(program, load_storage, path), "", out);
  } catch (const c10::Error& e) {
    throw FormatError(path, "cannot rebuild tensors: " + std::string(e.what_without_backtrace()));
  }
  return out;
}

StateDict read_safetensors(const std::string& path) {
  const std::string file = read_whole_file(path, "the checkpoint");
  if (file.size() < 8) throw FormatError(path, "too short for a safetensors file");
  std::uint64_t header_size;
  std::memcpy(&header_size, file.data(), 8);
  if (header_size > file.size() - 8) throw FormatError(path, "safetensors header length exceeds the file");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(file.substr(8, header_size));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, std::string("bad safetensors header: ") + e.what());
  }
  static const std::map<std::string, at::ScalarType> kTypes = {
      {"F32", at::kFloat}, {"F64", at::kDouble}, {"F16", at::kHalf},  {"BF16", at::kBFloat16},
      {"I64", at::kLong},  {"I32", at::kInt},    {"I16", at::kShort}, {"I8", at::kChar},
      {"U8", at::kByte},   {"BOOL", at::kBool}};
  const std::size_t data_start = 8 + header_size;
  StateDict out;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    auto type = kTypes.find(info.value("dtype", ""));
    if (type == kTypes.end())
      throw FormatError(path, "tensor " + name + " has unsupported dtype " + info.value("dtype", "?"));
    std::vector<std::int64_t> shape = info.at("shape").get<std::vector<std::int64_t>>();
    auto offsets = info.at("data_offsets").get<std::vector<std::uint64_t>>();
    at::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(type->second));
    std::size_t bytes = static_cast<std::size_t>(t.numel()) * t.element_size();
    if (offsets.size() != 2 || offsets[1] - offsets[0] != bytes || data_start + offsets[1] > file.size())
      throw FormatError(
          path, "tensor " + name + ": data offsets do not match its shape and dtype, or exceed the file");
    std::memcpy(t.data_ptr(), file.data() + data_start + offsets[0], bytes);
    out[name] = t;
  }
  return out;
}

StateDict read_checkpoint(const std::string& path) {
  std::string head = first_bytes(path, 9);
  if (head.size() >= 2 && head[0] == 'P' && head[1] == 'K') return read_torch_zip_checkpoint(path);
  if (head.size() == 9 && head[8] == '{') return read_safetensors(path);
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x80)
    throw FormatError(
        path,
        "legacy (pre-1.6) torch.save format: load it in Python and save it again with torch.save "
        "(the default zip format) or as safetensors");
  throw FormatError(path, "unknown checkpoint format (expected a PyTorch zip .pth or a .safetensors file)");
}

void write_torch_checkpoint(const std::string& path, const std::map<std::string, StateDict>& groups) {
  // Tensors are written from the CPU whatever their device, so that the files load anywhere.
  c10::impl::GenericDict top(c10::StringType::get(), c10::AnyType::get());
  for (const auto& [group, tensors] : groups) {
    c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
    for (const auto& [key, tensor] : tensors) dict.insert(key, tensor.cpu().contiguous());
    if (group.empty()) {
      for (const auto& [key, tensor] : tensors) top.insert(key, tensor.cpu().contiguous());
    } else {
      top.insert(group, dict);
    }
  }
  std::vector<char> bytes = torch_save_bytes(top);
  write_whole_file(path, bytes.data(), bytes.size());
}

StateDict sub_dict(const StateDict& weights, const std::string& prefix) {
  StateDict out;
  std::string p = prefix + ".";
  for (const auto& [key, tensor] : weights)
    if (key.compare(0, p.size(), p) == 0) out[key.substr(p.size())] = tensor;
  return out;
}

}  // namespace cfm
