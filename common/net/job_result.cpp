#include "common/net/job_result.h"

#include <limits>

#include "common/net/protocol_error.h"
#include "common/util/excerpt.h"

namespace cfm::net {
namespace {

using nlohmann::json;

[[noreturn]] void refuse(const std::string& what, const std::string& expected) {
  throw ProtocolError("result: " + excerpt(what, 200) + " is not " + expected);
}

// The member `name` of `j` when present (nullptr when absent); `j` must be an object.
const json* member(const json& j, const char* name) {
  auto it = j.find(name);
  return it == j.end() ? nullptr : &*it;
}

const json& object_at(const json* section, const std::string& name) {
  if (!section->is_object()) refuse("'" + name + "'", "an object");
  return *section;
}

double number_at(const json& value, const std::string& name) {
  if (!value.is_number()) refuse(name, "a number");
  return value.get<double>();
}

std::int64_t count_at(const json& value, const std::string& name) {
  if (!value.is_number_integer() && !value.is_number_unsigned()) refuse(name, "an integer");
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > std::numeric_limits<std::int64_t>::max())
    refuse(name, "an integer within range");
  return value.get<std::int64_t>();
}

std::string text_at(const json& value, const std::string& name) {
  if (!value.is_string()) refuse(name, "a string");
  return value.get<std::string>();
}

std::vector<double> numbers_at(const json* section, const std::string& name) {
  if (!section->is_array()) refuse("'" + name + "'", "an array");
  std::vector<double> out;
  for (const json& v : *section) out.push_back(number_at(v, "an entry of '" + name + "'"));
  return out;
}

template <typename Read>
auto map_of(const json* section, const std::string& name, Read read) {
  std::map<std::string, decltype(read(json(), std::string()))> out;
  for (const auto& [key, value] : object_at(section, name).items())
    out[key] = read(value, "'" + name + "." + key + "'");
  return out;
}

JobResources resources_from_json(const json& r) {
  JobResources out;
  if (const json* v = member(r, "device")) out.device = text_at(*v, "'resources.device'");
  if (const json* v = member(r, "world_size"))
    out.world_size = static_cast<int>(count_at(*v, "'resources.world_size'"));
  if (const json* v = member(r, "peak_rss_bytes"))
    out.peak_rss_bytes = count_at(*v, "'resources.peak_rss_bytes'");
  if (const json* v = member(r, "peak_gpu_bytes"))
    out.peak_gpu_bytes = count_at(*v, "'resources.peak_gpu_bytes'");
  if (const json* v = member(r, "parameters")) out.parameters = count_at(*v, "'resources.parameters'");
  if (const json* v = member(r, "model_bytes")) out.model_bytes = count_at(*v, "'resources.model_bytes'");
  if (const json* v = member(r, "inference_fps"))
    out.inference_fps = number_at(*v, "'resources.inference_fps'");
  if (const json* v = member(r, "ranks")) {
    if (!v->is_array()) refuse("'resources.ranks'", "an array");
    for (const json& rank : *v) out.ranks.push_back(RankResources::from_json(rank));
  }
  if (out.world_size < 1) refuse("'resources.world_size'", "positive");
  return out;
}

json resources_to_json(const JobResources& r) {
  json out = {{"device", r.device}, {"world_size", r.world_size}, {"peak_rss_bytes", r.peak_rss_bytes}};
  if (r.peak_gpu_bytes) out["peak_gpu_bytes"] = *r.peak_gpu_bytes;
  if (r.parameters) out["parameters"] = *r.parameters;
  if (r.model_bytes) out["model_bytes"] = *r.model_bytes;
  if (r.inference_fps) out["inference_fps"] = *r.inference_fps;
  if (!r.ranks.empty()) {
    out["ranks"] = json::array();
    for (const RankResources& rank : r.ranks) out["ranks"].push_back(rank.to_json());
  }
  return out;
}

}  // namespace

json RankResources::to_json() const {
  json out = {{"rank", rank},
              {"device", device},
              {"peak_rss_bytes", peak_rss_bytes},
              {"all_reduce_seconds", all_reduce_seconds},
              {"infer_seconds", infer_seconds}};
  if (peak_gpu_bytes) out["peak_gpu_bytes"] = *peak_gpu_bytes;
  return out;
}

