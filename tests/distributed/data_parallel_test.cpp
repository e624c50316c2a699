// Data parallelism over c10d ranks on the CPU (Gloo), through `cfm train|eval --world-size 2`: two
// processes train the weights one process trains on the same global batches and score the maps one process
// scores, and a rank whose partner never comes fails within its timeout instead of waiting.
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/distributed/rank_group.h"
#include "common/models/checkpoint/state_dict.h"
#include "common/util/error.h"
#include "synthetic_category.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

TEST(RankShare, EveryItemOnceInRankOrder) {
  EXPECT_EQ(rank_share(5, 0, 2), (std::vector<std::size_t>{0, 2, 4}));
  EXPECT_EQ(rank_share(5, 1, 2), (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(rank_share(1, 1, 2), (std::vector<std::size_t>{}));
  EXPECT_EQ(rank_share(3, 0, 1), (std::vector<std::size_t>{0, 1, 2}));
}

TEST(RankGroup, OneRankNeedsNothingAndChangesNothing) {
  RankGroup alone(RankSetup{}, at::kCPU);
  std::vector<at::Tensor> values = {torch::tensor({1.5f, -2.f}), torch::tensor({3.f})};
  alone.all_reduce_sum(values);
  alone.broadcast_from_root(values);
  alone.barrier();
  EXPECT_TRUE(torch::equal(values[0], torch::tensor({1.5f, -2.f})));
  EXPECT_EQ(alone.communication_seconds(), 0);
  RankSetup bad;
  bad.rank = 2;
  bad.world_size = 2;
  EXPECT_THROW(RankGroup(bad, at::kCPU), UsageError);
}

class DataParallel : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef CFM_WITH_GLOO
    GTEST_SKIP() << "built without Gloo's headers (libgloo-dev): no CPU ranks";
#endif
    test::write_preprocessed_dataset(test::small_synth(dir_ / "data", 1, 200, 4, 0, 2));
    config_ = test::tiny_backbones(dir_ / "weights", 28);
    common_ = " --data " + (dir_ / "data") + " --category cookie --preset demo --vit-weights " +
              config_.vit_weights + " --point-mae-weights " + config_.point_mae_weights +
              " --image-size 112 --grid 28 --groups 32 --group-size 16 --epochs 4 --batch-size 2 --threads 1";
  }
  // `cfm train` as rank `rank` of `world` (world 1: no rank flags), logging to <out>-<rank>.log.
  std::string train_command(const std::string& out, int rank, int world, const std::string& extra = "") {
    return rank_command(" train" + common_, out, rank, world, extra);
  }
  // `cfm eval` of the mappers in <mappers> as rank `rank` of `world`.
  std::string eval_command(const std::string& mappers, const std::string& out, int rank, int world) {
    return rank_command(" eval" + common_ + " --mappers " + (dir_ / mappers), out, rank, world, "");
  }
  std::string rank_command(const std::string& arguments, const std::string& out, int rank, int world,
                           const std::string& extra) {
    std::string command = std::string(CFM_BINARY) + arguments + " --out " + (dir_ / out) + extra;
    if (world > 1)
      command += " --world-size " + std::to_string(world) + " --rank " + std::to_string(rank) +
                 " --rendezvous " + (dir_ / "rendezvous");
    return command + " > " + (dir_ / (out + "-" + std::to_string(rank) + ".log")) + " 2>&1";
  }
  std::string log(const std::string& name) {
    std::ifstream in(dir_ / name);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  test::TempDir dir_;
  BackboneConfig config_;
  std::string common_;
};

TEST_F(DataParallel, TwoRanksTrainTheWeightsOfOneRank) {
  ASSERT_EQ(test::run_command(train_command("one", 0, 1)).exit_code, 0) << log("one-0.log");
  // Both ranks at once, each its share of every batch of 2 (one sample each), their own feature cache.
  std::string both = train_command("two", 0, 2, " --cache " + (dir_ / "cache2")) + " & first=$!; " +
                     train_command("two", 1, 2, " --cache " + (dir_ / "cache2")) +
                     "; second=$?; wait $first; exit $(( $? | second ))";
  auto ranks = test::run_command("bash -c '" + both + "'");
  ASSERT_EQ(ranks.exit_code, 0) << ranks.output << log("two-0.log") << log("two-1.log");

  for (const char* name : {"CFM_2Dto3D_cookie_4ep_2bs.pth", "CFM_3Dto2D_cookie_4ep_2bs.pth"}) {
    StateDict one = read_checkpoint(dir_.path() / "one" / name),
              two = read_checkpoint(dir_.path() / "two" / name);
    ASSERT_EQ(one.size(), two.size()) << name;
    for (const auto& [key, tensor] : one) {
      ASSERT_TRUE(two.count(key)) << name << " " << key;
      EXPECT_LE((tensor - two.at(key)).abs().max().item<double>(), 1e-6) << name << " " << key;
    }
    // The weights moved away from their start: the comparison is not between two untrained networks.
    EXPECT_GT(one.begin()->second.abs().sum().item<double>(), 0) << name;
  }
  std::ifstream one_json(dir_ / "one/train.json"), two_json(dir_ / "two/train.json");
  nlohmann::json one = nlohmann::json::parse(one_json), two = nlohmann::json::parse(two_json);
  ASSERT_EQ(one["epoch_loss"].size(), 4u);
  for (std::size_t epoch = 0; epoch < 4; ++epoch)
    EXPECT_NEAR(one["epoch_loss"][epoch].get<double>(), two["epoch_loss"][epoch].get<double>(), 1e-6)
        << epoch;
  EXPECT_LT(one["epoch_loss"][3].get<double>(), one["epoch_loss"][0].get<double>());
  EXPECT_EQ(two["world_size"], 2);
  EXPECT_EQ(one["world_size"], 1);
  // The ranks split the backbone work: each computed its two samples into the shared cache and read only
  // the other rank's two back from it.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "cache2"), fs::directory_iterator{}), 4);
  EXPECT_EQ(two["cache_misses"], 2);
  EXPECT_EQ(two["cache_hits"], 2);
  // Only rank 0 writes: rank 1 left no second train.json behind anywhere.
  EXPECT_NE(log("two-0.log").find("trained on 4 samples"), std::string::npos) << log("two-0.log");
  EXPECT_EQ(log("two-1.log").find("trained on"), std::string::npos) << log("two-1.log");
}

// Every file under `folder`, relative path -> bytes.
std::map<std::string, std::string> files_under(const fs::path& folder) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    if (entry.is_regular_file()) {
      std::ifstream in(entry.path(), std::ios::binary);
      files[fs::relative(entry.path(), folder).string()] =
          std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  return files;
}

TEST_F(DataParallel, TwoRanksScoreTheMapsOfOneRank) {
  ASSERT_EQ(test::run_command(train_command("mappers", 0, 1)).exit_code, 0) << log("mappers-0.log");
  ASSERT_EQ(test::run_command(eval_command("mappers", "one", 0, 1)).exit_code, 0) << log("one-0.log");
  std::string both = eval_command("mappers", "two", 0, 2) + " & first=$!; " +
                     eval_command("mappers", "two", 1, 2) +
                     "; second=$?; wait $first; exit $(( $? | second ))";
  auto ranks = test::run_command("bash -c '" + both + "'");
  ASSERT_EQ(ranks.exit_code, 0) << ranks.output << log("two-0.log") << log("two-1.log");

  // Maps (combined, s2D, s3D), heat maps, masks, scores and metrics: the same bytes, file for file.
  std::map<std::string, std::string> one = files_under(dir_ / "one"), two = files_under(dir_ / "two");
  std::size_t maps = 0;
  for (const auto& [name, bytes] : one) {
    ASSERT_TRUE(two.count(name)) << name << " is missing from the 2-rank output";
    EXPECT_EQ(bytes, two.at(name)) << name;
    maps += name.rfind("maps/", 0) == 0 && name.size() > 5 && name.substr(name.size() - 5) == ".tiff";
  }
  EXPECT_EQ(one.size(), two.size());
  EXPECT_GE(maps, 4u);  // the test split has samples on both ranks
  ASSERT_TRUE(one.count("metrics.json") && one.count("scores.csv"));
  EXPECT_NE(one.at("metrics.json").find("i_auroc"), std::string::npos);
  // Rank 0 prints the metrics; rank 1 only scored its share.
  EXPECT_NE(log("two-0.log").find("I-AUROC"), std::string::npos) << log("two-0.log");
  EXPECT_EQ(log("two-1.log").find("I-AUROC"), std::string::npos) << log("two-1.log");
}

TEST_F(DataParallel, ARankWhosePartnerNeverComesFailsWithinItsTimeout) {
  auto start = std::chrono::steady_clock::now();
  auto alone = test::run_command(train_command("alone", 0, 2, " --rank-timeout 3"));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(alone.exit_code, 1);
  EXPECT_NE(log("alone-0.log").find("rank 0 of 2: the other ranks did not meet at"), std::string::npos)
      << log("alone-0.log");
  EXPECT_LT(seconds, 30) << "the rank waited for " << seconds << " s";
  EXPECT_FALSE(fs::exists(dir_.path() / "alone/train.json"));
}

}  // namespace
}  // namespace cfm
