#include "common/settings/settings.h"

#include <gtest/gtest.h>

#include "common/settings/device_slots.h"
#include "common/util/error.h"

namespace cfm {
namespace {

using nlohmann::json;

std::string refusal(const std::string& name, const json& value) {
  try {
    check_setting_value(*find_setting(name), value);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "accepted";
}

// A method's own values are checked where the setting is made: its choices, its range.
TEST(Settings, ChoicesAndRangesAreCheckedWithTheirRule) {
  EXPECT_EQ(refusal("fusion", "mean"), "setting 'fusion' must be add or svm, not 'mean'");
  EXPECT_EQ(refusal("fusion", "svm"), "accepted");
  EXPECT_EQ(refusal("bank_recipe", "mine"), "setting 'bank_recipe' must be m3dm or per_bank, not 'mine'");
  EXPECT_EQ(refusal("coreset_ratio", 0.0), "setting 'coreset_ratio' must be in (0, 1]");
  EXPECT_EQ(refusal("coreset_ratio", 1.5), "setting 'coreset_ratio' must be in (0, 1]");
  EXPECT_EQ(refusal("coreset_ratio", 1), "accepted");
  EXPECT_EQ(refusal("coreset_eps", 1.0), "setting 'coreset_eps' must be in (0, 1)");
  EXPECT_EQ(refusal("coreset_eps", 0.9), "accepted");
}

// Each section of the table says which methods take its settings, as it is made.
TEST(Settings, EachMethodsSettingsApplyToItAlone) {
  for (const char* name : {"epochs", "batch_size", "lr"}) {
    EXPECT_TRUE(applies_to(*find_setting(name), "cfm")) << name;
    EXPECT_FALSE(applies_to(*find_setting(name), "memory_bank")) << name;
  }
  for (const char* name : {"coreset_ratio", "coreset_eps", "fusion", "bank_recipe"}) {
    EXPECT_TRUE(applies_to(*find_setting(name), "memory_bank")) << name;
    EXPECT_FALSE(applies_to(*find_setting(name), "cfm")) << name;
  }
  for (const char* name : {"seed", "layers_kept", "vit_weights"}) {
    EXPECT_TRUE(applies_to(*find_setting(name), "cfm")) << name;
    EXPECT_TRUE(applies_to(*find_setting(name), "memory_bank")) << name;
    EXPECT_FALSE(applies_to(*find_setting(name), "noop")) << name;
  }
  EXPECT_TRUE(applies_to(*find_setting("sleep_ms"), "noop"));
  EXPECT_TRUE(find_setting("vit_weights")->required);
  EXPECT_FALSE(find_setting("layers_kept")->required);
  EXPECT_EQ(key_name(*find_setting("feature_grid")), "grid");
}

TEST(DeviceSlots, DevicesSplitIntoConsecutiveSlotsOrNotAtAll) {
  const std::vector<std::string> four = {"cuda:0", "cuda:1", "cuda:2", "cuda:3"};
  EXPECT_EQ(device_slots(four, 2),
            (std::vector<std::vector<std::string>>{{"cuda:0", "cuda:1"}, {"cuda:2", "cuda:3"}}));
  EXPECT_EQ(device_slots(four, 1).size(), 4u);
  EXPECT_TRUE(device_slots(four, 3).empty());
  EXPECT_TRUE(device_slots(four, 0).empty());
  EXPECT_TRUE(device_slots({}, 1).empty());
}

}  // namespace
}  // namespace cfm
