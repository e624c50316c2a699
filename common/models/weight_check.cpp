#include "common/models/weight_check.h"

#include <fmt/format.h>

#include <set>

#include "common/util/error.h"

namespace cfm {

namespace {
std::string shape_text(at::IntArrayRef shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }
}  // namespace

void check_weights(const StateDict& weights, const std::vector<ExpectedTensor>& expected,
                   const std::vector<std::string>& allowed_extra, const std::string& path,
                   const std::string& model) {
  std::vector<std::string> missing, misshaped, unexpected;
  std::set<std::string> wanted;
  for (const ExpectedTensor& e : expected) {
    wanted.insert(e.key);
    auto it = weights.find(e.key);
    if (it == weights.end())
      missing.push_back(e.key);
    else if (it->second.sizes() != at::IntArrayRef(e.shape))
      misshaped.push_back(
          fmt::format("{} is {} (expected {})", e.key, shape_text(it->second.sizes()), shape_text(e.shape)));
  }
  for (const auto& [key, tensor] : weights) {
    if (wanted.count(key)) continue;
    bool allowed = false;
    for (const std::string& prefix : allowed_extra)
      allowed = allowed || key.compare(0, prefix.size(), prefix) == 0;
    if (!allowed) unexpected.push_back(key);
  }
  if (missing.empty() && misshaped.empty() && unexpected.empty()) return;
  auto list = [](const std::vector<std::string>& items) {
    constexpr std::size_t kShown = 12;
    std::string text = fmt::format(
        "{}", fmt::join(items.begin(),
                        items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), kShown)), ", "));
    if (items.size() > kShown) text += fmt::format(", ... ({} more)", items.size() - kShown);
    return text;
  };
  std::string message = "weights do not fit the " + model + ":";
  if (!missing.empty()) message += fmt::format(" {} missing ({});", missing.size(), list(missing));
  if (!misshaped.empty())
    message += fmt::format(" {} with the wrong shape ({});", misshaped.size(), list(misshaped));
  if (!unexpected.empty())
    message += fmt::format(" {} unexpected ({});", unexpected.size(), list(unexpected));
  message.pop_back();
  throw FormatError(path, message);
}

void append_transformer_block(std::vector<ExpectedTensor>& expected, const std::string& b, std::int64_t d,
                              std::int64_t hidden, bool qkv_bias) {
  for (const char* n : {"norm1", "norm2"}) {
    expected.push_back({b + n + ".weight", {d}});
    expected.push_back({b + n + ".bias", {d}});
  }
  expected.push_back({b + "attn.qkv.weight", {3 * d, d}});
  if (qkv_bias) expected.push_back({b + "attn.qkv.bias", {3 * d}});
  expected.push_back({b + "attn.proj.weight", {d, d}});
  expected.push_back({b + "attn.proj.bias", {d}});
  expected.push_back({b + "mlp.fc1.weight", {hidden, d}});
  expected.push_back({b + "mlp.fc1.bias", {hidden}});
  expected.push_back({b + "mlp.fc2.weight", {d, hidden}});
  expected.push_back({b + "mlp.fc2.bias", {d}});
}

std::string remove_all(std::string key, const std::string& piece) {
  for (std::size_t at = key.find(piece); at != std::string::npos; at = key.find(piece))
    key.erase(at, piece.size());
  return key;
}

const at::Tensor& required_tensor(const StateDict& weights, const std::string& key, const std::string& path,
                                  const std::string& model) {
  auto it = weights.find(key);
  if (it == weights.end()) throw FormatError(path, "not a " + model + " checkpoint: no tensor '" + key + "'");
  return it->second;
}

}  // namespace cfm
