#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "common/models/checkpoint/state_dict.h"
#include "common/util/error.h"
#include "common/util/npy.h"
#include "test_support.h"

namespace cfm {
namespace {

const std::string kFixtures = CFM_SOURCE_DIR "/tests/fixtures/checkpoints";

at::Tensor npy_tensor(const std::string& path) {
  NpyArray a = read_npy(path);
  EXPECT_EQ(a.dtype, "<f4") << path;
  return torch::from_blob(const_cast<char*>(a.data.data()), a.shape, torch::kFloat32).clone();
}

// Fixture written by tools/checkpoint_fixtures.py with Python's torch.save: a Point-MAE-like training
// checkpoint (OrderedDict state dict with 'module.' prefixes, views of a shared storage, float16,
// bfloat16, float64, int64, plus optimizer state, numbers, strings, None and an argparse.Namespace).
TEST(Checkpoint, ReadsANestedTorchSaveCheckpointExactly) {
  StateDict weights = read_checkpoint(kFixtures + "/nested.pth");
  int compared = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kFixtures + "/expected")) {
    std::string key = entry.path().stem().string();
    if (key.rfind("st.", 0) == 0 || key.find("num_batches_tracked") != std::string::npos) continue;
    ASSERT_TRUE(weights.count(key)) << key;
    at::Tensor expected = npy_tensor(entry.path().string());
    ASSERT_EQ(weights[key].sizes(), expected.sizes()) << key;
    EXPECT_TRUE(torch::equal(weights[key].to(torch::kFloat32), expected)) << key;
    ++compared;
  }
  EXPECT_EQ(compared, 7);
  EXPECT_EQ(weights["base_model.module.bn.num_batches_tracked"].item<std::int64_t>(), 12345678901LL);
  EXPECT_EQ(weights["base_model.module.half"].scalar_type(), torch::kHalf);
  EXPECT_EQ(weights.count("epoch"), 0u);  // non-tensors are skipped
  StateDict base = sub_dict(weights, "base_model");
  EXPECT_EQ(base.size(), 7u);
  EXPECT_TRUE(base.count("module.encoder.view"));
}

TEST(Checkpoint, ReadsSafetensors) {
  StateDict weights = read_checkpoint(kFixtures + "/flat.safetensors");
  ASSERT_EQ(weights.size(), 2u);
  for (const char* key : {"blocks.0.attn.qkv.weight", "cls_token"})
    EXPECT_TRUE(torch::equal(weights[key], npy_tensor(kFixtures + "/expected/st." + key + ".npy"))) << key;
}

TEST(Checkpoint, BadFilesAreTypedErrors) {
  test::TempDir dir;
  EXPECT_THROW(read_checkpoint(dir / "missing.pth"), IoError);
  std::ofstream(dir / "junk.pth") << "definitely not a checkpoint";
  EXPECT_THROW(read_checkpoint(dir / "junk.pth"), FormatError);
  std::ofstream(dir / "legacy.pth") << "\x80\x02something";
  try {
    read_checkpoint(dir / "legacy.pth");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(e.problem().find("legacy"), std::string::npos);
  }
  std::filesystem::copy_file(kFixtures + "/nested.pth", dir / "cut.pth");
  std::filesystem::resize_file(dir / "cut.pth", std::filesystem::file_size(dir / "cut.pth") / 2);
  EXPECT_THROW(read_checkpoint(dir / "cut.pth"), FormatError);
}

TEST(Checkpoint, WrittenFilesRoundTripAndLoadInPython) {
  test::TempDir dir;
  StateDict tensors = {{"encoder.weight", torch::arange(12, torch::kFloat32).reshape({3, 4})},
                       {"norm.bias", torch::ones({5})}};
  write_torch_checkpoint(dir / "c.pth", {{"base_model", tensors}});
  StateDict back = read_checkpoint(dir / "c.pth");
  EXPECT_TRUE(torch::equal(back["base_model.encoder.weight"], tensors["encoder.weight"]));
  CFM_REQUIRE_PYTHON("torch", "python3-torch");
  auto r = test::run_command("/usr/bin/python3 " CFM_SOURCE_DIR "/tools/checkpoint_fixtures.py verify " +
                             (dir / "c.pth") + " base_model.encoder.weight 66");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace cfm
