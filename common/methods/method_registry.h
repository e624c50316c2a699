// The detection methods a job can name, each registered by its own folder (common/cfm/,
// common/memory_bank/): this layer and the job body never name an implementation. The program's entry
// point registers the methods it is built with, once, before any job runs:
//
//   register_cfm_method();                                       // common/cfm/cfm_method.h
//   auto m = make_category_method("cfm", settings, "bagel", device, cache_dir);
#pragma once

#include <c10/core/Device.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/methods/category_method.h"

namespace cfm {

// Builds a method for one category with its backbones loaded. `cache_dir` empty: no feature cache.
using CategoryMethodFactory = std::function<std::unique_ptr<CategoryMethod>(
    const CategoryJobSettings& settings, const std::string& category, const at::Device& device,
    const std::string& cache_dir)>;

// Adds (or replaces) the method called `name`.
void register_category_method(const std::string& name, CategoryMethodFactory factory);

// The names registered so far, sorted.
std::vector<std::string> registered_category_methods();

// The method a job names, built by its factory (Error naming a bad weights file); UsageError listing the
// registered ones when no method has that name.
std::unique_ptr<CategoryMethod> make_category_method(const std::string& name,
                                                     const CategoryJobSettings& settings,
                                                     const std::string& category, const at::Device& device,
                                                     const std::string& cache_dir);

}  // namespace cfm
