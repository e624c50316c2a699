// The `cfm` executable end to end: help, error lines and exit codes, and the synth -> check -> preprocess
// round trip a user runs first.
#include <algorithm>
#include <utility>
#include <vector>

#include "test_support.h"

namespace cfm {
namespace {

using test::run_command;
using test::TempDir;

const std::string kCfm = CFM_BINARY;

std::size_t line_count(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(Cli, HelpListsEverySubCommandAndEachDocumentsItsFlags) {
  // Every sub-command with a flag its help must document.
  const std::vector<std::pair<std::string, std::string>> commands = {{"synth", "--categories"},
                                                                     {"preprocess mvtec", "--in-place"},
                                                                     {"preprocess eyecandies", "--in"},
                                                                     {"check", "--decode"},
                                                                     {"features", "--vit-weights"},
                                                                     {"backbones init", "--preset"},
                                                                     {"train", "--layers"},
                                                                     {"eval", "--mappers"},
                                                                     {"metrics", "--thresholds"},
                                                                     {"run", "--workers"},
                                                                     {"serve", "--max-unauthenticated"},
                                                                     {"worker", "--inputs"},
                                                                     {"submit", "--force"},
                                                                     {"status", "--db"},
                                                                     {"token new", "--force"},
                                                                     {"launch slurm", "--gpus-per-task"},
                                                                     {"results table", "--rows"},
                                                                     {"results paper", "--format"},
                                                                     {"results plot", "--metric"},
                                                                     {"results gallery", "--per-kind"},
                                                                     {"results report", "--title"},
                                                                     {"results jobs", "--grid"},
                                                                     {"results export", "--all"},
                                                                     {"job", "--run-dir"}};
  auto top = run_command(kCfm + " --help");
  EXPECT_EQ(top.exit_code, 0);
  for (const auto& [command, flag] : commands) {
    std::string first_word = command.substr(0, command.find(' '));
    EXPECT_NE(top.output.find("  " + first_word), std::string::npos)
        << first_word << " missing from cfm --help";
    auto help = run_command(kCfm + " " + command + " --help");
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_NE(help.output.find(flag), std::string::npos) << command << " --help does not document " << flag;
  }
}

TEST(Cli, ErrorsAreOneLineAndNonZero) {
  for (const char* args :
       {"", "nosuchcommand", "synth", "synth --out /tmp/x --size 150", "check --data /nonexistent/folder",
        "preprocess mvtec --in /nonexistent --out /tmp/y", "preprocess mvtec --in /tmp",
        "synth --out /tmp/x --categories many"}) {
    auto r = run_command(kCfm + " " + args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_EQ(line_count(r.output), 1u) << args << ": " << r.output;
    EXPECT_EQ(r.output.rfind("cfm: error: ", 0), 0u) << args << ": " << r.output;
  }
}

TEST(Cli, SynthCheckAndPreprocessRoundTrip) {
  TempDir dir;
  auto synth = run_command(kCfm + " synth --out " + (dir / "d") +
                           " --categories 3 --size 100 --train 2 --test 1 --no-progress");
  ASSERT_EQ(synth.exit_code, 0) << synth.output;
  EXPECT_NE(synth.output.find("cookie"), std::string::npos);
  EXPECT_NE(synth.output.find("files"), std::string::npos);
  // Raw: the 3:4 category is flagged until preprocessed.
  auto raw = run_command(kCfm + " check --data " + (dir / "d"));
  EXPECT_EQ(raw.exit_code, 1) << raw.output;
  EXPECT_NE(raw.output.find("not square"), std::string::npos) << raw.output;
  auto pre = run_command(kCfm + " preprocess mvtec --in " + (dir / "d") + " --out " + (dir / "p") +
                         " --no-progress");
  EXPECT_EQ(pre.exit_code, 0) << pre.output;
  EXPECT_NE(pre.output.find("0 failed"), std::string::npos) << pre.output;
  auto check = run_command(kCfm + " check --data " + (dir / "p") + " --decode");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("no problems found"), std::string::npos);
  std::filesystem::remove(dir.path() / "p/cookie/train/good/xyz/000.tiff");
  auto broken = run_command(kCfm + " check --data " + (dir / "p"));
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.output.find("no matching xyz/000.tiff"), std::string::npos) << broken.output;
  auto in_place = run_command(kCfm + " preprocess mvtec --in " + (dir / "p") + " --in-place --no-progress");
  EXPECT_EQ(in_place.exit_code, 1);  // already preprocessed: every file fails, each with its reason
  EXPECT_NE(in_place.output.find("already preprocessed"), std::string::npos) << in_place.output;
}

TEST(Cli, FeaturesOfOneSampleWithRandomBackbones) {
  TempDir dir;
  ASSERT_EQ(run_command(kCfm + " synth --out " + (dir / "d") +
                        " --categories 1 --size 200 --train 1 --validation 0 --test 1 --no-progress")
                .exit_code,
            0);
  ASSERT_EQ(
      run_command(kCfm + " preprocess mvtec --in " + (dir / "d") + " --in-place --no-progress").exit_code, 0);
  auto init = run_command(kCfm + " backbones init --preset tiny --out " + (dir / "w"));
  ASSERT_EQ(init.exit_code, 0) << init.output;
  std::string sample = dir / "d/cookie/test/bump";
  std::string common =
      " --rgb " + sample + "/rgb/000.png --xyz " + sample + "/xyz/000.tiff --vit-weights " +
      (dir / "w/vit_tiny_random.pth") + " --point-mae-weights " + (dir / "w/pointmae_tiny_random.pth") +
      " --image-size 112 --grid 28 --groups 32 --group-size 16 --vit-heads 4 --point-mae-heads 4";
  auto r = run_command(kCfm + " features" + common + " --layers 4 --out " + (dir / "f"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* name :
       {"rgb_map", "centers", "center_idx", "xyz_group_feats", "rgb_patch", "xyz_patch", "mask"})
    EXPECT_TRUE(std::filesystem::is_regular_file(dir.path() / "f" / (std::string(name) + ".npy"))) << name;
  // Wrong weights: one clear line.
  auto bad = run_command(kCfm + " features" + common + " --layers 6 --out " + (dir / "g"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(line_count(bad.output), 2u) << bad.output;  // the resolved configuration, then the error
  EXPECT_NE(bad.output.find("cannot keep 6 ViT blocks"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace cfm
