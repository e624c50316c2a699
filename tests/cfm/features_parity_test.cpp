// Parity of the feature pipeline with the independent Python reference (tools/cfm_reference.py):
// fixtures checked in (tests/fixtures/features, made by tools/make_feature_fixtures.sh), and a live
// full-size run when Debian's python3-torch is present.
#include <torch/torch.h>

#include <fstream>

#include "common/data/preprocess/mvtec_preprocess.h"
#include "common/data/synth/scene.h"
#include "common/features/feature_alignment.h"
#include "common/features/feature_extractor.h"
#include "common/features/random_backbones.h"
#include "common/features/sample_loader.h"
#include "common/models/point_sampling.h"
#include "common/settings/settings.h"
#include "common/util/error.h"
#include "common/util/npy.h"
#include "test_support.h"

namespace cfm {
namespace {

const std::string kFixtures = CFM_SOURCE_DIR "/tests/fixtures/features";

at::Tensor load_npy(const std::string& path) {
  NpyArray a = read_npy(path);
  auto type = a.dtype == "<f4" ? torch::kFloat32 : a.dtype == "<i8" ? torch::kInt64 : torch::kBool;
  return torch::from_blob(a.data.data(), a.shape, type).clone();
}

void save_npy(const std::string& path, const at::Tensor& t) {
  std::vector<std::int64_t> shape(t.sizes().begin(), t.sizes().end());
  write_npy_f32(path, shape, t.contiguous().data_ptr<float>());
}

// max |a - b| / max |b| <= tolerance
void expect_close(const at::Tensor& actual, const at::Tensor& expected, const std::string& name,
                  double tolerance = 1e-4) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << name;
  double scale = expected.abs().max().item<double>();
  double error = (actual - expected).abs().max().item<double>() / std::max(scale, 1e-12);
  EXPECT_LE(error, tolerance) << name << ": relative error " << error;
  if (std::getenv("CFM_PRINT_ERRORS")) std::printf("%s: relative error %.3g\n", name.c_str(), error);
}

BackboneConfig tiny_config() {
  BackboneConfig c = backbone_preset("demo");
  c.vit_weights = kFixtures + "/vit_tiny_random.pth";
  c.point_mae_weights = kFixtures + "/pointmae_tiny_random.pth";
  c.vit.image_size = 112;
  c.point_mae.groups = 32;
  c.point_mae.group_size = 16;
  c.layers_kept = 4;
  c.grid = 28;
  return c;
}

void compare_with(const std::string& folder, FeatureExtractor& extractor, const at::Tensor& rgb,
                  const at::Tensor& cloud) {
  BackboneOutputs raw = extractor.extract(rgb, cloud);
  AlignedFeatures aligned = extractor.align(raw);
  EXPECT_TRUE(torch::equal(raw.points.centre_index, load_npy(folder + "/center_idx.npy")))
      << "FPS indices differ";
  EXPECT_TRUE(torch::equal(raw.points.centres, load_npy(folder + "/centers.npy")));
  expect_close(raw.rgb_map, load_npy(folder + "/rgb_map.npy"), "rgb_map");
  expect_close(raw.points.features, load_npy(folder + "/xyz_group_feats.npy"), "xyz_group_feats");
  expect_close(aligned.rgb_patch, load_npy(folder + "/rgb_patch.npy"), "rgb_patch");
  expect_close(aligned.xyz_patch, load_npy(folder + "/xyz_patch.npy"), "xyz_patch");
  EXPECT_TRUE(torch::equal(aligned.empty, load_npy(folder + "/mask.npy"))) << "3D-empty masks differ";
}

TEST(FeatureParity, EvalModeMatchesThePythonReferenceFixture) {
  FeatureExtractor extractor(tiny_config());
  compare_with(kFixtures + "/expected", extractor, load_npy(kFixtures + "/rgb_input.npy"),
               load_npy(kFixtures + "/cloud_input.npy"));
}

TEST(FeatureParity, ABatchThroughTheVitGivesEachImagesOwnMap) {
  FeatureExtractor extractor(tiny_config());
  at::Tensor rgb = load_npy(kFixtures + "/rgb_input.npy");
  at::Tensor batch = torch::stack({rgb, rgb.flip(2), rgb * 0.5});
  at::Tensor maps = extractor.vit().forward_batch(batch);
  ASSERT_EQ(maps.size(0), 3);
  for (int i = 0; i < 3; ++i)
    expect_close(maps[i], extractor.vit().forward(batch[i]), "image " + std::to_string(i), 1e-6);
  EXPECT_FALSE(torch::allclose(maps[0], maps[1]));  // the images really differ
}

TEST(FeatureParity, BatchStatisticsMatchThePythonReferenceFixture) {
  BackboneConfig c = tiny_config();
  c.mode = BackboneMode::Official;
  c.point_mae.drop_path_rate = 0;  // isolate the BatchNorm behaviour from the random DropPath
  FeatureExtractor extractor(c);
  compare_with(kFixtures + "/expected_bn", extractor, load_npy(kFixtures + "/rgb_input.npy"),
               load_npy(kFixtures + "/cloud_input.npy"));
}

// Full size (ViT-B/8 at 224, Point-MAE with G = 1024, k = 128) on a realistic preprocessed synthetic scan,
// against the Python reference run now.
TEST(FeatureParity, PaperSizeBackbonesMatchPythonLive) {
  CFM_REQUIRE_PYTHON("torch", "python3-torch");
  test::TempDir dir;
  RandomBackboneFiles files = write_random_backbones(dir.path().string(), "paper", 11);
  auto style = synth::category_styles(1)[0];
  synth::MvtecSample sample = synth::generate_mvtec_sample(style, 800, synth::DefectKind::Bump, 5);
  PointImage points = preprocess_mvtec_cloud(sample.xyz, MvtecPreprocessParams{}, "synthetic");
  at::Tensor rgb = rgb_to_tensor(sample.rgb, 224), cloud = cloud_to_tensor(points, 224);
  save_npy(dir / "rgb.npy", rgb);
  save_npy(dir / "cloud.npy", cloud);
  auto r = test::run_command("/usr/bin/python3 " CFM_SOURCE_DIR "/tools/cfm_reference.py --vit " + files.vit +
                             " --point-mae " + files.point_mae + " --rgb " + (dir / "rgb.npy") + " --cloud " +
                             (dir / "cloud.npy") + " --out " + (dir / "expected"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  BackboneConfig c = backbone_preset("paper");
  c.vit_weights = files.vit;
  c.point_mae_weights = files.point_mae;
  FeatureExtractor extractor(c);
  compare_with(dir / "expected", extractor, rgb, cloud);
}

TEST(FeatureExtraction, OfficialModeIsSeededAndStochasticEvalIsDeterministic) {
  at::Tensor rgb = load_npy(kFixtures + "/rgb_input.npy"), cloud = load_npy(kFixtures + "/cloud_input.npy");
  auto features = [&](BackboneMode mode, std::uint64_t seed, int runs) {
    BackboneConfig c = tiny_config();
    c.mode = mode;
    c.seed = seed;
    FeatureExtractor extractor(c);
    at::Tensor last;
    for (int i = 0; i < runs; ++i) last = extractor.extract(rgb, cloud).points.features;
    return last;
  };
  EXPECT_TRUE(torch::equal(features(BackboneMode::Eval, 1, 1), features(BackboneMode::Eval, 2, 3)));
  EXPECT_TRUE(torch::equal(features(BackboneMode::Official, 7, 2), features(BackboneMode::Official, 7, 2)));
  // Over a few draws at least one DropPath decision differs between seeds.
  bool differs = false;
  for (int runs = 1; runs <= 4 && !differs; ++runs)
    differs =
        !torch::equal(features(BackboneMode::Official, 7, runs), features(BackboneMode::Official, 8, runs));
  EXPECT_TRUE(differs);
}

TEST(FeatureExtraction, LayerPruningLoadsPrunedCheckpoints) {
  test::TempDir dir;
  StateDict vit = read_checkpoint(kFixtures + "/vit_tiny_random.pth"),
            pm = read_checkpoint(kFixtures + "/pointmae_tiny_random.pth");
  for (auto* weights : {&vit, &pm})
    for (auto it = weights->begin(); it != weights->end();)
      it = (it->first.find("blocks.3.") != std::string::npos ||
            it->first.find("blocks.2.") != std::string::npos)
               ? weights->erase(it)
               : std::next(it);
  write_torch_checkpoint(dir / "vit.pth", {{"", vit}});
  write_torch_checkpoint(dir / "pm.pth", {{"", pm}});
  BackboneConfig c = tiny_config();
  c.vit_weights = dir / "vit.pth";
  c.point_mae_weights = dir / "pm.pth";
  c.layers_kept = 2;  // fetch = last block only: 32 channels
  FeatureExtractor extractor(c);
  BackboneOutputs out =
      extractor.extract(load_npy(kFixtures + "/rgb_input.npy"), load_npy(kFixtures + "/cloud_input.npy"));
  EXPECT_EQ(out.points.features.size(0), 32);
  c.layers_kept = 4;
  EXPECT_THROW(FeatureExtractor{c}, FormatError);
}

TEST(FeatureExtraction, BadInputsAreClearErrors) {
  BackboneConfig c = tiny_config();
  FeatureExtractor extractor(c);
  at::Tensor rgb = load_npy(kFixtures + "/rgb_input.npy");
  at::Tensor sparse = torch::zeros({3, 28, 28});
  sparse.index_put_({torch::indexing::Slice(), 0, torch::indexing::Slice(0, 10)}, 0.5);  // 10 points < G = 32
  try {
    extractor.extract(rgb, sparse);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fewer than G = 32"), std::string::npos) << e.what();
  }
  EXPECT_THROW(extractor.extract(rgb, torch::zeros({3, 28, 28})), Error);
  EXPECT_THROW(extractor.extract(rgb, torch::zeros({3, 56, 56})), UsageError);
  // Wrong architecture: the ViT file given as Point-MAE weights and the other way round.
  BackboneConfig swapped = c;
  std::swap(swapped.vit_weights, swapped.point_mae_weights);
  try {
    FeatureExtractor{swapped};
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(e.problem().find("not a ViT"), std::string::npos) << e.what();
  }
  // A mis-shaped and a missing tensor are both listed in one error.
  test::TempDir dir;
  StateDict pm = read_checkpoint(kFixtures + "/pointmae_tiny_random.pth");
  pm["base_model.module.MAE_encoder.norm.weight"] = torch::ones({7});
  pm.erase("base_model.module.MAE_encoder.blocks.blocks.1.attn.proj.bias");
  write_torch_checkpoint(dir / "bad.pth", {{"", pm}});
  c.point_mae_weights = dir / "bad.pth";
  try {
    FeatureExtractor{c};
    FAIL();
  } catch (const FormatError& e) {
    std::string m = e.problem();
    EXPECT_NE(m.find("blocks.blocks.1.attn.proj.bias"), std::string::npos) << m;
    EXPECT_NE(m.find("norm.weight is [7]"), std::string::npos) << m;
  }
}

TEST(Alignment, InverseSquaredDistanceWeightsByHand) {
  // Centres at x = 0, 1, 3 with scalar features 10, 20, 40; a point at x = 0.5: squared distances
  // 0.25, 0.25, 6.25 -> weights 4, 4, 0.16 (normalised by 8.16).
  at::Tensor centres = torch::tensor({0.f, 0.f, 0.f, 1.f, 0.f, 0.f, 3.f, 0.f, 0.f}).reshape({3, 3});
  at::Tensor features = torch::tensor({10.f, 20.f, 40.f}).reshape({1, 3});
  at::Tensor point = torch::tensor({0.5f, 0.f, 0.f}).reshape({1, 3});
  float expected = (4 * 10 + 4 * 20 + 0.16f * 40) / 8.16f;
  EXPECT_NEAR(interpolate_point_features(point, centres, features, 1).item<float>(), expected, 1e-4);
  // A point on a centre takes that centre's feature.
  EXPECT_NEAR(interpolate_point_features(centres.slice(0, 2, 3), centres, features, 1).item<float>(), 40.f,
              1e-3);
}

// The interpolation as the official code writes it: every distance row fully sorted, first 3 kept.
at::Tensor interpolate_by_full_sort(const at::Tensor& points, const at::Tensor& centres,
                                    const at::Tensor& features) {
  at::Tensor d = -2 * torch::matmul(points, centres.transpose(0, 1));
  d += points.pow(2).sum(-1).unsqueeze(1);
  d += centres.pow(2).sum(-1).unsqueeze(0);
  auto [sorted, order] = d.sort(1);
  at::Tensor reciprocal = 1.0 / (sorted.slice(1, 0, 3) + 1e-8);
  at::Tensor weight = reciprocal / reciprocal.sum(1, true);
  return (features.transpose(0, 1).index({order.slice(1, 0, 3)}) * weight.unsqueeze(-1)).sum(1);
}

TEST(Alignment, NearestThreeCentresEqualTheFullSortAlsoOnTies) {
  // Points and centres on an integer lattice: many points are equidistant from several centres (exact
  // float ties, also between the 3rd and 4th nearest, where the choice changes the result), mixed with
  // random points whose distances are all distinct. Bit-identical to sorting every row.
  torch::manual_seed(3);
  at::Tensor lattice = torch::randint(0, 6, {3000, 3}).to(torch::kFloat32);
  at::Tensor random = torch::rand({3000, 3}) * 5;
  at::Tensor points = torch::cat({lattice, random});
  at::Tensor centres = torch::randint(0, 6, {64, 3}).to(torch::kFloat32) +
                       torch::cat({torch::zeros({32, 3}), torch::rand({32, 3})});
  at::Tensor features = torch::randn({7, 64});
  at::Tensor expected = interpolate_by_full_sort(points, centres, features);
  for (std::int64_t chunk : {1000, 6000})
    EXPECT_TRUE(torch::equal(interpolate_point_features(points, centres, features, chunk), expected))
        << chunk;
}

TEST(Alignment, PoolingSpreadsAndShiftsAsTheOfficialCode) {
  // One feature of 9 at pixel (1, 1) of a 4x4 grid: every 3x3 window of the 2x2 pooled map contains it
  // (value 1), and the adaptive pool 2 -> 4 averages 1 or 2 of those: all 16 outputs are 1.
  at::Tensor out = point_features_to_grid(torch::full({1, 1}, 9.f), torch::tensor({5}, torch::kInt64), 4);
  EXPECT_TRUE(torch::allclose(out, torch::ones({16, 1})));
  // Pixel (0, 0) of a 5x5 grid only reaches pooled (0, 0); adaptive 3 -> 5 maps output 0 and 1 to it.
  at::Tensor corner =
      point_features_to_grid(torch::full({1, 1}, 9.f), torch::tensor({0}, torch::kInt64), 5).reshape({5, 5});
  EXPECT_FLOAT_EQ(corner[0][0].item<float>(), 1.f);
  EXPECT_FLOAT_EQ(corner[1][1].item<float>(), 0.25f);  // start 0, end ceil(2*3/5) = 2: mean of 1 and 0
  EXPECT_FLOAT_EQ(corner[4][4].item<float>(), 0.f);
  EXPECT_EQ(empty_pixel_mask(corner.reshape({25, 1})).sum().item<std::int64_t>(),
            21);  // outputs 0-1 x 0-1 only
}

}  // namespace
}  // namespace cfm

namespace cfm {
namespace {

// The pixel-major pooling equals LibTorch's AvgPool2d(3, 1, 0) + AdaptiveAvgPool2d(S) on random data.
TEST(Alignment, GridPoolingEqualsTorchPoolingOps) {
  torch::manual_seed(0);
  for (int grid : {5, 28, 56}) {
    at::Tensor indices =
        std::get<0>(torch::randperm(grid * grid, torch::kInt64).slice(0, 0, grid * grid / 3).sort());
    if (grid == 56) indices = indices.slice(0, 0, 40);  // sparse: most windows empty, as around an object
    at::Tensor features = torch::randn({indices.size(0), 7});
    at::Tensor full = torch::zeros({7, grid * grid});
    full.index_copy_(1, indices, features.transpose(0, 1));
    at::Tensor reference =
        torch::adaptive_avg_pool2d(torch::avg_pool2d(full.view({1, 7, grid, grid}), 3, 1, 0), {grid, grid});
    reference = reference.reshape({7, -1}).transpose(0, 1);
    at::Tensor ours = point_features_to_grid(features, indices, grid);
    // Bit-identical: the sums skip the empty pixels (+0) but keep the kernels' order and divisions.
    EXPECT_TRUE(torch::equal(ours, reference))
        << "grid " << grid << ": max difference " << (ours - reference).abs().max().item<float>();
  }
}

}  // namespace
}  // namespace cfm

namespace cfm {
namespace {

TEST(PointSampling, FarthestPointSampleByHand) {
  // Start at index 0; then the farthest point; points near the origin (|p|² <= 1e-3) are never chosen
  // even when they are the farthest.
  at::Tensor points = torch::tensor({1.f, 1.f, 1.f,    // 0: start
                                     1.1f, 1.f, 1.f,   // 1
                                     3.f, 1.f, 1.f,    // 2: farthest from 0
                                     0.01f, 0.f, 0.f,  // 3: near the origin, skipped
                                     2.f, 1.f, 1.f})   // 4: farthest from {0, 2}
                          .reshape({5, 3});
  EXPECT_TRUE(torch::equal(farthest_point_sample(points, 4), torch::tensor({0, 2, 4, 1}, torch::kInt64)));
}

TEST(PointSampling, NearestNeighboursAreSortedAndChunkingDoesNotMatter) {
  torch::manual_seed(1);
  at::Tensor points = torch::rand({200, 3}), centres = points.slice(0, 0, 10);
  at::Tensor a = k_nearest_points(points, centres, 8, 3), b = k_nearest_points(points, centres, 8, 10);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_TRUE(torch::equal(a.select(1, 0), torch::arange(10)));  // each centre is its own nearest point
  at::Tensor d = (points.index({a}) - centres.unsqueeze(1)).norm(2, -1);
  EXPECT_TRUE((d.slice(1, 1) >= d.slice(1, 0, -1)).all().item<bool>());
}

// The neighbours are the official expression's topk, bit for bit: the same distances (one fused pass on
// the CPU) and LibTorch's own topk, also where a lattice of points makes many distances exactly equal
// (then topk's tie order decides, and must be the same).
TEST(PointSampling, NearestNeighboursEqualTheOfficialTensorExpressionAlsoOnTies) {
  torch::manual_seed(2);
  at::Tensor random = torch::rand({500, 3}) * 4 - 2;
  at::Tensor lattice =
      torch::stack(torch::meshgrid({torch::arange(8), torch::arange(8), torch::arange(8)}, "ij"), -1)
          .reshape({-1, 3})
          .to(torch::kFloat32) *
      0.25f;
  for (const at::Tensor& points : {random, lattice}) {
    at::Tensor centres = points.index_select(0, torch::arange(0, points.size(0), 7));
    at::Tensor distances = (points.unsqueeze(0) - centres.unsqueeze(1)).pow(2).sum(-1).sqrt();
    EXPECT_TRUE(torch::equal(centre_distances(points, centres), distances));
    at::Tensor expected = std::get<1>(distances.topk(16, 1, false, true));
    EXPECT_TRUE(torch::equal(k_nearest_points(points, centres, 16, 5), expected));
    EXPECT_TRUE(torch::equal(k_nearest_points(points, centres, 16, 1000), expected));
  }
}

TEST(BackboneConfigTest, YamlOverridesAndRejectsUnknownKeys) {
  test::TempDir dir;
  std::ofstream(dir / "c.yaml")
      << "backbone:\n  preset: demo\n  layers_kept: 8\n  groups: 256\n  mode: official\n"
         "  grid: 112\n  epochs: 7\n";
  CategoryJobSettings s = category_job_defaults("paper");
  apply_settings_yaml(s, dir / "c.yaml");
  const BackboneConfig& c = s.backbone;
  EXPECT_EQ(c.layers_kept, 8);
  EXPECT_EQ(c.point_mae.groups, 256);
  EXPECT_EQ(c.point_mae.group_size, 32);  // from the demo preset
  EXPECT_EQ(c.mode, BackboneMode::Official);
  EXPECT_EQ(c.grid, 112);
  EXPECT_EQ(s.training.epochs, 7);  // training settings come from the same table
  std::ofstream(dir / "bad.yaml") << "layers_kept: 8\ngroup: 12\n";
  try {
    apply_settings_yaml(s, dir / "bad.yaml");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(e.problem().find("unknown key 'group' at line 2"), std::string::npos) << e.what();
  }
  std::ofstream(dir / "badvalue.yaml") << "mode: fast\n";
  EXPECT_THROW(apply_settings_yaml(s, dir / "badvalue.yaml"), UsageError);
  std::ofstream(dir / "badnumber.yaml") << "layers_kept: many\n";
  EXPECT_THROW(apply_settings_yaml(s, dir / "badnumber.yaml"), UsageError);
  std::ofstream(dir / "zero.yaml") << "layers_kept: 0\n";
  EXPECT_THROW(apply_settings_yaml(s, dir / "zero.yaml"), UsageError);
  EXPECT_THROW(backbone_preset("huge"), UsageError);
}

}  // namespace
}  // namespace cfm
