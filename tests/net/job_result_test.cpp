#include "common/net/job_result.h"

#include <gtest/gtest.h>

#include "common/net/protocol_error.h"

namespace cfm::net {
namespace {

using nlohmann::json;

JobResult full_result() {
  JobResult r;
  r.metrics = {{"i_auroc", 0.75}, {"p_auroc", std::nullopt}};
  r.timings = {{"train", 2.5}, {"total", 4.0}};
  r.resources.device = "cuda:1";
  r.resources.world_size = 2;
  r.resources.peak_rss_bytes = 5'000'000'000;
  r.resources.peak_gpu_bytes = 123;
  r.resources.parameters = 7;
  r.resources.model_bytes = 99;
  r.resources.inference_fps = 12.5;
  r.artifacts = {{"maps", "/runs/k/eval/maps"}};
  r.counts = {{"test_images", 4}, {"train_images", 3}};
  r.train_files = {"000", "001", "002"};
  r.epoch_loss = {0.5, 0.25};
  r.cache = std::pair{std::int64_t{3}, std::int64_t{0}};
  r.pro_fpr = {0.0, 0.3};
  r.pro = {0.0, 0.6};
  r.config = {{"method", "cfm"}, {"category", "bagel"}};
  add_rank_resources(r, {RankResources{1, "cuda:0", 42, std::nullopt, 0.5, 1.5}});
  return r;
}

TEST(JobResult, EverySectionSurvivesItsJsonForm) {
  const JobResult r = full_result();
  const json j = r.to_json();
  EXPECT_TRUE(j["metrics"]["p_auroc"].is_null());
  EXPECT_EQ(j["resources"]["ranks"][0]["infer_seconds"], 1.5);
  EXPECT_EQ(j["pro_curve"]["pro"][1], 0.6);
  const JobResult back = JobResult::from_json(json::parse(j.dump()));
  EXPECT_EQ(back.to_json(), j);
  EXPECT_EQ(back.metrics.at("i_auroc"), 0.75);
  EXPECT_FALSE(back.metrics.at("p_auroc").has_value());
  EXPECT_EQ(back.resources.peak_rss_bytes, 5'000'000'000);
  EXPECT_EQ(back.resources.ranks.at(0).device, "cuda:0");
  EXPECT_FALSE(back.resources.ranks.at(0).peak_gpu_bytes.has_value());
  EXPECT_EQ(back.cache, r.cache);
}

// A no-op job reports three sections; the empty ones are left out of its JSON.
TEST(JobResult, SectionsAreOptionalAndEmptyOnesAreLeftOut) {
  const JobResult r = JobResult::from_json({{"metrics", {{"noop", 1.0}}}});
  EXPECT_EQ(r.resources.device, "cpu");
  EXPECT_EQ(r.resources.world_size, 1);
  const json j = r.to_json();
  for (const char* absent :
       {"artifacts", "counts", "train_files", "epoch_loss", "cache", "pro_curve", "config"})
    EXPECT_FALSE(j.contains(absent)) << absent;
  EXPECT_FALSE(j["resources"].contains("ranks"));
  EXPECT_FALSE(j["resources"].contains("peak_gpu_bytes"));
}

// Every wrong type is refused, naming where it is.
TEST(JobResult, AWrongTypeIsRefusedNamingItsPlace) {
  const std::vector<std::pair<json, std::string>> cases = {
      {json::array(), "the result"},
      {{{"metrics", 3}}, "'metrics'"},
      {{{"metrics", {{"i_auroc", "high"}}}}, "'metrics.i_auroc'"},
      {{{"timings", {{"train", nullptr}}}}, "'timings.train'"},
      {{{"artifacts", {{"maps", 3}}}}, "'artifacts.maps'"},
      {{{"resources", {{"peak_rss_bytes", 2.5e9}}}}, "'resources.peak_rss_bytes'"},
      {{{"resources", {{"peak_gpu_bytes", "unknown"}}}}, "'resources.peak_gpu_bytes'"},
      {{{"resources", {{"world_size", 0}}}}, "'resources.world_size'"},
      {{{"resources", {{"ranks", {{{"device", 1}}}}}}}, "a rank's 'device'"},
      {{{"counts", {{"test_images", -1.5}}}}, "'counts.test_images'"},
      {{{"train_files", {"a", 2}}}, "an entry of 'train_files'"},
      {{{"epoch_loss", "falling"}}, "'epoch_loss'"},
      {{{"cache", {{"hits", 1}}}}, "'cache'"},
      {{{"pro_curve", {{"fpr", {0.0}}, {"pro", {0.0, 1.0}}}}}, "'pro_curve'"},
      {{{"config", "cfm"}}, "'config'"},
  };
  for (const auto& [input, place] : cases) {
    SCOPED_TRACE(input.dump());
    try {
      JobResult::from_json(input);
      ADD_FAILURE() << "accepted";
    } catch (const ProtocolError& e) {
      EXPECT_NE(std::string(e.what()).find(place), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace cfm::net
