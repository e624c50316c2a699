#include "common/grid/grid_spec.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "common/settings/job_config.h"
#include "common/util/error.h"
#include "test_support.h"

namespace cfm {
namespace {

Grid parse(const std::string& yaml) { return parse_grid(yaml, "g.yaml", "/base", "g"); }

std::string error_of(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(GridSpec, CartesianProductMinusExcludesPlusIncludesInFileOrder) {
  Grid g = parse(R"(
name: ablation
fixed: {method: noop, sleep_ms: 5}
axes:
  seed: [1, 2, 3]
  category: [a, b]
exclude:
  - {seed: 2, category: b}
include:
  - {seed: 9, category: z}
  - {seed: 1, category: a}
)");
  EXPECT_EQ(g.name, "ablation");
  ASSERT_EQ(g.jobs.size(), 6u);  // 3 x 2 - 1 excluded + 1 new (the repeated cell counts once)
  std::vector<std::string> cells;
  for (const auto& j : g.jobs) cells.push_back(j.axes.dump());
  EXPECT_EQ(cells,
            (std::vector<std::string>{R"({"category":"a","seed":1})", R"({"category":"b","seed":1})",
                                      R"({"category":"a","seed":2})", R"({"category":"a","seed":3})",
                                      R"({"category":"b","seed":3})", R"({"category":"z","seed":9})"}));
  EXPECT_EQ(g.jobs[0].config["sleep_ms"], 5);
  EXPECT_EQ(g.axes, (std::vector<std::string>{"seed", "category"}));
}

TEST(GridSpec, KeysDependOnResultChangingSettingsOnly) {
  auto key = [](const std::string& fixed) {
    return parse("fixed: {method: noop, " + fixed + "}").jobs.at(0).key;
  };
  EXPECT_EQ(key("sleep_ms: 5"), key("sleep_ms: 5"));
  EXPECT_NE(key("sleep_ms: 5"), key("sleep_ms: 6"));
  EXPECT_EQ(key("sleep_ms: 5, threads: 1"), key("sleep_ms: 5, threads: 4"));  // execution-only setting
  EXPECT_EQ(key("sleep_ms: 5").size(), 64u);
}

TEST(GridSpec, CfmJobsGetEveryDefaultAndContentFingerprints) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path() / "data/cookie/train");
  std::ofstream(dir / "data/cookie/train/x.txt") << "1";
  std::ofstream(dir / "vit.pth") << "vit";
  std::ofstream(dir / "pm.pth") << "pm";
  std::string yaml =
      "fixed: {dataset: data, category: cookie, preset: demo, vit_weights: vit.pth, point_mae_weights: "
      "pm.pth}\n";
  Grid g = parse_grid(yaml, "g.yaml", dir.path().string(), "g");
  const auto& c = g.jobs.at(0).config;
  EXPECT_EQ(c["dataset"], (dir.path() / "data").string());
  EXPECT_EQ(c["layers_kept"], 4);
  EXPECT_EQ(c["feature_grid"], 224);
  EXPECT_EQ(c["epochs"], 50);
  EXPECT_EQ(c["seed"], 115);
  EXPECT_EQ(c["dataset_name"], "data");
  std::string before = g.jobs[0].key;
  std::ofstream(dir / "vit.pth") << "other weights";
  EXPECT_NE(parse_grid(yaml, "g.yaml", dir.path().string(), "g").jobs[0].key, before);
}

TEST(GridSpec, ErrorsNameTheFileLineAndKey) {
  EXPECT_NE(
      error_of("fixed: {method: noop}\naxes:\n  epoch: [1, 2]\n").find("g.yaml:3: unknown setting 'epoch'"),
      std::string::npos);
  EXPECT_NE(error_of("fixed:\n  method: noop\n  sleep_ms: fast\n")
                .find("g.yaml:3: setting 'sleep_ms' must be an integer"),
            std::string::npos);
  EXPECT_NE(
      error_of("fixed: {method: noop}\naxes:\n  seed: []\n").find("axis 'seed' must be a non-empty list"),
      std::string::npos);
  EXPECT_NE(error_of("fixed: {method: noop}\nbogus: 1\n").find("g.yaml:2: unknown section 'bogus'"),
            std::string::npos);
  EXPECT_NE(error_of("fixed: {method: noop, seed: 1}\naxes: {seed: [1]}\n")
                .find("'seed' is both fixed and an axis"),
            std::string::npos);
  EXPECT_NE(error_of("fixed: {method: magic}\n").find("unknown method 'magic'"), std::string::npos);
  EXPECT_NE(error_of("fixed: {category: a}\n").find("a cfm job needs 'dataset'"), std::string::npos);
  EXPECT_NE(error_of("fixed: {method: noop}\naxes: {seed: [1]}\nexclude: [{seed: 1}]\n").find("no jobs"),
            std::string::npos);
  EXPECT_NE(error_of("fixed: [1, 2\n").find("invalid YAML"), std::string::npos);
}

TEST(GridSpec, NamesThatWouldClimbOutOfTheirFolderAreRefused) {
  for (const char* name : {"../up", "/tmp/abs", "a/b", "..", ".hidden", "two words", "back\\\\slash"})
    EXPECT_NE(
        error_of(std::string("name: '") + name + "'\nfixed: {method: noop}\n").find("is not a plain name"),
        std::string::npos)
        << name;
  EXPECT_EQ(parse("name: mvtec3d_full-v2.1+x\nfixed: {method: noop}\n").name, "mvtec3d_full-v2.1+x");
  EXPECT_NE(error_of("fixed: {method: noop, category: ../../etc}\n")
                .find("setting 'category' ('../../etc') is not a plain name"),
            std::string::npos);
}

TEST(JobConfig, ResolvedConfigurationsPassTheNetworkCheckAndOthersDoNot) {
  nlohmann::json resolved = resolve_job_config({{"method", "noop"}, {"dataset", "data/x"}}, "/base");
  EXPECT_EQ(resolved["dataset"], "/base/data/x");
  EXPECT_NO_THROW(check_resolved_job_config(resolved));
  nlohmann::json missing = resolved;
  missing.erase("sleep_ms");
  EXPECT_THROW(check_resolved_job_config(missing), UsageError);
  nlohmann::json relative = resolved;
  relative["dataset"] = "data/x";
  EXPECT_THROW(check_resolved_job_config(relative), UsageError);
  nlohmann::json unnormal = resolved;
  unnormal["dataset"] = "/base/../etc";
  EXPECT_THROW(check_resolved_job_config(unnormal), UsageError);
  nlohmann::json nul = resolved;
  nul["dataset_name"] = std::string("a\0b", 3);
  EXPECT_THROW(check_resolved_job_config(nul), UsageError);
  EXPECT_THROW(check_resolved_job_config(nlohmann::json::array()), UsageError);
  EXPECT_TRUE(is_job_key(std::string(64, 'f')));
  EXPECT_FALSE(is_job_key(std::string(63, 'f')));
  EXPECT_FALSE(is_job_key(std::string(64, 'F')));
  EXPECT_FALSE(is_job_key("../escaped-by-attacker"));
}

TEST(JobConfig, ResolutionAndKeysStayAsTheyWere) {
  // Pinned values: a change here changes every job key, so finished grids would run again.
  // The key of a bare noop job, computed independently: sha256 of the compact, key-sorted JSON
  // {"category":"none","fail_attempts":0,"method":"noop","method_version":"cfm-method-1","sleep_ms":0}.
  Fingerprints fingerprints;
  EXPECT_EQ(job_key(resolve_job_config({{"method", "noop"}}, "/"), fingerprints),
            "6749cf6089e87a4d5c18cdda317971ab035bc145a8bd3eea629c7cd7c4859415");
  // Every default a CFM job gets from the demo preset and the official training values.
  nlohmann::json resolved = resolve_job_config({{"preset", "demo"},
                                                {"dataset", "/d/mvtec"},
                                                {"category", "bagel"},
                                                {"vit_weights", "/w/v.pth"},
                                                {"point_mae_weights", "/w/p.pth"}},
                                               "/");
  nlohmann::json expected = {{"method", "cfm"},
                             {"preset", "demo"},
                             {"dataset", "/d/mvtec"},
                             {"dataset_name", "mvtec"},
                             {"category", "bagel"},
                             {"vit_weights", "/w/v.pth"},
                             {"point_mae_weights", "/w/p.pth"},
                             {"vit_heads", 4},
                             {"point_mae_heads", 4},
                             {"image_size", 224},
                             {"groups", 128},
                             {"group_size", 32},
                             {"layers_kept", 4},
                             {"mode", "eval"},
                             {"feature_grid", 224},
                             {"epochs", 50},
                             {"batch_size", 4},
                             {"lr", 1e-3},
                             {"seed", 115},
                             {"eval_seed", 42},
                             {"shots", 0},
                             {"split_seed", 0},
                             {"threads", 0},           // automatic thread policy; not part of the key
                             {"infer_batch_size", 1},  // not part of the key either
                             {"precision", "fp32"},
                             {"mapper", "standard"}};
  EXPECT_EQ(resolved, expected) << resolved.dump(1);
  CategoryJobSettings typed = category_job_settings(resolved);
  EXPECT_EQ(typed.backbone.point_mae.groups, 128);
  EXPECT_EQ(typed.training.seed, 115);
  EXPECT_EQ(typed.backbone.vit_weights, "/w/v.pth");
}

// `mapper` came after keys existed: the standard mapper leaves keys as they were, the big one changes them.
TEST(JobConfig, TheStandardMapperKeepsKeysAsTheyWere) {
  Fingerprints fingerprints;
  nlohmann::json config = resolve_job_config({{"method", "noop"}}, "/");
  const std::string before = "6749cf6089e87a4d5c18cdda317971ab035bc145a8bd3eea629c7cd7c4859415";
  config["mapper"] = "standard";
  EXPECT_EQ(job_key(config, fingerprints), before);
  config["mapper"] = "big";
  EXPECT_NE(job_key(config, fingerprints), before);
  EXPECT_NE(error_of("fixed: {method: cfm, mapper: huge}\n").find("must be standard or big"),
            std::string::npos)
      << error_of("fixed: {method: cfm, mapper: huge}\n");
}

// `precision` and `infer_batch_size` came after keys existed: fp32 and any batch size leave keys as they
// were; bf16 and tf32 change them.
TEST(JobConfig, Fp32AndAnyInferenceBatchKeepKeysAsTheyWere) {
  Fingerprints fingerprints;
  nlohmann::json config = resolve_job_config({{"method", "noop"}}, "/");
  const std::string before = "6749cf6089e87a4d5c18cdda317971ab035bc145a8bd3eea629c7cd7c4859415";
  config["precision"] = "fp32";
  config["infer_batch_size"] = 8;
  EXPECT_EQ(job_key(config, fingerprints), before);
  config["precision"] = "bf16";
  const std::string bf16 = job_key(config, fingerprints);
  EXPECT_NE(bf16, before);
  config["precision"] = "tf32";
  EXPECT_NE(job_key(config, fingerprints), bf16);
  EXPECT_NE(
      error_of("fixed: {method: cfm, precision: fp16}\n").find("must be fp32 or tf32 or bf16, not 'fp16'"),
      std::string::npos)
      << error_of("fixed: {method: cfm, precision: fp16}\n");
  EXPECT_NE(error_of("fixed: {method: cfm, infer_batch_size: 0}\n").find("infer_batch_size"),
            std::string::npos);
}

TEST(GridSpec, TheRenamedGridSettingReadsUnderItsOldNameAndKeepsTheKey) {
  Grid old_name = parse("fixed: {method: noop}\naxes: {grid: [112]}\n");
  Grid new_name = parse("fixed: {method: noop, feature_grid: 112}\n");
  EXPECT_EQ(old_name.jobs.at(0).config["feature_grid"], 112);
  EXPECT_FALSE(old_name.jobs.at(0).config.contains("grid"));
  EXPECT_EQ(old_name.axes, std::vector<std::string>{"feature_grid"});
  // The key still hashes the old name: sha256 of {"category":"none","fail_attempts":0,"grid":112,
  // "method":"noop","method_version":"cfm-method-1","sleep_ms":0}, computed independently.
  Fingerprints fingerprints;
  EXPECT_EQ(job_key(new_name.jobs.at(0).config, fingerprints),
            "7343a0b16692cf1b1a15ebe728d951fb08eaa633557bba16e3177a097f9928a8");
  EXPECT_NE(error_of("fixed: {method: noop, grid: 56, feature_grid: 56}\n").find("given twice"),
            std::string::npos);
  EXPECT_THROW(resolve_job_config({{"method", "noop"}, {"grid", 56}, {"feature_grid", 56}}, "/"), UsageError);
  EXPECT_EQ(canonical_setting_name("grid"), "feature_grid");
  EXPECT_EQ(former_setting_names("feature_grid"), std::vector<std::string>{"grid"});
}

TEST(Settings, OneTableServesFlagsTypesAndMinimums) {
  EXPECT_EQ(flag_name("layers_kept"), "--layers-kept");
  ASSERT_NE(find_setting("group_size"), nullptr);
  EXPECT_EQ(find_setting("nonsense"), nullptr);
  const Setting& epochs = *find_setting("epochs");
  EXPECT_EQ(parse_setting_text(epochs, "7"), 7);
  EXPECT_THROW(parse_setting_text(epochs, "7.5"), UsageError);
  EXPECT_THROW(parse_setting_text(epochs, "seven"), UsageError);
  EXPECT_THROW(check_setting_value(epochs, 0), UsageError);
  EXPECT_NO_THROW(check_setting_value(*find_setting("shots"), 0));
  EXPECT_THROW(check_setting_value(*find_setting("shots"), -1), UsageError);
  EXPECT_DOUBLE_EQ(parse_setting_text(*find_setting("lr"), "1e-4").get<double>(), 1e-4);
  // Every Backbone and Training setting round-trips through its accessors.
  CategoryJobSettings c = category_job_defaults("paper");
  for (const Setting& s : settings_table()) {
    if (!s.set) continue;
    nlohmann::json value = s.get(c);
    CategoryJobSettings copy = category_job_defaults("demo");
    s.set(copy, value);
    EXPECT_EQ(s.get(copy), value) << s.name;
  }
}

TEST(GridSpec, ASettingOfOneMethodLeavesTheOtherMethodsJobsAndAxes) {
  // fusion is a memory_bank setting: the two CFM cells resolve to one job without it.
  Grid g = parse_grid(
      "name: m\nfixed:\n  dataset: d\n  category: c\n  vit_weights: v.pth\n  point_mae_weights: p.pth\n"
      "axes:\n  method: [cfm, memory_bank]\n  fusion: [add, svm]\n",
      "m.yaml", "/base", "m", false);
  ASSERT_EQ(g.jobs.size(), 3u);
  EXPECT_EQ(g.jobs[0].config["method"], "cfm");
  EXPECT_FALSE(g.jobs[0].config.contains("fusion"));
  EXPECT_FALSE(g.jobs[0].axes.contains("fusion"));
  EXPECT_TRUE(g.jobs[0].config.contains("epochs"));
  for (std::size_t i : {1u, 2u}) {
    EXPECT_EQ(g.jobs[i].config["method"], "memory_bank");
    EXPECT_FALSE(g.jobs[i].config.contains("epochs"));
    EXPECT_EQ(g.jobs[i].config["coreset_ratio"], 0.1);
  }
  EXPECT_EQ(g.jobs[1].axes["fusion"], "add");
  EXPECT_EQ(g.jobs[2].axes["fusion"], "svm");
}

TEST(GridSpec, ShippedExperimentGridsAreValid) {
  const std::map<std::string, std::size_t> expected = {{"demo", 12},
                                                       {"mvtec3d_methods", 10 + 10 * 2},
                                                       {"mvtec3d_full", 10},
                                                       {"mvtec3d_fewshot", 10 * 3 * 3},
                                                       {"mvtec3d_pruning", 30},
                                                       {"eyecandies_full", 10},
                                                       {"eyecandies_fewshot_pruning", 10 * (3 + 3 * 3)}};
  for (const auto& [name, jobs] : expected) {
    Grid g = load_grid(std::string(CFM_SOURCE_DIR) + "/experiments/" + name + ".yaml", false);
    EXPECT_EQ(g.name, name);
    EXPECT_EQ(g.jobs.size(), jobs) << name;
    // The authors trained their Eyecandies results with the big mapping networks.
    for (const JobSpec& job : g.jobs)
      if (job.config["method"] == "cfm")
        EXPECT_EQ(job.config["mapper"], name.rfind("eyecandies", 0) == 0 ? "big" : "standard") << name;
  }
  // Few-shot cells run on the full backbones; the pruned ones train on every sample.
  Grid pruning =
      load_grid(std::string(CFM_SOURCE_DIR) + "/experiments/eyecandies_fewshot_pruning.yaml", false);
  for (const JobSpec& job : pruning.jobs)
    if (job.config["layers_kept"] != 12) EXPECT_EQ(job.config["shots"], 0) << job.config.dump();
}

}  // namespace
}  // namespace cfm
