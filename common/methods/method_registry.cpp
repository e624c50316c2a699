#include "common/methods/method_registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <mutex>

#include "common/util/error.h"
#include "common/util/excerpt.h"

namespace cfm {
namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, CategoryMethodFactory> factories;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void register_category_method(const std::string& name, CategoryMethodFactory factory) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  registry().factories[name] = std::move(factory);
}

std::vector<std::string> registered_category_methods() {
  std::lock_guard<std::mutex> lock(registry().mutex);
  std::vector<std::string> names;
  for (const auto& entry : registry().factories) names.push_back(entry.first);
  return names;
}

std::unique_ptr<CategoryMethod> make_category_method(const std::string& name,
                                                     const CategoryJobSettings& settings,
                                                     const std::string& category, const at::Device& device,
                                                     const std::string& cache_dir) {
  CategoryMethodFactory factory;
  {
    std::lock_guard<std::mutex> lock(registry().mutex);
    auto it = registry().factories.find(name);
    if (it != registry().factories.end()) factory = it->second;
  }
  if (!factory)
    throw UsageError(fmt::format("method '{}' does not run on a category (this cfm has: {})", excerpt(name),
                                 fmt::join(registered_category_methods(), ", ")));
  return factory(settings, category, device, cache_dir);
}

}  // namespace cfm