RankResources RankResources::from_json(const json& j) {
  if (!j.is_object()) refuse("a rank's resources", "an object");
  RankResources r;
  if (const json* v = member(j, "rank")) r.rank = static_cast<int>(count_at(*v, "a rank's 'rank'"));
  if (const json* v = member(j, "device")) r.device = text_at(*v, "a rank's 'device'");
  if (const json* v = member(j, "peak_rss_bytes"))
    r.peak_rss_bytes = count_at(*v, "a rank's 'peak_rss_bytes'");
  if (const json* v = member(j, "peak_gpu_bytes"))
    r.peak_gpu_bytes = count_at(*v, "a rank's 'peak_gpu_bytes'");
  if (const json* v = member(j, "all_reduce_seconds"))
    r.all_reduce_seconds = number_at(*v, "a rank's 'all_reduce_seconds'");
  if (const json* v = member(j, "infer_seconds")) r.infer_seconds = number_at(*v, "a rank's 'infer_seconds'");
  return r;
}

json JobResult::to_json() const {
  json out = {{"metrics", json::object()}, {"timings", timings}, {"resources", resources_to_json(resources)}};
  for (const auto& [name, value] : metrics) out["metrics"][name] = value ? json(*value) : json();
  if (!artifacts.empty()) out["artifacts"] = artifacts;
  if (!counts.empty()) out["counts"] = counts;
  if (!train_files.empty()) out["train_files"] = train_files;
  if (!epoch_loss.empty()) out["epoch_loss"] = epoch_loss;
  if (cache) out["cache"] = {{"hits", cache->first}, {"misses", cache->second}};
  if (!pro_fpr.empty()) out["pro_curve"] = {{"fpr", pro_fpr}, {"pro", pro}};
  if (!config.empty()) out["config"] = config;
  return out;
}

JobResult JobResult::from_json(const json& j) {
  if (!j.is_object()) refuse("the result", "an object");
  JobResult r;
  if (const json* s = member(j, "metrics"))
    r.metrics = map_of(s, "metrics", [](const json& v, const std::string& name) -> std::optional<double> {
      if (v.is_null()) return std::nullopt;
      return number_at(v, name);
    });
  if (const json* s = member(j, "timings")) r.timings = map_of(s, "timings", number_at);
  if (const json* s = member(j, "resources")) r.resources = resources_from_json(object_at(s, "resources"));
  if (const json* s = member(j, "artifacts")) r.artifacts = map_of(s, "artifacts", text_at);
  if (const json* s = member(j, "counts")) r.counts = map_of(s, "counts", count_at);
  if (const json* s = member(j, "train_files")) {
    if (!s->is_array()) refuse("'train_files'", "an array");
    for (const json& name : *s) r.train_files.push_back(text_at(name, "an entry of 'train_files'"));
  }
  if (const json* s = member(j, "epoch_loss")) r.epoch_loss = numbers_at(s, "epoch_loss");
  if (const json* s = member(j, "cache")) {
    const json& cache = object_at(s, "cache");
    const json *hits = member(cache, "hits"), *misses = member(cache, "misses");
    if (!hits || !misses) refuse("'cache'", "{hits, misses}");
    r.cache = std::pair{count_at(*hits, "'cache.hits'"), count_at(*misses, "'cache.misses'")};
  }
  if (const json* s = member(j, "pro_curve")) {
    const json& curve = object_at(s, "pro_curve");
    const json *fpr = member(curve, "fpr"), *pro = member(curve, "pro");
    if (!fpr || !pro) refuse("'pro_curve'", "{fpr, pro}");
    r.pro_fpr = numbers_at(fpr, "pro_curve.fpr");
    r.pro = numbers_at(pro, "pro_curve.pro");
    if (r.pro_fpr.size() != r.pro.size()) refuse("'pro_curve'", "two arrays of one length");
  }
  if (const json* s = member(j, "config")) r.config = object_at(s, "config");
  return r;
}

void add_rank_resources(JobResult& result, std::vector<RankResources> ranks) {
  result.resources.ranks = std::move(ranks);
}

}  // namespace cfm::net
