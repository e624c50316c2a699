#include "common/methods/method_registry.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/util/error.h"

namespace cfm {
namespace {

// The registry builds what a method's factory makes, with the arguments given; a name no method
// registered is refused, listing the ones there are.
TEST(MethodRegistry, BuildsARegisteredMethodAndRefusesAnUnknownName) {
  std::string seen;
  register_category_method("probe", [&](const CategoryJobSettings&, const std::string& category,
                                        const at::Device&, const std::string& cache_dir) {
    seen = category + " " + cache_dir;
    return std::unique_ptr<CategoryMethod>();
  });
  EXPECT_EQ(make_category_method("probe", {}, "bagel", at::kCPU, "/cache"), nullptr);
  EXPECT_EQ(seen, "bagel /cache");
  const std::vector<std::string> names = registered_category_methods();
  EXPECT_NE(std::find(names.begin(), names.end(), "probe"), names.end());
  try {
    make_category_method("nope", {}, "bagel", at::kCPU, "");
    FAIL() << "an unknown method was built";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("method 'nope' does not run on a category (this cfm has: "),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("probe"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cfm
